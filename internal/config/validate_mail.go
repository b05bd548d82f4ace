package config

import "net/mail"

// validateMail checks the sender, the SMTP relay and the outbox's retry
// settings.
func (c *Config) validateMail(p *Problems) {
	m := c.Mail
	if m.From == "" {
		p.add("mail.from", "is required")
	} else if _, err := mail.ParseAddress(m.From); err != nil {
		p.addf("mail.from", "%q is not a mail address", m.From)
	}
	s := m.SMTP
	if s.Host == "" {
		p.add("mail.smtp.host", "is required")
	}
	if s.Port < 1 || s.Port > 65535 {
		p.addf("mail.smtp.port", "%d is not a port number", s.Port)
	}
	switch s.Security {
	case "starttls", "tls", "none":
	default:
		p.addf("mail.smtp.security", "%q is not one of starttls, tls, none", s.Security)
	}
	if s.Username != "" && s.Password.Value == "" && s.Password.File == "" {
		p.add("mail.smtp.password", "is required when mail.smtp.username is set")
	}
	checkFile(p, "mail.smtp.ca_file", s.CAFile)
	positive(p, "mail.smtp.timeout", s.Timeout)
	o := m.Outbox
	positive(p, "mail.outbox.poll_interval", o.PollInterval)
	positive(p, "mail.outbox.initial_backoff", o.InitialBackoff)
	if o.MaxBackoff < o.InitialBackoff {
		p.add("mail.outbox.max_backoff", "must not be shorter than initial_backoff")
	}
	if o.MaxAttempts < 1 {
		p.add("mail.outbox.max_attempts", "must be at least 1")
	}
}
