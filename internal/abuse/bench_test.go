//go:build unix

package abuse_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/store"
)

// BenchmarkTake measures one identify Take (check and count, in a
// transaction of its own) for an address that already has 0 or 300,000
// events in its window: everyone behind one proxy. With counters per time
// bucket the cost must not grow with the events (docs/benchmarks.md).
func BenchmarkTake(b *testing.B) {
	for _, prior := range []int{0, 300_000} {
		ctx := context.Background()
		st, err := store.OpenSQLite(ctx, b.TempDir()+"/sspr.db")
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		c := testclock.New(aligned)
		p := abuse.Policy{IPIdentifies: abuse.Rule{Limit: 1 << 30, Window: 10 * time.Minute}}
		l, err := abuse.NewLimiter(p, testKey, c.Now)
		if err != nil {
			b.Fatal(err)
		}
		proxy := abuse.Subject{IP: "192.0.2.80"}
		// The prior events are spread over the whole window, as steady
		// traffic would leave them.
		err = st.InTx(ctx, func(tx *store.Tx) error {
			for range prior {
				c.Advance(10 * time.Minute / time.Duration(prior))
				if d, _, err := l.Take(tx, abuse.Identify, proxy); err != nil || !d.Allowed {
					return fmt.Errorf("seeding: %+v, %v", d, err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		bound := l.In(st)
		b.Run(fmt.Sprintf("prior=%d", prior), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if d, _, err := bound.Take(ctx, abuse.Identify, proxy); err != nil || !d.Allowed {
					b.Fatalf("Take: %+v, %v", d, err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time the process used so far. On a machine shared
// with other work, wall time per operation mostly measures the neighbours;
// CPU time per operation is what the operation costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
