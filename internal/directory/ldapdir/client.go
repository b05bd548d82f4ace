package ldapdir

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// Client holds a validated Config, the TLS settings derived from it, a
// bounded pool of service-account connections, the servers' recent failures
// (for failover order) and the discovered RootDSE. It is safe for concurrent
// use. Close it to close the pooled connections.
type Client struct {
	cfg      Config
	rootCAs  *x509.CertPool
	now      func() time.Time
	pool     *pool
	policies policyCache
	sources  policySources
	// writes holds a token per account write under way
	// (Config.WriteConcurrency); nil: no limit but the pool.
	writes chan struct{}

	mu       sync.Mutex
	failedAt map[string]time.Time // URL → when it last failed to answer
	dse      *RootDSE             // cached after the first successful read
	observe  func(server string, err error, failover bool)
	// observeOp hears of every operation (ObserveOperations).
	observeOp func(server, op string, took time.Duration, err error)
}

// ObserveOperations sets fn to hear of every directory operation sspr makes
// through this client — the lookup ("find"), a user's bind ("bind") and each
// operation on a service connection (its op: "reset", "unlock", ...) — with
// the server that answered, how long it took and its error. For the metrics;
// set it before use.
func (c *Client) ObserveOperations(fn func(server, op string, took time.Duration, err error)) {
	c.mu.Lock()
	c.observeOp = fn
	c.mu.Unlock()
}

// timed runs fn, an operation on conn, and tells the operation observer.
func (c *Client) timed(conn *Conn, op string, fn func() error) error {
	c.mu.Lock()
	observe := c.observeOp
	c.mu.Unlock()
	if observe == nil {
		return fn()
	}
	start := time.Now()
	err := fn()
	observe(conn.URL, op, time.Since(start), err)
	return err
}

// ObserveServers sets fn to hear of every connection attempt to a server:
// its error (nil when it answered), and whether it answered after another
// server had failed (a fail-over). For the metrics; set it before use.
func (c *Client) ObserveServers(fn func(server string, err error, failover bool)) {
	c.mu.Lock()
	c.observe = fn
	c.mu.Unlock()
}

// New validates cfg (apply a preset with WithDefaults first) and loads the CA
// file. Problems come back as a KindMisconfigured *directory.Error.
func New(cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults(Config{})
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, now: time.Now, failedAt: map[string]time.Time{}}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, &directory.Error{Kind: directory.KindMisconfigured, Op: "config",
				Diagnostic: fmt.Sprintf("CAFile: %v", err), Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &directory.Error{Kind: directory.KindMisconfigured, Op: "config",
				Diagnostic: fmt.Sprintf("CAFile: no PEM certificate in %s", cfg.CAFile)}
		}
		c.rootCAs = pool
	}
	c.pool = newPool(c, cfg.PoolSize, cfg.PoolIdleTimeout)
	if cfg.WriteConcurrency > 0 {
		c.writes = make(chan struct{}, cfg.WriteConcurrency)
	}
	return c, nil
}

// Config returns the effective configuration.
func (c *Client) Config() Config { return c.cfg }

// Name returns the configured directory name.
func (c *Client) Name() string { return c.cfg.Name }

// Close closes the pooled connections. Connections checked out keep working
// and are closed when their holders close them.
func (c *Client) Close() error {
	c.pool.close()
	return nil
}

// Conn is one LDAP connection. Close it when done: a pooled service
// connection goes back to the pool, any other is closed. Never Bind a
// pooled connection as anyone else.
type Conn struct {
	*ldap.Conn
	// URL is the server this connection reached.
	URL string
	// confidential is true for ldaps:// and after a successful StartTLS.
	confidential bool
	stop         func() bool // unregisters the context watch
	pool         *pool       // non-nil for a handle on a pooled service connection
	base         *Conn       // the pool's own *Conn behind a handle
	released     atomic.Bool
	idleSince    time.Time // on the pool's own *Conn: when it went idle
}

// Confidential reports whether traffic on the connection is encrypted
// (ldaps:// or StartTLS).
func (c *Conn) Confidential() bool { return c.confidential }

// Pooled reports whether the connection is a pooled service connection.
func (c *Conn) Pooled() bool { return c.pool != nil }

// Close returns a pooled connection to its pool, or closes the connection.
// Calling it more than once is harmless: each checkout from the pool is its
// own handle, so a second Close of an old handle never touches the
// connection after it was handed to somebody else.
func (c *Conn) Close() error {
	if c.released.Swap(true) {
		return nil
	}
	if c.pool != nil {
		c.pool.put(c)
		return nil
	}
	if c.stop != nil {
		c.stop()
	}
	return c.Conn.Close()
}

func (c *Client) tlsConfig(host string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            c.rootCAs,
		ServerName:         host,
		InsecureSkipVerify: c.cfg.InsecureSkipVerify, //nolint:gosec // tests only, documented on Config
	}
}

// ServerOrder returns Config.URLs in the order they are tried: servers that
// have not failed lately in configured order, then those that failed within
// FailedServerHoldDown, longest ago first.
func (c *Client) ServerOrder() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	var fresh, held []string
	for _, u := range c.cfg.URLs {
		if t, ok := c.failedAt[u]; ok && now.Sub(t) < c.cfg.FailedServerHoldDown {
			held = append(held, u)
		} else {
			fresh = append(fresh, u)
		}
	}
	sort.SliceStable(held, func(i, j int) bool { return c.failedAt[held[i]].Before(c.failedAt[held[j]]) })
	return append(fresh, held...)
}

func (c *Client) noteServer(raw string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		delete(c.failedAt, raw)
	} else {
		c.failedAt[raw] = c.now()
	}
}

// Dial connects to the first server that answers, in ServerOrder (and
// completes StartTLS when configured). The connection is not bound, not
// pooled, and closed when ctx ends. When no server can be reached the error
// is KindUnavailable and names every failure; a server whose certificate
// cannot be trusted makes it KindMisconfigured when no server answered.
func (c *Client) Dial(ctx context.Context) (*Conn, error) {
	return c.dial(ctx, true)
}

func (c *Client) dial(ctx context.Context, bindToCtx bool) (*Conn, error) {
	var failures []string
	var last error
	for _, raw := range c.ServerOrder() {
		if err := ctx.Err(); err != nil {
			return nil, &directory.Error{Kind: directory.KindUnavailable, Op: "dial", Err: err,
				Diagnostic: "cancelled before a server answered: " + err.Error()}
		}
		conn, err := c.dialOne(ctx, raw, bindToCtx)
		c.noteServer(raw, err)
		c.mu.Lock()
		observe := c.observe
		c.mu.Unlock()
		if observe != nil {
			observe(raw, err, err == nil && len(failures) > 0)
		}
		if err == nil {
			return conn, nil
		}
		last = err
		failures = append(failures, fmt.Sprintf("%s: %s", raw, DescribeDialError(err)))
	}
	kind := directory.KindUnavailable
	if last != nil && transportKind(last) == directory.KindMisconfigured {
		kind = directory.KindMisconfigured
	}
	return nil, &directory.Error{
		Kind:       kind,
		Op:         "dial",
		Diagnostic: strings.Join(failures, "; "),
		Err:        last,
	}
}

// DialURL connects to one server (for health checks), not bound, not
// pooled, closed when ctx ends.
func (c *Client) DialURL(ctx context.Context, raw string) (*Conn, error) {
	return c.dialOne(ctx, raw, true)
}

func (c *Client) dialOne(ctx context.Context, raw string, bindToCtx bool) (*Conn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	if port == "" {
		port = ldap.DefaultLdapPort
		if u.Scheme == "ldaps" {
			port = ldap.DefaultLdapsPort
		}
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	d := net.Dialer{Timeout: c.cfg.Timeout}
	nc, err := d.DialContext(dctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, err
	}
	confidential := false
	if u.Scheme == "ldaps" {
		tc := tls.Client(nc, c.tlsConfig(host))
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = nc.Close()
			return nil, err
		}
		nc = tc
		confidential = true
	}
	lc := ldap.NewConn(nc, confidential)
	lc.Start()
	lc.SetTimeout(c.cfg.Timeout)
	conn := &Conn{Conn: lc, URL: raw, confidential: confidential}
	// go-ldap knows no contexts: closing the connection when ctx ends makes
	// any operation in flight fail promptly. A pooled connection is watched
	// per checkout instead (see pool.get); while dialing, dctx bounds it.
	if bindToCtx {
		conn.stop = context.AfterFunc(ctx, func() { _ = lc.Close() })
	} else {
		stop := context.AfterFunc(dctx, func() { _ = lc.Close() })
		defer stop()
	}
	if u.Scheme == "ldap" && c.cfg.StartTLS {
		if err := lc.StartTLS(c.tlsConfig(host)); err != nil {
			if conn.stop != nil {
				conn.stop()
			}
			_ = lc.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
		conn.confidential = true
	}
	return conn, nil
}

// ServiceConn returns a connection bound as the service account (anonymous
// when no BindDN is configured) from the directory's bounded pool, waiting
// for one while PoolSize are in use (until ctx ends). Close returns it. A
// wrong service password is KindMisconfigured: it is sspr's configuration
// that is wrong, not the user's input.
func (c *Client) ServiceConn(ctx context.Context) (*Conn, error) {
	return c.pool.get(ctx)
}

// bindService dials a new connection, not tied to any context once
// established, and binds it as the service account.
func (c *Client) bindService(ctx context.Context) (*Conn, error) {
	conn, err := c.dial(ctx, false)
	if err != nil {
		return nil, err
	}
	if c.cfg.BindDN == "" {
		return conn, nil
	}
	done := context.AfterFunc(ctx, func() { _ = conn.Conn.Close() })
	_, err = c.bindAs(conn, directory.OpServiceBind, c.cfg.BindDN, c.cfg.BindPassword, nil)
	done()
	if err != nil {
		_ = conn.Conn.Close()
		return nil, c.serviceBindError(ctx, err)
	}
	return conn, nil
}

func (c *Client) serviceBindError(ctx context.Context, err error) *directory.Error {
	e := MapError(ctx, directory.OpServiceBind, err)
	switch e.Kind {
	case directory.KindInvalidCredentials, directory.KindPasswordExpired, directory.KindMustChange,
		directory.KindLocked, directory.KindDisabled, directory.KindAccountExpired, directory.KindLogonRestricted:
		// The service account's own trouble is a configuration problem
		// for admins; the finer cause is the error wrapped.
		return &directory.Error{Kind: directory.KindMisconfigured, Op: directory.OpServiceBind,
			Diagnostic: fmt.Sprintf("service account %s: %s: %s", c.cfg.BindDN, e.Kind, e.Diagnostic), Err: e}
	}
	return e
}

// RequireConfidential refuses to send a password (in a bind or a password
// write) over conn when conn is not encrypted (ldaps:// or StartTLS), with
// KindConfidentialityRequired, unless Config.AllowInsecureBinds. Callers
// ask before the password is written to the connection.
func (c *Client) RequireConfidential(conn *Conn, op string) error {
	if conn.Confidential() || c.cfg.InsecureBindsAllowed() {
		return nil
	}
	return &directory.Error{
		Kind: directory.KindConfidentialityRequired,
		Op:   op,
		Diagnostic: fmt.Sprintf("refusing to send a password over unencrypted %s: use ldaps:// or StartTLS",
			conn.URL),
	}
}

// bindAs binds conn as dn with password, after RequireConfidential: no
// password goes out over a plain connection unless allowed. It returns the
// server's response controls, also on failure. On a refusal nothing was
// sent and the error is a *directory.Error.
func (c *Client) bindAs(conn *Conn, op, dn, password string, controls []ldap.Control) ([]ldap.Control, error) {
	if err := c.RequireConfidential(conn, op); err != nil {
		return nil, err
	}
	res, err := conn.SimpleBind(ldap.NewSimpleBindRequest(dn, password, controls))
	if res != nil {
		return res.Controls, err
	}
	return nil, err
}

// LoginFilter returns the search filter for a typed login: every login
// attribute compared with the escaped value, ANDed with UserFilter.
func (c *Client) LoginFilter(login string) string {
	return BuildLoginFilter(c.cfg.UserFilter, c.cfg.LoginAttributes, login)
}

// BuildLoginFilter builds (&USERFILTER(|(a1=LOGIN)(a2=LOGIN)...)) with the
// login escaped by ldap.EscapeFilter, so no typed value can change the
// filter's structure.
func BuildLoginFilter(userFilter string, attrs []string, login string) string {
	v := ldap.EscapeFilter(login)
	var b strings.Builder
	if len(attrs) > 1 {
		b.WriteString("(|")
	}
	for _, a := range attrs {
		b.WriteString("(" + a + "=" + v + ")")
	}
	if len(attrs) > 1 {
		b.WriteString(")")
	}
	if userFilter == "" {
		return b.String()
	}
	if !strings.HasPrefix(userFilter, "(") {
		userFilter = "(" + userFilter + ")"
	}
	return "(&" + userFilter + b.String() + ")"
}

// FindUser looks a login up with the service account. Exactly one entry must
// match: none is KindNotFound, several KindAmbiguous. extraAttrs are read into
// User.Attributes besides the configured ones.
func (c *Client) FindUser(ctx context.Context, login string, extraAttrs ...string) (*directory.User, error) {
	return c.FindUserWithStatus(ctx, login, nil, extraAttrs...)
}

// FindUserWithStatus is FindUser that also reads statusAttrs, the product's
// account-state attributes, in the same search, into User.StatusAttributes
// (see StatusEntry). A connector asks for them so that the status and the
// policy of the account it just found cost no further request.
func (c *Client) FindUserWithStatus(ctx context.Context, login string, statusAttrs []string, extraAttrs ...string) (*directory.User, error) {
	if strings.TrimSpace(login) == "" {
		return nil, &directory.Error{Kind: directory.KindNotFound, Op: "search", Diagnostic: "empty login"}
	}
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var u *directory.User
	err = c.timed(conn, "find", func() (err error) {
		u, err = c.findUserOn(ctx, conn, login, statusAttrs, extraAttrs)
		return err
	})
	return u, err
}

// FindUserOn is FindUser on a connection the caller already holds.
func (c *Client) FindUserOn(ctx context.Context, conn *Conn, login string, extraAttrs ...string) (*directory.User, error) {
	return c.findUserOn(ctx, conn, login, nil, extraAttrs)
}

func (c *Client) findUserOn(ctx context.Context, conn *Conn, login string, statusAttrs, extraAttrs []string) (*directory.User, error) {
	attrs := c.lookupAttrs(extraAttrs)
	asked := len(attrs)
	attrs = append(attrs, statusAttrs...)
	req := ldap.NewSearchRequest(c.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.DerefInSearching,
		2, int(c.cfg.Timeout/time.Second), false, c.LoginFilter(login), attrs, nil)
	res, err := conn.Search(req)
	var entries []*ldap.Entry
	if res != nil {
		entries = res.Entries
	}
	if err != nil {
		// With a size limit of 2 the server stops after the second match.
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && len(entries) > 1 {
			return nil, ambiguous(len(entries))
		}
		return nil, MapError(ctx, "search", err)
	}
	switch len(entries) {
	case 0:
		return nil, &directory.Error{Kind: directory.KindNotFound, Op: "search",
			Diagnostic: "no entry under " + c.cfg.BaseDN + " matches the login"}
	case 1:
	default:
		return nil, ambiguous(len(entries))
	}
	return c.userFrom(entries[0], attrs[:asked], statusAttrs), nil
}

// userFrom makes the User of entry e, read with asked (the configured and
// extra attributes) and statusAttrs (the connector's, kept apart in
// User.StatusAttributes).
func (c *Client) userFrom(e *ldap.Entry, asked, statusAttrs []string) *directory.User {
	u := &directory.User{
		Directory:   c.cfg.Name,
		DN:          e.DN,
		Login:       e.GetEqualFoldAttributeValue(c.cfg.LoginNameAttribute),
		DisplayName: e.GetEqualFoldAttributeValue(c.cfg.DisplayNameAttribute),
		Email:       e.GetEqualFoldAttributeValue(c.cfg.MailAttribute),
		Mobile:      e.GetEqualFoldAttributeValue(c.cfg.MobileAttribute),
		Manager:     e.GetEqualFoldAttributeValue(c.cfg.ManagerAttribute),
		OU:          ParentDN(e.DN),
		Attributes:  make(map[string][]string, len(e.Attributes)),
	}
	for _, a := range e.Attributes {
		// The account-state attributes are the connector's, not part
		// of what callers asked to read.
		if containsFold(statusAttrs, a.Name) && !containsFold(asked, a.Name) {
			continue
		}
		u.Attributes[a.Name] = a.Values
	}
	if len(statusAttrs) > 0 {
		u.StatusAttributes = make(map[string][]string, len(statusAttrs))
		for _, a := range statusAttrs {
			u.StatusAttributes[a] = e.GetEqualFoldAttributeValues(a)
		}
		u.ReadAt = c.now()
	}
	return u
}

// ReadUser reads the account at dn again, with what FindUserWithStatus
// reads, by DN instead of by login: a base search, with the configured
// user filter, of an entry under the base DN. A step that already knows
// whom it acts for (the password step of a verified flow) spares the
// directory the login filter's subtree search (issue 10). An entry that is
// gone, moved out of the base DN or no longer matches the user filter is
// KindNotFound, as FindUser would say.
func (c *Client) ReadUser(ctx context.Context, dn string, statusAttrs []string, extraAttrs ...string) (*directory.User, error) {
	notFound := &directory.Error{Kind: directory.KindNotFound, Op: "search", Diagnostic: "no entry " + dn + " under " + c.cfg.BaseDN + " matches the user filter"}
	base, err := ldap.ParseDN(c.cfg.BaseDN)
	if err != nil {
		return nil, &directory.Error{Kind: directory.KindMisconfigured, Op: "search", Diagnostic: "base DN: " + err.Error()}
	}
	entryDN, err := ldap.ParseDN(dn)
	if err != nil || !(base.AncestorOfFold(entryDN) || base.EqualFold(entryDN)) {
		return nil, notFound
	}
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	attrs := c.lookupAttrs(extraAttrs)
	asked := len(attrs)
	attrs = append(attrs, statusAttrs...)
	filter := c.cfg.UserFilter
	if filter == "" {
		filter = "(objectClass=*)"
	}
	var u *directory.User
	err = c.timed(conn, "find", func() error {
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, int(c.cfg.Timeout/time.Second), false, filter, attrs, nil))
		switch {
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			return notFound
		case err != nil:
			return MapError(ctx, "search", err)
		case len(res.Entries) != 1:
			return notFound
		}
		u = c.userFrom(res.Entries[0], attrs[:asked], statusAttrs)
		return nil
	})
	return u, err
}

// lookupAttrs are the attributes a lookup reads into User: the configured
// ones, then extraAttrs.
func (c *Client) lookupAttrs(extraAttrs []string) []string {
	attrs := []string{c.cfg.LoginNameAttribute, c.cfg.MailAttribute, c.cfg.DisplayNameAttribute,
		c.cfg.MobileAttribute, c.cfg.ManagerAttribute}
	attrs = append(attrs, extraAttrs...)
	return append(attrs, c.cfg.ExtraAttributes...)
}

func ambiguous(n int) error {
	return &directory.Error{Kind: directory.KindAmbiguous, Op: "search",
		Diagnostic: fmt.Sprintf("at least %d entries match the login", n)}
}

// VerifyPassword binds as dn with password on a fresh connection that is
// closed afterwards, never reused. It returns the bind's response controls
// (also on failure) so a connector can read, say, ppolicy details, and the
// failure mapped by MapError. An empty password is refused without asking
// the server: an empty simple bind is an anonymous bind that "succeeds".
func (c *Client) VerifyPassword(ctx context.Context, dn, password string, controls ...ldap.Control) ([]ldap.Control, error) {
	if password == "" {
		return nil, &directory.Error{Kind: directory.KindInvalidCredentials, Op: "bind", Diagnostic: "empty password"}
	}
	if dn == "" {
		return nil, &directory.Error{Kind: directory.KindNotFound, Op: "bind", Diagnostic: "no DN to bind as"}
	}
	conn, err := c.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var got []ldap.Control
	err = c.timed(conn, "bind", func() (err error) {
		if got, err = c.bindAs(conn, "bind", dn, password, controls); err != nil {
			return MapError(ctx, "bind", err)
		}
		return nil
	})
	if err != nil {
		return got, err
	}
	return got, nil
}

// IsNetworkError reports whether err is a transport failure rather than an
// answer from the server.
func IsNetworkError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == ldap.ErrorNetwork
	}
	return false
}

// FreshServiceConn dials a new connection bound as the service account that
// is NOT pooled and is closed when ctx ends, for operations that must not
// share a connection (a user's password change on AD when the user cannot
// bind, checks).
func (c *Client) FreshServiceConn(ctx context.Context) (*Conn, error) {
	conn, err := c.Dial(ctx)
	if err != nil {
		return nil, err
	}
	if c.cfg.BindDN == "" {
		return conn, nil
	}
	if _, err := c.bindAs(conn, directory.OpServiceBind, c.cfg.BindDN, c.cfg.BindPassword, nil); err != nil {
		_ = conn.Close()
		return nil, c.serviceBindError(ctx, err)
	}
	return conn, nil
}

// AcquireWrite waits for a turn to write to an account (Config.
// WriteConcurrency), taken before a connection so that waiting writes hold
// none: lookups keep the pool and reach the directory before the writes
// queued in sspr, not behind them at the DC. It returns the turn's
// release. Waiting ends with ctx or after Config.Timeout as KindUnavailable,
// which leaves the flow as it was (try again). Without a limit it returns
// at once.
func (c *Client) AcquireWrite(ctx context.Context, op string) (release func(), err error) {
	if c.writes == nil {
		return func() {}, nil
	}
	release = func() { <-c.writes }
	select {
	case c.writes <- struct{}{}:
		return release, nil
	default:
	}
	timeout := c.cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	wait := time.NewTimer(timeout)
	defer wait.Stop()
	select {
	case c.writes <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, &directory.Error{Kind: directory.KindUnavailable, Op: op, Err: ctx.Err(),
			Diagnostic: "waited for a turn to write (write_concurrency) until: " + ctx.Err().Error()}
	case <-wait.C:
		return nil, &directory.Error{Kind: directory.KindUnavailable, Op: op,
			Diagnostic: fmt.Sprintf("%d writes to the directory were under way for %s (write_concurrency): it is slower than the writes arrive", cap(c.writes), timeout)}
	}
}

// WithWriteConn is WithServiceConn for an account write: a turn to write
// first (AcquireWrite), then a pooled service connection.
func (c *Client) WithWriteConn(ctx context.Context, op string, fn func(conn *Conn) error) error {
	release, err := c.AcquireWrite(ctx, op)
	if err != nil {
		return err
	}
	defer release()
	return c.WithServiceConn(ctx, op, fn)
}
