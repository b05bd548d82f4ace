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
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// Client holds a validated Config and the TLS settings derived from it. It is
// safe for concurrent use; every operation opens its own connection.
type Client struct {
	cfg     Config
	rootCAs *x509.CertPool
}

// New validates cfg (apply a preset with WithDefaults first) and loads the CA
// file. Problems come back as a KindMisconfigured *directory.Error.
func New(cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults(Config{})
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg}
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
	return c, nil
}

// Config returns the effective configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }

// Name returns the configured directory name.
func (c *Client) Name() string { return c.cfg.Name }

// Conn is one LDAP connection, closed when the context it was opened with
// ends. Close it when done.
type Conn struct {
	*ldap.Conn
	// URL is the server this connection reached.
	URL string
	// confidential is true for ldaps:// and after a successful StartTLS.
	confidential bool
	stop         func() bool
}

// Confidential reports whether traffic on the connection is encrypted
// (ldaps:// or StartTLS).
func (c *Conn) Confidential() bool { return c.confidential }

// Close closes the connection.
func (c *Conn) Close() error {
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

// Dial connects to the first server in Config.URLs that answers (and
// completes StartTLS when configured). The connection is not bound. When no
// server can be reached the error is KindUnavailable and names every failure.
func (c *Client) Dial(ctx context.Context) (*Conn, error) {
	var failures []string
	var last error
	for _, raw := range c.cfg.URLs {
		if err := ctx.Err(); err != nil {
			return nil, &directory.Error{Kind: directory.KindUnavailable, Op: "dial", Err: err,
				Diagnostic: "cancelled before a server answered: " + err.Error()}
		}
		conn, err := c.dialOne(ctx, raw)
		if err == nil {
			return conn, nil
		}
		last = err
		failures = append(failures, fmt.Sprintf("%s: %v", raw, err))
	}
	return nil, &directory.Error{
		Kind:       directory.KindUnavailable,
		Op:         "dial",
		Diagnostic: strings.Join(failures, "; "),
		Err:        last,
	}
}

func (c *Client) dialOne(ctx context.Context, raw string) (*Conn, error) {
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
	// any operation in flight fail promptly.
	conn.stop = context.AfterFunc(ctx, func() { _ = lc.Close() })
	if u.Scheme == "ldap" && c.cfg.StartTLS {
		if err := lc.StartTLS(c.tlsConfig(host)); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
		conn.confidential = true
	}
	return conn, nil
}

// ServiceConn dials and binds as the service account (anonymously when no
// BindDN is configured). A wrong service password is KindMisconfigured: it is
// sspr's configuration that is wrong, not the user's input.
func (c *Client) ServiceConn(ctx context.Context) (*Conn, error) {
	conn, err := c.Dial(ctx)
	if err != nil {
		return nil, err
	}
	if c.cfg.BindDN == "" {
		return conn, nil
	}
	if err := conn.Bind(c.cfg.BindDN, c.cfg.BindPassword); err != nil {
		_ = conn.Close()
		e := MapError(ctx, "service bind", err)
		switch e.Kind {
		case directory.KindInvalidCredentials, directory.KindPasswordExpired, directory.KindMustChange,
			directory.KindLocked, directory.KindDisabled, directory.KindAccountExpired:
			// The service account's own trouble is a configuration problem
			// for admins; keep the finer cause in the diagnostic.
			e.Diagnostic = fmt.Sprintf("service account %s: %s: %s", c.cfg.BindDN, e.Kind, e.Diagnostic)
			e.Kind = directory.KindMisconfigured
		}
		return nil, e
	}
	return conn, nil
}

// RequireConfidential refuses a password write on a plain connection with
// KindConfidentialityRequired, unless Config.AllowInsecurePasswordWrites.
func (c *Client) RequireConfidential(conn *Conn, op string) error {
	if conn.Confidential() || c.cfg.AllowInsecurePasswordWrites {
		return nil
	}
	return &directory.Error{
		Kind: directory.KindConfidentialityRequired,
		Op:   op,
		Diagnostic: fmt.Sprintf("refusing to send a password over unencrypted %s: use ldaps:// or StartTLS",
			conn.URL),
	}
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
	if strings.TrimSpace(login) == "" {
		return nil, &directory.Error{Kind: directory.KindNotFound, Op: "search", Diagnostic: "empty login"}
	}
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return c.FindUserOn(ctx, conn, login, extraAttrs...)
}

// FindUserOn is FindUser on a connection the caller already holds.
func (c *Client) FindUserOn(ctx context.Context, conn *Conn, login string, extraAttrs ...string) (*directory.User, error) {
	attrs := []string{c.cfg.LoginNameAttribute, c.cfg.MailAttribute, c.cfg.DisplayNameAttribute}
	attrs = append(attrs, extraAttrs...)
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
	e := entries[0]
	u := &directory.User{
		Directory:   c.cfg.Name,
		DN:          e.DN,
		Login:       e.GetEqualFoldAttributeValue(c.cfg.LoginNameAttribute),
		DisplayName: e.GetEqualFoldAttributeValue(c.cfg.DisplayNameAttribute),
		Email:       e.GetEqualFoldAttributeValue(c.cfg.MailAttribute),
		Attributes:  make(map[string][]string, len(e.Attributes)),
	}
	for _, a := range e.Attributes {
		u.Attributes[a.Name] = a.Values
	}
	return u, nil
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
	res, err := conn.SimpleBind(ldap.NewSimpleBindRequest(dn, password, controls))
	var got []ldap.Control
	if res != nil {
		got = res.Controls
	}
	if err != nil {
		return got, MapError(ctx, "bind", err)
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
