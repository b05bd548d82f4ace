package agent

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Check is one line of `sspr-agent doctor`.
type Check struct {
	Name string
	OK   bool
	// Warn: not broken, but worth a look (OK stays true).
	Warn   bool
	Detail string
}

// DoctorOptions say where to look; the zero value means this machine.
type DoctorOptions struct {
	ConfigPath string
	// PAMDir is /etc/pam.d.
	PAMDir string
	// ProcDir is /proc (to find a running sssd).
	ProcDir string
	// Now is the clock for certificate expiry.
	Now time.Time
}

// Doctor checks the agent's setup and says in plain words what is wrong:
// the configuration, the server (reachable, its certificate), the domain
// controller probe, SSSD, and which PAM services use pam_sspr.
func Doctor(ctx context.Context, o DoctorOptions) []Check {
	if o.ConfigPath == "" {
		o.ConfigPath = DefaultConfigPath
	}
	if o.PAMDir == "" {
		o.PAMDir = "/etc/pam.d"
	}
	if o.ProcDir == "" {
		o.ProcDir = "/proc"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var out []Check
	cfg, err := LoadConfig(o.ConfigPath)
	if err != nil {
		out = append(out, Check{Name: "configuration", Detail: fmt.Sprintf("%s cannot be used: %v", o.ConfigPath, err)})
	} else {
		out = append(out, Check{Name: "configuration", OK: true, Detail: o.ConfigPath + " is valid"})
		out = append(out, checkServer(ctx, cfg, o.Now)...)
		out = append(out, checkDC(ctx, cfg))
	}
	out = append(out, checkSSSD(o.ProcDir))
	out = append(out, checkPAM(o.PAMDir, cfg))
	return out
}

func checkServer(ctx context.Context, cfg *Config, now time.Time) []Check {
	u, _ := url.Parse(cfg.ServerURL)
	var out []Check
	if u.Scheme == "https" {
		out = append(out, checkCertificate(ctx, cfg, u, now))
	} else {
		out = append(out, Check{Name: "certificate", OK: true, Warn: true, Detail: "the server is reached over plain http on this machine's loopback (no certificate); use https for any other address"})
	}
	c, err := NewClient(cfg.ServerURL, cfg.CAFile, "en", cfg.Timeout)
	if err != nil {
		return append(out, Check{Name: "server", Detail: err.Error()})
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/healthz", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return append(out, Check{Name: "server", Detail: fmt.Sprintf("sspr at %s cannot be reached: %v", cfg.ServerURL, err)})
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return append(out, Check{Name: "server", Detail: fmt.Sprintf("sspr at %s answers, but is not healthy (HTTP %d)", cfg.ServerURL, resp.StatusCode)})
	}
	return append(out, Check{Name: "server", OK: true, Detail: fmt.Sprintf("sspr at %s answers and is healthy", cfg.ServerURL)})
}

func checkCertificate(ctx context.Context, cfg *Config, u *url.URL, now time.Time) Check {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, Time: func() time.Time { return now }}
	from := "the system's trusted CAs"
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return Check{Name: "certificate", Detail: fmt.Sprintf("ca_file %s cannot be read: %v", cfg.CAFile, err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Check{Name: "certificate", Detail: fmt.Sprintf("ca_file %s holds no PEM certificate", cfg.CAFile)}
		}
		tc.RootCAs = pool
		from = cfg.CAFile
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: cfg.Timeout}, Config: tc}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			return Check{Name: "certificate", Detail: fmt.Sprintf("the server's certificate is not trusted (checked against %s): %v", from, verr.Err)}
		}
		return Check{Name: "certificate", Detail: fmt.Sprintf("no TLS connection to %s: %v", host, err)}
	}
	defer conn.Close()
	leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
	days := int(leaf.NotAfter.Sub(now).Hours() / 24)
	c := Check{Name: "certificate", OK: true, Detail: fmt.Sprintf("trusted (checked against %s), valid for %d more days", from, days)}
	if days < 21 {
		c.Warn = true
		c.Detail += ": renew it soon"
	}
	return c
}

func checkDC(ctx context.Context, cfg *Config) Check {
	if len(cfg.DCProbe) == 0 {
		return Check{Name: "domain controller", OK: true, Warn: true, Detail: "dc_probe is not set: the agent cannot tell when the DC is out of reach (no VPN, no warning)"}
	}
	m := &Machine{Cfg: cfg}
	if m.DCReachable(ctx) {
		return Check{Name: "domain controller", OK: true, Detail: "answers at " + strings.Join(cfg.DCProbe, ", ")}
	}
	if cfg.VPN.UpCommand != "" {
		return Check{Name: "domain controller", OK: true, Warn: true, Detail: "does not answer now; the agent will bring the VPN up when someone resets at the login screen"}
	}
	return Check{Name: "domain controller", OK: true, Warn: true, Detail: "does not answer now and no VPN is configured: a reset at the login screen will be refused with advice until this computer is on the network"}
}

func checkSSSD(procDir string) Check {
	ents, _ := os.ReadDir(procDir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(b)) == "sssd" {
			return Check{Name: "sssd", OK: true, Detail: "running (process " + e.Name() + ")"}
		}
	}
	return Check{Name: "sssd", Detail: "not running: domain logins (and the new password after a reset) need it; start sssd"}
}

// checkPAM lists the PAM services with pam_sspr and checks that an auth
// line with pam_sspr is followed by pam_sss taking the password on.
func checkPAM(dir string, cfg *Config) Check {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return Check{Name: "PAM", Detail: fmt.Sprintf("%s cannot be read: %v", dir, err)}
	}
	var using, problems []string
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		lines := pamLines(filepath.Join(dir, e.Name()))
		sspr := -1
		for i, l := range lines {
			if strings.Contains(l, "pam_sspr.so") && strings.HasPrefix(l, "auth") {
				sspr = i
				break
			}
		}
		if sspr < 0 {
			continue
		}
		using = append(using, e.Name())
		if cfg != nil {
			if p := timeoutProblem(lines[sspr], cfg); p != "" {
				problems = append(problems, e.Name()+": "+p)
			}
		}
		ok := false
		for _, l := range lines[sspr+1:] {
			if strings.HasPrefix(l, "auth") && strings.Contains(l, "pam_sss.so") {
				ok = strings.Contains(l, "use_first_pass") || strings.Contains(l, "try_first_pass")
				break
			}
		}
		if !ok {
			problems = append(problems, e.Name()+": no pam_sss.so use_first_pass (or try_first_pass) after pam_sspr, so the new password is not used for the login")
		}
	}
	switch {
	case len(using) == 0:
		return Check{Name: "PAM", Detail: "no service in " + dir + " uses pam_sspr.so: the login screen does not offer a reset (see docs/agents/linux.md)"}
	case len(problems) > 0:
		return Check{Name: "PAM", Detail: strings.Join(problems, "; ")}
	}
	return Check{Name: "PAM", OK: true, Detail: "pam_sspr.so is used by: " + strings.Join(using, ", ")}
}

// timeoutProblem: the module waits on a silent helper at most timeout=
// seconds (default 20); a longer wait in the agent would be cut off.
func timeoutProblem(line string, cfg *Config) string {
	secs := 20
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "timeout="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 600 {
				secs = n
			}
		}
	}
	limit := time.Duration(secs) * time.Second
	for _, w := range []struct {
		key string
		d   time.Duration
	}{{"timeout", cfg.Timeout}, {"vpn.wait", cfg.VPN.Wait}, {"sssd.wait", cfg.SSSD.Wait}} {
		if w.key == "vpn.wait" && cfg.VPN.UpCommand == "" {
			continue
		}
		if w.d >= limit {
			return fmt.Sprintf("pam_sspr.so timeout=%d is not longer than %s (%s): the module would give up on the agent first; raise timeout=", secs, w.key, w.d)
		}
	}
	return ""
}

// pamLines reads a PAM service file, following @include, without comments;
// each line is its fields joined by one space.
func pamLines(path string) []string {
	return pamLinesDepth(path, 0)
}

func pamLinesDepth(path string, depth int) []string {
	f, err := os.Open(path)
	if err != nil || depth > 5 {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		fields := strings.Fields(l)
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "@include" && len(fields) > 1 {
			out = append(out, pamLinesDepth(filepath.Join(filepath.Dir(path), fields[1]), depth+1)...)
			continue
		}
		out = append(out, strings.Join(fields, " "))
	}
	return out
}

// FormatChecks renders the checks for a terminal, one plain line each.
func FormatChecks(cs []Check) (string, bool) {
	var b strings.Builder
	allOK := true
	for _, c := range cs {
		mark := "ok  "
		switch {
		case !c.OK:
			mark = "FAIL"
			allOK = false
		case c.Warn:
			mark = "note"
		}
		fmt.Fprintf(&b, "%s  %-18s %s\n", mark, c.Name, c.Detail)
	}
	return b.String(), allOK
}
