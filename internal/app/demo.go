package app

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/password/breach"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/web/portal"
)

// DemoOptions configure StartDemo.
type DemoOptions struct {
	// Listener is where the portal will serve; its port makes the base URL.
	Listener net.Listener
	// Dir is a scratch folder for the database, the key ring and the
	// breach corpus.
	Dir string
	// Language is the portal's default language.
	Language string
	// Log builds the logger from the demo's log settings.
	Log func(config.Log) *slog.Logger
}

// Demo is a running `sspr demo`: an embedded directory with demo people, a
// mail catcher shown on the portal's demo mailbox page, and the instance
// wired to them. The CLI prints what it says and calls Run.
type Demo struct {
	// App is the wired instance.
	App *App
	// BaseURL is the portal's address.
	BaseURL string
	// DirectoryURL and BaseDN say where the embedded directory is.
	DirectoryURL, BaseDN string
	// MinLength is the embedded directory's own minimum password length.
	MinLength int
	// Users are the demo people with their current passwords.
	Users []DemoUser

	ln    net.Listener
	ldap  *demo.Server
	sink  *mailsink.Sink
	close []func() error
}

// DemoUser is one person in the demo directory.
type DemoUser struct {
	Login, Password, Mail string
	// Locked users start locked out, to show unlock.
	Locked bool
}

// StartDemo starts the embedded directory and mail catcher and builds the
// instance on them, with a key ring and a small breached-password corpus
// in opts.Dir, so the demo shows what a production set-up does.
func StartDemo(ctx context.Context, opts DemoOptions) (_ *Demo, err error) {
	d := &Demo{ln: opts.Listener}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	users := demo.DefaultUsers()
	if d.ldap, err = demo.Start(ctx, demo.Options{Addr: "127.0.0.1:0", Users: users}); err != nil {
		return nil, fmt.Errorf("starting the demo directory: %w", err)
	}
	d.close = append(d.close, d.ldap.Close)
	if d.sink, err = mailsink.Start("127.0.0.1:0", mailsink.Options{}); err != nil {
		return nil, fmt.Errorf("starting the demo mail catcher: %w", err)
	}
	d.close = append(d.close, d.sink.Close)
	// localhost, not 127.0.0.1: browsers allow passkeys over plain http
	// only on localhost.
	_, listenPort, _ := net.SplitHostPort(opts.Listener.Addr().String())
	d.BaseURL = "http://localhost:" + listenPort
	d.DirectoryURL, d.BaseDN, d.MinLength = d.ldap.URL(), d.ldap.BaseDN(), d.ldap.Rules().MinLength
	for _, u := range users {
		mail := u.Mail
		if mail == "" {
			mail = u.UID + "@" + demo.MailDomain
		}
		d.Users = append(d.Users, DemoUser{Login: u.UID, Password: u.Password, Mail: mail, Locked: u.Locked})
	}

	cfg := config.Defaults()
	cfg.Server.Listen = opts.Listener.Addr().String()
	cfg.Server.BaseURL = d.BaseURL
	cfg.Storage.Path = filepath.Join(opts.Dir, "sspr.db")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.Secrets.HMACKey.Value = base64.StdEncoding.EncodeToString(key)
	cfg.Directories = []config.Directory{{
		Name: "demo", Type: "openldap", URLs: []string{d.ldap.URL()},
		BindDN: d.ldap.ServiceDN(), BindPassword: config.Secret{Value: d.ldap.ServicePassword()},
		BaseDN: d.ldap.BaseDN(), PasswordWrite: "modify", PasswordPolicyDN: demo.PolicyDN,
		// The demo directory runs inside this process and speaks plain LDAP
		// only: the one place where that is allowed outside tests.
		AllowInsecureBinds: true,
	}}
	_, port, _ := net.SplitHostPort(d.sink.Addr())
	cfg.Mail.From = "sspr demo <noreply@demo.sspr.test>"
	cfg.Mail.SMTP.Host = "127.0.0.1"
	cfg.Mail.SMTP.Port, _ = strconv.Atoi(port)
	cfg.Mail.SMTP.Security = "none"
	cfg.Mail.Outbox.PollInterval = time.Second
	cfg.Mail.Outbox.InitialBackoff = time.Second
	cfg.Portal.Title = "sspr demo"
	cfg.Portal.DefaultLanguage = opts.Language
	cfg.Portal.HelpDesk = config.HelpDesk{Text: "IT service desk", Email: "helpdesk@demo.sspr.test", Phone: "+1 555 0100"}
	if cfg.Secrets.KeyringFile, err = demoKeyRing(opts.Dir); err != nil {
		return nil, err
	}
	if cfg.Password.Breach.Corpus, err = demoBreachCorpus(ctx, opts.Dir); err != nil {
		return nil, err
	}
	if err := config.Validate(&cfg); err != nil {
		return nil, err
	}
	if problems, _ := Check(&cfg, nil); len(problems) > 0 {
		return nil, &config.Problems{List: problems}
	}
	if d.App, err = New(ctx, &cfg, opts.Log(cfg.Log), Options{Mailbox: sinkMailbox{d.sink}}); err != nil {
		return nil, err
	}
	d.close = append(d.close, d.App.Close)
	return d, nil
}

// Run serves the demo until ctx ends.
func (d *Demo) Run(ctx context.Context) error { return d.App.Run(ctx, d.ln) }

// Close stops the instance, the mail catcher and the directory.
func (d *Demo) Close() error {
	var errs []error
	for i := len(d.close) - 1; i >= 0; i-- {
		errs = append(errs, d.close[i]())
	}
	d.close = nil
	return errors.Join(errs...)
}

// sinkMailbox shows the mail catcher's messages in the portal.
type sinkMailbox struct{ sink *mailsink.Sink }

func (m sinkMailbox) Mails() []portal.Mail {
	msgs := m.sink.Messages()
	out := make([]portal.Mail, 0, len(msgs))
	for _, msg := range msgs {
		out = append(out, portal.Mail{From: msg.From, To: msg.To, Subject: msg.Subject, TextBody: msg.TextBody, Received: msg.Received})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Received.After(out[j].Received) })
	return out
}

// demoKeyRing writes a fresh key ring for the demo's data at rest.
func demoKeyRing(dir string) (string, error) {
	key, err := secrets.GenerateKey()
	if err != nil {
		return "", err
	}
	ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: key})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "keyring")
	return path, secrets.WriteKeyRingFile(path, ring, false)
}

// demoBreachCorpus builds a small corpus, in Have I Been Pwned's format,
// from the most common passwords and a few that pass every other rule.
func demoBreachCorpus(ctx context.Context, dir string) (string, error) {
	var b strings.Builder
	for _, pw := range append(password.CommonPasswords(10000), "Summer2024!", "Welcome2024!", "P@ssw0rd2024", "Winter-2026!", "Qwerty123456!") {
		fmt.Fprintf(&b, "%X:1\n", sha1.Sum([]byte(pw)))
	}
	in := filepath.Join(dir, "pwned-demo.txt")
	if err := os.WriteFile(in, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "breach")
	if _, err := breach.Build(ctx, breach.BuildOptions{Inputs: []string{in}, Out: out, Source: "sspr demo: common passwords"}); err != nil {
		return "", fmt.Errorf("building the demo breach corpus: %w", err)
	}
	return out, nil
}
