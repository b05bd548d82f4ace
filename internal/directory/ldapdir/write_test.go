package ldapdir

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
)

// Config.WriteConcurrency bounds the account writes under way: the ones
// beyond it wait in sspr without holding a connection (a lookup still gets
// one while the pool's others are taken), give up after Config.Timeout or
// with their context as "unavailable, try again", and go on as soon as a
// turn is free.
func TestWriteConcurrencyBoundsWrites(t *testing.T) {
	c, _ := demoClient(t, func(cfg *Config) {
		cfg.PoolSize, cfg.WriteConcurrency, cfg.Timeout = 2, 1, 30*time.Second
	})
	ctx := context.Background()

	// One write under way, holding its turn and one of two connections;
	// three more waiting for the turn.
	inside, finish := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = c.WithWriteConn(ctx, "reset", func(*Conn) error {
			close(inside)
			<-finish
			return nil
		})
	})
	<-inside
	for range 3 {
		wg.Go(func() { _ = c.WithWriteConn(ctx, "reset", func(*Conn) error { return nil }) })
	}
	time.Sleep(50 * time.Millisecond) // let them queue (were they to take connections, they would now)
	lookup, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.FindUser(lookup, "alice"); err != nil {
		t.Fatalf("a lookup while writes wait for their turn: %v (the waiting writes hold the pool)", err)
	}
	close(finish)
	wg.Wait()

	c.cfg.Timeout = 300 * time.Millisecond
	r1, err := c.AcquireWrite(ctx, "reset")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcquireWrite(ctx, "reset"); directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("a second write past the timeout: %v, want unavailable", err)
	}
	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if _, err := c.AcquireWrite(cancelled, "unlock"); directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("a second write with its context ended: %v, want unavailable", err)
	}
	r1()
	r2, err := c.AcquireWrite(ctx, "reset")
	if err != nil {
		t.Fatalf("a write after the turn was released: %v", err)
	}
	r2()

	// Many at once, with a bound of two: never more under way, every one
	// done.
	c.writes = make(chan struct{}, 2)
	c.cfg.Timeout = 30 * time.Second // only a deadlock breaker
	var now, most atomic.Int32
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			errs <- c.WithWriteConn(ctx, "reset", func(*Conn) error {
				n := now.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				now.Add(-1)
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if most.Load() > 2 {
		t.Fatalf("%d writes were under way at once, want at most 2", most.Load())
	}
}

// Without a limit (none in the preset, or a negative one) a write takes
// its turn at once however many are under way.
func TestWriteConcurrencyUnlimited(t *testing.T) {
	for _, n := range []int{0, -1} {
		c, _ := demoClient(t, func(cfg *Config) { cfg.WriteConcurrency, cfg.Timeout = n, 100*time.Millisecond })
		for range 20 {
			if _, err := c.AcquireWrite(context.Background(), "reset"); err != nil {
				t.Fatalf("WriteConcurrency %d: %v", n, err)
			}
		}
	}
	ad := Config{}.WithDefaults(PresetActiveDirectory())
	own := Config{WriteConcurrency: -1}.WithDefaults(PresetActiveDirectory())
	ol := Config{}.WithDefaults(PresetOpenLDAP())
	if ad.WriteConcurrency != DefaultADWriteConcurrency || own.WriteConcurrency != -1 || ol.WriteConcurrency != 0 {
		t.Fatalf("write concurrency: AD preset %d, AD with -1 %d, OpenLDAP %d", ad.WriteConcurrency, own.WriteConcurrency, ol.WriteConcurrency)
	}
}

// The policy source remembered for an account (AD's msDS-ResultantPSO)
// is found whatever the DN's case, for PolicyCacheTTL and no longer, and
// never with a negative TTL (read every time).
func TestPolicySourceRemembered(t *testing.T) {
	c, clock := demoClient(t, func(cfg *Config) { cfg.PolicyCacheTTL = time.Minute })
	c.RememberPolicySource("CN=Alice,OU=People,DC=example,DC=test", []string{"CN=pso"})
	c.RememberPolicySource("CN=Bob,OU=People,DC=example,DC=test", nil) // the domain's policy
	if got, ok := c.PolicySource("cn=alice,ou=people,dc=example,dc=test"); !ok || len(got) != 1 || got[0] != "CN=pso" {
		t.Fatalf("alice: %v %v", got, ok)
	}
	if got, ok := c.PolicySource("CN=Bob,OU=People,DC=example,DC=test"); !ok || len(got) != 0 {
		t.Fatalf("bob: %v %v, want known and empty", got, ok)
	}
	if _, ok := c.PolicySource("CN=Carol,OU=People,DC=example,DC=test"); ok {
		t.Fatal("carol was never looked up")
	}
	clock.Advance(time.Minute)
	if _, ok := c.PolicySource("CN=Alice,OU=People,DC=example,DC=test"); ok {
		t.Fatal("alice's policy source outlived PolicyCacheTTL")
	}

	never, _ := demoClient(t, func(cfg *Config) { cfg.PolicyCacheTTL = -1 })
	never.RememberPolicySource("CN=Alice,OU=People,DC=example,DC=test", []string{"CN=pso"})
	if _, ok := never.PolicySource("CN=Alice,OU=People,DC=example,DC=test"); ok {
		t.Fatal("remembered with a negative PolicyCacheTTL")
	}
}

// A lookup's policy source travels as a note (directory.User.Note, kept by
// the flow) to a node that did not do the lookup: read back by another
// client, for PolicyCacheTTL and no longer; the domain's policy (no
// source) is a source too; anything else is no note.
func TestPolicySourceNote(t *testing.T) {
	lookup, clock := demoClient(t, func(cfg *Config) { cfg.PolicyCacheTTL = time.Minute })
	other, otherClock := demoClient(t, func(cfg *Config) { cfg.PolicyCacheTTL = time.Minute })
	otherClock.Set(clock.Now())
	note := lookup.PolicySourceNote([]string{"CN=pso,CN=Password Settings Container,CN=System,DC=example,DC=test"})
	if got, ok := other.NotedPolicySource(note); !ok || len(got) != 1 || got[0] != "CN=pso,CN=Password Settings Container,CN=System,DC=example,DC=test" {
		t.Fatalf("noted source: %q %v", got, ok)
	}
	domain := lookup.PolicySourceNote(nil)
	if got, ok := other.NotedPolicySource(domain); !ok || len(got) != 0 {
		t.Fatalf("the domain's policy: %q %v, want known and empty", got, ok)
	}
	for _, bad := range []string{"", "policy-source", "policy-source x\nCN=pso", "something else"} {
		if got, ok := other.NotedPolicySource(bad); ok {
			t.Errorf("note %q read as %q", bad, got)
		}
	}
	otherClock.Advance(time.Minute)
	if _, ok := other.NotedPolicySource(note); ok {
		t.Error("a note outlived PolicyCacheTTL")
	}
	never, _ := demoClient(t, func(cfg *Config) { cfg.PolicyCacheTTL = -1 })
	if never.PolicySourceNote(nil) != "" {
		t.Error("a note written with a negative PolicyCacheTTL")
	}
}
