package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// Security is how the connection to the relay is protected.
type Security string

// Connection security modes.
const (
	StartTLS Security = "starttls"
	TLS      Security = "tls"
	None     Security = "none"
)

// Config describes the relay.
type Config struct {
	Host               string
	Port               int
	Security           Security
	Username, Password string
	CAFile             string
	InsecureSkipVerify bool
	HeloName           string
	Timeout            time.Duration
	From               string
}

// SMTPSender sends over SMTP.
type SMTPSender struct {
	cfg  Config
	from *mail.Address
	tls  *tls.Config
}

// NewSMTPSender checks cfg and prepares TLS settings.
func NewSMTPSender(cfg Config) (*SMTPSender, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: from address %q: %w", cfg.From, err)
	}
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // tests only, warned by config
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mail: reading CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mail: %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
	}
	return &SMTPSender{cfg: cfg, from: from, tls: tc}, nil
}

// Send delivers m. Refusals of the recipient (5xx on RCPT) are permanent;
// everything else (connection refused, timeouts, 4xx) is worth retrying.
func (s *SMTPSender) Send(ctx context.Context, m *store.Message) error {
	raw, err := s.Build(m, time.Now())
	if err != nil {
		return &notify.PermanentError{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	d := net.Dialer{Timeout: s.cfg.Timeout}
	var conn net.Conn
	if s.cfg.Security == TLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: s.tls}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("connecting to SMTP relay %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return fmt.Errorf("SMTP EHLO: %w", err)
	}
	if s.cfg.Security == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("SMTP relay %s does not offer STARTTLS, which the configuration requires", addr)
		}
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("SMTP STARTTLS: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return classify(fmt.Errorf("SMTP AUTH: %w", err))
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return classify(fmt.Errorf("SMTP MAIL FROM: %w", err))
	}
	if err := c.Rcpt(m.Recipient); err != nil {
		return classify(fmt.Errorf("SMTP RCPT TO: %w", err))
	}
	w, err := c.Data()
	if err != nil {
		return classify(fmt.Errorf("SMTP DATA: %w", err))
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return classify(fmt.Errorf("SMTP DATA: %w", err))
	}
	_ = c.Quit()
	return nil
}

// classify turns 5xx replies into permanent errors.
func classify(err error) error {
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) && tpErr.Code >= 500 {
		return &notify.PermanentError{Err: err}
	}
	return err
}

// Build renders m as an RFC 5322 message with a multipart/alternative body.
func (s *SMTPSender) Build(m *store.Message, now time.Time) ([]byte, error) {
	if strings.ContainsAny(m.Recipient+m.MessageID, "\r\n") {
		return nil, errors.New("mail: recipient or message ID contains a line break")
	}
	to, err := mail.ParseAddress(m.Recipient)
	if err != nil {
		return nil, fmt.Errorf("mail: recipient %q: %w", m.Recipient, err)
	}
	boundary := "sspr-" + strings.TrimLeft(m.MessageID, "<")
	boundary = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, boundary)
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", s.from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", m.MessageID)
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	part := func(ctype, body string) error {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, ctype)
		qp := quotedprintable.NewWriter(&b)
		body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
		if _, err := qp.Write([]byte(body)); err != nil {
			return err
		}
		if err := qp.Close(); err != nil {
			return err
		}
		b.WriteString("\r\n")
		return nil
	}
	if err := part("text/plain", m.TextBody); err != nil {
		return nil, err
	}
	if m.HTMLBody != "" {
		if err := part("text/html", m.HTMLBody); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}
