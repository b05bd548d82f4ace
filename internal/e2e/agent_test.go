package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/agent"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// scripted is a Conversation that answers prompts from a function and keeps
// a transcript of everything shown.
type scripted struct {
	mu         sync.Mutex
	transcript []string
	answer     func(prompt string) (string, error)
}

func (s *scripted) log(line string) {
	s.mu.Lock()
	s.transcript = append(s.transcript, line)
	s.mu.Unlock()
}

func (s *scripted) Ask(secret bool, prompt string) (string, error) {
	s.log(fmt.Sprintf("ASK(secret=%v) %s", secret, prompt))
	return s.answer(prompt)
}
func (s *scripted) Say(text string) error  { s.log("SAY " + text); return nil }
func (s *scripted) Warn(text string) error { s.log("WARN " + text); return nil }

func agentClient(t *testing.T, in *instance) *agent.Client {
	t.Helper()
	c, err := agent.NewClient(in.URL, "", "en", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAgentResetAtLoginPrompt: the login-screen conversation resets a
// password with a mailed code, shows the rules line by line and a
// directory refusal's reason, and hands the new password on.
func TestAgentResetAtLoginPrompt(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	newPW := "Login-Screen-Reset-7"
	tries := 0
	conv := &scripted{}
	conv.answer = func(prompt string) (string, error) {
		switch {
		case strings.HasPrefix(prompt, "Type 1 to choose a new password"):
			return "1", nil
		case strings.HasPrefix(prompt, "Enter the code we sent to your email"):
			return in.waitCode(t, "alice@demo.sspr.test", 0), nil
		case strings.HasPrefix(prompt, "New password"):
			tries++
			if tries == 1 {
				return "Marmalade-Otter-Lantern", nil // no digit: the demo directory refuses it
			}
			return newPW, nil
		case strings.HasPrefix(prompt, "Type the new password again"):
			if tries == 1 {
				return "Marmalade-Otter-Lantern", nil
			}
			return newPW, nil
		}
		return "", fmt.Errorf("unexpected prompt %q", prompt)
	}
	rec := &agent.Recovery{Client: agentClient(t, in), Conv: conv, Texts: agent.TextsFor("en_US.UTF-8"), HelpDesk: "call 555-0100"}
	res := rec.Run(context.Background(), "alice", "")
	text := strings.Join(conv.transcript, "\n")
	if res.Outcome != agent.OutcomeOK || res.Password != newPW {
		t.Fatalf("outcome %q, password handed on %v; transcript:\n%s", res.Outcome, res.Password == newPW, text)
	}
	for _, want := range []string{"Your new password must meet these rules:", "  • ", "Your password was changed."} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
	if tries != 2 || !strings.Contains(text, "WARN ") {
		t.Errorf("the refused password was not explained and asked again (tries %d):\n%s", tries, text)
	}
	for _, secret := range []string{newPW, "Marmalade-Otter-Lantern"} {
		if strings.Contains(text, secret) {
			t.Errorf("the transcript shows a password")
		}
	}
}

// TestAgentTranscriptsSameForStrangers: up to the first verified factor, the
// agent's conversation for an unknown login reads exactly like the one for
// an enrolled account (the server's uniform answers, relayed).
func TestAgentTranscriptsSameForStrangers(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	transcript := func(login string) string {
		conv := &scripted{}
		wrong := 0
		conv.answer = func(prompt string) (string, error) {
			switch {
			case strings.HasPrefix(prompt, "Type 1 to choose"):
				return "1", nil
			case strings.HasPrefix(prompt, "Enter the code"):
				if wrong++; wrong > 2 {
					return "", agent.ErrCancelled
				}
				return "00000000", nil
			}
			return "", agent.ErrCancelled
		}
		rec := &agent.Recovery{Client: agentClient(t, in), Conv: conv, Texts: agent.TextsFor("en")}
		rec.Run(context.Background(), login, "")
		return strings.Join(conv.transcript, "\n")
	}
	known, unknown := transcript("alice"), transcript("nobody-here-"+dirtest.UniqueName("x"))
	if known != unknown {
		t.Fatalf("transcripts differ:\n--- enrolled\n%s\n--- unknown\n%s", known, unknown)
	}
	if !strings.Contains(known, "ASK(secret=true) Enter the code") {
		t.Fatalf("the conversation never reached the code prompt:\n%s", known)
	}
}

// TestPAMModuleResetHandsOnNewPassword runs the real PAM module (built with
// gcc from pam/) under pamtester with pam_wrapper: the trigger word at the
// password prompt starts the reset; after it, the next module receives the
// new password as PAM_AUTHTOK (pam_exec expose_authtok writes it to a file).
func TestPAMModuleResetHandsOnNewPassword(t *testing.T) {
	env := pamEnv(t)
	in := start(t, startDemoDirectory(t), "")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(cfg, []byte("server_url: "+in.URL+"\nhelp_desk: call 555-0100\ntimeout: 10s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(dir, "authtok")
	script := filepath.Join(dir, "save-authtok")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat > "+got+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	services := filepath.Join(dir, "pam.d")
	_ = os.MkdirAll(services, 0o755)
	stack := fmt.Sprintf(`auth [success=ok ignore=ignore default=die] %s mode=prompt trigger=reset agent=%s config=%s timeout=30
auth required pam_exec.so expose_authtok quiet %s
account required pam_permit.so
`, env.module, env.agent, cfg, script)
	if err := os.WriteFile(filepath.Join(services, "sspr-test"), []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	newPW := "Pam-Module-Reset-42"
	session := startPamtester(t, env, services, "alice")
	session.answer(`Password \(or "reset"`, "reset")
	session.answer(`Type 1 to choose a new password`, "1")
	session.answer(`Enter the code we sent to your email`, in.waitCode(t, "alice@demo.sspr.test", 0))
	session.expect(`Your new password must meet these rules:`)
	session.answer(`New password:`, newPW)
	session.answer(`Type the new password again:`, newPW)
	session.expect(`Your password was changed.`)
	session.expect(`pamtester: successfully authenticated`)
	if err := session.wait(); err != nil {
		t.Fatalf("pamtester: %v\n%s", err, session.output())
	}
	b, err := os.ReadFile(got)
	if err != nil || strings.TrimRight(string(b), "\x00\n") != newPW {
		t.Fatalf("the next module got PAM_AUTHTOK %q (err %v), want the new password", b, err)
	}
}

// TestPAMModuleGoesOnWhenSSPRIsDown: with the server unreachable the module
// tells the person plainly and the stack goes on (PAM_IGNORE) at once.
func TestPAMModuleGoesOnWhenSSPRIsDown(t *testing.T) {
	env := pamEnv(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	// A port nobody listens on.
	if err := os.WriteFile(cfg, []byte("server_url: http://127.0.0.1:9\ntimeout: 3s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	services := filepath.Join(dir, "pam.d")
	_ = os.MkdirAll(services, 0o755)
	stack := fmt.Sprintf(`auth [success=done ignore=ignore default=die] %s mode=offer agent=%s config=%s timeout=10
auth required pam_deny.so
`, env.module, env.agent, cfg)
	if err := os.WriteFile(filepath.Join(services, "sspr-test"), []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	session := startPamtester(t, env, services, "alice")
	session.answer(`Forgot your password or locked out\?`, "yes")
	session.answer(`Type 1 to choose a new password`, "1")
	session.expect(`cannot be reached from this computer right now`)
	session.expect(`Please log in as usual`)
	// pam_deny after the ignored module: the normal failure, not a hang.
	if err := session.wait(); err == nil {
		t.Fatalf("pamtester succeeded past pam_deny:\n%s", session.output())
	}
	if strings.Contains(session.output(), "successfully authenticated") {
		t.Fatalf("authenticated without a password:\n%s", session.output())
	}
}

// pamEnvironment is a built module and agent, and pam_wrapper.
type pamEnvironment struct{ module, agent, wrapper string }

func pamEnv(t *testing.T) pamEnvironment {
	t.Helper()
	need := func(path, pkg string) {
		if _, err := os.Stat(path); err != nil {
			if os.Getenv(dirtest.RequireEnv) == "1" {
				t.Fatalf("%s is missing (install %s; scripts/testenv/tools.sh does)", path, pkg)
			}
			t.Skipf("%s is missing (install %s)", path, pkg)
		}
	}
	wrapper := "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"
	need(wrapper, "libpam-wrapper")
	need("/usr/bin/pamtester", "pamtester")
	need("/usr/include/security/pam_modules.h", "libpam0g-dev")
	dir := t.TempDir()
	root := repoRoot(t)
	module := filepath.Join(dir, "pam_sspr.so")
	if out, err := exec.Command("make", "-s", "-C", filepath.Join(root, "pam"), "OUT="+module).CombinedOutput(); err != nil {
		t.Fatalf("building the PAM module: %v\n%s", err, out)
	}
	agentBin := filepath.Join(dir, "sspr-agent")
	build := exec.Command("go", "build", "-o", agentBin, "./cmd/sspr-agent")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building sspr-agent: %v\n%s", err, out)
	}
	return pamEnvironment{module: module, agent: agentBin, wrapper: wrapper}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	t.Fatal("no go.mod above " + wd)
	return ""
}

// pamSession is pamtester running with its conversation on pipes.
type pamSession struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	out   strings.Builder
	more  chan struct{}
	done  chan error
	pos   int
}

func startPamtester(t *testing.T, env pamEnvironment, services, user string) *pamSession {
	t.Helper()
	return startPamtesterIn(t, env, "", services, "sspr-test", user, "authenticate")
}

// startPamtesterIn runs pamtester for service and user with the given
// operations, inside network namespace ns when it is set.
func startPamtesterIn(t *testing.T, env pamEnvironment, ns, services, service, user string, ops ...string) *pamSession {
	t.Helper()
	// stdbuf: pamtester prints PAM information messages on a buffered
	// stdout, which would arrive only at its exit.
	args := append([]string{"stdbuf", "-o0", "-e0", "pamtester", "-v", service, user}, ops...)
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "LD_PRELOAD="+env.wrapper, "PAM_WRAPPER=1", "PAM_WRAPPER_SERVICE_DIR="+services, "LANG=C.UTF-8")
	stdin, _ := cmd.StdinPipe()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	s := &pamSession{t: t, cmd: cmd, stdin: stdin, more: make(chan struct{}, 1), done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReader(pr)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				s.mu.Lock()
				s.out.Write(buf[:n])
				s.mu.Unlock()
				select {
				case s.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { err := cmd.Wait(); pw.Close(); s.done <- err }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return s
}

func (s *pamSession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// expect waits until pattern appears after what was matched before.
func (s *pamSession) expect(pattern string) {
	s.t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.After(60 * time.Second)
	for {
		out := s.output()
		if loc := re.FindStringIndex(out[s.pos:]); loc != nil {
			s.pos += loc[1]
			return
		}
		select {
		case <-s.more:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			s.t.Fatalf("pamtester never showed %q; output:\n%s", pattern, out)
		}
	}
}

func (s *pamSession) answer(pattern, text string) {
	s.t.Helper()
	s.expect(pattern)
	if _, err := io.WriteString(s.stdin, text+"\n"); err != nil {
		s.t.Fatalf("answering %q: %v", pattern, err)
	}
}

func (s *pamSession) wait() error {
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(60 * time.Second):
		return fmt.Errorf("pamtester did not finish")
	}
}
