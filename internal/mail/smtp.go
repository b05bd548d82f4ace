package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
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
	"sync"
	"time"

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
	// Timeout bounds one delivery (connecting, if needed, to the end of
	// DATA).
	Timeout time.Duration
	From    string
	// IdleTimeout closes a connection nobody has used for this long
	// (default 20s): long enough to carry a burst of mail, shorter than
	// relays' own idle limits (Postfix: 300s).
	IdleTimeout time.Duration
	// MaxPerConnection is how many messages one connection carries before
	// it is closed and a fresh one opened (default 20: Exchange's receive
	// connectors refuse more by default).
	MaxPerConnection int
}

// PermanentError is a delivery that retrying cannot fix: the relay refused
// the recipient or the message with a 5xx reply, or the message cannot be
// written as mail at all. Callers test for it by behaviour: errors.As to
// interface{ Permanent() bool }.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports true: see the type's documentation.
func (e *PermanentError) Permanent() bool { return true }

// SMTPSender sends over SMTP. It keeps the connections it opened and reuses
// them for later messages (RSET first, which also proves the connection is
// still alive), so a burst of mail does not pay for a TCP, TLS and AUTH
// handshake per message. Each concurrent Send uses its own connection; it
// is safe for concurrent use. Close ends the idle connections.
type SMTPSender struct {
	cfg  Config
	from *mail.Address
	tls  *tls.Config

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
	dials  int
}

// conn is one open SMTP session with the relay.
type conn struct {
	c    *smtp.Client
	nc   net.Conn
	sent int // messages carried so far
	// clean: the last transaction ended with the relay's final reply, so
	// the session is ready for the next MAIL FROM without an RSET.
	clean bool
	timer *time.Timer // closes the connection after IdleTimeout in the pool
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
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 20 * time.Second
	}
	if cfg.MaxPerConnection <= 0 {
		cfg.MaxPerConnection = 20
	}
	return &SMTPSender{cfg: cfg, from: from, tls: tc}, nil
}

// Send delivers m. Refusals (5xx replies) are permanent; everything else
// (connection refused, timeouts, 4xx) is worth retrying. It returns as
// soon as the relay accepted the message (the final 250 after DATA): the
// caller records the delivery before anything else happens on the
// connection, which keeps the window for a duplicate after a crash as
// small as SMTP allows.
func (s *SMTPSender) Send(ctx context.Context, m *store.Message) error {
	raw, err := s.Build(m, time.Now())
	if err != nil {
		return &PermanentError{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	for {
		cn := s.takeIdle()
		reused := cn != nil
		if cn == nil {
			if cn, err = s.dial(ctx); err != nil {
				return err
			}
		} else {
			_ = cn.nc.SetDeadline(deadline)
			if !cn.clean {
				// RSET ends what a refusal left open; a stale connection
				// is dropped and the next (or a new) one tried: nothing
				// was sent on it yet.
				if err := cn.c.Reset(); err != nil {
					cn.close()
					continue
				}
			}
		}
		stop := context.AfterFunc(ctx, func() { _ = cn.nc.SetDeadline(time.Now()) })
		atMail, err := s.transact(cn, m.Recipient, raw)
		stopped := stop()
		if err == nil && stopped {
			cn.sent++
			cn.clean = true
			s.putIdle(cn)
			return nil
		}
		if err == nil {
			// Accepted, but ctx ended at the same moment: the connection's
			// deadline was cut, so it is not reused.
			cn.close()
			return nil
		}
		var tpErr *textproto.Error
		refused := errors.As(err, &tpErr)
		if reused && atMail && stopped && (!refused || tpErr.Code == 421) {
			// A kept connection the relay has closed meanwhile (idle
			// timeout, restart) fails at its first command, before any
			// of the message was sent: the next (or a new) one is tried.
			cn.close()
			continue
		}
		if refused && tpErr.Code != 421 && stopped {
			// A refusal leaves the session usable (RSET comes first next time).
			cn.clean = false
			s.putIdle(cn)
		} else {
			cn.close()
		}
		return classify(err)
	}
}

// transact runs one mail transaction on cn; atMail reports a failure of
// its first command, MAIL FROM, before any of the message was sent.
func (s *SMTPSender) transact(cn *conn, rcpt string, raw []byte) (atMail bool, err error) {
	if err := cn.c.Mail(s.from.Address); err != nil {
		return true, fmt.Errorf("SMTP MAIL FROM: %w", err)
	}
	if err := cn.c.Rcpt(rcpt); err != nil {
		return false, fmt.Errorf("SMTP RCPT TO: %w", err)
	}
	w, err := cn.c.Data()
	if err != nil {
		return false, fmt.Errorf("SMTP DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return false, fmt.Errorf("SMTP DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return false, fmt.Errorf("SMTP DATA: %w", err)
	}
	return false, nil
}

// dial opens and greets a new connection (STARTTLS and AUTH included).
func (s *SMTPSender) dial(ctx context.Context) (*conn, error) {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	d := net.Dialer{Timeout: s.cfg.Timeout}
	var nc net.Conn
	var err error
	if s.cfg.Security == TLS {
		nc, err = (&tls.Dialer{NetDialer: &d, Config: s.tls}).DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to SMTP relay %s: %w", addr, err)
	}
	s.mu.Lock()
	s.dials++
	s.mu.Unlock()
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	c, err := smtp.NewClient(nc, s.cfg.Host)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("SMTP greeting from %s: %w", addr, err)
	}
	fail := func(err error) (*conn, error) {
		c.Close()
		return nil, err
	}
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return fail(fmt.Errorf("SMTP EHLO: %w", err))
	}
	if s.cfg.Security == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fail(fmt.Errorf("SMTP relay %s does not offer STARTTLS, which the configuration requires", addr))
		}
		if err := c.StartTLS(s.tls); err != nil {
			return fail(fmt.Errorf("SMTP STARTTLS: %w", err))
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fail(classify(fmt.Errorf("SMTP AUTH: %w", err)))
		}
	}
	// After STARTTLS the client talks through a TLS conn wrapping nc;
	// deadlines on nc still bound every read and write.
	return &conn{c: c, nc: nc}, nil
}

// takeIdle returns the most recently used idle connection, or nil.
func (s *SMTPSender) takeIdle() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := len(s.idle); n > 0; n = len(s.idle) {
		cn := s.idle[n-1]
		s.idle = s.idle[:n-1]
		if cn.timer.Stop() {
			return cn
		}
		// Its idle timer fired and is closing it.
	}
	return nil
}

// putIdle keeps cn for the next Send, or closes it when it has carried
// enough or the sender is closed.
func (s *SMTPSender) putIdle(cn *conn) {
	s.mu.Lock()
	if s.closed || cn.sent >= s.cfg.MaxPerConnection {
		s.mu.Unlock()
		cn.quit(s.cfg.Timeout)
		return
	}
	_ = cn.nc.SetDeadline(time.Time{})
	cn.timer = time.AfterFunc(s.cfg.IdleTimeout, func() {
		s.mu.Lock()
		for i, c := range s.idle {
			if c == cn {
				s.idle = append(s.idle[:i], s.idle[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		cn.quit(s.cfg.Timeout)
	})
	s.idle = append(s.idle, cn)
	s.mu.Unlock()
}

// Close says QUIT on every idle connection and closes it; connections in
// use are closed when their Send ends. Send still works afterwards, but
// without keeping connections.
func (s *SMTPSender) Close() error {
	s.mu.Lock()
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, cn := range idle {
		if cn.timer.Stop() {
			cn.quit(s.cfg.Timeout)
		}
	}
	return nil
}

// Dials reports how many connections the sender has opened so far (tests
// and metrics: with reuse it grows far slower than the messages sent).
func (s *SMTPSender) Dials() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dials
}

// quit ends the session politely, bounded by timeout.
func (cn *conn) quit(timeout time.Duration) {
	_ = cn.nc.SetDeadline(time.Now().Add(min(timeout, 5*time.Second)))
	_ = cn.c.Quit()
	cn.close()
}

func (cn *conn) close() { _ = cn.c.Close() }

// classify turns 5xx replies into permanent errors.
func classify(err error) error {
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) && tpErr.Code >= 500 {
		return &PermanentError{Err: err}
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
		// The address stays out of the error: it ends up in logs.
		return nil, fmt.Errorf("mail: the recipient is not a mail address: %w", err)
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
	attachments, err := store.DecodeAttachments(m.Attachments)
	if err != nil {
		return nil, err
	}
	// With attachments the alternative texts are the first part of a
	// multipart/mixed body, the files the next ones.
	outer := "mixed-" + boundary
	if len(attachments) > 0 {
		h("Content-Type", `multipart/mixed; boundary="`+outer+`"`)
		fmt.Fprintf(&b, "\r\n--%s\r\n", outer)
	}
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
	for _, a := range attachments {
		if strings.ContainsAny(a.Name+a.ContentType, "\r\n\"") {
			return nil, errors.New("mail: an attachment's name or type contains a line break or quote")
		}
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: %s\r\n\r\n", outer,
			a.ContentType, mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	if len(attachments) > 0 {
		fmt.Fprintf(&b, "--%s--\r\n", outer)
	}
	return b.Bytes(), nil
}
