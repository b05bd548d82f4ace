package agent

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func testConfig(t *testing.T, extra string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte("server_url: http://127.0.0.1:9\n" + extra))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.lines = append(r.lines, s); r.mu.Unlock() }
func (r *recorder) Ask(bool, string) (string, error) {
	return "", ErrCancelled
}
func (r *recorder) Say(s string) error  { r.add("SAY " + s); return nil }
func (r *recorder) Warn(s string) error { r.add("WARN " + s); return nil }
func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func TestConfigDefaultsAndProblems(t *testing.T) {
	c := testConfig(t, "")
	if c.SSSD.OnlineCommand != "pkill -USR2 -x sssd" || c.VPN.Wait != 15*time.Second || c.VPN.Linger != 20*time.Second || c.LocalUnlock.FaillockCommand != "faillock" {
		t.Fatalf("defaults: %+v", c)
	}
	if c := testConfig(t, "sssd:\n  online_command: \"-\"\n"); c.SSSD.OnlineCommand != "" {
		t.Fatalf("\"-\" did not turn the nudge off: %q", c.SSSD.OnlineCommand)
	}
	_, err := ParseConfig([]byte("server_url: http://127.0.0.1:9\ndc_probe: [dc1]\nvpn:\n  up_command: openconnect\n  wait: 5m\n"))
	for _, want := range []string{"dc_probe: \"dc1\" is not host:port", "vpn.down_command: required", "vpn.wait: must be"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems %v lack %q", err, want)
		}
	}
	if _, err := ParseConfig([]byte("server_url: http://127.0.0.1:9\nvpn:\n  up_command: x\n  down_command: y\n")); err == nil || !strings.Contains(err.Error(), "needs dc_probe") {
		t.Errorf("a VPN without a DC probe was accepted: %v", err)
	}
}

// TestReachDCBringsVPNUp: the DC does not answer; the up command "brings
// the tunnel up" (here: the test then opens the DC's port), the agent waits
// for the DC and remembers it brought the tunnel up; VPNDown runs the down
// command once.
func TestReachDCBringsVPNUp(t *testing.T) {
	dir := t.TempDir()
	dc := closedAddr(t)
	up, down := filepath.Join(dir, "up"), filepath.Join(dir, "down")
	c := testConfig(t, "dc_probe: [\""+dc+"\"]\nprobe_timeout: 1s\nvpn:\n  up_command: touch "+up+"\n  down_command: echo x >> "+down+"\n  wait: 60s\n")
	go func() {
		for {
			if _, err := os.Stat(up); err == nil {
				ln, err := net.Listen("tcp", dc)
				if err != nil {
					return
				}
				t.Cleanup(func() { ln.Close() })
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	m := &Machine{Cfg: c}
	conv := &recorder{}
	if err := m.ReachDC(context.Background(), func(s string) { _ = conv.Say(s) }, TextsFor("en")); err != nil {
		t.Fatalf("ReachDC: %v", err)
	}
	if !m.BroughtUp() || !strings.Contains(conv.text(), "Connecting to your organisation's network (VPN)") {
		t.Fatalf("brought up %v; said %q", m.BroughtUp(), conv.text())
	}
	m.VPNDown(context.Background())
	m.VPNDown(context.Background())
	if b, _ := os.ReadFile(down); string(b) != "x\n" {
		t.Fatalf("down command ran %q, want once", b)
	}
}

// TestReachDCWithoutVPNSaysWhatToDo: no VPN configured and the DC does not
// answer: the person is told what to do and the login goes on (ignore).
func TestReachDCWithoutVPNSaysWhatToDo(t *testing.T) {
	c := testConfig(t, "dc_probe: [\""+closedAddr(t)+"\"]\nhelp_desk: call 555-0100\n")
	conv := &recorder{}
	rec := &Recovery{Conv: conv, Texts: TextsFor("en"), HelpDesk: "call 555-0100"}
	res := (&Machine{Cfg: c}).AtLoginScreen(context.Background(), rec, "alice")
	if res.Outcome != OutcomeIgnore {
		t.Fatalf("outcome %q", res.Outcome)
	}
	for _, want := range []string{"cannot reach your organisation's network", "Connect it to the office network or your VPN", "Need help? call 555-0100"} {
		if !strings.Contains(conv.text(), want) {
			t.Errorf("said %q, lacks %q", conv.text(), want)
		}
	}
}

// TestVPNFailingIsTakenDown: a failing up command, and one whose tunnel
// never lets the DC answer within vpn.wait: both end with the down command
// and ErrDCUnreachable; the person hears that the VPN failed.
func TestVPNFailingIsTakenDown(t *testing.T) {
	for name, upCmd := range map[string]string{"fails": "exit 3", "dc-silent": "true"} {
		t.Run(name, func(t *testing.T) {
			down := filepath.Join(t.TempDir(), "down")
			c := testConfig(t, "dc_probe: [\""+closedAddr(t)+"\"]\nvpn:\n  up_command: \""+upCmd+"\"\n  down_command: touch "+down+"\n  wait: 1s\n")
			m := &Machine{Cfg: c}
			conv := &recorder{}
			res := m.AtLoginScreen(context.Background(), &Recovery{Conv: conv, Texts: TextsFor("en")}, "alice")
			if res.Outcome != OutcomeIgnore || !strings.Contains(conv.text(), "could not connect to your organisation's network (VPN)") {
				t.Fatalf("outcome %q, said %q", res.Outcome, conv.text())
			}
			if _, err := os.Stat(down); err != nil {
				t.Fatalf("the tunnel was not taken down: %v", err)
			}
			if m.BroughtUp() {
				t.Fatal("still marked as brought up")
			}
		})
	}
}

func TestSSSDOnline(t *testing.T) {
	dir := t.TempDir()
	nudged := filepath.Join(dir, "nudged")
	c := testConfig(t, "sssd:\n  online_command: touch "+nudged+"\n  online_check: test -f "+nudged+"\n")
	if !(&Machine{Cfg: c}).SSSDOnline(context.Background()) {
		t.Fatal("online check did not pass after the nudge")
	}
	c = testConfig(t, "sssd:\n  online_check: \"false\"\n  wait: 1s\n")
	if (&Machine{Cfg: c}).SSSDOnline(context.Background()) {
		t.Fatal("a failing online check was reported as online")
	}
}

// TestResetFaillockPassesLoginAsArgument: the login reaches faillock as one
// argument, never through a shell.
func TestResetFaillockPassesLoginAsArgument(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "faillock")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done > "+args+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := testConfig(t, "local_unlock:\n  faillock: true\n  faillock_command: "+fake+"\n")
	login := "bob; touch " + filepath.Join(dir, "pwned")
	if err := (&Machine{Cfg: c}).ResetFaillock(context.Background(), login); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(args); string(b) != "[--reset][--user]["+login+"]" {
		t.Fatalf("faillock got %s", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the login went through a shell")
	}
	off := testConfig(t, "local_unlock:\n  faillock_command: /nonexistent\n")
	if err := (&Machine{Cfg: off}).ResetFaillock(context.Background(), "bob"); err != nil {
		t.Fatalf("faillock off still ran: %v", err)
	}
}

func TestDoctor(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok"))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	_ = os.WriteFile(cfg, []byte("server_url: "+srv.URL+"\n"), 0o600)
	pam := filepath.Join(dir, "pam.d")
	proc := filepath.Join(dir, "proc")
	_ = os.MkdirAll(pam, 0o755)
	_ = os.MkdirAll(filepath.Join(proc, "4242"), 0o755)
	_ = os.WriteFile(filepath.Join(proc, "4242", "comm"), []byte("sssd\n"), 0o644)
	_ = os.WriteFile(filepath.Join(pam, "common-auth"), []byte("auth [success=1 default=ignore] pam_sss.so use_first_pass\n"), 0o644)
	_ = os.WriteFile(filepath.Join(pam, "login"), []byte("# comment\nauth [success=ok ignore=ignore default=die] pam_sspr.so mode=prompt\n@include common-auth\n"), 0o644)
	_ = os.WriteFile(filepath.Join(pam, "sshd"), []byte("auth required pam_unix.so\n"), 0o644)

	text, ok := FormatChecks(Doctor(context.Background(), DoctorOptions{ConfigPath: cfg, PAMDir: pam, ProcDir: proc}))
	if !ok {
		t.Fatalf("doctor failed a good setup:\n%s", text)
	}
	for _, want := range []string{"is valid", "answers and is healthy", "plain http", "running (process 4242)", "pam_sspr.so is used by: login", "dc_probe is not set"} {
		if !strings.Contains(text, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, text)
		}
	}

	// Broken: server down, sssd not running, pam_sss without use_first_pass.
	srv.Close()
	_ = os.Remove(filepath.Join(proc, "4242", "comm"))
	_ = os.WriteFile(filepath.Join(pam, "common-auth"), []byte("auth required pam_sss.so\n"), 0o644)
	text, ok = FormatChecks(Doctor(context.Background(), DoctorOptions{ConfigPath: cfg, PAMDir: pam, ProcDir: proc}))
	if ok {
		t.Fatalf("doctor passed a broken setup:\n%s", text)
	}
	for _, want := range []string{"FAIL  server", "cannot be reached", "FAIL  sssd", "not running", "FAIL  PAM", "login: no pam_sss.so use_first_pass"} {
		if !strings.Contains(text, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, text)
		}
	}
	// The module would give up before the agent's VPN wait is over.
	_ = os.WriteFile(cfg, []byte("server_url: "+srv.URL+"\ndc_probe: [\"127.0.0.1:9\"]\nvpn:\n  up_command: x\n  down_command: y\n  wait: 30s\n"), 0o600)
	_ = os.WriteFile(filepath.Join(pam, "common-auth"), []byte("auth required pam_sss.so use_first_pass\n"), 0o644)
	text, _ = FormatChecks(Doctor(context.Background(), DoctorOptions{ConfigPath: cfg, PAMDir: pam, ProcDir: proc}))
	if !strings.Contains(text, "login: pam_sspr.so timeout=20 is not longer than vpn.wait (30s)") {
		t.Errorf("a module timeout shorter than vpn.wait was not reported:\n%s", text)
	}
	text, _ = FormatChecks(Doctor(context.Background(), DoctorOptions{ConfigPath: filepath.Join(dir, "missing.yaml"), PAMDir: pam, ProcDir: proc}))
	if !strings.Contains(text, "FAIL  configuration") {
		t.Errorf("a missing configuration was not reported:\n%s", text)
	}
}

// TestDoctorCertificate: an https server with a CA the agent trusts, and
// one it does not.
func TestDoctorCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeCertPEM(t, ca, srv.Certificate().Raw)
	good := filepath.Join(dir, "good.yaml")
	_ = os.WriteFile(good, []byte("server_url: "+srv.URL+"\nca_file: "+ca+"\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("server_url: "+srv.URL+"\n"), 0o600)
	text, _ := FormatChecks(Doctor(context.Background(), DoctorOptions{ConfigPath: good, PAMDir: dir, ProcDir: dir}))
	if !strings.Contains(text, "trusted (checked against "+ca) || strings.Contains(text, "FAIL  certificate") {
		t.Errorf("trusted certificate not reported:\n%s", text)
	}
	text, _ = FormatChecks(Doctor(context.Background(), DoctorOptions{ConfigPath: bad, PAMDir: dir, ProcDir: dir}))
	if !strings.Contains(text, "FAIL  certificate") || !strings.Contains(text, "not trusted") {
		t.Errorf("untrusted certificate not reported:\n%s", text)
	}
}

func writeCertPEM(t *testing.T, path string, der []byte) {
	t.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCheckNewPasswordShowsHiddenFailures: a hidden rule (the breach
// corpus, a blocklist) is shown when it fails — it is the reason the
// password was refused; optional rules are not shown as refusals.
func TestCheckNewPasswordShowsHiddenFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":false,"score":3,"checks":[{"id":"length.min","message":"At least 8 characters","passed":true},` +
			`{"id":"breach","message":"Has not appeared in a known data breach","passed":false,"hidden":true},` +
			`{"id":"strength","message":"Hard to guess","passed":false,"optional":true}]}`))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, "", "en", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conv := &recorder{}
	if out := CheckNewPassword(context.Background(), c, conv, TextsFor("en"), "bob", "x"); out != OutcomeFail {
		t.Fatalf("outcome %q", out)
	}
	want := "WARN The new password was refused:\nWARN   ✗ Has not appeared in a known data breach"
	if conv.text() != want {
		t.Fatalf("said\n%s\nwant\n%s", conv.text(), want)
	}
}

// FuzzParseConfig: any file either parses into a configuration whose
// bounds hold, or is refused with an error; never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("server_url: http://127.0.0.1:9\n"))
	f.Add([]byte("server_url: https://sspr.example.com\ndc_probe: [\"dc1:88\"]\nvpn:\n  up_command: a\n  down_command: b\n  wait: 5s\n"))
	f.Add([]byte("timeout: -1s\nvpn: {linger: 99h}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if c.ServerURL == "" || c.Timeout <= 0 || c.VPN.Wait <= 0 || c.SSSD.Wait <= 0 || c.ProbeTimeout <= 0 || c.VPN.Linger < 0 {
			t.Fatalf("accepted a configuration out of bounds: %+v", c)
		}
		if c.VPN.UpCommand != "" && (c.VPN.DownCommand == "" || len(c.DCProbe) == 0) {
			t.Fatalf("accepted a VPN without down command or probe: %+v", c)
		}
	})
}
