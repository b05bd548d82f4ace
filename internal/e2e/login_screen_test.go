package e2e

// The login screen against real parts: a "laptop" network namespace with a
// real SSSD (id_provider = ad, cached credentials) joined to the test Samba
// AD, the real pam_sspr.so and sspr-agent under pamtester (pam_wrapper: the
// PAM services live in the test's folder, never /etc/pam.d), a real VPN
// (ocserv on the host, openconnect started by the agent in the namespace),
// pam_faillock, and the PAM password stack. scripts/testenv/login.sh builds
// the namespace and starts SSSD and ocserv (scripts/test.sh runs it).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// loginLab is the environment scripts/testenv/login.sh started.
type loginLab struct {
	ns, dir, sssdPID, sssdLog, cache, dcIP, gw, domain string
	vpnURL, vpnCA, vpnCert, vpnKey                     string
	pam                                                pamEnvironment
}

func loginEnv(t *testing.T) *loginLab {
	t.Helper()
	get := func(k string) string { return os.Getenv("SSPR_TEST_LOGIN_" + k) }
	l := &loginLab{ns: get("NS"), dir: get("DIR"), sssdPID: get("SSSD_PID"), sssdLog: get("SSSD_LOG"), cache: get("SSSD_CACHE"),
		dcIP: get("DC_IP"), gw: get("GW"), domain: get("DOMAIN"), vpnURL: get("VPN_URL"), vpnCA: get("VPN_CA"),
		vpnCert: get("VPN_CERT"), vpnKey: get("VPN_KEY")}
	problem := ""
	switch {
	case l.ns == "":
		problem = "the login-screen environment is not running (scripts/testenv/login.sh start STATE_DIR, then source STATE_DIR/env.sh)"
	case os.Getuid() != 0:
		problem = "the login-screen tests need root (network namespaces, sssd)"
	default:
		if b, err := os.ReadFile("/proc/" + l.sssdPID + "/comm"); err != nil || strings.TrimSpace(string(b)) != "sssd" {
			problem = "sssd (PID " + l.sssdPID + ") of the login-screen environment is not running"
		}
	}
	if problem != "" {
		if os.Getenv(dirtest.RequireEnv) == "1" {
			t.Fatal(problem)
		}
		t.Skip(problem)
	}
	l.pam = pamEnv(t)
	return l
}

// nsRun runs a command inside the laptop namespace.
func (l *loginLab) nsRun(args ...string) ([]byte, error) {
	return exec.Command("ip", append([]string{"netns", "exec", l.ns}, args...)...).CombinedOutput()
}

// route adds or removes the laptop's direct route to the DC (offline =
// removed; the VPN then is the only way).
func (l *loginLab) route(t *testing.T, add bool) {
	t.Helper()
	verb := "del"
	if add {
		verb = "replace"
	}
	out, err := exec.Command("ip", "-n", l.ns, "route", verb, l.dcIP+"/32", "via", l.gw).CombinedOutput()
	if err != nil && (add || !strings.Contains(string(out), "No such process")) {
		t.Fatalf("ip route %s: %v %s", verb, err, out)
	}
}

// offline removes the DC route for the rest of the test; afterwards the
// route comes back and SSSD is made to go online again, so the next test
// starts online.
func (l *loginLab) offline(t *testing.T) {
	t.Helper()
	l.route(t, false)
	t.Cleanup(func() {
		l.route(t, true)
		l.waitOnline(t)
	})
}

func (l *loginLab) dcReachable() bool {
	_, err := l.nsRun("ip", "route", "get", l.dcIP)
	return err == nil
}

// onlineCommands are the agent's sssd.online_command and online_check for
// this machine: there is no D-Bus here for `sssctl domain-status -o`, so
// the check reads SSSD's domain log after a mark written by the nudge.
func (l *loginLab) onlineCommands(dir string) (nudge, check string) {
	mark := filepath.Join(dir, "sssd-log-mark")
	nudge = fmt.Sprintf("wc -l < %s > %s; kill -USR2 %s", l.sssdLog, mark, l.sssdPID)
	check = fmt.Sprintf(`tail -n +$(( $(cat %s) + 1 )) %s | grep -qE 'Backend is (already )?online'`, mark, l.sssdLog)
	return nudge, check
}

// waitOnline makes SSSD check the DC and waits until it says it is online.
func (l *loginLab) waitOnline(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	nudge, check := l.onlineCommands(dir)
	if out, err := exec.Command("sh", "-c", nudge).CombinedOutput(); err != nil {
		t.Fatalf("nudging sssd: %v %s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for exec.Command("sh", "-c", check).Run() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("sssd did not go online")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// services writes PAM service files into a private folder for pam_wrapper.
func (l *loginLab) services(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pam.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// plainSSS is the stack of a machine without sspr: pam_sss alone.
const plainSSS = "auth required pam_sss.so\naccount required pam_sss.so\n"

// login runs one non-interactive login (the password on stdin) through
// service inside the namespace and reports whether PAM said yes.
func (l *loginLab) login(t *testing.T, services, service, user, password string) bool {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", l.ns, "pamtester", service, user, "authenticate")
	cmd.Env = append(os.Environ(), "LD_PRELOAD="+l.pam.wrapper, "PAM_WRAPPER=1", "PAM_WRAPPER_SERVICE_DIR="+services, "LANG=C.UTF-8")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "pamtester:") {
		t.Fatalf("pamtester: %v %s", err, out)
	}
	return err == nil
}

// adUser creates an AD user for the laptop and cleans what the laptop
// keeps of it (faillock tally, Kerberos ccaches) at the end.
func (l *loginLab) adUser(t *testing.T, password string) dirtest.User {
	t.Helper()
	u := dirtest.CreateADUser(t, password)
	t.Cleanup(func() {
		_ = os.Remove("/run/faillock/" + u.Login)
		if out, err := l.nsRun("id", "-u", u.Login); err == nil {
			uid := strings.TrimSpace(string(out))
			ccaches, _ := filepath.Glob("/tmp/krb5cc_" + uid + "_*")
			for _, c := range ccaches {
				_ = os.Remove(c)
			}
		}
	})
	return u
}

// cacheAttr reads one attribute of the user's entry in SSSD's cache.
func (l *loginLab) cacheAttr(t *testing.T, user, attr string) string {
	t.Helper()
	out, err := exec.Command("ldbsearch", "-H", l.cache, "name="+user+"@"+l.domain, attr).CombinedOutput()
	if err != nil {
		t.Fatalf("ldbsearch: %v %s", err, out)
	}
	m := regexp.MustCompile(`(?m)^` + attr + `: (.*)$`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// serveTLSForward makes the sspr instance reachable from the namespace:
// the namespace cannot reach the host's 127.0.0.1, so a TLS listener on the
// host's veth address forwards to it. It returns the https URL and the CA
// file the agent trusts.
func (l *loginLab) serveTLSForward(t *testing.T, in *instance) (string, string) {
	t.Helper()
	u, _ := url.Parse(in.URL)
	target := net.JoinHostPort("127.0.0.1", u.Port())
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sspr test forwarder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP(l.gw)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "forwarder-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort(l.gw, "0"), &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer b.Close()
				go func() { _, _ = io.Copy(b, c); _ = b.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, b)
			}()
		}
	}()
	return "https://" + ln.Addr().String(), ca
}

// adInstance is sspr on the test AD (least-privilege service account), as
// the laptop sees it.
type adInstance struct {
	*instance
	agentURL, agentCA string
}

func (l *loginLab) startSSPR(t *testing.T, passwordRules string) adInstance {
	t.Helper()
	svc := dirtest.ADServiceConfig(t)
	svc.Name = "corp"
	if passwordRules == "" {
		passwordRules = directoryRulesOnly
	}
	in := start(t, directoryYAML("ad", svc, ""), passwordRules)
	u, ca := l.serveTLSForward(t, in)
	return adInstance{instance: in, agentURL: u, agentCA: ca}
}

// agentConfig writes the agent's configuration; it returns its path and
// the log file the agent writes.
func (l *loginLab) agentConfig(t *testing.T, in adInstance, extra string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	nudge, check := l.onlineCommands(dir)
	logFile := filepath.Join(dir, "agent.log")
	cfg := fmt.Sprintf("server_url: %s\nca_file: %s\nhelp_desk: call 555-0100\ntimeout: 20s\nlog_file: %s\nsssd:\n  online_command: %q\n  online_check: %q\n  wait: 30s\n%s",
		in.agentURL, in.agentCA, logFile, nudge, check, extra)
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, logFile
}

// sspLine is the pam_sspr line of an auth stack (mode=prompt: the password
// prompt takes the trigger word).
func (l *loginLab) ssprLine(cfg string) string {
	return fmt.Sprintf("auth [success=ok ignore=ignore default=die] %s mode=prompt trigger=reset agent=%s config=%s timeout=60\n", l.pam.module, l.pam.agent, cfg)
}

// noSecretsLogged fails when the agent's log holds any of the secrets, or
// lacks the outcome line.
func noSecretsLogged(t *testing.T, logFile, user string, secrets ...string) {
	t.Helper()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("the agent wrote no log: %v", err)
	}
	if !strings.Contains(string(b), "for "+user) {
		t.Errorf("the agent's log does not name the outcome for %s:\n%s", user, b)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(string(b), s) {
			t.Errorf("the agent's log holds a secret:\n%s", b)
		}
	}
}

// TestLoginScreenResetRefreshesCachedCredentials: a person who logged in
// once on the laptop forgets the password, types the trigger word at the
// password prompt, resets with an emailed code, and is logged in with the
// new password in the same conversation (pam_sss use_first_pass after
// pam_sspr); offline afterwards, SSSD accepts the new password and refuses
// the old one. The time from "reset" to logged in is the figure in
// docs/benchmarks.md.
func TestLoginScreenResetRefreshesCachedCredentials(t *testing.T) {
	lab := loginEnv(t)
	in := lab.startSSPR(t, "")
	oldPW, newPW := "Laptop-Old-Pass-1", "Laptop-New-Pass-2"
	u := lab.adUser(t, oldPW)
	cfg, logFile := lab.agentConfig(t, in, "dc_probe: [\"dc1.example.test:88\"]\n")
	svc := lab.services(t, map[string]string{
		"plain": plainSSS,
		"login": lab.ssprLine(cfg) + "auth required pam_sss.so use_first_pass\naccount required pam_sss.so\n",
	})
	if !lab.login(t, svc, "plain", u.Login, oldPW) {
		t.Fatal("the first online login failed")
	}
	if lab.cacheAttr(t, u.Login, "cachedPassword") == "" {
		t.Fatal("sssd cached no credential after the online login")
	}

	before := in.codeMailsTo(u.Mail)
	began := time.Now()
	s := startPamtesterIn(t, lab.pam, lab.ns, svc, "login", u.Login, "authenticate", "acct_mgmt")
	s.answer(`Password \(or "reset"`, "reset")
	s.answer(`Type 1 to choose a new password`, "1")
	code := in.waitCode(t, u.Mail, before)
	s.answer(`Enter the code we sent to your email`, code)
	s.answer(`New password:`, newPW)
	s.answer(`Type the new password again:`, newPW)
	s.expect(`Your password was changed.`)
	s.expect(`pamtester: successfully authenticated`)
	if err := s.wait(); err != nil {
		t.Fatalf("pamtester: %v\n%s", err, s.output())
	}
	t.Logf("forgot at the login prompt -> logged in with a new password: %s (scripted person, real SSSD and AD)", time.Since(began).Round(10*time.Millisecond))
	noSecretsLogged(t, logFile, u.Login, oldPW, newPW, code)

	lab.offline(t)
	if lab.dcReachable() {
		t.Fatal("the DC is still reachable")
	}
	if !lab.login(t, svc, "plain", u.Login, newPW) {
		t.Fatal("offline, SSSD refused the new password: its cached credential was not refreshed")
	}
	if lab.login(t, svc, "plain", u.Login, oldPW) {
		t.Fatal("offline, SSSD still accepts the old password")
	}
}

// vpnConfig is the agent's VPN section for this machine: openconnect with
// the machine certificate to ocserv on the host; a pid file in the
// environment's folder so login.sh stop takes a left-over tunnel down.
func (l *loginLab) vpnConfig(t *testing.T, vpnURL string, linger time.Duration) (string, string) {
	t.Helper()
	pidFile := filepath.Join(l.dir, "openconnect-"+dirtest.UniqueName("t")+".pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			_ = exec.Command("kill", "-INT", strings.TrimSpace(string(b))).Run()
			_ = os.Remove(pidFile)
		}
	})
	up := fmt.Sprintf("openconnect --protocol=anyconnect -c %s -k %s --cafile=%s --non-inter --background --pid-file=%s -q %s </dev/null >/dev/null 2>&1",
		l.vpnCert, l.vpnKey, l.vpnCA, pidFile, vpnURL)
	down := fmt.Sprintf("p=$(cat %s) && kill -INT $p && while kill -0 $p 2>/dev/null; do sleep 0.1; done; rm -f %s", pidFile, pidFile)
	return fmt.Sprintf("dc_probe: [\"dc1.example.test:88\", \"dc1.example.test:389\"]\nprobe_timeout: 2s\nvpn:\n  up_command: %q\n  down_command: %q\n  wait: 30s\n  linger: %s\n",
		up, down, linger), pidFile
}

// TestLoginScreenRemoteLaptopVPN: the DC is reachable only through the
// VPN. At the login prompt the agent brings the tunnel up, waits for the
// DC, resets, makes SSSD go online, hands the password on (pam_sss
// authenticates online and refreshes the cache), and takes the tunnel down
// after the linger; offline afterwards, the new password works and the old
// one does not.
func TestLoginScreenRemoteLaptopVPN(t *testing.T) {
	lab := loginEnv(t)
	in := lab.startSSPR(t, "")
	oldPW, newPW := "Remote-Old-Pass-1", "Remote-New-Pass-2"
	u := lab.adUser(t, oldPW)
	vpn, pidFile := lab.vpnConfig(t, lab.vpnURL, 5*time.Second)
	cfg, logFile := lab.agentConfig(t, in, vpn)
	svc := lab.services(t, map[string]string{
		"plain": plainSSS,
		"login": lab.ssprLine(cfg) + "auth required pam_sss.so use_first_pass\naccount required pam_sss.so\n",
	})
	if !lab.login(t, svc, "plain", u.Login, oldPW) {
		t.Fatal("the first online login failed")
	}
	lab.offline(t) // at home: no route to the DC
	if lab.dcReachable() {
		t.Fatal("the DC is still reachable")
	}

	before := in.codeMailsTo(u.Mail)
	began := time.Now()
	s := startPamtesterIn(t, lab.pam, lab.ns, svc, "login", u.Login, "authenticate", "acct_mgmt")
	s.answer(`Password \(or "reset"`, "reset")
	s.expect(`Connecting to your organisation's network \(VPN\)`)
	s.answer(`Type 1 to choose a new password`, "1")
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("the agent did not start openconnect: %v\n%s", err, s.output())
	}
	if !lab.dcReachable() {
		t.Fatal("the tunnel is up but the DC is not reachable")
	}
	code := in.waitCode(t, u.Mail, before)
	s.answer(`Enter the code we sent to your email`, code)
	s.answer(`New password:`, newPW)
	s.answer(`Type the new password again:`, newPW)
	s.expect(`Your password was changed.`)
	s.expect(`pamtester: successfully authenticated`)
	if err := s.wait(); err != nil {
		t.Fatalf("pamtester: %v\n%s", err, s.output())
	}
	t.Logf("forgot at the login prompt, away from the office -> VPN up, reset, logged in: %s", time.Since(began).Round(10*time.Millisecond))
	// The linger takes the tunnel down (vpn.linger 5 s, then openconnect
	// exits and its routes go).
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, err := os.Stat(pidFile)
		logged, _ := os.ReadFile(logFile)
		if os.IsNotExist(err) && !lab.dcReachable() && strings.Contains(string(logged), "VPN down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tunnel was not taken down (pid file %v, DC reachable %v, agent log %q)", err, lab.dcReachable(), logged)
		}
		time.Sleep(200 * time.Millisecond)
	}
	noSecretsLogged(t, logFile, u.Login, oldPW, newPW, code)

	if !lab.login(t, svc, "plain", u.Login, newPW) {
		t.Fatal("offline after the VPN, SSSD refused the new password")
	}
	if lab.login(t, svc, "plain", u.Login, oldPW) {
		t.Fatal("offline after the VPN, SSSD still accepts the old password")
	}
}

// TestLoginScreenUnlockClearsADAndFaillock: wrong passwords lock the AD
// account (threshold 3) and pam_faillock locks the login locally; the
// agent's unlock clears both, and the password typed after it goes to
// pam_sss, whose online success also clears SSSD's offline failure count:
// the old password works again.
func TestLoginScreenUnlockClearsADAndFaillock(t *testing.T) {
	lab := loginEnv(t)
	in := lab.startSSPR(t, "")
	pw := "Unlock-Me-Pass-1"
	u := lab.adUser(t, pw)
	cfg, logFile := lab.agentConfig(t, in, "dc_probe: [\"dc1.example.test:88\"]\nlocal_unlock:\n  faillock: true\n")
	faillock := "auth required pam_faillock.so preauth deny=3 unlock_time=600\n" +
		"auth [success=1 default=bad] pam_sss.so use_first_pass\n" +
		"auth [default=die] pam_faillock.so authfail deny=3 unlock_time=600\n" +
		"auth sufficient pam_faillock.so authsucc deny=3 unlock_time=600\n" +
		"auth required pam_deny.so\n" +
		"account required pam_faillock.so\naccount required pam_sss.so\n"
	svc := lab.services(t, map[string]string{
		"plain": plainSSS,
		"login": lab.ssprLine(cfg) + faillock,
	})
	if !lab.login(t, svc, "plain", u.Login, pw) {
		t.Fatal("the first online login failed")
	}
	threshold := dirtest.ADLockoutThreshold(t)
	for i := range threshold {
		if lab.login(t, svc, "login", u.Login, fmt.Sprintf("Wrong-Guess-%d", i)) {
			t.Fatal("a wrong password was accepted")
		}
	}
	admin := dirtest.ADConfig(t)
	mustBeLocked(t, admin, u.Login, pw)
	if out, _ := lab.nsRun("faillock", "--user", u.Login); len(tallyRE.FindAll(out, -1)) < threshold {
		t.Fatalf("pam_faillock did not count the failures:\n%s", out)
	}
	if lab.login(t, svc, "login", u.Login, pw) {
		t.Fatal("the right password was accepted while locked")
	}

	before := in.codeMailsTo(u.Mail)
	s := startPamtesterIn(t, lab.pam, lab.ns, svc, "login", u.Login, "authenticate", "acct_mgmt")
	s.answer(`Password \(or "reset"`, "reset")
	s.answer(`Type 1 to choose a new password`, "2")
	code := in.waitCode(t, u.Mail, before)
	s.answer(`Enter the code we sent to your email`, code)
	s.expect(`Your account is unlocked`)
	s.answer(`Password:`, pw)
	s.expect(`pamtester: successfully authenticated`)
	if err := s.wait(); err != nil {
		t.Fatalf("pamtester: %v\n%s", err, s.output())
	}
	if err := dirtest.Bind(t, admin, u.Login, pw); err != nil {
		t.Fatalf("AD still refuses the password: %v", err)
	}
	if out, _ := lab.nsRun("faillock", "--user", u.Login); tallyRE.Match(out) {
		t.Fatalf("the faillock tally was not cleared:\n%s", out)
	}
	if n := lab.cacheAttr(t, u.Login, "failedLoginAttempts"); n != "" && n != "0" {
		t.Fatalf("SSSD's failed-login count is %s after the online login", n)
	}
	noSecretsLogged(t, logFile, u.Login, pw, code)
	// And again, plainly, through the locked-down stack.
	if !lab.login(t, svc, "login", u.Login, pw) {
		t.Fatal("after the unlock the old password does not log in")
	}
}

// TestLoginScreenFailureBounds: sspr down, the DC down without a VPN, and
// a failing VPN: each time the person is told plainly, and the normal
// password prompt (pam_sss try_first_pass) comes back within the stated
// bound (docs/agents/linux.md); the cached login then works. Nothing the
// person typed reaches the agent's log.
func TestLoginScreenFailureBounds(t *testing.T) {
	lab := loginEnv(t)
	in := lab.startSSPR(t, "")
	pw := "Bounded-Pass-1"
	u := lab.adUser(t, pw)
	plain := lab.services(t, map[string]string{"plain": plainSSS})
	if !lab.login(t, plain, "plain", u.Login, pw) {
		t.Fatal("the first online login failed")
	}
	lab.offline(t)
	vpnBad, _ := lab.vpnConfig(t, "https://"+lab.gw+":4444/", time.Second) // nothing listens there
	cases := []struct {
		name, extra, want string
		bound             time.Duration
		down              bool
	}{
		// server timeout 20 s; a refused connection answers at once
		{"sspr down", "", "cannot be reached from this computer right now", 20 * time.Second, true},
		// two probes of probe_timeout 2 s
		{"DC down, no VPN", "dc_probe: [\"dc1.example.test:88\", \"dc1.example.test:389\"]\nprobe_timeout: 2s\n", "cannot reach your organisation's network", 4 * time.Second, false},
		// vpn.wait 30 s, then the down command (at most vpn.wait again)
		{"VPN failing", vpnBad, "could not connect to your organisation's network \\(VPN\\)", 60 * time.Second, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, logFile := lab.agentConfig(t, in, c.extra)
			if c.down {
				cfg, logFile = lab.agentConfig(t, adInstance{agentURL: "https://" + lab.gw + ":9", agentCA: in.agentCA}, c.extra)
			}
			svc := lab.services(t, map[string]string{
				"login": lab.ssprLine(cfg) + "auth required pam_sss.so try_first_pass\naccount required pam_sss.so\n",
			})
			s := startPamtesterIn(t, lab.pam, lab.ns, svc, "login", u.Login, "authenticate")
			s.answer(`Password \(or "reset"`, "reset")
			began := time.Now()
			if c.down {
				s.answer(`Type 1 to choose a new password`, "1")
			}
			s.expect(c.want)
			s.expect(`Please log in as usual`)
			s.answer(`(?m)^Password: ?$`, pw)
			took := time.Since(began)
			s.expect(`pamtester: successfully authenticated`)
			if err := s.wait(); err != nil {
				t.Fatalf("pamtester: %v\n%s", err, s.output())
			}
			// The stated bound, with room for a loaded machine.
			if took > c.bound+30*time.Second {
				t.Errorf("the normal prompt came back after %s; the stated bound is %s", took, c.bound)
			}
			t.Logf("%s: the normal prompt came back after %s (bound %s)", c.name, took.Round(10*time.Millisecond), c.bound)
			noSecretsLogged(t, logFile, u.Login, pw)
		})
	}
}

// TestPasswdRefusesBreachedPassword: the PAM password stack (pam_sspr in
// `password requisite`, then pam_sss use_authtok) refuses a breached
// password with sspr's reason before AD sees it, then takes a good one,
// which AD accepts.
func TestPasswdRefusesBreachedPassword(t *testing.T) {
	lab := loginEnv(t)
	in := lab.startSSPR(t, passwordYAML(buildCorpus(t)))
	oldPW, newPW := "Passwd-Old-Pass-1", "Quiet-Harbour-Lamp-73"
	u := lab.adUser(t, oldPW)
	cfg, _ := lab.agentConfig(t, in, "")
	svc := lab.services(t, map[string]string{
		"plain": plainSSS,
		"passwd": "auth required pam_sss.so\naccount required pam_sss.so\n" +
			fmt.Sprintf("password requisite %s agent=%s config=%s timeout=60\n", lab.pam.module, lab.pam.agent, cfg) +
			"password required pam_sss.so use_authtok\n",
	})
	if !lab.login(t, svc, "plain", u.Login, oldPW) {
		t.Fatal("the first online login failed")
	}
	// pam_sss lets root change a password only when it has expired (in
	// the same PAM handle as the login): the password is due for a change,
	// as at a login screen, or a user's own `passwd` would be.
	dirtest.Modify(t, dirtest.ADAdmin(t), u.DN, map[string][]string{"pwdLastSet": {"0"}})
	s := startPamtesterIn(t, lab.pam, lab.ns, svc, "passwd", u.Login, "authenticate", "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)")
	s.answer(`Password: `, oldPW)
	s.answer(`(?i)current password:`, oldPW)
	s.answer(`(?i)new password:`, breachedPassword)
	s.answer(`(?i)retype new password:`, breachedPassword)
	s.expect(`The new password was refused:`)
	s.expect(`✗ .*(breach|data breach)`)
	s.answer(`(?i)new password:`, newPW)
	s.answer(`(?i)retype new password:`, newPW)
	s.expect(`pamtester: authentication token altered successfully`)
	if err := s.wait(); err != nil {
		t.Fatalf("pamtester: %v\n%s", err, s.output())
	}
	admin := dirtest.ADConfig(t)
	if err := dirtest.Bind(t, admin, u.Login, newPW); err != nil {
		t.Fatalf("AD does not take the new password: %v", err)
	}
	if err := dirtest.Bind(t, admin, u.Login, breachedPassword); err == nil {
		t.Fatal("the breached password reached AD")
	}
}

// tallyRE matches one record of `faillock --user`.
var tallyRE = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)

// TestLoginScreenVPNDownWhenResetStops: when the person stops after the
// agent brought the tunnel up, nothing is handed on and the tunnel goes
// down before the module returns (no linger).
func TestLoginScreenVPNDownWhenResetStops(t *testing.T) {
	lab := loginEnv(t)
	in := lab.startSSPR(t, "")
	u := lab.adUser(t, "Stopper-Pass-1")
	vpn, pidFile := lab.vpnConfig(t, lab.vpnURL, time.Minute)
	cfg, logFile := lab.agentConfig(t, in, vpn)
	svc := lab.services(t, map[string]string{
		"login": lab.ssprLine(cfg) + "auth required pam_sss.so use_first_pass\naccount required pam_sss.so\n",
	})
	lab.offline(t)
	s := startPamtesterIn(t, lab.pam, lab.ns, svc, "login", u.Login, "authenticate")
	s.answer(`Password \(or "reset"`, "reset")
	s.expect(`Type 1 to choose a new password`)
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("the agent did not bring the tunnel up: %v\n%s", err, s.output())
	}
	_ = s.stdin.Close() // the person walks away: the conversation ends
	if err := s.wait(); err == nil {
		t.Fatalf("pamtester authenticated without a password:\n%s", s.output())
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) || lab.dcReachable() {
		t.Fatalf("the tunnel is still up after the reset stopped (pid file: %v)", err)
	}
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "VPN down") || strings.Contains(string(b), "goes down in") {
		t.Fatalf("the agent's log does not show the tunnel going down at once:\n%s", b)
	}
}
