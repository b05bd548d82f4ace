package main

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/password/breach"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/web/portal"
)

func demoCmd() *cobra.Command {
	var listen, lang string
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run sspr with an embedded directory and captured mail; nothing to set up",
		Long: `Run sspr with an embedded LDAP directory holding demo users, storage in a
temporary folder, and mail captured on a demo mailbox page instead of sent.
Reset a demo user's password in the browser; the code arrives in the mailbox.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := interruptible(cmd.Context())
			defer stop()
			out := cmd.OutOrStdout()

			dir, err := os.MkdirTemp("", "sspr-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			users := demo.DefaultUsers()
			ldapSrv, err := demo.Start(ctx, demo.Options{Addr: "127.0.0.1:0", Users: users})
			if err != nil {
				return fmt.Errorf("starting the demo directory: %w", err)
			}
			defer ldapSrv.Close()
			sink, err := mailsink.Start("127.0.0.1:0", mailsink.Options{})
			if err != nil {
				return fmt.Errorf("starting the demo mail catcher: %w", err)
			}
			defer sink.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listening on %s: %w (choose another with --listen)", listen, err)
			}
			// localhost, not 127.0.0.1: browsers allow passkeys over plain
			// http only on localhost.
			_, listenPort, _ := net.SplitHostPort(ln.Addr().String())
			baseURL := "http://localhost:" + listenPort

			cfg := config.Defaults()
			cfg.Server.Listen = ln.Addr().String()
			cfg.Server.BaseURL = baseURL
			cfg.Storage.Path = filepath.Join(dir, "sspr.db")
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			cfg.Secrets.HMACKey.Value = base64.StdEncoding.EncodeToString(key)
			cfg.Directories = []config.Directory{{
				Name: "demo", Type: "openldap", URLs: []string{ldapSrv.URL()},
				BindDN: ldapSrv.ServiceDN(), BindPassword: config.Secret{Value: ldapSrv.ServicePassword()},
				BaseDN: ldapSrv.BaseDN(), PasswordWrite: "modify", PasswordPolicyDN: demo.PolicyDN,
				// The demo directory runs inside this process on loopback.
				AllowInsecurePasswordWrites: true,
			}}
			_, port, _ := net.SplitHostPort(sink.Addr())
			cfg.Mail.From = "sspr demo <noreply@demo.sspr.test>"
			cfg.Mail.SMTP.Host = "127.0.0.1"
			cfg.Mail.SMTP.Port, _ = strconv.Atoi(port)
			cfg.Mail.SMTP.Security = "none"
			cfg.Mail.Outbox.PollInterval = time.Second
			cfg.Mail.Outbox.InitialBackoff = time.Second
			cfg.Portal.Title = "sspr demo"
			cfg.Portal.DefaultLanguage = lang
			cfg.Portal.HelpDesk = config.HelpDesk{Text: "IT service desk", Email: "helpdesk@demo.sspr.test", Phone: "+1 555 0100"}
			// A key ring and a small breached-password corpus, so the demo
			// shows what a production set-up does.
			if cfg.Secrets.KeyringFile, err = demoKeyRing(dir); err != nil {
				return err
			}
			if cfg.Password.Breach.Corpus, err = demoBreachCorpus(cmd.Context(), dir); err != nil {
				return err
			}
			if err := config.Validate(&cfg); err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), cfg.Log)
			a, err := app.New(ctx, &cfg, log, app.Options{Mailbox: sinkMailbox{sink}})
			if err != nil {
				return err
			}
			defer a.Close()

			fmt.Fprintf(out, "\nsspr demo is running: %s\n\n", baseURL)
			fmt.Fprintf(out, "  Demo mailbox:   %s/demo/mailbox\n", baseURL)
			fmt.Fprintf(out, "  Demo directory: %s (base %s)\n", ldapSrv.URL(), ldapSrv.BaseDN())
			fmt.Fprintf(out, "  Password rule:  at least %d characters, with a digit (the directory's);\n", ldapSrv.Rules().MinLength)
			fmt.Fprintf(out, "                  sspr's own rules and a breach list (try \"Summer2024!\") come first\n")
			fmt.Fprintf(out, "  Enrollment:     %s/enroll (authenticator app, passkey, backup codes)\n\n", baseURL)
			fmt.Fprintf(out, "  Demo logins (username / current password):\n")
			for _, u := range users {
				note := ""
				if u.Locked {
					note = "   locked: try \"My account is locked\""
				}
				fmt.Fprintf(out, "    %-8s %s   (%s@%s)%s\n", u.UID, u.Password, u.UID, demo.MailDomain, note)
			}
			fmt.Fprintf(out, "\n  Try it: open %s, enter \"alice\", read the code in the mailbox.\n", baseURL)
			if keep {
				fmt.Fprintf(out, "  Data is kept in %s\n", dir)
			}
			fmt.Fprintf(out, "  Press Ctrl-C to stop.\n\n")
			return a.Run(ctx, ln)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve the demo portal on (port 0 picks a free one)")
	cmd.Flags().StringVar(&lang, "lang", "en", "default language of the demo portal (en, de)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo database folder after exit")
	return cmd
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
