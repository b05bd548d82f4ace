package mailsink

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures Start. The zero value is a plain-text sink with
// sensible limits.
type Options struct {
	// TLSConfig, when set, enables STARTTLS with this configuration.
	TLSConfig *tls.Config
	// AuthPlain advertises AUTH PLAIN and accepts any credentials, for
	// clients configured with a user name and password.
	AuthPlain bool
	// MaxSize is the largest message accepted, in bytes; default 10 MiB.
	MaxSize int64
	// MaxRecipients per message; default 100.
	MaxRecipients int
	// Timeout bounds the wait for each command and for a whole DATA
	// transfer; default 1 minute.
	Timeout time.Duration
	// Hostname is the name in the greeting; default "mailsink.localhost".
	Hostname string
	// Now is the clock for Message.Received; nil is time.Now.
	Now func() time.Time
	// Deliver, when set, receives every message instead of the sink
	// keeping it: a load generator that reads millions of codes must not
	// hold them all (Messages and WaitFor then see nothing).
	Deliver func(Message)
	// CommandDelay makes the sink wait this long before each reply
	// (the greeting included), like a slow or distant relay; tests and
	// benchmarks use it to see how a client copes with latency.
	// SetCommandDelay changes it while the sink runs.
	CommandDelay time.Duration
	// RcptReply, when set, is asked about every RCPT TO address; a
	// non-zero code refuses the recipient with that code and text (for
	// example 550, "5.1.1 <bob@example.com>: user unknown").
	RcptReply func(addr string) (code int, text string)
	// AcceptDelay makes the sink wait this long, after it has stored a
	// message, before it answers the end of DATA: the moment when a relay
	// has a mail but the client does not know yet (what a crash of the
	// client then means is worth a test). SetAcceptDelay changes it.
	AcceptDelay time.Duration
}

// Stats counts what the sink has seen, for tests that check how a client
// uses connections.
type Stats struct {
	// Connections is the number of connections accepted so far.
	Connections int
	// Open is the number of connections open now; MaxOpen the largest
	// number open at one time.
	Open, MaxOpen int
	// MaxInTransaction is the largest number of connections that were in
	// the middle of a mail transaction (between MAIL FROM and the end of
	// DATA) at one time.
	MaxInTransaction int
	// Transactions is the number of messages received.
	Transactions int
	// Resets is the number of RSET commands received.
	Resets int
}

// Sink is a running SMTP receiver. Its methods are safe for concurrent use.
type Sink struct {
	opts Options
	ln   net.Listener

	mu       sync.Mutex
	messages []Message
	changed  chan struct{} // closed and replaced whenever a message arrives
	conns    map[net.Conn]struct{}
	closed   bool
	closing  chan struct{} // closed by Close, interrupts command delays
	wg       sync.WaitGroup

	delay         time.Duration
	acceptDelay   time.Duration
	stats         Stats
	inTransaction int
}

// Start listens on addr ("" means 127.0.0.1:0, a random free loopback port)
// and serves SMTP until Close.
func Start(addr string, opts Options) (*Sink, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = 10 << 20
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = 100
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.Hostname == "" {
		opts.Hostname = "mailsink.localhost"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailsink: listen on %s: %w", addr, err)
	}
	s := &Sink{opts: opts, ln: ln, changed: make(chan struct{}), conns: make(map[net.Conn]struct{}),
		closing: make(chan struct{}), delay: opts.CommandDelay, acceptDelay: opts.AcceptDelay}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr returns the host:port the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Messages returns a copy of every message received so far, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = m.clone()
	}
	return out
}

// SetCommandDelay changes Options.CommandDelay for replies sent from now
// on; a reply already waiting keeps its delay (or ends with Close).
func (s *Sink) SetCommandDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetAcceptDelay changes Options.AcceptDelay for messages received from
// now on.
func (s *Sink) SetAcceptDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acceptDelay = d
}

// Stats returns the counts so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Open = len(s.conns)
	return st
}

// Reset forgets all received messages.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

// WaitFor returns the first message, already received or arriving later,
// for which match returns true (nil matches any). It gives up when ctx is
// done.
func (s *Sink) WaitFor(ctx context.Context, match func(Message) bool) (Message, error) {
	seen := 0
	for {
		s.mu.Lock()
		for ; seen < len(s.messages); seen++ {
			if m := s.messages[seen]; match == nil || match(m.clone()) {
				s.mu.Unlock()
				return m.clone(), nil
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("mailsink: no matching message: %w", ctx.Err())
		}
	}
}

// Close stops listening, cuts every open connection and waits for their
// goroutines to end. A new Start on the same address then works, which is
// how tests simulate an SMTP server that is down and comes back.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("mailsink: close: %w", err)
	}
	return nil
}

func (s *Sink) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.stats.Connections++
		s.stats.MaxOpen = max(s.stats.MaxOpen, len(s.conns))
		id := s.stats.Connections
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			ss := newSession(s, c)
			ss.id = id
			ss.serve()
			s.mu.Lock()
			if ss.hasMail {
				s.inTransaction--
			}
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// store records a message and wakes WaitFor callers.
func (s *Sink) store(m Message) {
	if s.opts.Deliver != nil {
		s.mu.Lock()
		s.stats.Transactions++
		s.mu.Unlock()
		s.opts.Deliver(m)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	s.stats.Transactions++
	close(s.changed)
	s.changed = make(chan struct{})
}

// transaction notes a session entering (+1) or leaving (-1) a mail
// transaction.
func (s *Sink) transaction(delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inTransaction += delta
	s.stats.MaxInTransaction = max(s.stats.MaxInTransaction, s.inTransaction)
}

// wait sleeps for the current command delay; it reports false when the
// sink is closing.
func (s *Sink) wait() bool {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	return s.sleep(d)
}

// sleep waits d; it reports false when the sink is closing.
func (s *Sink) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closing:
		return false
	}
}

// replaceConn swaps the tracked connection after STARTTLS, so Close still
// reaches it.
func (s *Sink) replaceConn(old, new net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, old)
	s.conns[new] = struct{}{}
}

const maxLine = 4096 // RFC 5321 allows 512 for commands; be generous, but bounded

// session is one SMTP conversation.
type session struct {
	sink *Sink
	id   int
	conn net.Conn
	orig net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer

	helo    bool
	tls     bool
	from    string
	hasMail bool
	rcpts   []string
}

func newSession(s *Sink, c net.Conn) *session {
	return &session{sink: s, conn: c, orig: c, br: bufio.NewReaderSize(c, maxLine), bw: bufio.NewWriter(c)}
}

func (ss *session) reply(code int, text string) error {
	if !ss.sink.wait() {
		return net.ErrClosed
	}
	_ = ss.conn.SetWriteDeadline(time.Now().Add(ss.sink.opts.Timeout))
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		sep := " "
		if i < len(lines)-1 {
			sep = "-"
		}
		if _, err := fmt.Fprintf(ss.bw, "%d%s%s\r\n", code, sep, l); err != nil {
			return err
		}
	}
	return ss.bw.Flush()
}

var errLineTooLong = errors.New("line too long")

// readLine reads one CRLF- (or LF-) terminated line without its ending.
func (ss *session) readLine() (string, error) {
	_ = ss.conn.SetReadDeadline(time.Now().Add(ss.sink.opts.Timeout))
	line, err := ss.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = ss.br.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (ss *session) resetTransaction() {
	if ss.hasMail {
		ss.sink.transaction(-1)
	}
	ss.from, ss.hasMail, ss.rcpts = "", false, nil
}

func (ss *session) serve() {
	if ss.reply(220, ss.sink.opts.Hostname+" ESMTP mailsink ready") != nil {
		return
	}
	for {
		line, err := ss.readLine()
		if errors.Is(err, errLineTooLong) {
			if ss.reply(500, "5.5.2 Line too long") != nil {
				return
			}
			continue
		}
		if err != nil {
			return // EOF, timeout or closed by Close
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		arg = strings.TrimSpace(arg)
		var rerr error
		switch verb {
		case "EHLO", "HELO":
			rerr = ss.hello(verb, arg)
		case "STARTTLS":
			if !ss.startTLS() {
				return
			}
		case "AUTH":
			rerr = ss.auth(arg)
		case "MAIL":
			rerr = ss.mail(arg)
		case "RCPT":
			rerr = ss.rcpt(arg)
		case "DATA":
			if !ss.data() {
				return
			}
		case "RSET":
			ss.sink.mu.Lock()
			ss.sink.stats.Resets++
			ss.sink.mu.Unlock()
			ss.resetTransaction()
			rerr = ss.reply(250, "2.0.0 OK")
		case "NOOP":
			rerr = ss.reply(250, "2.0.0 OK")
		case "VRFY":
			rerr = ss.reply(252, "2.5.0 Cannot VRFY user, but will accept message")
		case "QUIT":
			_ = ss.reply(221, "2.0.0 Bye")
			return
		default:
			rerr = ss.reply(500, "5.5.1 Command unrecognized")
		}
		if rerr != nil {
			return
		}
	}
}

func (ss *session) hello(verb, arg string) error {
	if arg == "" {
		return ss.reply(501, "5.5.4 Syntax: "+verb+" hostname")
	}
	ss.helo = true
	ss.resetTransaction()
	if verb == "HELO" {
		return ss.reply(250, ss.sink.opts.Hostname)
	}
	lines := []string{ss.sink.opts.Hostname + " greets " + arg,
		"SIZE " + strconv.FormatInt(ss.sink.opts.MaxSize, 10), "8BITMIME", "PIPELINING"}
	if ss.sink.opts.TLSConfig != nil && !ss.tls {
		lines = append(lines, "STARTTLS")
	}
	if ss.sink.opts.AuthPlain {
		lines = append(lines, "AUTH PLAIN")
	}
	return ss.reply(250, strings.Join(lines, "\n"))
}

// startTLS upgrades the connection; it reports false when the session must end.
func (ss *session) startTLS() bool {
	if ss.sink.opts.TLSConfig == nil || ss.tls {
		return ss.reply(502, "5.5.1 STARTTLS not available") == nil
	}
	if ss.br.Buffered() > 0 {
		// RFC 3207 §4: nothing may be pipelined after STARTTLS.
		_ = ss.reply(501, "5.5.2 Data after STARTTLS")
		return false
	}
	if ss.reply(220, "2.0.0 Ready to start TLS") != nil {
		return false
	}
	tc := tls.Server(ss.conn, ss.sink.opts.TLSConfig)
	_ = tc.SetDeadline(time.Now().Add(ss.sink.opts.Timeout))
	if err := tc.Handshake(); err != nil {
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	ss.sink.replaceConn(ss.conn, tc)
	ss.conn = tc
	ss.br = bufio.NewReaderSize(tc, maxLine)
	ss.bw = bufio.NewWriter(tc)
	ss.tls = true
	ss.helo = false // RFC 3207 §4.2: the client must say EHLO again
	ss.resetTransaction()
	return true
}

func (ss *session) auth(arg string) error {
	if !ss.sink.opts.AuthPlain {
		return ss.reply(502, "5.5.1 AUTH not available")
	}
	if !ss.helo {
		return ss.reply(503, "5.5.1 Send EHLO first")
	}
	mech, initial, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		return ss.reply(504, "5.5.4 Only AUTH PLAIN is supported")
	}
	if initial == "" {
		if err := ss.reply(334, ""); err != nil {
			return err
		}
		line, err := ss.readLine()
		if err != nil {
			return err
		}
		initial = line
	}
	if initial == "*" {
		return ss.reply(501, "5.0.0 Authentication cancelled")
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(initial))
	if err != nil || strings.Count(string(dec), "\x00") != 2 {
		return ss.reply(501, "5.5.2 Malformed AUTH PLAIN response")
	}
	return ss.reply(235, "2.7.0 Authentication succeeded")
}

// pathArg extracts the address from "FROM:<addr> PARAMS" style arguments.
func pathArg(arg, prefix string) (addr string, params []string, ok bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", nil, false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", nil, false
	}
	return rest[1:end], strings.Fields(rest[end+1:]), true
}

func (ss *session) mail(arg string) error {
	if !ss.helo {
		return ss.reply(503, "5.5.1 Send EHLO/HELO first")
	}
	if ss.hasMail {
		return ss.reply(503, "5.5.1 Sender already specified")
	}
	addr, params, ok := pathArg(arg, "FROM:")
	if !ok {
		return ss.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(k, "SIZE") {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ss.reply(501, "5.5.4 Bad SIZE parameter")
			}
			if n > ss.sink.opts.MaxSize {
				return ss.reply(552, "5.3.4 Message size exceeds fixed limit")
			}
		}
	}
	ss.from, ss.hasMail = addr, true
	ss.sink.transaction(+1)
	return ss.reply(250, "2.1.0 OK")
}

func (ss *session) rcpt(arg string) error {
	if !ss.hasMail {
		return ss.reply(503, "5.5.1 Need MAIL before RCPT")
	}
	addr, _, ok := pathArg(arg, "TO:")
	if !ok || addr == "" {
		return ss.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
	}
	if len(ss.rcpts) >= ss.sink.opts.MaxRecipients {
		return ss.reply(452, "4.5.3 Too many recipients")
	}
	if ss.sink.opts.RcptReply != nil {
		if code, text := ss.sink.opts.RcptReply(addr); code != 0 {
			return ss.reply(code, text)
		}
	}
	ss.rcpts = append(ss.rcpts, addr)
	return ss.reply(250, "2.1.5 OK")
}

// data receives a message; it reports false when the session must end.
func (ss *session) data() bool {
	if !ss.hasMail || len(ss.rcpts) == 0 {
		return ss.reply(503, "5.5.1 Need RCPT before DATA") == nil
	}
	if ss.reply(354, "Start mail input; end with <CRLF>.<CRLF>") != nil {
		return false
	}
	_ = ss.conn.SetReadDeadline(time.Now().Add(ss.sink.opts.Timeout))
	dot := textproto.NewReader(ss.br).DotReader() // undoes dot-stuffing, normalises CRLF to LF
	raw, err := io.ReadAll(io.LimitReader(dot, ss.sink.opts.MaxSize+1))
	if err != nil {
		return false
	}
	if int64(len(raw)) > ss.sink.opts.MaxSize {
		if _, err := io.Copy(io.Discard, dot); err != nil {
			return false
		}
		ss.resetTransaction()
		return ss.reply(552, "5.3.4 Message size exceeds fixed limit") == nil
	}
	raw = toCRLF(raw)
	msg, perr := Parse(raw)
	if perr != nil {
		msg.ParseError = perr.Error()
	}
	msg.From = ss.from
	msg.To = append([]string(nil), ss.rcpts...)
	msg.Received = ss.sink.opts.Now()
	msg.TLS = ss.tls
	msg.Connection = ss.id
	ss.sink.store(msg)
	ss.resetTransaction()
	ss.sink.mu.Lock()
	accept := ss.sink.acceptDelay
	ss.sink.mu.Unlock()
	if !ss.sink.sleep(accept) {
		return false
	}
	return ss.reply(250, "2.0.0 OK queued as "+queueID()) == nil
}

// toCRLF restores the CRLF line endings DotReader turned into LF, so Raw is
// the message as it travelled.
func toCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/40)
	for _, c := range b {
		if c == '\n' {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func queueID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}
