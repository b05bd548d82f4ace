package mailsink

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

func startSink(t *testing.T, opts Options) *Sink {
	t.Helper()
	s, err := Start("", opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func waitOne(t *testing.T, s *Sink) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.WaitFor(ctx, nil)
	if err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	return m
}

func TestPlainSendMail(t *testing.T) {
	s := startSink(t, Options{})
	body := "From: sspr <noreply@demo.sspr.test>\r\n" +
		"To: alice@demo.sspr.test\r\n" +
		"Subject: Your code\r\n" +
		"Message-ID: <abc.123@demo.sspr.test>\r\n" +
		"\r\n" +
		"Your code is 123456.\r\n"
	err := smtp.SendMail(s.Addr(), nil, "noreply@demo.sspr.test",
		[]string{"alice@demo.sspr.test", "audit@demo.sspr.test"}, []byte(body))
	if err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := waitOne(t, s)
	if m.From != "noreply@demo.sspr.test" || strings.Join(m.To, ",") != "alice@demo.sspr.test,audit@demo.sspr.test" {
		t.Errorf("envelope = %q → %q", m.From, m.To)
	}
	if m.Subject != "Your code" || m.MessageID != "abc.123@demo.sspr.test" {
		t.Errorf("subject %q, id %q", m.Subject, m.MessageID)
	}
	if m.TextBody != "Your code is 123456.\r\n" || m.HTMLBody != "" {
		t.Errorf("bodies %q / %q", m.TextBody, m.HTMLBody)
	}
	if string(m.Raw) != body {
		t.Errorf("raw = %q", m.Raw)
	}
	if m.TLS || m.ParseError != "" || m.Received.IsZero() {
		t.Errorf("TLS %v, parse error %q, received %v", m.TLS, m.ParseError, m.Received)
	}
	if got := s.Messages(); len(got) != 1 {
		t.Errorf("Messages() = %d", len(got))
	}
}

func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mailsink test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}

func TestStartTLSAndAuth(t *testing.T) {
	serverTLS, pool := selfSigned(t)
	s := startSink(t, Options{TLSConfig: serverTLS, AuthPlain: true})

	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not advertised")
	}
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised again after TLS")
	}
	if err := c.Auth(smtp.PlainAuth("", "sspr", "secret", "127.0.0.1")); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if err := c.Mail("noreply@demo.sspr.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@demo.sspr.test"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("Subject: over TLS\r\n\r\nhello\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	m := waitOne(t, s)
	if !m.TLS || m.Subject != "over TLS" || m.To[0] != "bob@demo.sspr.test" {
		t.Fatalf("got %+v", m)
	}
}

func TestAuthRefusedWhenNotConfigured(t *testing.T) {
	s := startSink(t, Options{})
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("AUTH"); ok {
		t.Fatal("AUTH advertised")
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Fatal("STARTTLS advertised without a TLS config")
	}
}

func TestMultipartAlternative(t *testing.T) {
	s := startSink(t, Options{})
	raw := "From: sspr <noreply@demo.sspr.test>\r\n" +
		"To: carol@demo.sspr.test\r\n" +
		"Subject: =?UTF-8?Q?R=C3=A9initialisation_du_mot_de_passe?= =?UTF-8?B?IOKckw==?=\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"b1\"\r\n" +
		"\r\n" +
		"preamble\r\n" +
		"--b1\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"Votre code est 42 =E2=80=94 il expire dans 10 minutes. Une tr=C3=A8s longue li=\r\n" +
		"gne coup=C3=A9e.\r\n" +
		"--b1\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"PHA+Vm90cmUgY29kZSBlc3QgPGI+NDI8L2I+PC9wPg==\r\n" +
		"--b1--\r\n"
	if err := smtp.SendMail(s.Addr(), nil, "noreply@demo.sspr.test", []string{"carol@demo.sspr.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	m := waitOne(t, s)
	if m.Subject != "Réinitialisation du mot de passe ✓" {
		t.Errorf("subject = %q", m.Subject)
	}
	if m.TextBody != "Votre code est 42 — il expire dans 10 minutes. Une très longue ligne coupée." {
		t.Errorf("text = %q", m.TextBody)
	}
	if m.HTMLBody != "<p>Votre code est <b>42</b></p>" {
		t.Errorf("html = %q", m.HTMLBody)
	}
	if m.ParseError != "" {
		t.Errorf("parse error %s", m.ParseError)
	}
}

func TestLatin1AndNestedMultipart(t *testing.T) {
	raw := "Subject: =?ISO-8859-1?Q?Caf=E9?=\r\n" +
		"Content-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n" +
		"--inner\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n" +
		"--inner--\r\n" +
		"--outer\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=x.txt\r\n\r\nnot the body\r\n" +
		"--outer--\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Café" || m.TextBody != "café" {
		t.Fatalf("subject %q text %q", m.Subject, m.TextBody)
	}
}

func TestDotStuffing(t *testing.T) {
	s := startSink(t, Options{})
	body := "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nnot the end\r\nend\r\n"
	// net/smtp's DATA writer dot-stuffs; the sink must undo it.
	if err := smtp.SendMail(s.Addr(), nil, "a@x.test", []string{"b@x.test"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	m := waitOne(t, s)
	if string(m.Raw) != body {
		t.Fatalf("raw = %q, want %q", m.Raw, body)
	}
	if m.TextBody != ".leading dot\r\n..two dots\r\n.\r\nnot the end\r\nend\r\n" {
		t.Fatalf("text = %q", m.TextBody)
	}
}

func TestSizeLimit(t *testing.T) {
	s := startSink(t, Options{MaxSize: 100})
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 200) + "\r\n"
	err := smtp.SendMail(s.Addr(), nil, "a@x.test", []string{"b@x.test"}, []byte(big))
	if err == nil || !strings.Contains(err.Error(), "552") {
		t.Fatalf("oversized mail: %v, want 552", err)
	}
	// The session survives: a small mail on a fresh connection still works.
	if err := smtp.SendMail(s.Addr(), nil, "a@x.test", []string{"b@x.test"}, []byte("Subject: ok\r\n\r\nok\r\n")); err != nil {
		t.Fatal(err)
	}
	if m := waitOne(t, s); m.Subject != "ok" || len(s.Messages()) != 1 {
		t.Fatalf("got %q, %d messages", m.Subject, len(s.Messages()))
	}
}

func TestCommandSequence(t *testing.T) {
	s := startSink(t, Options{})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	read := func() string {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(buf[:n])
	}
	send := func(cmd, wantPrefix string) {
		t.Helper()
		if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
			t.Fatal(err)
		}
		if got := read(); !strings.HasPrefix(got, wantPrefix) {
			t.Fatalf("%s → %q, want %s", cmd, got, wantPrefix)
		}
	}
	read() // greeting
	send("MAIL FROM:<a@x.test>", "503")
	send("HELO client", "250")
	send("RCPT TO:<b@x.test>", "503")
	send("MAIL FROM:a@x.test", "501")
	send("MAIL FROM:<a@x.test> SIZE=999999999999", "552")
	send("MAIL FROM:<a@x.test>", "250")
	send("DATA", "503")
	send("RCPT TO:<b@x.test>", "250")
	send("RSET", "250")
	send("DATA", "503")
	send("NOOP", "250")
	send("AUTH PLAIN AGFAYg==", "502")
	send("BOGUS", "500")
	send("QUIT", "221")
}

func TestRestartOnSameAddress(t *testing.T) {
	s, err := Start("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	// An idle client connection must not keep Close waiting.
	idle, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := smtp.SendMail(addr, nil, "a@x.test", []string{"b@x.test"}, []byte("Subject: down\r\n\r\n.\r\n")); err == nil {
		t.Fatal("delivery succeeded while the sink was closed")
	}
	s2, err := Start(addr, Options{})
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer s2.Close()
	if err := smtp.SendMail(addr, nil, "a@x.test", []string{"b@x.test"}, []byte("Subject: back\r\n\r\nup\r\n")); err != nil {
		t.Fatal(err)
	}
	if m := waitOne(t, s2); m.Subject != "back" {
		t.Fatalf("subject %q", m.Subject)
	}
}

func TestWaitForMatchesLaterMessage(t *testing.T) {
	s := startSink(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	var got Message
	var werr error
	go func() {
		defer wg.Done()
		got, werr = s.WaitFor(ctx, func(m Message) bool { return m.Subject == "third" })
	}()
	for _, subj := range []string{"first", "second", "third"} {
		if err := smtp.SendMail(s.Addr(), nil, "a@x.test", []string{"b@x.test"}, []byte("Subject: "+subj+"\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if werr != nil || got.Subject != "third" {
		t.Fatalf("WaitFor = %q, %v", got.Subject, werr)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := s.WaitFor(short, func(m Message) bool { return m.Subject == "never" }); err == nil {
		t.Fatal("WaitFor matched nothing but returned no error")
	}
}

func TestConcurrentSenders(t *testing.T) {
	s := startSink(t, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := smtp.SendMail(s.Addr(), nil, "a@x.test", []string{"b@x.test"}, []byte("Subject: c\r\n\r\nx\r\n")); err != nil {
				t.Error(err)
			}
			_ = s.Messages()
		}()
	}
	wg.Wait()
	if n := len(s.Messages()); n != 8 {
		t.Fatalf("%d messages, want 8", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("Subject: hi\r\n\r\nbody\r\n"))
	f.Add([]byte("Subject: =?UTF-8?B?w6k=?=\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9=\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, _ := Parse(raw)
		if string(m.Raw) != string(raw) {
			t.Fatal("Raw changed")
		}
	})
}

// TestStatsDelayAndRefusedRecipient: the knobs tests of SMTP clients rely
// on — a per-command delay (ordering-free: two clients overlap inside their
// transactions), connection numbers on messages, and refusing a recipient.
func TestStatsDelayAndRefusedRecipient(t *testing.T) {
	s := startSink(t, Options{CommandDelay: 20 * time.Millisecond, RcptReply: func(addr string) (int, string) {
		if addr == "bob@x.test" {
			return 550, "5.1.1 <bob@x.test>: user unknown"
		}
		return 0, ""
	}})
	// Two clients inside a transaction at once: both hold MAIL FROM before
	// either sends DATA.
	var clients []*smtp.Client
	for i := 0; i < 2; i++ {
		c, err := smtp.Dial(s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Mail("a@x.test"); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for _, c := range clients {
		if err := c.Rcpt("b@x.test"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(w, "Subject: s\r\n\r\nx\r\n")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A second message on the first connection; a refused recipient.
	c := clients[0]
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("a@x.test"); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("bob@x.test")
	var tpErr *textproto.Error
	if !errors.As(err, &tpErr) || tpErr.Code != 550 || !strings.Contains(tpErr.Msg, "user unknown") {
		t.Fatalf("RCPT of a refused recipient: %v", err)
	}
	if err := c.Rcpt("b@x.test"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "Subject: again\r\n\r\nx\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Connections != 2 || st.MaxOpen != 2 || st.MaxInTransaction != 2 || st.Transactions != 3 {
		t.Errorf("stats = %+v", st)
	}
	conns := map[int]int{}
	for _, m := range s.Messages() {
		conns[m.Connection]++
	}
	if len(conns) != 2 || conns[1]+conns[2] != 3 {
		t.Errorf("messages per connection = %v", conns)
	}
	s.SetCommandDelay(time.Hour)
	done := make(chan error, 1)
	go func() { done <- c.Noop() }()
	// Close interrupts a reply that is waiting out the delay.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Error("NOOP answered although the sink closed during the delay")
	}
}

// TestAcceptDelay: the sink has the message before the client hears that
// it was accepted.
func TestAcceptDelay(t *testing.T) {
	s := startSink(t, Options{AcceptDelay: time.Hour})
	done := make(chan error, 1)
	go func() {
		done <- smtp.SendMail(s.Addr(), nil, "a@x.test", []string{"b@x.test"}, []byte("Subject: held\r\n\r\nx\r\n"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if m, err := s.WaitFor(ctx, nil); err != nil || m.Subject != "held" {
		t.Fatalf("WaitFor = %q, %v", m.Subject, err)
	}
	select {
	case err := <-done:
		t.Fatalf("the client finished (%v) while the sink held its reply", err)
	default:
	}
	s.Close()
	if err := <-done; err == nil {
		t.Error("the client heard an acceptance the sink never sent")
	}
}
