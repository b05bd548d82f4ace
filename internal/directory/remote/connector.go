package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/sspr/sspr/internal/directory"
)

// Connector is the process side: it dials the server, proves its key and
// executes the server's calls on the local directory, redialling with
// backoff whenever the connection ends. It listens on no port.
type Connector struct {
	// Server is the sspr server's base URL (https://...).
	Server string
	// Name is the name the admin added the connector under; Directory is
	// the server's directory it serves.
	Name, Directory string
	Key             ed25519.PrivateKey
	// TLS verifies the server (RootCAs from a CA file, or a pin through
	// VerifyConnection: see PinnedTLS).
	TLS *tls.Config
	// Open builds the local directory, given the attributes the server
	// asks lookups to read; it is called again only when they change.
	Open func(attributes []string) (directory.Directory, error)
	Log  *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between dials (default 1s,
	// 30s; doubled after each failure, reset after a good connection).
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is how often the server is pinged; default 30s.
	PingInterval time.Duration
	// Connected, when set, is told each time the server accepts the
	// connector (tests, the service manager's readiness).
	Connected func()

	mu    sync.Mutex
	dir   directory.Directory
	attrs []string
}

// maxConcurrent bounds the calls a connector runs at once.
const maxConcurrent = 32

// ErrRefused is the error of a connection the server refused (unknown,
// revoked or wrong key): redialling will not help until the admin acts.
var ErrRefused = errors.New("the server refused this connector: unknown, revoked or wrong key (see sspr connectors list on the server)")

// Run connects and serves until ctx ends. A refusal is returned at once;
// any other failure is logged and redialled.
func (c *Connector) Run(ctx context.Context) error {
	defer c.closeDir()
	lo, hi := c.MinBackoff, c.MaxBackoff
	if lo <= 0 {
		lo = time.Second
	}
	if hi < lo {
		hi = max(30*time.Second, lo)
	}
	wait := lo
	for {
		served, err := c.serveOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrRefused) {
			return err
		}
		if served {
			wait = lo
		}
		c.log().Warn("connection to the sspr server ended; dialling again", "server", c.Server, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, hi)
	}
}

func (c *Connector) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// endpoint turns the server's base URL into the WebSocket URL.
func endpoint(server string) (string, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server %q is not a URL", server)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("server %q: only https:// (passwords cross this connection)", server)
	}
	u.Scheme = "wss"
	u.Path += Path
	return u.String(), nil
}

// serveOnce dials, authenticates and serves one connection; served says
// whether the server accepted it.
func (c *Connector) serveOnce(ctx context.Context) (served bool, err error) {
	wsURL, err := endpoint(c.Server)
	if err != nil {
		return false, err
	}
	tlsCfg := c.TLS.Clone()
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsCfg.NextProtos = []string{"http/1.1"} // WebSocket upgrades need HTTP/1.1
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: false}, Timeout: 0}
	dctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	conn, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPClient: hc})
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxMessage)
	attrs, err := c.authenticate(ctx, conn)
	if err != nil {
		return false, err
	}
	dir, err := c.directory(attrs)
	if err != nil {
		conn.Close(websocket.StatusInternalError, "the connector's directory is misconfigured")
		return true, err
	}
	c.log().Info("connected to the sspr server", "server", c.Server, "directory", c.Directory)
	if c.Connected != nil {
		c.Connected()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	// Ping the server now and then: a server that vanished without
	// closing the connection (a partition) is noticed, and redialled.
	pingCtx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	wg.Go(func() { c.pingLoop(pingCtx, conn) })
	// At most maxConcurrent calls run at once; the server's further calls
	// wait in the connection (the directory's pool is smaller anyway).
	slots := make(chan struct{}, maxConcurrent)
	for {
		m, err := readMessage(ctx, conn)
		if err != nil {
			return true, err
		}
		if m.T != typeCall {
			return true, fmt.Errorf("unexpected message %q", m.T)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return true, ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-slots }()
			r := execute(ctx, dir, m)
			r.ID = m.ID
			if err := writeMessage(ctx, conn, r); err != nil {
				c.log().Warn("could not send a result", "op", m.Op, "err", err)
			}
		})
	}
}

// pingLoop pings the server every PingInterval until ctx ends, closing the
// connection when a ping goes unanswered.
func (c *Connector) pingLoop(ctx context.Context, conn *websocket.Conn) {
	every := c.PingInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, every)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				c.log().Warn("the sspr server does not answer pings; dialling again", "err", err)
				conn.CloseNow()
				return
			}
		}
	}
}

// authenticate answers the server's challenge with the connector's
// signature and returns the welcome's attributes.
func (c *Connector) authenticate(ctx context.Context, conn *websocket.Conn) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	ch, err := readMessage(ctx, conn)
	if err != nil {
		return nil, err
	}
	if ch.T != typeChallenge {
		return nil, fmt.Errorf("expected a challenge, got %q", ch.T)
	}
	sig := ed25519.Sign(c.Key, signedBytes(ch.Nonce, c.Name, c.Directory))
	if err := writeMessage(ctx, conn, &message{T: typeHello, Name: c.Name, Directory: c.Directory, Sig: sig, Version: "1"}); err != nil {
		return nil, err
	}
	w, err := readMessage(ctx, conn)
	if websocket.CloseStatus(err) == websocket.StatusPolicyViolation {
		return nil, ErrRefused
	}
	if err != nil {
		return nil, err
	}
	if w.T != typeWelcome {
		return nil, fmt.Errorf("expected a welcome, got %q", w.T)
	}
	return w.Attributes, nil
}

// directory returns the local directory built for attrs.
func (c *Connector) directory(attrs []string) (directory.Directory, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != nil && slices.Equal(c.attrs, attrs) {
		return c.dir, nil
	}
	d, err := c.Open(attrs)
	if err != nil {
		return nil, err
	}
	if c.dir != nil {
		_ = c.dir.Close()
	}
	c.dir, c.attrs = d, attrs
	return d, nil
}

func (c *Connector) closeDir() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != nil {
		_ = c.dir.Close()
		c.dir = nil
	}
}

// execute runs one call on the local directory.
func execute(ctx context.Context, d directory.Directory, m *message) *message {
	r := &message{T: typeResult}
	unsupported := &directory.Error{Kind: directory.KindUnsupported, Op: m.Op, Diagnostic: "the connector's directory cannot " + m.Op}
	var err error
	u := m.User.user()
	switch m.Op {
	case opFind:
		var found *directory.User
		found, err = d.FindUser(ctx, m.Login)
		r.User = toWireUser(found)
	case opVerify:
		err = d.VerifyPassword(ctx, u, m.Password)
	case opReset:
		err = unsupported
		if x, ok := d.(directory.PasswordResetter); ok {
			err = x.ResetPassword(ctx, u, m.Password)
		}
	case opChange:
		err = unsupported
		if x, ok := d.(directory.PasswordChanger); ok {
			err = x.ChangePassword(ctx, u, m.OldPassword, m.Password)
		}
	case opUnlock:
		err = unsupported
		if x, ok := d.(directory.Unlocker); ok {
			err = x.Unlock(ctx, u)
		}
	case opMustChange:
		err = unsupported
		if x, ok := d.(directory.ForceChanger); ok {
			err = x.SetMustChange(ctx, u, m.MustChange)
		}
	case opStatus:
		err = unsupported
		if x, ok := d.(directory.StatusReader); ok {
			r.Status, err = x.AccountStatus(ctx, u)
		}
	case opPolicy:
		err = unsupported
		if x, ok := d.(directory.PolicyReader); ok {
			r.Policy, err = x.EffectivePolicy(ctx, u)
		}
	case opGroups:
		err = unsupported
		if x, ok := d.(directory.GroupResolver); ok {
			r.Groups, err = x.Groups(ctx, u)
		}
	case opCheck:
		err = unsupported
		if x, ok := d.(directory.HealthChecker); ok {
			r.Report, err = x.Check(ctx), nil
		}
	}
	if err != nil {
		r.User, r.Status, r.Policy, r.Groups, r.Report = nil, nil, nil, nil, nil
		r.Error = toWire(err)
	}
	return r
}

// PinnedTLS returns a TLS configuration that accepts the server whose
// certificate's public key (SubjectPublicKeyInfo) has the SHA-256 pin
// ("sha256/BASE64", as `sspr connectors pin` prints it), whoever signed
// it; with roots set too, the chain must verify as well.
func PinnedTLS(pin string, roots *x509.CertPool) (*tls.Config, error) {
	want, err := parsePin(pin)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	// The pin replaces name and chain checks when there are no roots;
	// VerifyConnection still runs and enforces it.
	cfg.InsecureSkipVerify = roots == nil
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server sent no certificate")
		}
		if roots != nil {
			opts := x509.VerifyOptions{Roots: roots, DNSName: cs.ServerName, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return err
			}
		}
		got := sha256.Sum256(cs.PeerCertificates[0].RawSubjectPublicKeyInfo)
		if subtle.ConstantTimeCompare(got[:], want) != 1 {
			return errors.New("the server's key does not match server_pin")
		}
		return nil
	}
	return cfg, nil
}

// Pin is the pin of a certificate's public key, for server_pin.
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}

// parsePin reads "sha256/BASE64".
func parsePin(pin string) ([]byte, error) {
	b64, ok := strings.CutPrefix(pin, "sha256/")
	if !ok {
		return nil, fmt.Errorf("server_pin %q: want sha256/BASE64", pin)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("server_pin %q: want sha256/ and the base64 of 32 bytes", pin)
	}
	return b, nil
}

// ParsePin checks a pin's form (config validation).
func ParsePin(pin string) error {
	_, err := parsePin(pin)
	return err
}
