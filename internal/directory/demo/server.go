package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"
)

// Options configures Start. The zero value is a working demo directory.
type Options struct {
	// Addr is the TCP address to listen on; default "127.0.0.1:0", a random
	// free loopback port. Use URL to learn the port.
	Addr string
	// Users are the people in ou=people. Nil means DefaultUsers(); an empty,
	// non-nil slice means nobody.
	Users []User
	// Rules is the password rule for modifies. Nil means DefaultRules();
	// &Rules{} accepts any non-empty password.
	Rules *Rules
	// ServicePassword is the service account's password. Empty means a
	// random one, readable through Server.ServicePassword.
	ServicePassword string
	// Logger receives one line per refused or failed operation (never a
	// password). Nil discards.
	Logger *slog.Logger
	// Now is the clock for timestamps (pwdChangedTime, ...); nil is time.Now.
	Now func() time.Time
}

// Server is a running demo directory. Its methods are safe for concurrent use.
type Server struct {
	ldap            *gldap.Server
	front           net.Listener
	store           *store
	rules           Rules
	servicePassword string
	serviceKey      string
	peopleKey       string
	baseKey         string
	log             *slog.Logger
	rawWrites       bool

	mu       sync.Mutex
	bound    map[int]string // gldap connection ID → normalised bound DN ("" = anonymous)
	conns    map[net.Conn]struct{}
	closed   bool
	done     chan struct{}
	runErr   chan error
	closeErr error
	wg       sync.WaitGroup
}

// Start builds the demo directory and serves it until Close is called or ctx
// is done. It returns once the server accepts connections.
//
// The LDAP protocol is handled by gldap on a private loopback port; the
// address in Options.Addr is a listener this package owns and forwards from.
// Owning the public listener is what lets Start report the real port of a
// ":0" address, and lets Close cut every client connection (gldap itself
// waits for idle clients to hang up).
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Users == nil {
		opts.Users = DefaultUsers()
	}
	rules := DefaultRules()
	if opts.Rules != nil {
		rules = *opts.Rules
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ServicePassword == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("demo directory: service password: %w", err)
		}
		opts.ServicePassword = base64.RawURLEncoding.EncodeToString(b)
	}

	s := &Server{
		store:           newStore(opts.Now),
		rules:           rules,
		servicePassword: opts.ServicePassword,
		serviceKey:      mustNorm(ServiceDN),
		peopleKey:       mustNorm(PeopleDN),
		baseKey:         mustNorm(BaseDN),
		log:             opts.Logger,
		rawWrites:       rawWriteAvailable(),
		bound:           make(map[int]string),
		conns:           make(map[net.Conn]struct{}),
		done:            make(chan struct{}),
		runErr:          make(chan error, 1),
	}
	if err := s.populate(opts.Users); err != nil {
		return nil, err
	}

	front, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("demo directory: listen on %s: %w", opts.Addr, err)
	}
	s.front = front
	backAddr, err := s.startLDAP(ctx)
	if err != nil {
		_ = front.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.acceptLoop(backAddr)
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// populate creates the tree: base, the two containers, the service account
// and the users.
func (s *Server) populate(users []User) error {
	type node struct {
		dn       string
		attrs    map[string][]string
		password string
		locked   bool
	}
	nodes := []node{
		{BaseDN, map[string][]string{"objectClass": {"top", "dcObject", "organization"}, "dc": {"demo"}, "o": {"sspr demo"}}, "", false},
		{PeopleDN, map[string][]string{"objectClass": {"top", "organizationalUnit"}, "ou": {"people"}}, "", false},
		{ServicesDN, map[string][]string{"objectClass": {"top", "organizationalUnit"}, "ou": {"services"}}, "", false},
		{ServiceDN, map[string][]string{"objectClass": {"top", "applicationProcess", "simpleSecurityObject"}, "cn": {"sspr"},
			"description": {"sspr service account"}}, s.servicePassword, false},
		// The password policy the demo enforces, published as an OpenLDAP
		// ppolicy entry so sspr can show its rules before people type.
		{PolicyDN, map[string][]string{"objectClass": {"top", "device", "pwdPolicy"}, "cn": {"default"},
			"pwdAttribute": {"userPassword"}, "pwdMinLength": {strconv.Itoa(s.rules.MinLength)}, "pwdCheckQuality": {"2"},
			// Locked accounts stay locked until unlocked (no pwdLockoutDuration).
			"pwdLockout": {"TRUE"}}, "", false},
	}
	for _, u := range users {
		if u.UID == "" {
			return errors.New("demo directory: a user has no UID")
		}
		display := u.DisplayName
		if display == "" {
			display = u.GivenName + " " + u.Surname
		}
		mail := u.Mail
		if mail == "" {
			mail = u.UID + "@" + MailDomain
		}
		cn := u.GivenName + " " + u.Surname
		if u.GivenName == "" && u.Surname == "" {
			cn = u.UID
		}
		sn := u.Surname
		if sn == "" {
			sn = u.UID // sn is mandatory for person
		}
		attrs := map[string][]string{
			"objectClass": {"top", "person", "organizationalPerson", "inetOrgPerson"},
			"uid":         {u.UID},
			"cn":          {cn},
			"sn":          {sn},
			"displayName": {display},
			"mail":        {mail},
		}
		if u.GivenName != "" {
			attrs["givenName"] = []string{u.GivenName}
		}
		for k, v := range u.Extra {
			attrs[k] = v
		}
		nodes = append(nodes, node{u.DN(), attrs, u.Password, u.Locked})
	}
	for _, n := range nodes {
		e, err := s.store.add(n.dn, n.attrs, n.password)
		if err != nil {
			return err
		}
		if n.locked {
			s.store.lock(e.key)
		}
	}
	return nil
}

// startLDAP runs gldap on a free loopback port. gldap cannot report the port
// it bound, so a free one is picked first and the pick retried should another
// process take it in between.
func (s *Server) startLDAP(ctx context.Context) (string, error) {
	mux, err := gldap.NewMux()
	if err != nil {
		return "", fmt.Errorf("demo directory: %w", err)
	}
	for _, route := range []error{
		mux.Bind(s.handleBind),
		mux.Search(s.handleSearch),
		mux.Modify(s.handleModify),
		mux.ExtendedOperation(s.handleWhoAmI, gldap.ExtendedOperationWhoAmI),
		mux.Add(s.refuse("add")),
		mux.Delete(s.refuse("delete")),
		mux.DefaultRoute(s.refuse("operation")),
	} {
		if route != nil {
			return "", fmt.Errorf("demo directory: routes: %w", route)
		}
	}

	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("demo directory: pick a port: %w", err)
		}
		addr := l.Addr().String()
		_ = l.Close()

		srv, err := gldap.NewServer(
			gldap.WithLogger(hclog.NewNullLogger()),
			gldap.WithOnClose(s.forget),
		)
		if err != nil {
			return "", fmt.Errorf("demo directory: %w", err)
		}
		if err := srv.Router(mux); err != nil {
			return "", fmt.Errorf("demo directory: %w", err)
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.Run(addr) }()
		if lastErr = waitListening(ctx, addr, errc); lastErr == nil {
			s.ldap = srv
			go func() { s.runErr <- <-errc }()
			return addr, nil
		}
		_ = srv.Stop()
	}
	return "", fmt.Errorf("demo directory: start LDAP server: %w", lastErr)
}

// waitListening waits until addr accepts connections or Run failed.
func waitListening(ctx context.Context, addr string, errc <-chan error) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("server stopped")
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			// Run returns at once when its listen fails; give a failure a
			// moment to show before trusting that the listener is ours.
			select {
			case err := <-errc:
				if err == nil {
					err = errors.New("server stopped")
				}
				return err
			case <-time.After(10 * time.Millisecond):
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s did not start listening", addr)
}

// acceptLoop forwards every client connection to gldap, byte for byte.
func (s *Server) acceptLoop(backAddr string) {
	defer s.wg.Done()
	for {
		c, err := s.front.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		if !s.track(c) {
			_ = c.Close()
			return
		}
		s.wg.Add(1)
		go s.forward(c, backAddr)
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) forward(front net.Conn, backAddr string) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, front)
		s.mu.Unlock()
		_ = front.Close()
	}()
	back, err := net.DialTimeout("tcp", backAddr, 5*time.Second)
	if err != nil {
		s.log.Warn("demo directory: cannot reach LDAP backend", "err", err)
		return
	}
	defer back.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(back, front)
		// The client is gone (or Close cut it): tell gldap, which then ends
		// the connection and lets the copy below finish.
		if tc, ok := back.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		close(done)
	}()
	_, _ = io.Copy(front, back)
	_ = front.Close()
	<-done
}

// forget drops the bind state of a closed gldap connection.
func (s *Server) forget(connID int) {
	s.mu.Lock()
	delete(s.bound, connID)
	s.mu.Unlock()
}

// URL returns the ldap:// URL clients connect to.
func (s *Server) URL() string { return "ldap://" + s.front.Addr().String() }

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.front.Addr().String() }

// BaseDN returns the naming context, dc=demo,dc=sspr.
func (s *Server) BaseDN() string { return BaseDN }

// PeopleDN returns the container of the demo users.
func (s *Server) PeopleDN() string { return PeopleDN }

// ServiceDN returns the service account's DN.
func (s *Server) ServiceDN() string { return ServiceDN }

// ServicePassword returns the service account's password.
func (s *Server) ServicePassword() string { return s.servicePassword }

// Rules returns the password rule the server enforces.
func (s *Server) Rules() Rules { return s.rules }

// Close stops the server and cuts all client connections. It is safe to call
// more than once; later calls return the first call's result.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return s.closeErr
	}
	s.closed = true
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	err := s.front.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	for _, c := range conns {
		_ = c.Close()
	}
	s.wg.Wait() // every forwarder has closed its backend connection
	if stopErr := s.ldap.Stop(); stopErr != nil && err == nil {
		err = stopErr
	}
	if runErr := <-s.runErr; runErr != nil && err == nil {
		err = runErr
	}
	if err != nil {
		err = fmt.Errorf("demo directory: close: %w", err)
	}
	s.closeErr = err
	close(s.done)
	return err
}
