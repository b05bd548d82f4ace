package mail_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/mail"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/store"
)

const from = "Password reset <noreply@example.com>"

var now = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func message(to string) *store.Message {
	return &store.Message{
		Kind: "reset.code", Recipient: to, Subject: "Ihr Code zum Zurücksetzen – ✓",
		TextBody:  "Hallo Jörg,\n\nIhr Code:\n\n    12345678\n\nEine sehr lange Zeile, die länger ist als sechsundsiebzig Zeichen, damit quoted-printable sie umbrechen muss.\n",
		HTMLBody:  "<p>Hallo J&ouml;rg,</p>\n<p style=\"font-size:32px\">12345678</p>\n",
		MessageID: "<abc123@example.com>",
	}
}

func startSink(t *testing.T, opts mailsink.Options) *mailsink.Sink {
	t.Helper()
	s, err := mailsink.Start("", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sender(t *testing.T, addr string, mut func(*mail.Config)) *mail.SMTPSender {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	cfg := mail.Config{Host: host, Port: p, Security: mail.None, From: from, Timeout: 5 * time.Second}
	if mut != nil {
		mut(&cfg)
	}
	s, err := mail.NewSMTPSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it;
// it returns the sink's TLS config and the CA as a PEM file.
func testCA(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sspr test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}, caFile
}

func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

func crlfToLF(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func TestBuild(t *testing.T) {
	t.Parallel()
	s := sender(t, "127.0.0.1:25", nil)
	for _, tc := range []struct {
		name    string
		subject string
		html    string
		wantEnc bool // the Subject header must be RFC 2047 encoded
	}{
		{"ascii subject", "Your password reset code", "<p>x</p>", false},
		{"utf-8 subject", "Ihr Code zum Zurücksetzen – ✓", "<p>x</p>", true},
		{"subject with line break is encoded, not injected", "Hi\r\nBcc: evil@example.com", "<p>x</p>", true},
		{"long utf-8 subject", strings.Repeat("Passwort zurücksetzen ", 8), "<p>x</p>", true},
		{"text only", "Code", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := message("Jörg Müller <joerg@example.com>")
			m.Subject, m.HTMLBody = tc.subject, tc.html
			raw, err := s.Build(m, now)
			if err != nil {
				t.Fatal(err)
			}
			for i, b := range raw {
				if b >= 0x80 {
					t.Fatalf("byte %d of the message is not 7-bit: %q", i, raw[max(0, i-20):min(len(raw), i+20)])
				}
			}
			for _, line := range strings.Split(string(raw), "\r\n") {
				if len(line) > 998 {
					t.Errorf("line longer than 998 octets: %.60q...", line)
				}
			}
			head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
			subj := ""
			for _, l := range strings.Split(head, "\r\n") {
				if strings.HasPrefix(l, "Subject: ") {
					subj = l
				}
				if strings.HasPrefix(strings.ToLower(l), "bcc:") {
					t.Errorf("an injected Bcc header: %q", l)
				}
			}
			if enc := strings.Contains(subj, "=?utf-8?"); enc != tc.wantEnc {
				t.Errorf("Subject header %q: encoded=%v, want %v", subj, enc, tc.wantEnc)
			}

			got, err := mailsink.Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, raw)
			}
			if got.Subject != tc.subject {
				t.Errorf("Subject = %q, want %q", got.Subject, tc.subject)
			}
			if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
				t.Errorf("Content-Type = %q", ct)
			}
			if crlfToLF(got.TextBody) != m.TextBody {
				t.Errorf("text body = %q, want %q", got.TextBody, m.TextBody)
			}
			if crlfToLF(got.HTMLBody) != tc.html {
				t.Errorf("HTML body = %q, want %q", got.HTMLBody, tc.html)
			}
			if got.MessageID != "abc123@example.com" {
				t.Errorf("Message-ID = %q", got.MessageID)
			}
			if d, err := got.Header.Date(); err != nil || !d.Equal(now) {
				t.Errorf("Date = %v, %v; want %v", d, err, now)
			}
			if a, err := got.Header.AddressList("To"); err != nil || len(a) != 1 || a[0].Address != "joerg@example.com" || a[0].Name != "Jörg Müller" {
				t.Errorf("To = %v, %v", a, err)
			}
			if a, err := got.Header.AddressList("From"); err != nil || len(a) != 1 || a[0].Address != "noreply@example.com" {
				t.Errorf("From = %v, %v", a, err)
			}
			if got.Header.Get("MIME-Version") != "1.0" || got.Header.Get("Auto-Submitted") != "auto-generated" {
				t.Errorf("headers: %v", got.Header)
			}
		})
	}
}

func TestRecipientHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mailsink.Options{})
	s := sender(t, sink.Addr(), nil)
	for _, to := range []string{
		"jane@example.com\r\nBcc: evil@example.com",
		"jane@example.com\nBcc: evil@example.com",
		"jane@example.com\rBcc: evil@example.com",
		"Jane <jane@example.com>\r\n\r\nbody",
		"not an address",
	} {
		if _, err := s.Build(message(to), now); err == nil {
			t.Errorf("Build accepted recipient %q", to)
		}
		if err := s.Send(context.Background(), message(to)); !isPermanent(err) {
			t.Errorf("Send to %q: err = %v, want a PermanentError", to, err)
		}
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("the sink received %d messages", n)
	}
}

func TestSendPlain(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mailsink.Options{})
	s := sender(t, sink.Addr(), nil)
	m := message("jane@example.com")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := sink.Messages()
	if len(got) != 1 {
		t.Fatalf("sink has %d messages", len(got))
	}
	if got[0].From != "noreply@example.com" || len(got[0].To) != 1 || got[0].To[0] != "jane@example.com" {
		t.Errorf("envelope from %q to %q", got[0].From, got[0].To)
	}
	if got[0].Subject != m.Subject || crlfToLF(got[0].TextBody) != m.TextBody || got[0].TLS {
		t.Errorf("received %+v", got[0])
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	serverTLS, caFile := testCA(t)
	for _, tc := range []struct {
		name      string
		sinkTLS   *tls.Config
		mut       func(*mail.Config)
		wantErr   string // "" = delivered over TLS
		permanent bool
	}{
		{"trusted test CA", serverTLS, func(c *mail.Config) { c.Security, c.CAFile = mail.StartTLS, caFile }, "", false},
		{"insecure skip verify", serverTLS, func(c *mail.Config) { c.Security, c.InsecureSkipVerify = mail.StartTLS, true }, "", false},
		{"unknown CA", serverTLS, func(c *mail.Config) { c.Security = mail.StartTLS }, "certificate", false},
		{"required but not offered", nil, func(c *mail.Config) { c.Security, c.CAFile = mail.StartTLS, caFile }, "does not offer STARTTLS", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := startSink(t, mailsink.Options{TLSConfig: tc.sinkTLS})
			err := sender(t, sink.Addr(), tc.mut).Send(context.Background(), message("jane@example.com"))
			got := sink.Messages()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || !got[0].TLS {
					t.Fatalf("received %d messages (TLS %v), want 1 over TLS", len(got), len(got) == 1 && got[0].TLS)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if isPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v", isPermanent(err), tc.permanent)
			}
			if len(got) != 0 {
				t.Errorf("the sink received %d messages", len(got))
			}
		})
	}
}

func TestAuthPlain(t *testing.T) {
	t.Parallel()
	serverTLS, caFile := testCA(t)
	for _, tc := range []struct {
		name    string
		opts    mailsink.Options
		mut     func(*mail.Config)
		wantErr bool
	}{
		{"over STARTTLS", mailsink.Options{TLSConfig: serverTLS, AuthPlain: true}, func(c *mail.Config) {
			c.Security, c.CAFile, c.Username, c.Password = mail.StartTLS, caFile, "sspr", "s3cret"
		}, false},
		{"plain on loopback", mailsink.Options{AuthPlain: true}, func(c *mail.Config) { c.Username, c.Password = "sspr", "s3cret" }, false},
		{"relay offers no AUTH", mailsink.Options{}, func(c *mail.Config) { c.Username, c.Password = "sspr", "s3cret" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := startSink(t, tc.opts)
			err := sender(t, sink.Addr(), tc.mut).Send(context.Background(), message("jane@example.com"))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if want := map[bool]int{false: 1, true: 0}[tc.wantErr]; len(sink.Messages()) != want {
				t.Errorf("sink has %d messages, want %d", len(sink.Messages()), want)
			}
		})
	}
}

// responder is a tiny scripted SMTP server for replies mailsink never gives.
type responder struct {
	mail, rcpt, data string // replies to MAIL FROM, RCPT TO and the end of DATA
}

func startResponder(t *testing.T, r responder) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return ln.Addr().String()
}

func (r responder) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
	say("220 responder ESMTP")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO":
			say("250-responder")
			say("250 8BITMIME")
		case "MAIL":
			say(r.mail)
		case "RCPT":
			say(r.rcpt)
		case "DATA":
			say("354 go ahead")
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			say(r.data)
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func TestRelayReplies(t *testing.T) {
	t.Parallel()
	const ok = "250 2.0.0 ok"
	for _, tc := range []struct {
		name      string
		r         responder
		wantErr   bool
		permanent bool
	}{
		{"accepted", responder{ok, ok, ok}, false, false},
		{"5xx on RCPT: no such user", responder{ok, "550 5.1.1 no such user", ok}, true, true},
		{"4xx on RCPT: try later", responder{ok, "451 4.3.0 try again later", ok}, true, false},
		{"5xx on MAIL FROM", responder{"553 5.7.1 sender refused", ok, ok}, true, true},
		{"4xx on MAIL FROM", responder{"421 4.7.0 too busy", ok, ok}, true, false},
		{"5xx after DATA", responder{ok, ok, "554 5.7.1 rejected as spam"}, true, true},
		{"4xx after DATA", responder{ok, ok, "452 4.3.1 out of storage"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := startResponder(t, tc.r)
			err := sender(t, addr, nil).Send(context.Background(), message("jane@example.com"))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if isPermanent(err) != tc.permanent {
				t.Errorf("err = %v: permanent = %v, want %v", err, isPermanent(err), tc.permanent)
			}
		})
	}
}

func TestRelayDownIsTemporary(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	err = sender(t, addr, nil).Send(context.Background(), message("jane@example.com"))
	if err == nil || isPermanent(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the relay", err)
	}
}

func TestNewSMTPSenderChecksConfig(t *testing.T) {
	t.Parallel()
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  mail.Config
	}{
		{"bad from", mail.Config{Host: "h", Port: 25, From: "not an address"}},
		{"missing CA file", mail.Config{Host: "h", Port: 25, From: from, CAFile: filepath.Join(t.TempDir(), "none.pem")}},
		{"CA file without PEM", mail.Config{Host: "h", Port: 25, From: from, CAFile: notPEM}},
	} {
		if _, err := mail.NewSMTPSender(tc.cfg); err == nil {
			t.Errorf("%s: NewSMTPSender accepted %+v", tc.name, tc.cfg)
		}
	}
}

// TestConnectionReuse: messages sent one after another share a connection
// (RSET only after a refusal: a transaction the relay accepted leaves the
// session ready for the next), a refused recipient does not cost the connection, a
// connection carries at most MaxPerConnection messages, a relay that
// dropped the connection is reconnected to without an error, and an idle
// connection is closed.
func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	var refuse = "bob@example.com"
	opts := mailsink.Options{RcptReply: func(addr string) (int, string) {
		if addr == refuse {
			return 550, "5.1.1 <" + addr + ">: user unknown"
		}
		return 0, ""
	}}
	sink := startSink(t, opts)
	s := sender(t, sink.Addr(), func(c *mail.Config) { c.MaxPerConnection = 3 })
	t.Cleanup(func() { s.Close() })
	for _, to := range []string{"a@example.com", refuse, "b@example.com", "c@example.com", "d@example.com"} {
		err := s.Send(context.Background(), message(to))
		if (to == refuse) != isPermanent(err) || (to != refuse && err != nil) {
			t.Fatalf("Send to %s: %v", to, err)
		}
	}
	got := sink.Messages()
	if len(got) != 4 {
		t.Fatalf("sink has %d messages, want 4", len(got))
	}
	// a, b, c on the first connection (the refusal in between kept it), d
	// on a second one: the first had carried its 3.
	for i, want := range []int{1, 1, 1, 2} {
		if got[i].Connection != want {
			t.Errorf("message %d (%s) came over connection %d, want %d", i, got[i].To[0], got[i].Connection, want)
		}
	}
	if n := s.Dials(); n != 2 {
		t.Errorf("%d connections opened, want 2", n)
	}
	if n := sink.Stats().Resets; n != 1 {
		t.Errorf("%d RSET commands, want 1 (after the refusal only)", n)
	}

	// The relay restarts: the kept connection is dead; Send notices at
	// MAIL FROM, before any of the message was sent, and opens a new one.
	addr := sink.Addr()
	sink.Close()
	back, err := mailsink.Start(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Close() })
	if err := s.Send(context.Background(), message("e@example.com")); err != nil {
		t.Fatalf("Send after the relay restarted: %v", err)
	}
	if n := len(back.Messages()); n != 1 || s.Dials() != 3 {
		t.Errorf("after the restart: %d messages, %d dials", n, s.Dials())
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	t.Parallel()
	sink := startSink(t, mailsink.Options{})
	s := sender(t, sink.Addr(), func(c *mail.Config) { c.IdleTimeout = time.Millisecond })
	if err := s.Send(context.Background(), message("a@example.com")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sink.Stats().Open != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle connection was not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Send(context.Background(), message("b@example.com")); err != nil {
		t.Fatal(err)
	}
	if st := sink.Stats(); st.Connections != 2 || st.Transactions != 2 {
		t.Errorf("stats %+v", st)
	}
	// Close ends the kept connection too.
	s.Close()
	for sink.Stats().Open != 0 {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("Close left the connection open")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKeptConnectionClosedWith421: a relay that ends a kept session by
// answering its next MAIL FROM with 421 (an idle timeout) has received
// nothing of the message: Send opens a new connection and delivers there.
func TestKeptConnectionClosedWith421(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var accepted []string // "connection:recipient" of every message taken
	go func() {
		for conn := 1; ; conn++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(conn int, c net.Conn) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
				say("220 relay ESMTP")
				mails, rcpt := 0, ""
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					switch strings.ToUpper(strings.Fields(line + " x")[0]) {
					case "MAIL":
						if mails++; conn == 1 && mails == 2 {
							say("421 4.4.2 idle timeout, closing")
							return
						}
						say("250 ok")
					case "RCPT":
						rcpt = strings.TrimSpace(line)
						say("250 ok")
					case "DATA":
						say("354 go ahead")
						for l := ""; l != ".\r\n"; {
							if l, err = br.ReadString('\n'); err != nil {
								return
							}
						}
						mu.Lock()
						accepted = append(accepted, strconv.Itoa(conn)+":"+rcpt)
						mu.Unlock()
						say("250 queued")
					default:
						say("250 ok")
					}
				}
			}(conn, c)
		}
	}()
	s := sender(t, ln.Addr().String(), nil)
	t.Cleanup(func() { s.Close() })
	for _, to := range []string{"a@example.com", "b@example.com"} {
		if err := s.Send(context.Background(), message(to)); err != nil {
			t.Fatalf("Send to %s: %v", to, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"1:RCPT TO:<a@example.com>", "2:RCPT TO:<b@example.com>"}
	if strings.Join(accepted, ",") != strings.Join(want, ",") {
		t.Errorf("the relay took %q, want %q", accepted, want)
	}
	if n := s.Dials(); n != 2 {
		t.Errorf("%d connections opened, want 2", n)
	}
}
