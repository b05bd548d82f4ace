package packaging_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// agentPackage is the agent's deb, built once by `scripts/package.sh agent`
// into the packages folder (TestMain removes it).
var agentPackage struct {
	once sync.Once
	deb  string
	out  string
	err  error
}

func agentDebFile(t *testing.T) string {
	t.Helper()
	agentPackage.once.Do(func() {
		dir := filepath.Join(buildPackages(t), "agent")
		env := append(os.Environ(), "OUT="+dir, "VERSION="+version)
		agentPackage.out, agentPackage.err = runErr(15*time.Minute, env, "../scripts/package.sh", "agent")
		if agentPackage.err == nil {
			m, _ := filepath.Glob(filepath.Join(dir, "sspr-agent_*.deb"))
			if len(m) != 1 {
				agentPackage.err = fmt.Errorf("want one sspr-agent .deb, got %v", m)
			} else {
				agentPackage.deb = m[0]
			}
		}
	})
	if agentPackage.err != nil {
		t.Fatalf("scripts/package.sh agent: %v\n%s", agentPackage.err, agentPackage.out)
	}
	return agentPackage.deb
}

// pamDir reads every file of root's /etc/pam.d.
func pamDir(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	dir := filepath.Join(root, "etc/pam.d")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// stackLine returns the index and text of the first rule line of a PAM file
// that names module, or -1.
func stackLine(lines []string, module string) (int, string) {
	for i, l := range lines {
		if strings.Contains(l, module) {
			return i, l
		}
	}
	return -1, ""
}

func ruleLines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return out
}

// The agent's deb on a fresh Debian: installed, it leaves the PAM stacks
// alone (its profile is off until agent.yaml is filled in); one command
// (`pam-auth-update --enable sspr`) puts pam_sspr before pam_unix in the
// auth and the password stacks; a local user still logs in, also through
// the reset word, and changes a password with passwd's stack while the sspr
// server is unreachable; doctor says the server cannot be reached; a purge
// restores the stacks byte for byte.
func TestAgentDebEnablesAndRestoresThePAMStack(t *testing.T) {
	needTools(t, "mmdebstrap", "dpkg-deb", "chroot", "tar", "gcc", "make")
	deb := agentDebFile(t)
	root := freshRoot(t)
	in := func(p string) string { return filepath.Join(root, p) }
	if _, err := os.Stat(in("usr/bin/pamtester")); err != nil {
		t.Fatalf("the fresh root has no pamtester: %v", err)
	}
	before := pamDir(t, root)

	copyFile(t, deb, in("tmp/sspr-agent.deb"))
	out := run(t, 5*time.Minute, "chroot", root, "dpkg", "-i", "/tmp/sspr-agent.deb")
	if !strings.Contains(out, "pam-auth-update --enable sspr") {
		t.Errorf("a fresh install should say how to turn the login prompt on; dpkg said:\n%s", out)
	}
	checkFile(t, in("etc/sspr/agent.yaml"), 0o640, 0, 0)
	checkFile(t, in("usr/bin/sspr-agent"), 0o755, 0, 0)
	checkFile(t, in("usr/lib/x86_64-linux-gnu/security/pam_sspr.so"), 0o644, 0, 0)
	checkFile(t, in("usr/share/pam-configs/sspr"), 0o644, 0, 0)
	if conf := run(t, time.Minute, "chroot", root, "dpkg-query", "--showformat=${Conffiles}", "--show", "sspr-agent"); !strings.Contains(conf, "/etc/sspr/agent.yaml") {
		t.Errorf("/etc/sspr/agent.yaml is not a conffile (an upgrade would replace the admin's): %q", conf)
	}
	// Off until enabled: nothing in the stacks changed.
	for name, b := range pamDir(t, root) {
		if !bytes.Equal(b, before[name]) {
			t.Errorf("installing changed /etc/pam.d/%s before the profile was enabled:\n%s", name, b)
		}
	}

	// The shipped example is all comments: doctor says what is missing.
	out, err := runErr(time.Minute, nil, "chroot", root, "/usr/bin/sspr-agent", "doctor")
	if err == nil || !strings.Contains(out, "server_url: required") {
		t.Errorf("doctor with the shipped example should fail and name server_url (err %v):\n%s", err, out)
	}

	// The admin's part: a server that is down (nothing listens on the port).
	port := freePort(t)
	cfg := fmt.Sprintf("server_url: http://127.0.0.1:%d\nhelp_desk: call the help desk on 0100\ntimeout: 3s\n", port)
	f, err := os.OpenFile(in("etc/sspr/agent.yaml"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(cfg); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err = runErr(time.Minute, nil, "chroot", root, "/usr/bin/sspr-agent", "doctor")
	if err == nil || !strings.Contains(out, fmt.Sprintf("sspr at http://127.0.0.1:%d cannot be reached", port)) {
		t.Errorf("doctor should fail and say the server cannot be reached (err %v):\n%s", err, out)
	}
	t.Logf("sspr-agent doctor:\n%s", out)

	// The one command.
	run(t, time.Minute, "chroot", root, "pam-auth-update", "--enable", "sspr")
	auth := ruleLines(mustRead(t, in("etc/pam.d/common-auth")))
	si, sl := stackLine(auth, "pam_sspr.so")
	ui, ul := stackLine(auth, "pam_unix.so")
	if si < 0 || ui < 0 || si > ui {
		t.Fatalf("common-auth: want pam_sspr before pam_unix:\n%s", strings.Join(auth, "\n"))
	}
	if sl != "auth [success=ok default=ignore] pam_sspr.so mode=prompt" {
		t.Errorf("common-auth: pam_sspr line %q", sl)
	}
	if !strings.Contains(ul, "try_first_pass") {
		t.Errorf("common-auth: pam_unix does not take the password pam_sspr asked for: %q", ul)
	}
	pw := ruleLines(mustRead(t, in("etc/pam.d/common-password")))
	si, sl = stackLine(pw, "pam_sspr.so")
	ui, ul = stackLine(pw, "pam_unix.so")
	if si < 0 || ui < 0 || si > ui || sl != "password requisite pam_sspr.so" {
		t.Fatalf("common-password: want `requisite pam_sspr.so` before pam_unix:\n%s", strings.Join(pw, "\n"))
	}
	if !strings.Contains(ul, "use_authtok") {
		t.Errorf("common-password: pam_unix does not use the new password pam_sspr checked: %q", ul)
	}
	if err := os.WriteFile(in("etc/pam.d/sspr-pkgtest"), []byte("@include common-auth\n@include common-account\n@include common-password\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A local account (root's case: no directory, no sspr) logs in.
	run(t, time.Minute, "chroot", root, "useradd", "--create-home", "pkgtest")
	run(t, time.Minute, "chroot", root, "sh", "-c", "echo 'pkgtest:Local-Secret-1' | chpasswd")
	login := func(steps ...string) (string, error) {
		return pamtester(t, root, []string{"sspr-pkgtest", "pkgtest", "authenticate"}, steps...)
	}
	if out, err := login("or \"reset\"", "Local-Secret-1"); err != nil || !strings.Contains(out, "successfully authenticated") {
		t.Errorf("a local login with pam_sspr enabled and sspr down failed (%v):\n%s", err, out)
	}
	if out, err := login("or \"reset\"", "wrong-password"); err == nil || strings.Contains(out, "successfully authenticated") {
		t.Errorf("a wrong password was accepted:\n%s", out)
	}
	// The reset word while sspr is down: the module gives up (PAM_IGNORE),
	// says so, and pam_unix asks for the password as without it.
	out, err = login("or \"reset\"", "reset", "Type 1", "1", "Password: ", "Local-Secret-1")
	if err != nil || !strings.Contains(out, "successfully authenticated") {
		t.Errorf("after the reset word with sspr down, the normal login did not go on (%v):\n%s", err, out)
	}
	t.Logf("the reset word with sspr down:\n%s", out)

	// passwd's stack with sspr down: the check is skipped, pam_unix sets it.
	out, err = pamtester(t, root, []string{"sspr-pkgtest", "pkgtest", "chauthtok"}, "New password", "Local-Secret-2", "new password", "Local-Secret-2")
	if err != nil || !strings.Contains(out, "altered successfully") {
		t.Errorf("changing a local password with sspr down failed (%v):\n%s", err, out)
	}
	if out, err := login("or \"reset\"", "Local-Secret-2"); err != nil || !strings.Contains(out, "successfully authenticated") {
		t.Errorf("the changed password does not log in (%v):\n%s", err, out)
	}

	// An upgrade keeps the admin's agent.yaml and the enabled profile.
	hasSSPR := func(file string) bool {
		return bytes.Contains(mustRead(t, in("etc/pam.d/"+file)), []byte("pam_sspr.so"))
	}
	configBefore := hashFile(t, in("etc/sspr/agent.yaml"))
	run(t, 5*time.Minute, "chroot", root, "dpkg", "-i", "/tmp/sspr-agent.deb")
	if hashFile(t, in("etc/sspr/agent.yaml")) != configBefore {
		t.Error("the upgrade replaced the admin's /etc/sspr/agent.yaml")
	}
	if !hasSSPR("common-auth") || !hasSSPR("common-password") {
		t.Error("the upgrade took the enabled profile out of the stacks")
	}
	// The admin turns it off; an upgrade does not force it back on.
	run(t, time.Minute, "chroot", root, "pam-auth-update", "--disable", "sspr")
	run(t, 5*time.Minute, "chroot", root, "dpkg", "-i", "/tmp/sspr-agent.deb")
	if hasSSPR("common-auth") || hasSSPR("common-password") {
		t.Error("the upgrade put the profile the admin disabled back into the stacks")
	}
	run(t, time.Minute, "chroot", root, "pam-auth-update", "--enable", "sspr")
	t.Logf("common-auth with the profile enabled:\n%s", mustRead(t, in("etc/pam.d/common-auth")))

	// Purge (the profile enabled): the stacks are as before installation,
	// byte for byte.
	if err := os.Remove(in("etc/pam.d/sspr-pkgtest")); err != nil {
		t.Fatal(err)
	}
	run(t, 5*time.Minute, "chroot", root, "dpkg", "--purge", "sspr-agent")
	after := pamDir(t, root)
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("/etc/pam.d/%s after purge differs from before installation:\nbefore:\n%s\nafter:\n%s", name, b, after[name])
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("/etc/pam.d/%s is left after purge", name)
		}
	}
	for _, gone := range []string{"usr/bin/sspr-agent", "usr/lib/x86_64-linux-gnu/security/pam_sspr.so",
		"usr/share/pam-configs/sspr", "etc/sspr/agent.yaml", "etc/sspr"} {
		if _, err := os.Lstat(in(gone)); err == nil {
			t.Errorf("/%s is still there after purge", gone)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pamtester runs pamtester in root and holds its conversation: steps are
// pairs of (text to wait for in the output, line to answer). Answers are
// written only after their prompt appeared, so none is swallowed by an
// earlier read. Bounded: two minutes for the whole run.
func pamtester(t *testing.T, root string, args []string, steps ...string) (string, error) {
	t.Helper()
	if len(steps)%2 != 0 {
		t.Fatal("pamtester: steps come in (wait, answer) pairs")
	}
	cmd := exec.Command("chroot", append([]string{root, "pamtester", "-v"}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	grew := make(chan struct{}, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		b := make([]byte, 4096)
		for {
			n, err := pr.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			select {
			case grew <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		exited <- err
	}()
	deadline := time.After(2 * time.Minute)
	from := 0
	for i := 0; i < len(steps); i += 2 {
		for {
			o := output()
			if j := strings.Index(o[from:], steps[i]); j >= 0 {
				from += j + len(steps[i])
				break
			}
			select {
			case <-grew:
			case err := <-exited:
				<-readDone
				return output(), fmt.Errorf("pamtester ended before %q: %v", steps[i], err)
			case <-deadline:
				_ = cmd.Process.Kill()
				<-exited
				<-readDone
				return output(), fmt.Errorf("pamtester did not ask %q within 2 minutes", steps[i])
			}
		}
		if _, err := io.WriteString(stdin, steps[i+1]+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	stdin.Close()
	select {
	case err = <-exited:
	case <-deadline:
		_ = cmd.Process.Kill()
		err = <-exited
	}
	<-readDone
	return output(), err
}
