package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// validConfig is a configuration serve accepts without any server: the
// directory and the relay are contacted only once it runs.
func validConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "sspr.yaml")
	yaml := fmt.Sprintf(`server:
  listen: 127.0.0.1:0
  base_url: https://sspr.example.com
storage: {path: %q}
secrets: {hmac_key: "c3Nwci1lMmUtdGVzdC1rZXktdGhhdC1pcy1sb25nLWVub3VnaA=="}
directories:
  - name: corp
    type: ad
    urls: ["ldaps://127.0.0.1:1"]
    bind_dn: CN=svc,DC=example,DC=com
    bind_password: pw
    base_dn: DC=example,DC=com
    timeout: 2s
mail: {from: noreply@example.test, smtp: {host: 127.0.0.1, port: 1, security: none}}
%s`, filepath.Join(dir, "sspr.db"), extra)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sspr runs the binary with a clean SSPR_* environment plus env.
func sspr(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("sspr %v did not finish", args)
	}
	return out.String(), errOut.String(), err
}

// cleanEnv is the test's environment without SSPR_* variables other than
// the test suite's own.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SSPR_") && !strings.HasPrefix(kv, "SSPR_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// TestConfigCheckAcceptsWhatServeAccepts: each configuration serve refuses
// at start-up, config check refuses too, naming the same key. Before,
// config check passed all three.
func TestConfigCheckAcceptsWhatServeAccepts(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-corpus")
	for _, tc := range []struct{ name, extra, key string }{
		{"passkeys over plain http", "verification: {factors: [email, passkey]}\n", "server.base_url"},
		{"passkey rp_id not the portal's host", "verification: {factors: [email, passkey], passkey: {rp_id: other.example.org}}\n", "verification.passkey.rp_id"},
		{"missing breach corpus with on_error refuse", "password: {breach: {corpus: " + missing + ", on_error: refuse}}\n", "password.breach.corpus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := validConfig(t, tc.extra)
			if tc.key == "server.base_url" {
				b, _ := os.ReadFile(path)
				os.WriteFile(path, []byte(strings.Replace(string(b), "https://sspr.example.com", "http://sspr.example.com", 1)), 0o600)
			}
			out, errOut, err := sspr(t, nil, "config", "check", path)
			if err == nil || !strings.Contains(errOut, tc.key+":") {
				t.Errorf("config check: err %v, want a problem at %s\n%s%s", err, tc.key, out, errOut)
			}
			out, errOut, err = sspr(t, nil, "serve", "--config", path)
			if err == nil || !strings.Contains(errOut, tc.key+":") {
				t.Errorf("serve: err %v, want it to refuse with %s\n%s%s", err, tc.key, out, errOut)
			}
		})
	}
	if out, errOut, err := sspr(t, nil, "config", "check", validConfig(t, "")); err != nil {
		t.Fatalf("a valid configuration: %v\n%s%s", err, out, errOut)
	}
}

// TestConfigCheckExample: the shipped example passes config check once the
// files it names exist (here through SSPR_* variables, as in a container),
// except the breach corpus, which is reported by its key.
func TestConfigCheckExample(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyring, _, err := sspr(t, nil, "keys", "generate", "--out", filepath.Join(dir, "keyring"))
	if err != nil {
		t.Fatal(keyring, err)
	}
	ca := write("ca.pem", testCA(t))
	env := []string{
		"SSPR_SECRETS_HMAC_KEY_FILE=" + write("hmac", "c3Nwci1lMmUtdGVzdC1rZXktdGhhdC1pcy1sb25nLWVub3VnaA==\n"),
		"SSPR_SECRETS_KEYRING_FILE=" + filepath.Join(dir, "keyring"),
		"SSPR_DIRECTORIES_0_BIND_PASSWORD_FILE=" + write("bind", "pw\n"),
		"SSPR_DIRECTORIES_0_CA_FILE=" + ca,
		"SSPR_MAIL_SMTP_PASSWORD_FILE=" + write("smtp", "pw\n"),
		"SSPR_MAIL_SMTP_CA_FILE=" + ca,
		"SSPR_STORAGE_PATH=" + filepath.Join(dir, "sspr.db"),
	}
	out, errOut, err := sspr(t, env, "config", "check", "../../sspr.example.yaml")
	if err == nil || !strings.Contains(errOut, "password.breach.corpus:") || strings.Count(errOut, "\n  - ") != 1 {
		t.Fatalf("want exactly the missing corpus: %v\n%s%s", err, out, errOut)
	}
	corpus := filepath.Join(dir, "breach")
	if _, errOut, err := sspr(t, nil, "breach", "build", "--quiet", "--out", corpus, write("pwned.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n")); err != nil {
		t.Fatal(errOut, err)
	}
	out, errOut, err = sspr(t, append(env, "SSPR_PASSWORD_BREACH_CORPUS="+corpus), "config", "check", "../../sspr.example.yaml")
	if err != nil || out == "" || strings.Contains(out, "warning") {
		t.Fatalf("the example with its files: %v\n%s%s", err, out, errOut)
	}
}

// testCA returns a throw-away self-signed certificate in PEM (it only has
// to parse).
func testCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sspr test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestConfigCheckReportsEverything: warnings are shown next to problems,
// a misspelt SSPR_* variable is a problem with a suggestion, and the
// secret file that cannot be read is named.
func TestConfigCheckReportsEverything(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "bind-password")
	path := validConfig(t, "sms: {provider: none, twilio: {auth_token_file: /nonexistent/twilio}}\n")
	b, _ := os.ReadFile(path)
	yaml := strings.Replace(string(b), "bind_password: pw", "bind_password_file: "+missing, 1)
	yaml = strings.Replace(yaml, "port: 1, security: none", "port: 1, security: none, insecure_skip_verify: true", 1)
	yaml = strings.Replace(yaml, "host: 127.0.0.1,", "host: smtp.example.com,", 1)
	os.WriteFile(path, []byte(yaml), 0o600)
	out, errOut, err := sspr(t, []string{"SSPR_MAIL_SMTP_PROT=25"}, "config", "check", path)
	if err == nil {
		t.Fatalf("config check passed:\n%s%s", out, errOut)
	}
	for _, want := range []string{
		"warning: mail.smtp.security: mail leaves without TLS",
		"directories[0].bind_password_file: cannot read the secret file " + missing,
		"SSPR_MAIL_SMTP_PROT: this environment variable matches no setting and would be ignored (did you mean SSPR_MAIL_SMTP_PORT?)",
	} {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("output lacks %q:\n%s%s", want, out, errOut)
		}
	}
	if strings.Contains(out+errOut, "twilio") {
		t.Errorf("the secret of an SMS provider that is off is required:\n%s%s", out, errOut)
	}
}

// TestConfigFileArgumentOrFlag: every command that reads the configuration
// takes it as an argument or as --config.
func TestConfigFileArgumentOrFlag(t *testing.T) {
	bad := validConfig(t, "reset: {code_ttl: 1h}\n")
	for _, args := range [][]string{
		{"config", "check", bad}, {"config", "check", "--config", bad}, {"config", "check", "-c", bad},
		{"serve", bad}, {"serve", "-c", bad},
		{"directory", "check", bad}, {"directory", "check", "--config", bad},
		{"user", "show", "alice", bad}, {"user", "show", "alice", "--config", bad},
		{"keys", "rotate", bad}, {"keys", "rotate", "--config", bad},
	} {
		_, errOut, err := sspr(t, nil, args...)
		if err == nil || !strings.Contains(errOut, "reset.code_ttl") {
			t.Errorf("sspr %s: did not read %s: %v\n%s", strings.Join(args, " "), bad, err, errOut)
		}
	}
	_, errOut, err := sspr(t, nil, "config", "check", "--config", "/nonexistent/a.yaml", bad)
	if err == nil || !strings.Contains(errOut, "two configuration files") {
		t.Errorf("two different files: %v %s", err, errOut)
	}
}

// TestVersionFlagAndSuggestions: sspr --version; a mistyped flag or
// subcommand gets a suggestion and exit status 1.
func TestVersionFlagAndSuggestions(t *testing.T) {
	out, _, err := sspr(t, nil, "--version")
	if err != nil || !strings.HasPrefix(out, "sspr ") {
		t.Errorf("--version: %v %q", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--confg", "x.yaml"}, "did you mean --config?"},
		{[]string{"user", "show", "alice", "--conifg", "x.yaml"}, "did you mean --config?"},
		{[]string{"config", "chek", "x.yaml"}, "Did you mean this?\n\tcheck"},
		{[]string{"serv"}, "Did you mean this?\n\tserve"},
	} {
		_, errOut, err := sspr(t, nil, tc.args...)
		if err == nil || !strings.Contains(errOut, tc.want) {
			t.Errorf("sspr %s: %v, want %q in:\n%s", strings.Join(tc.args, " "), err, tc.want, errOut)
		}
	}
}

// TestFatalErrorAsJSON: with log.format json, the error that ends a command
// is a JSON log line like every other.
func TestFatalErrorAsJSON(t *testing.T) {
	path := validConfig(t, "log: {format: json}\nreset: {code_length: 3}\n")
	_, errOut, err := sspr(t, nil, "serve", path)
	if err == nil {
		t.Fatal("serve accepted a bad configuration")
	}
	var line struct {
		Level    string   `json:"level"`
		Msg      string   `json:"msg"`
		Problems []string `json:"problems"`
	}
	if jerr := json.Unmarshal([]byte(strings.TrimSpace(errOut)), &line); jerr != nil {
		t.Fatalf("stderr is not one JSON line (%v):\n%s", jerr, errOut)
	}
	if line.Level != "ERROR" || len(line.Problems) != 1 || !strings.HasPrefix(line.Problems[0], "reset.code_length:") {
		t.Errorf("fatal line = %+v", line)
	}
}

// TestSIGHUPReloadsOrKeepsTheConfiguration: SIGHUP with a broken
// configuration logs every problem with its key and keeps serving the
// running one; with one that changes a listener it is refused, naming the
// key; with a good one the next request gets the new portal title and the
// new password rules, and the reload is audited.
func TestSIGHUPReloadsOrKeepsTheConfiguration(t *testing.T) {
	write := func(path, title string, minLength int, extra string) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		base, _, _ := strings.Cut(string(b), "# --- reloadable\n")
		body := fmt.Sprintf("# --- reloadable\nlog: {format: json}\nportal: {title: %q}\npassword: {min_length: %d}\n%s", title, minLength, extra)
		if err := os.WriteFile(path, []byte(base+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := validConfig(t, "")
	write(path, "Before Corp", 12, "")
	cmd := exec.Command(binary, "serve", path)
	cmd.Env = cleanEnv()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan map[string]any, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	wait := func(what string, match func(map[string]any) bool) map[string]any {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatalf("sspr serve ended before %s", what)
				}
				if match(m) {
					return m
				}
			case <-timeout:
				t.Fatalf("no %s", what)
			}
		}
	}
	msg := func(want string) func(map[string]any) bool {
		return func(m map[string]any) bool { return m["msg"] == want }
	}
	base := "http://" + fmt.Sprint(wait("listening line", msg("sspr is listening"))["addr"])
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	page := func() string { return get("/") }
	// The change page lists the password rules for everybody.
	rules := func() string {
		p := get("/change")
		if i := strings.Index(p, "characters"); i > 40 {
			return p[i-40 : i+10]
		}
		return p
	}
	if !strings.Contains(page(), "Before Corp") || !strings.Contains(rules(), "12") {
		t.Fatalf("before any reload: title or rules not as configured:\n%s", rules())
	}

	// Broken: two problems, each logged with its key; the old one serves.
	write(path, "Broken Corp", 16, "reset: {code_length: 99, code_ttl: -5m}\n")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	keys := map[string]bool{}
	for len(keys) < 2 {
		m := wait("a problem line", msg("reload: configuration problem"))
		if m["level"] != "ERROR" {
			t.Errorf("problem logged at %v", m["level"])
		}
		keys[fmt.Sprint(m["key"])] = true
	}
	if !keys["reset.code_ttl"] || !keys["reset.code_length"] {
		t.Errorf("problems logged for %v, want reset.code_length and reset.code_ttl", keys)
	}
	if m := wait("the refusal", msg("reload: the new configuration was not taken; the running one stays")); m["level"] != "ERROR" {
		t.Errorf("refusal logged at %v", m["level"])
	}
	if p := page(); !strings.Contains(p, "Before Corp") || strings.Contains(p, "Broken Corp") {
		t.Error("after a refused reload the portal does not show the running configuration's title")
	}

	// A listener change needs a restart.
	b, _ := os.ReadFile(path)
	moved := strings.Replace(string(b), "listen: 127.0.0.1:0", "listen: 127.0.0.1:1", 1)
	if err := os.WriteFile(path, []byte(strings.Replace(moved, "Broken Corp", "Moved Corp", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	write(path, "Moved Corp", 12, "")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	m := wait("the refusal", msg("reload: the new configuration was not taken; the running one stays"))
	if !strings.Contains(fmt.Sprint(m["err"]), "server.listen changed, which only a restart applies") {
		t.Errorf("listener change refused with %v", m["err"])
	}

	// Good: the next request gets the new title and rules.
	b, _ = os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "listen: 127.0.0.1:1", "listen: 127.0.0.1:0", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	write(path, "After Corp", 16, "")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	wait("the reload", msg("reload: the new configuration is in use"))
	if p := page(); !strings.Contains(p, "After Corp") {
		t.Error("after the reload the portal does not show the new title")
	}
	if r := rules(); !strings.Contains(r, "16") || strings.Contains(r, "12") {
		t.Errorf("after the reload the password rules are not the new ones: %s", r)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("sspr serve after SIGTERM: %v", err)
	}
	// The reload is in the audit log.
	out, errOut, err := sspr(t, nil, "audit", "export", "-c", path)
	if err != nil || !strings.Contains(out, "config.reload") || !strings.Contains(out, "portal") {
		t.Errorf("audit export lacks the reload (%v): %s %s", err, out, errOut)
	}
}
