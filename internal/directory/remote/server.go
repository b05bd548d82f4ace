package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Enrolled is what the server knows of a connector the admin added.
type Enrolled struct {
	// Directory is the configured directory it serves.
	Directory string
	PublicKey ed25519.PublicKey
	Revoked   bool
}

// Credentials is what the hub needs of the store and the audit log.
type Credentials interface {
	// Connector returns the named connector; found is false when no such
	// connector was ever added.
	Connector(ctx context.Context, name string) (e Enrolled, found bool, err error)
	// Connected records an accepted connection (audit, last seen).
	Connected(ctx context.Context, name, dir, ip string)
	// Refused records a refused one: unknown name, wrong key, revoked,
	// wrong directory. name is what the connector claimed.
	Refused(ctx context.Context, name, ip, reason string)
	// Dropped records a live connection the hub closed because the
	// connector was revoked (or removed) meanwhile.
	Dropped(ctx context.Context, name, reason string)
}

// Hub accepts connectors on Path, checks their keys and hands each to the
// Directory it serves. It is an http.Handler; mount it on the server's mux.
type Hub struct {
	Creds Credentials
	Log   *slog.Logger
	// ClientIP says where a request came from (behind trusted proxies);
	// default: the peer address.
	ClientIP func(*http.Request) string
	// Recheck is how often live connectors are looked up again, so that a
	// revocation made by `sspr connectors revoke` (another process) drops
	// the connection; default 10s.
	Recheck time.Duration
	// Ping is how often a connector is pinged, so that a dead link is
	// noticed even when no call is under way; default 15s.
	Ping time.Duration
	// Attributes are sent to every connector in the welcome: the extra
	// attributes its lookups must read.
	Attributes []string

	mu   sync.Mutex
	dirs map[string]*Directory
	// handshakes counts connections not yet authenticated, per client
	// address and in all: the endpoint faces the internet, and a stranger
	// must not hold memory or goroutines without a key.
	handshakes    map[string]int
	handshakesAll int
}

// Bounds on unauthenticated connections: how many handshakes may be under
// way from one address and in all, and how large a message may be before
// the connector proved who it is (a hello is a few hundred bytes).
const (
	maxHandshakesPerAddress = 4
	maxHandshakes           = 64
	maxHelloMessage         = 4096
	// maxNameLength bounds a hello's connector and directory names (the
	// length sspr connectors add allows); longer ones are refused unread.
	maxNameLength = 64
)

// beginHandshake reserves a handshake slot for ip; false when the address
// (or everyone) has too many under way.
func (h *Hub) beginHandshake(ip string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handshakes == nil {
		h.handshakes = map[string]int{}
	}
	if h.handshakes[ip] >= maxHandshakesPerAddress || h.handshakesAll >= maxHandshakes {
		return false
	}
	h.handshakes[ip]++
	h.handshakesAll++
	return true
}

func (h *Hub) endHandshake(ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handshakes[ip]--; h.handshakes[ip] <= 0 {
		delete(h.handshakes, ip)
	}
	h.handshakesAll--
}

// Add makes the hub accept connectors for d.
func (h *Hub) Add(d *Directory) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dirs == nil {
		h.dirs = map[string]*Directory{}
	}
	h.dirs[d.Name()] = d
	d.served.Store(true)
}

func (h *Hub) dir(name string) *Directory {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dirs[name]
}

func (h *Hub) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// refusal is the one reason a refused connector is told: which check
// failed goes to the audit log only.
const refusal = "connector refused: unknown, revoked or wrong key"

// errRefused: the connector failed the handshake (its key, its name, its
// hello), as opposed to the server failing it.
type errRefused struct{ reason string }

func (e *errRefused) Error() string { return "connector refused: " + e.reason }

// handshakeTimeout bounds the hello.
const handshakeTimeout = 10 * time.Second

// ServeHTTP upgrades to a WebSocket, challenges the connector to sign a
// fresh nonce with its key, and serves it until the connection ends.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip := h.clientIP(r)
	if !h.beginHandshake(ip) {
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many connections being set up; try again later", http.StatusTooManyRequests)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{})
	if err != nil {
		h.endHandshake(ip)
		return // Accept answered the request
	}
	// Small messages until the connector has proved who it is.
	c.SetReadLimit(maxHelloMessage)
	ctx := context.WithoutCancel(r.Context())
	s, d, err := h.handshake(ctx, c, ip)
	h.endHandshake(ip)
	if err == nil {
		c.SetReadLimit(maxMessage)
	}
	var refused *errRefused
	switch {
	case errors.As(err, &refused):
		c.Close(websocket.StatusPolicyViolation, refusal)
		return
	case err != nil:
		// Not the connector's fault (the store did not answer, the
		// connection broke): it dials again.
		c.Close(websocket.StatusTryAgainLater, "try again later")
		return
	}
	h.log().Info("connector connected", "connector", s.name, "directory", d.Name(), "ip", ip)
	d.attach(s)
	stop := make(chan struct{})
	go h.watch(ctx, s, stop)
	s.readLoop(ctx)
	close(stop)
	d.detach(s)
	h.log().Warn("connector disconnected", "connector", s.name, "directory", d.Name(), "err", s.err())
}

func (h *Hub) clientIP(r *http.Request) string {
	if h.ClientIP != nil {
		return h.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Hub) handshake(ctx context.Context, c *websocket.Conn, ip string) (*session, *Directory, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	if err := writeMessage(ctx, c, &message{T: typeChallenge, Nonce: nonce}); err != nil {
		return nil, nil, err
	}
	// Strangers (no valid hello, an unknown name) are logged, not audited:
	// the endpoint faces the internet, and every scanner would otherwise
	// write to the audit log. Refusals of enrolled names are audited.
	hello, err := readMessage(ctx, c)
	if err != nil {
		h.log().Warn("connector refused", "ip", ip, "reason", "no valid hello", "err", err)
		return nil, nil, &errRefused{"no valid hello"}
	}
	if hello.T != typeHello || len(hello.Name) > maxNameLength || len(hello.Directory) > maxNameLength {
		h.log().Warn("connector refused", "ip", ip, "reason", "no valid hello")
		return nil, nil, &errRefused{"no hello"}
	}
	reason := ""
	e, found, err := h.Creds.Connector(ctx, hello.Name)
	d := h.dir(hello.Directory)
	switch {
	case err != nil:
		h.log().Error("reading a connector's key", "connector", hello.Name, "err", err)
		return nil, nil, err
	case !found:
		h.log().Warn("connector refused", "connector", hello.Name, "directory", hello.Directory, "ip", ip, "reason", "unknown_connector")
		return nil, nil, &errRefused{"unknown_connector"}
	case e.Revoked:
		reason = "revoked"
	case len(e.PublicKey) != ed25519.PublicKeySize || !ed25519.Verify(e.PublicKey, signedBytes(nonce, hello.Name, hello.Directory), hello.Sig):
		reason = "bad_signature"
	case e.Directory != hello.Directory:
		reason = "wrong_directory"
	case d == nil:
		reason = "directory_not_of_type_connector"
	}
	if reason != "" {
		h.log().Warn("connector refused", "connector", hello.Name, "directory", hello.Directory, "ip", ip, "reason", reason)
		h.Creds.Refused(ctx, hello.Name, ip, reason)
		return nil, nil, &errRefused{reason}
	}
	if err := writeMessage(ctx, c, &message{T: typeWelcome, Attributes: h.Attributes}); err != nil {
		return nil, nil, err
	}
	h.Creds.Connected(ctx, hello.Name, hello.Directory, ip)
	return newSession(hello.Name, ip, c), d, nil
}

// watch pings the connector and looks its credential up again now and
// then, closing the connection when either fails.
func (h *Hub) watch(ctx context.Context, s *session, stop <-chan struct{}) {
	recheck, ping := h.Recheck, h.Ping
	if recheck <= 0 {
		recheck = 10 * time.Second
	}
	if ping <= 0 {
		ping = 15 * time.Second
	}
	rt, pt := time.NewTicker(recheck), time.NewTicker(ping)
	defer rt.Stop()
	defer pt.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.done:
			return
		case <-rt.C:
			e, found, err := h.Creds.Connector(ctx, s.name)
			if err != nil {
				continue // the store hiccuped: keep the connection, look again later
			}
			if !found || e.Revoked {
				h.log().Warn("dropping a revoked connector", "connector", s.name)
				h.Creds.Dropped(ctx, s.name, "revoked")
				s.close(websocket.StatusPolicyViolation, "connector revoked")
				return
			}
		case <-pt.C:
			pctx, cancel := context.WithTimeout(ctx, ping)
			err := s.conn.Ping(pctx)
			cancel()
			if err != nil {
				s.close(websocket.StatusGoingAway, "no answer to ping")
				return
			}
		}
	}
}

// session is one connected connector.
type session struct {
	name, ip string
	conn     *websocket.Conn

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan *message
	failure error
	done    chan struct{} // closed when the connection is gone
}

func newSession(name, ip string, c *websocket.Conn) *session {
	return &session{name: name, ip: ip, conn: c, pending: map[uint64]chan *message{}, done: make(chan struct{})}
}

// errGone is the failure of a session whose connection ended.
var errGone = errors.New("the connector's connection ended")

// readLoop hands each result to its caller until the connection ends.
func (s *session) readLoop(ctx context.Context) {
	var err error
	for {
		var m *message
		if m, err = readMessage(ctx, s.conn); err != nil {
			break
		}
		if m.T != typeResult {
			err = errors.New("unexpected message " + m.T)
			break
		}
		s.mu.Lock()
		ch := s.pending[m.ID]
		delete(s.pending, m.ID)
		s.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	s.fail(err)
	s.conn.Close(websocket.StatusProtocolError, "")
}

func (s *session) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure == nil {
		s.failure = errors.Join(errGone, err)
		close(s.done)
	}
}

func (s *session) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failure
}

func (s *session) close(code websocket.StatusCode, reason string) {
	s.fail(errors.New(reason))
	s.conn.Close(code, reason)
}

// call sends m and waits for its result. sent reports whether the call
// may have reached the connector: false only when the write failed, so
// the call provably did not run.
func (s *session) call(ctx context.Context, m *message) (reply *message, sent bool, err error) {
	ch := make(chan *message, 1)
	s.mu.Lock()
	if s.failure != nil {
		s.mu.Unlock()
		return nil, false, s.failure
	}
	s.nextID++
	id := s.nextID
	s.pending[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}()
	c := *m
	c.ID = id
	if err := writeMessage(ctx, s.conn, &c); err != nil {
		// A failed write leaves no whole message at the far end: the
		// connector parses whole messages only.
		return nil, false, err
	}
	select {
	case r := <-ch:
		return r, true, nil
	case <-s.done:
		return nil, true, s.err()
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
}

// writeMessage sends one message.
func writeMessage(ctx context.Context, c *websocket.Conn, m *message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, b)
}

// readMessage reads and parses one message.
func readMessage(ctx context.Context, c *websocket.Conn) (*message, error) {
	typ, b, err := c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, errors.New("binary message")
	}
	return parseMessage(b)
}
