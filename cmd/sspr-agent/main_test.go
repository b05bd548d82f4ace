package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDoctorCommand: `sspr-agent doctor` prints one plain line per check
// and exits 1 when something is broken.
func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := run([]string{"doctor", "--config", filepath.Join(dir, "none.yaml"), "--pam-dir", dir}, strings.NewReader(""), &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "FAIL  configuration") || !strings.Contains(out.String(), "FAIL  PAM") {
		t.Fatalf("exit %d, output:\n%s%s", code, out.String(), errOut.String())
	}
}

// TestVPNDownCommand: the linger process runs vpn.down_command (it takes
// down the tunnel its parent brought up) and logs it to log_file.
func TestVPNDownCommand(t *testing.T) {
	dir := t.TempDir()
	down := filepath.Join(dir, "down")
	logFile := filepath.Join(dir, "agent.log")
	cfg := filepath.Join(dir, "agent.yaml")
	body := "server_url: http://127.0.0.1:9\nlog_file: " + logFile + "\ndc_probe: [\"127.0.0.1:9\"]\nvpn:\n  up_command: \"true\"\n  down_command: touch " + down + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"vpn-down", "--after", "0s", "--config", cfg}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(down); err != nil {
		t.Fatalf("down command did not run: %v", err)
	}
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "VPN down") {
		t.Fatalf("log: %q", b)
	}
}
