package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestLoginScreenGreeterScreenshot runs a real graphical greeter — LightDM
// with lightdm-gtk-greeter on Xvfb, with a private system D-Bus (there is
// no systemd/logind here) — whose PAM service `lightdm` (from the test's
// folder, through pam_wrapper) starts with pam_sspr. xdotool types as a
// person would: the login, the trigger word, "1" for a new password; the
// code is mailed (the conversation ran through the greeter), and
// screenshots of the conversation on the login screen are saved under
// $SSPR_TEST_ARTEFACTS (or the test's temporary folder; the paths are
// logged).
func TestLoginScreenGreeterScreenshot(t *testing.T) {
	for _, bin := range []string{"lightdm", "lightdm-gtk-greeter", "Xvfb", "xdotool", "xwd", "xwdtopnm", "pnmtopng", "dbus-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + bin); err2 == nil {
				continue
			}
			msg := bin + " is missing (scripts/testenv/login.sh installs lightdm, lightdm-gtk-greeter, xvfb, xdotool, x11-apps, netpbm)"
			if os.Getenv(dirtest.RequireEnv) == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	if os.Getuid() != 0 {
		t.Skip("LightDM needs root")
	}
	env := pamEnv(t)
	in := start(t, startDemoDirectory(t), "")
	dir := t.TempDir()
	// The greeter runs as the lightdm user and must reach the run folder.
	_ = os.Chmod(dir, 0o755)
	artefacts := os.Getenv("SSPR_TEST_ARTEFACTS")
	if artefacts == "" {
		artefacts = t.TempDir()
	}
	_ = os.MkdirAll(artefacts, 0o755)
	display := 57
	for ; display < 99; display++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", display)); os.IsNotExist(err) {
			break
		}
	}
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := write("agent.yaml", "server_url: "+in.URL+"\nhelp_desk: call 555-0100\ntimeout: 20s\n", 0o600)
	services := filepath.Join(dir, "pam.d")
	_ = os.MkdirAll(services, 0o755)
	write("pam.d/lightdm", fmt.Sprintf("auth [success=ok ignore=ignore default=die] %s mode=prompt trigger=reset agent=%s config=%s timeout=60\nauth required pam_deny.so\naccount required pam_permit.so\nsession required pam_permit.so\n",
		env.module, env.agent, cfg), 0o644)
	write("pam.d/lightdm-greeter", "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_permit.so\npassword required pam_deny.so\n", 0o644)
	// LightDM starts X with options Xvfb refuses (vtN, -seat): keep the
	// display only.
	xserver := write("xvfb", "#!/bin/sh\nd=\nfor a in \"$@\"; do case $a in :*) d=$a;; esac; done\nexec Xvfb \"$d\" -screen 0 1024x768x24 -nolisten tcp -ac\n", 0o755)
	bus := filepath.Join(dir, "sysbus")
	busConf := write("dbus.conf", `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=`+bus+`</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/>
<allow send_type="method_call"/><allow send_type="signal"/><allow send_type="method_return"/><allow send_type="error"/>
<allow receive_type="method_call"/><allow receive_type="signal"/><allow receive_type="method_return"/><allow receive_type="error"/>
</policy></busconfig>
`, 0o644)
	for _, d := range []string{"run", "log", "cache"} {
		_ = os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	conf := write("lightdm.conf", fmt.Sprintf("[LightDM]\nrun-directory=%[1]s/run\nlog-directory=%[1]s/log\ncache-directory=%[1]s/cache\nminimum-display-number=%[2]d\n[Seat:*]\nxserver-command=%[3]s\ngreeter-session=lightdm-gtk-greeter\ngreeter-hide-users=true\n",
		dir, display, xserver), 0o644)

	dbus := exec.Command("dbus-daemon", "--config-file="+busConf, "--nofork", "--nopidfile")
	if err := dbus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dbus.Process.Kill(); _ = dbus.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(bus); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var out syncBuffer
	lightdm := exec.Command("lightdm", "-c", conf, "-d")
	lightdm.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS=unix:path="+bus, "LD_PRELOAD="+env.wrapper, "PAM_WRAPPER=1",
		"PAM_WRAPPER_SERVICE_DIR="+services, "LANG=C.UTF-8")
	lightdm.Stdout, lightdm.Stderr = &out, &out
	if err := lightdm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = lightdm.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = lightdm.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = lightdm.Process.Kill()
		}
		// An X server LightDM left behind (seen when it fails to start).
		if b, err := os.ReadFile(fmt.Sprintf("/tmp/.X%d-lock", display)); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "Xvfb" {
					_ = syscall.Kill(pid, syscall.SIGTERM)
				}
			}
		}
		if t.Failed() {
			t.Logf("lightdm output:\n%s", out.String())
		}
	})
	prompts := regexp.MustCompile(`Prompt greeter with \d+ message`)
	count := func() int { return len(prompts.FindAllString(out.String(), -1)) }
	// waitPrompts waits until LightDM relayed at least n conversation
	// messages and then until no more come for a moment (the greeter
	// shows the last one).
	waitPrompts := func(n int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("LightDM relayed %d conversation messages, want %d:\n%s", count(), n, out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		for last := -1; last != count(); {
			last = count()
			time.Sleep(1500 * time.Millisecond)
		}
	}
	x := func(args ...string) {
		t.Helper()
		cmd := exec.Command("xdotool", args...)
		cmd.Env = append(os.Environ(), fmt.Sprintf("DISPLAY=:%d", display))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v %s", args, err, b)
		}
	}
	shot := func(name string) {
		t.Helper()
		// Focus off the entry, so its placeholder (the prompt) shows.
		x("key", "Tab")
		time.Sleep(300 * time.Millisecond)
		path := filepath.Join(artefacts, name)
		sh := fmt.Sprintf("xwd -root -silent -display :%d | xwdtopnm 2>/dev/null | pnmtopng > %s", display, path)
		if b, err := exec.Command("sh", "-c", sh).CombinedOutput(); err != nil {
			t.Fatalf("screenshot: %v %s", err, b)
		}
		if b, _ := os.ReadFile(path); len(b) < 1000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("screenshot %s is not a PNG", path)
		}
		t.Logf("screenshot of the login screen: %s", path)
		x("key", "shift+Tab")
	}

	waitPrompts(1) // the greeter asks for the login
	x("type", "--delay", "40", "alice")
	x("key", "Return")
	waitPrompts(2) // pam_sspr: Password (or "reset" …)
	if !strings.Contains(out.String(), "Started with service 'lightdm', username 'alice'") {
		t.Fatalf("LightDM did not start the lightdm PAM service for alice:\n%s", out.String())
	}
	x("type", "--delay", "40", "reset")
	x("key", "Return")
	waitPrompts(3) // Type 1 to choose a new password …
	shot("greeter-1-reset-or-unlock.png")
	before := in.codeMailsTo("alice@demo.sspr.test")
	x("type", "--delay", "40", "1")
	x("key", "Return")
	in.waitCode(t, "alice@demo.sspr.test", before) // the conversation reached sspr through the greeter
	waitPrompts(4)                                 // Enter the code we sent …
	shot("greeter-2-code.png")
}

// syncBuffer is a bytes.Buffer safe for a process's output and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
