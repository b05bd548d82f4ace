package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the sspr binary built once for the tests that run it as a
// person would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sspr-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "sspr")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building sspr: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func post(t *testing.T, url string, body map[string]string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestDemoReset runs `sspr demo` and completes a reset over HTTP, reading the
// code from the demo mailbox, then stops it with Ctrl-C.
func TestDemoReset(t *testing.T) {
	cmd := exec.Command(binary, "demo", "--listen", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	urlRE := regexp.MustCompile(`sspr demo is running: (http://\S+)`)
	lines := bufio.NewScanner(stdout)
	var base, banner string
	found := make(chan struct{})
	go func() {
		for lines.Scan() {
			banner += lines.Text() + "\n"
			if m := urlRE.FindStringSubmatch(lines.Text()); m != nil && base == "" {
				base = m[1]
			}
			if strings.Contains(lines.Text(), "Press Ctrl-C") {
				close(found)
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
	}()
	select {
	case <-found:
	case <-time.After(20 * time.Second):
		t.Fatalf("sspr demo did not start:\n%s\n%s", banner, stderr.String())
	}
	for _, want := range []string{"alice", "Winter-2026", "/demo/mailbox"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not show %q:\n%s", want, banner)
		}
	}

	status, body := post(t, base+"/api/v1/reset", map[string]string{"login": "alice"})
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %v", status, body)
	}
	flowID := body["flow_id"].(string)
	codeRE := regexp.MustCompile(`(?m)^\s+(\d{8})\s*$`)
	var code string
	for deadline := time.Now().Add(15 * time.Second); code == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/demo/mailbox.json")
		if err != nil {
			t.Fatal(err)
		}
		var box struct {
			Messages []struct {
				To   []string `json:"to"`
				Text string   `json:"text"`
			} `json:"messages"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&box)
		resp.Body.Close()
		for _, m := range box.Messages {
			if mm := codeRE.FindStringSubmatch(m.Text); mm != nil && strings.Join(m.To, "") == "alice@demo.sspr.test" {
				code = mm[1]
			}
		}
	}
	if code == "" {
		t.Fatalf("no code in the demo mailbox\n%s", stderr.String())
	}
	if status, body := post(t, base+"/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": code}); status != http.StatusOK {
		t.Fatalf("verify: %d %v", status, body)
	}
	// sspr's own rules refuse a short password, and say which rule.
	status, body = post(t, base+"/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "short"})
	if status != http.StatusUnprocessableEntity || !strings.Contains(toJSON(body), "length.min") {
		t.Fatalf("short password: %d %v", status, body)
	}
	// The demo directory's own rule (a digit) refuses what sspr let through.
	status, body = post(t, base+"/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "Marmalade-Otter-Lantern"})
	if status != http.StatusUnprocessableEntity || !strings.Contains(toJSON(body), "The directory did not accept") {
		t.Fatalf("password without a digit: %d %v", status, body)
	}
	if status, body := post(t, base+"/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "New-Demo-Pass-1"}); status != http.StatusOK || body["state"] != "done" {
		t.Fatalf("good password: %d %v", status, body)
	}
	// The HTML mailbox shows the change notice too.
	resp, err := http.Get(base + "/demo/mailbox")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Your password reset code") {
		t.Fatalf("the mailbox page does not list the code mail")
	}

	// Ctrl-C stops it cleanly.
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sspr demo exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sspr demo did not stop on SIGINT")
	}
	if strings.Contains(stderr.String(), "New-Demo-Pass-1") || strings.Contains(stderr.String(), code) {
		t.Fatal("the log contains a password or a code")
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestConfigCheckListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte(`
server:
  base_url: "not a url"
  lisen: ":8080"
directories:
  - name: corp
    type: ad
    urls: ["ldap://dc1.example.com:3268"]
reset:
  code_ttl: 1h
`), 0o600)
	out, err := exec.Command(binary, "config", "check", path).CombinedOutput()
	if err == nil {
		t.Fatalf("config check accepted a bad file:\n%s", out)
	}
	for _, want := range []string{
		`server.lisen: is not a known setting (did you mean "listen"?)`,
		"server.base_url:",
		"directories[0].urls[0]: is the global catalog port",
		"directories[0].bind_dn: is required",
		"reset.code_ttl:",
		"secrets.hmac_key: is required",
		"mail.from: is required",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sspr ") {
		t.Fatalf("version: %v %s", err, out)
	}
}
