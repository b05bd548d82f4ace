package emailgateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"text/template"

	"github.com/sspr/sspr/internal/sms"
)

// MailFunc sends one plain-text mail. Its errors are returned as they are,
// so a mail sender that knows an address is dead can return an
// *sms.PermanentError.
type MailFunc func(ctx context.Context, to, subject, body string) error

// Config configures a Sender.
type Config struct {
	// Address is a text/template for the gateway address over Data, e.g.
	// "{{.Number}}@sms.example.net" or "{{.National}}@vtext.com".
	Address string
	// Subject of the mails; many gateways prepend it to the text, so it is
	// empty by default.
	Subject string
}

// Data is what the address template sees; all values are digits only.
type Data struct {
	// Number is the full E.164 number without "+": "14155550142".
	Number string
	// CountryCode and National split it: "1" and "4155550142".
	CountryCode string
	National    string
}

// Sender hands messages to a mail function.
type Sender struct {
	cfg     Config
	address *template.Template
	send    MailFunc
}

var _ sms.Sender = (*Sender)(nil)

// New checks cfg (the template parses and renders a valid address) and
// returns a Sender using send.
func New(cfg Config, send MailFunc) (*Sender, error) {
	if send == nil {
		return nil, errors.New("emailgateway: a mail function is required")
	}
	if cfg.Address == "" {
		return nil, errors.New("emailgateway: address template is required")
	}
	if strings.ContainsAny(cfg.Subject, "\r\n") {
		return nil, errors.New("emailgateway: subject must be one line")
	}
	t, err := template.New("address").Option("missingkey=error").Parse(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("emailgateway: address template: %w", err)
	}
	s := &Sender{cfg: cfg, address: t, send: send}
	if _, err := s.Address("+14155550142"); err != nil {
		return nil, err
	}
	return s, nil
}

// Address returns the gateway address for an E.164 number.
func (s *Sender) Address(e164 string) (string, error) {
	cc, national, ok := sms.SplitCountryCode(e164)
	if !ok {
		return "", sms.Permanent(sms.ReasonInvalidNumber, fmt.Errorf("emailgateway: %q is not an E.164 number", e164))
	}
	var b bytes.Buffer
	if err := s.address.Execute(&b, Data{Number: e164[1:], CountryCode: cc, National: national}); err != nil {
		return "", fmt.Errorf("emailgateway: address template: %w", err)
	}
	addr := b.String()
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Address != addr || parsed.Name != "" {
		return "", fmt.Errorf("emailgateway: template %q renders %q, which is not a mail address", s.cfg.Address, addr)
	}
	return addr, nil
}

// Send mails body to the gateway address of to.
func (s *Sender) Send(ctx context.Context, to, body string) error {
	addr, err := s.Address(to)
	if err != nil {
		return err
	}
	if err := s.send(ctx, addr, s.cfg.Subject, body); err != nil {
		return fmt.Errorf("emailgateway: mailing %s: %w", sms.Mask(to), err)
	}
	return nil
}
