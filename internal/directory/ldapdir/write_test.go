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
// one), give up after Config.Timeout or with their context as "unavailable,
// try again", and go on as soon as a turn is free.
func TestWriteConcurrencyBoundsWrites(t *testing.T) {
	c, _ := demoClient(t, func(cfg *Config) {
		cfg.PoolSize, cfg.WriteConcurrency, cfg.Timeout = 4, 2, 300*time.Millisecond
	})
	ctx := context.Background()
	r1, err := c.AcquireWrite(ctx, "reset")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.AcquireWrite(ctx, "reset")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindUser(ctx, "alice"); err != nil {
		t.Fatalf("a lookup while two writes hold their turns: %v", err)
	}
	if _, err := c.AcquireWrite(ctx, "reset"); directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("a third write past the timeout: %v, want unavailable", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.AcquireWrite(cancelled, "unlock"); directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("a third write with its context ended: %v, want unavailable", err)
	}
	r1()
	r3, err := c.AcquireWrite(ctx, "reset")
	if err != nil {
		t.Fatalf("a write after a turn was released: %v", err)
	}
	r2()
	r3()

	// Many at once: never more than two under way, every one done.
	c.cfg.Timeout = 30 * time.Second // only a deadlock breaker
	var now, most atomic.Int32
	var wg sync.WaitGroup
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
