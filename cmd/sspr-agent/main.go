// Command sspr-agent is sspr at the login screen: the helper the PAM module
// pam_sspr.so runs to hold the "forgot your password or locked out?"
// conversation, the same conversation in a terminal (`sspr-agent reset`,
// `sspr-agent unlock`), and the new-password check of the PAM password
// stack (`passwd`). It speaks only sspr's JSON API.
//
//	sspr-agent pam-helper --user LOGIN [--service SVC] [--config FILE]
//	sspr-agent reset  [--user LOGIN] [--config FILE]
//	sspr-agent unlock [--user LOGIN] [--config FILE]
//	sspr-agent check-password --user LOGIN [--config FILE]
//	sspr-agent vpn-down --after DURATION [--config FILE]
//	sspr-agent doctor [--config FILE] [--pam-dir DIR]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sspr/sspr/internal/agent"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: sspr-agent pam-helper|reset|unlock|check-password|vpn-down|doctor|register|version [flags]")
		return 2
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "the login")
	service := fs.String("service", "", "the PAM service (for the log)")
	configPath := fs.String("config", agent.DefaultConfigPath, "agent configuration file")
	after := fs.Duration("after", 0, "vpn-down: wait this long first")
	pamDir := fs.String("pam-dir", "/etc/pam.d", "doctor: the PAM service folder")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "sspr-agent", version)
		return 0
	case "doctor":
		text, ok := agent.FormatChecks(agent.Doctor(context.Background(), agent.DoctorOptions{ConfigPath: *configPath, PAMDir: *pamDir}))
		fmt.Fprint(stdout, text)
		if !ok {
			return 1
		}
		return 0
	}
	if cmd == "register" {
		return register(rest, stdout, stderr)
	}
	cfg, cfgErr := agent.LoadConfig(*configPath)
	lang := os.Getenv("LANG")
	if cfgErr == nil && cfg.Language != "" {
		lang = cfg.Language
	}
	texts := agent.TextsFor(lang)
	logger := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	switch cmd {
	case "pam-helper", "check-password":
		conv := agent.NewLineConversation(stdin, stdout)
		if cfgErr != nil {
			logger.warn(fmt.Sprintf("pam-helper: %v", cfgErr))
			_ = conv.Warn(texts.T("server_unreachable"))
			_ = conv.Finish(string(agent.OutcomeIgnore))
			return 0
		}
		client, err := newClient(cfg, texts.Lang)
		if err != nil {
			logger.warn(fmt.Sprintf("%s: %v", cmd, err))
			_ = conv.Finish(string(agent.OutcomeIgnore))
			return 0
		}
		if cmd == "check-password" {
			pw, err := conv.Ask(true, texts.T("new_password"))
			if err != nil {
				_ = conv.Finish(string(agent.OutcomeIgnore))
				return 0
			}
			out := agent.CheckNewPassword(ctx, client, conv, texts, *user, pw)
			logger.info(fmt.Sprintf("new-password check for %s (service %s): %s", *user, *service, out))
			_ = conv.Finish(string(out))
			return 0
		}
		rec := &agent.Recovery{Client: client, Conv: conv, Texts: texts, HelpDesk: cfg.HelpDesk}
		m := &agent.Machine{Cfg: cfg, Log: logger.info}
		res := m.AtLoginScreen(ctx, rec, *user)
		// Only the outcome is logged; never a code or a password.
		logger.info(fmt.Sprintf("self-service at the login screen for %s (service %s): %s", *user, *service, res.Outcome))
		if res.Outcome == agent.OutcomeOK && res.Password != "" {
			_ = conv.HandOn(res.Password)
		}
		if m.BroughtUp() {
			// The tunnel must outlive this helper: the next module
			// (pam_sss) authenticates online only after the module
			// ended the helper. A detached linger takes it down.
			// Without a password handed on nobody needs the tunnel.
			exe, err := os.Executable()
			handedOn := res.Outcome == agent.OutcomeOK && res.Password != ""
			if err != nil || !handedOn || cfg.VPN.Linger == 0 || agent.DetachVPNDown(exe, *configPath, cfg.VPN.Linger) != nil {
				m.VPNDown(context.Background())
			} else {
				logger.info(fmt.Sprintf("the VPN goes down in %s", cfg.VPN.Linger))
			}
		}
		_ = conv.Finish(string(res.Outcome))
		return 0
	case "vpn-down":
		if cfgErr != nil {
			fmt.Fprintln(stderr, cfgErr)
			return 1
		}
		if *after > 0 {
			select {
			case <-time.After(*after):
			case <-ctx.Done():
			}
		}
		m := &agent.Machine{Cfg: cfg, Log: logger.info}
		m.MarkBroughtUp()
		m.VPNDown(context.Background())
		return 0
	case "reset", "unlock":
		if cfgErr != nil {
			fmt.Fprintln(stderr, cfgErr)
			return 1
		}
		client, err := newClient(cfg, texts.Lang)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		conv := newTerminal(stdin, stdout, stderr)
		login := *user
		if login == "" {
			if login, err = conv.Ask(false, "Login: "); err != nil || strings.TrimSpace(login) == "" {
				return 1
			}
		}
		rec := &agent.Recovery{Client: client, Conv: conv, Texts: texts, HelpDesk: cfg.HelpDesk}
		res := rec.Run(ctx, strings.TrimSpace(login), cmd)
		if res.Outcome != agent.OutcomeOK {
			return 1
		}
		m := &agent.Machine{Cfg: cfg, Log: logger.info}
		_ = m.ResetFaillock(ctx, strings.TrimSpace(login))
		return 0
	default:
		fmt.Fprintf(stderr, "sspr-agent: unknown command %q\n", cmd)
		return 2
	}
}

// logger writes to syslog (auth facility) when there is one, and to the
// configured log_file: the helper's stderr is /dev/null under PAM. Callers
// pass outcomes and steps only, never a password or a code.
type logger struct {
	w    *syslog.Writer
	file string
}

func newLogger(cfg *agent.Config) logger {
	var l logger
	if cfg != nil {
		l.file = cfg.LogFile
	}
	if w, err := syslog.New(syslog.LOG_AUTHPRIV|syslog.LOG_NOTICE, "sspr-agent"); err == nil {
		l.w = w
	}
	return l
}

func (l logger) toFile(level, msg string) {
	if l.file == "" {
		return
	}
	f, err := os.OpenFile(l.file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%s sspr-agent[%d] %s: %s\n", time.Now().UTC().Format(time.RFC3339), os.Getpid(), level, msg)
	_ = f.Close()
}

func (l logger) info(msg string) {
	if l.w != nil {
		_ = l.w.Info(msg)
	}
	l.toFile("info", msg)
}

func (l logger) warn(msg string) {
	if l.w != nil {
		_ = l.w.Warning(msg)
	}
	l.toFile("warning", msg)
}

// terminal is a Conversation on a terminal (or plain pipes in tests).
type terminal struct {
	in       *bufio.Reader
	fd       int
	out, err io.Writer
}

func newTerminal(stdin io.Reader, stdout, stderr io.Writer) *terminal {
	fd := -1
	if f, ok := stdin.(*os.File); ok {
		fd = int(f.Fd())
	}
	return &terminal{in: bufio.NewReader(stdin), fd: fd, out: stdout, err: stderr}
}

func (t *terminal) Ask(secret bool, prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	if secret {
		if restore, ok := noEcho(t.fd); ok {
			defer func() { restore(); fmt.Fprintln(t.out) }()
		}
	}
	line, err := t.in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", agent.ErrCancelled
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (t *terminal) Say(text string) error { _, err := fmt.Fprintln(t.out, text); return err }

func (t *terminal) Warn(text string) error { _, err := fmt.Fprintln(t.out, text); return err }
