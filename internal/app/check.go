package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/password/breach"
)

// Check runs every start-up check of New that needs neither the network nor
// the database, by building the same components New builds (password
// rules, breach corpus, key ring, factors, SMS and mail senders,
// directory connectors, mail texts) and throwing them away. `sspr config
// check` and `sspr serve` both call it, so config check accepts exactly
// what serve starts with.
//
// known are the problems config.Read already found: a component whose
// settings have one is not built, so one mistake is reported once.
func Check(cfg *config.Config, known []config.Problem) (problems, warnings []config.Problem) {
	blocked := func(deps ...string) bool {
		for _, p := range known {
			for _, d := range deps {
				if p.Path == d || strings.HasPrefix(p.Path, d+".") || strings.HasPrefix(p.Path, d+"[") {
					return true
				}
			}
		}
		return false
	}
	fail := func(key string, err error) {
		problems = append(problems, config.Problem{Path: key, Message: plain(key, err)})
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	var cat *i18n.Catalogue
	if !blocked("portal") {
		var langProblems, langWarnings []config.Problem
		cat, langProblems, langWarnings = languageProblems(cfg)
		problems, warnings = append(problems, langProblems...), append(warnings, langWarnings...)
		if cat != nil {
			if _, err := notify.NewComposer(cat, branding(cfg), composerOptions(cfg)...); err != nil {
				key := "portal"
				if cfg.Notifications.TemplatesDir != "" {
					key = "notifications.templates_dir" // the built-in templates parse (their tests say so)
				}
				fail(key, err)
			}
		}
		if _, err := portalBranding(cfg); err != nil && !blocked("portal.branding") {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			problems = append(problems, config.Problem{Path: key, Message: msg})
		}
	}
	if !blocked("password") {
		// The rules without the corpus, which is opened (once) below.
		rulesOnly := cfg.Password
		rulesOnly.Breach.Corpus = ""
		if _, _, err := passwordRules(rulesOnly, quiet); err != nil {
			fail("password", err)
		}
		if noCorpus(cfg.Password) {
			warnings = append(warnings, config.Problem{Path: "password.breach.corpus",
				Message: "no breached-password corpus is configured, so new passwords are not checked against known breaches; see docs/breach.md"})
		}
		if dir := cfg.Password.Breach.Corpus; dir != "" {
			corpus := breach.NewChecker(dir)
			err := corpus.Reload()
			_ = corpus.Close()
			if err != nil {
				p := config.Problem{Path: "password.breach.corpus", Message: fmt.Sprintf("the breached-password corpus %s cannot be used (%v)", dir, err)}
				if cfg.Password.Breach.OnError == "refuse" {
					p.Message += ": with on_error: refuse no new password would be accepted; build it with `sspr breach build`"
					problems = append(problems, p)
				} else {
					p.Message += ": with on_error: allow new passwords are not checked against breaches"
					warnings = append(warnings, p)
				}
			}
		}
	}
	if !blocked("secrets") {
		if cfg.Secrets.KeyringFile == "" {
			warnings = append(warnings, config.Problem{Path: "secrets.keyring_file", Message: noKeyRing})
		} else if _, err := keyRing(cfg); err != nil {
			fail("secrets.keyring_file", err)
		}
	}
	if !blocked("verification", "secrets", "server.base_url", "reset", "sms") {
		if _, err := factors(cfg, time.Now); err != nil {
			fail("verification", err)
		}
	}
	if !blocked("mail") {
		sender, err := mailSender(cfg)
		if err != nil {
			key := "mail.smtp"
			if ca := cfg.Mail.SMTP.CAFile; ca != "" && strings.Contains(err.Error(), ca) {
				key = "mail.smtp.ca_file"
			}
			fail(key, err)
		}
		if !blocked("sms") {
			if _, err := smsSender(cfg.SMS, sender); err != nil {
				fail("sms", err)
			}
		}
	}
	if !blocked("abuse", "secrets") {
		if _, err := newLimiter(cfg.Abuse, cfg.HMACKeyBytes(), time.Now, nil); err != nil {
			fail("abuse", err)
		}
	}
	for i, d := range cfg.Directories {
		key := fmt.Sprintf("directories[%d]", i)
		if blocked(key, "verification.attributes") {
			continue
		}
		dir, err := newDirectory(d, cfg.Verification.Attributes, append(syncExtraAttributes(cfg), factorAttributes(cfg)...)...)
		if err != nil {
			var de *directory.Error
			if errors.As(err, &de) && strings.HasPrefix(de.Diagnostic, "CAFile: ") {
				problems = append(problems, config.Problem{Path: key + ".ca_file", Message: strings.TrimPrefix(de.Diagnostic, "CAFile: ")})
				continue
			}
			fail(key, err)
			continue
		}
		_ = dir.Close()
	}
	return problems, warnings
}

// plain drops a leading "key: " from err's text when it repeats the key
// the problem is reported at.
func plain(key string, err error) string {
	msg := err.Error()
	for _, prefix := range []string{key + ": ", key + " "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

const noKeyRing = "no key ring is configured: data at rest is encrypted with a key derived from hmac_key, which cannot be rotated; run `sspr keys generate`"
