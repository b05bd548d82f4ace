package ldapdir

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/demo"
)

func demoClient(t *testing.T, mutate func(*Config)) (*Client, *testclock.Clock) {
	t.Helper()
	srv, err := demo.Start(context.Background(), demo.Options{})
	if err != nil {
		t.Fatalf("demo.Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := Config{Name: "demo", URLs: []string{srv.URL()}, BaseDN: srv.BaseDN(), BindDN: srv.ServiceDN(),
		BindPassword: srv.ServicePassword(), LoginAttributes: []string{"uid"}, PoolSize: 2, Timeout: 5 * time.Second,
		// The demo directory speaks plain LDAP on loopback.
		AllowInsecureBinds: true}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(time.Now())
	c.now = clock.Now
	t.Cleanup(func() { _ = c.Close() })
	return c, clock
}

func TestPoolBoundedAndReused(t *testing.T) {
	c, _ := demoClient(t, nil)
	ctx := context.Background()
	a, err := c.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Pooled() || a.Conn == b.Conn {
		t.Fatal("two checkouts share a connection")
	}
	// The pool holds 2: a third caller waits until its context ends.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := c.ServiceConn(short); directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("third checkout from a full pool: %v, want unavailable", err)
	}
	// ... and gets a connection as soon as one comes back: the same one.
	got := make(chan *Conn)
	go func() {
		conn, err := c.ServiceConn(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- conn
	}()
	time.Sleep(50 * time.Millisecond)
	raw := a.Conn
	_ = a.Close()
	_ = a.Close() // a second Close must not free a second slot
	third := <-got
	if third.Conn != raw {
		t.Fatal("the returned connection was not reused")
	}
	if _, err := third.Search(rootDSERequest()); err != nil {
		t.Fatalf("reused connection: %v", err)
	}
	_ = third.Close()
	_ = b.Close()
	if n := c.pool.idleCount(); n != 2 {
		t.Fatalf("idle = %d, want 2", n)
	}
}

// TestPoolStaleHandleDoubleClose: a holder that closes its connection a
// second time after the pool handed the same connection to somebody else
// must neither put that connection back among the idle ones (where a third
// caller would get it while it is in use) nor free a second slot.
func TestPoolStaleHandleDoubleClose(t *testing.T) {
	c, _ := demoClient(t, func(cfg *Config) { cfg.PoolSize = 1 })
	ctx := context.Background()
	old, err := c.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := old.Conn
	_ = old.Close()
	cur, err := c.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Conn != raw {
		t.Fatal("the idle connection was not reused")
	}
	_ = old.Close() // stale: the connection is cur's now
	if n := c.pool.idleCount(); n != 0 {
		t.Fatalf("a stale Close put a connection in use back in the pool (%d idle)", n)
	}
	// The one slot is still cur's: another caller waits until its context ends.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if got, err := c.ServiceConn(short); directory.KindOf(err) != directory.KindUnavailable {
		if got != nil {
			_ = got.Close()
		}
		t.Fatalf("checkout while the only connection is in use: %v, want unavailable (a stale Close freed a slot)", err)
	}
	if _, err := cur.Search(rootDSERequest()); err != nil {
		t.Fatalf("current holder's connection: %v", err)
	}
	_ = cur.Close()
	_ = cur.Close()
	if n := c.pool.idleCount(); n != 1 {
		t.Fatalf("idle = %d, want 1", n)
	}
	next, err := c.ServiceConn(ctx)
	if err != nil || next.Conn != raw {
		t.Fatalf("checkout after the holder closed: %v", err)
	}
	_ = next.Close()
}

func TestPoolDropsConnectionsCutByTheirContext(t *testing.T) {
	c, _ := demoClient(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // closes the connection in use
	time.Sleep(50 * time.Millisecond)
	_ = conn.Close()
	if n := c.pool.idleCount(); n != 0 {
		t.Fatalf("a connection cut by its context went back to the pool (%d idle)", n)
	}
	again, err := c.ServiceConn(context.Background())
	if err != nil {
		t.Fatalf("checkout after a cut connection: %v", err)
	}
	if _, err := again.Search(rootDSERequest()); err != nil {
		t.Fatalf("new connection: %v", err)
	}
	_ = again.Close()
}

func TestPoolIdleTimeoutAndHealthCheck(t *testing.T) {
	c, clock := demoClient(t, func(cfg *Config) { cfg.PoolIdleTimeout = time.Minute })
	conn, err := c.ServiceConn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw := conn.Conn
	_ = conn.Close()
	// Idle past probeAfter: checked with a RootDSE read, still reused.
	clock.Advance(10 * time.Second)
	conn, err = c.ServiceConn(context.Background())
	if err != nil || conn.Conn != raw {
		t.Fatalf("healthy idle connection not reused: %v", err)
	}
	_ = conn.Close()
	// A connection the server closed is not handed out.
	_ = raw.Close()
	conn, err = c.ServiceConn(context.Background())
	if err != nil || conn.Conn == raw {
		t.Fatalf("closed connection handed out again: %v", err)
	}
	raw = conn.Conn
	_ = conn.Close()
	// Idle past the timeout: closed, a new one is dialled.
	clock.Advance(2 * time.Minute)
	conn, err = c.ServiceConn(context.Background())
	if err != nil || conn.Conn == raw {
		t.Fatalf("connection idle past the timeout reused: %v", err)
	}
	_ = conn.Close()
	c.pool.prune()
	if n := c.pool.idleCount(); n != 1 {
		t.Fatalf("idle = %d, want 1 (the fresh one)", n)
	}
	clock.Advance(2 * time.Minute)
	c.pool.prune()
	if n := c.pool.idleCount(); n != 0 {
		t.Fatalf("prune left %d idle connections past the timeout", n)
	}
}

func TestServerOrderHoldsFailedServersBack(t *testing.T) {
	c, clock := demoClient(t, func(cfg *Config) {
		cfg.URLs = append([]string{"ldap://127.0.0.1:1"}, cfg.URLs...)
		cfg.FailedServerHoldDown = 30 * time.Second
	})
	live := c.cfg.URLs[1]
	if got := c.ServerOrder(); got[0] != "ldap://127.0.0.1:1" {
		t.Fatalf("initial order %v", got)
	}
	conn, err := c.Dial(context.Background())
	if err != nil || conn.URL != live {
		t.Fatalf("Dial with a dead first server: %v", err)
	}
	_ = conn.Close()
	if got := c.ServerOrder(); got[0] != live {
		t.Fatalf("after a failure the dead server is not last: %v", got)
	}
	clock.Advance(31 * time.Second)
	if got := c.ServerOrder(); got[0] != "ldap://127.0.0.1:1" {
		t.Fatalf("after the hold-down the configured order is back: %v", got)
	}
}

func TestServiceConnWrongPassword(t *testing.T) {
	c, _ := demoClient(t, func(cfg *Config) { cfg.BindPassword = "wrong" })
	_, err := c.ServiceConn(context.Background())
	if directory.KindOf(err) != directory.KindMisconfigured {
		t.Fatalf("wrong service password: %v, want misconfigured", err)
	}
	if got := directory.Explain(err); !strings.Contains(got, "password in sspr's configuration is wrong") {
		t.Fatalf("Explain(wrong service password) = %q", got)
	}
	// The failed bind must not keep a slot.
	for i := 0; i < 3; i++ {
		short, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.ServiceConn(short)
		cancel()
		if directory.KindOf(err) != directory.KindMisconfigured {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
}

func rootDSERequest() *ldap.SearchRequest {
	return ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"namingContexts"}, nil)
}
