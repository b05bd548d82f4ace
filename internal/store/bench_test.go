//go:build unix

package store_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// BenchmarkFlowMix runs what a flow step does to the store, from parallel
// goroutines: a read of the flow (ReadTx, as a status page does), then a
// writing transaction that loads the flow, updates it, queues a mail and
// appends an audit row after reading the chain's head.
func BenchmarkFlowMix(b *testing.B) {
	s, err := store.OpenSQLite(context.Background(), b.TempDir()+"/sspr.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchFlowMix(b, s, false)
}

// BenchmarkFlowMixBatched is BenchmarkFlowMix with many more transactions
// in flight than cores, as under load, appending to the audit chain as
// audit.Chain does: what a group commit's batch shares shows.
func BenchmarkFlowMixBatched(b *testing.B) {
	s, err := store.OpenSQLite(context.Background(), b.TempDir()+"/sspr.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(32)
	benchFlowMix(b, s, true)
}

// BenchmarkFlowMixPostgres is BenchmarkFlowMix on PostgreSQL
// (SSPR_TEST_PG_DSN), appending to the audit chain as audit.Chain does
// (the newest row's hash, the row, the head). Its CPU figure is the
// benchmark's alone, not the server's; ns/op is what round trips cost.
func BenchmarkFlowMixPostgres(b *testing.B) {
	if os.Getenv("SSPR_TEST_PG_DSN") == "" {
		b.Skip("SSPR_TEST_PG_DSN is not set")
	}
	s, err := store.OpenPostgres(context.Background(), storetest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// Many more transactions in flight than cores, as under load (a
	// server has hundreds of requests waiting on the network): what a
	// batch shares shows.
	b.SetParallelism(32)
	benchFlowMix(b, s, true)
}

func benchFlowMix(b *testing.B, s *store.Store, chainLike bool) {
	ctx := context.Background()
	const flows = 1000
	err := s.InTx(ctx, func(tx *store.Tx) error {
		for i := range flows {
			if err := tx.InsertFlow(newFlow(fmt.Sprint("bench-", i), t0.Add(time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			token := []byte(fmt.Sprint("bench-", next.Add(1)%flows))
			err := s.ReadTx(ctx, func(tx *store.Tx) error {
				_, err := tx.FlowByTokenHash(token)
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
			err = s.InTx(ctx, func(tx *store.Tx) error {
				f, err := tx.FlowByTokenHash(token)
				if err != nil {
					return err
				}
				f.Attempts++
				if err := tx.UpdateFlow(f); err != nil {
					return err
				}
				if err := tx.EnqueueMessage(&store.Message{CreatedAt: t0, Kind: "reset_code", Recipient: "jane@example.com",
					Subject: "Your code", TextBody: "12345678", NextAttemptAt: t0}); err != nil {
					return err
				}
				var prev []byte
				if chainLike {
					prev, err = tx.LastAuditHash()
				} else {
					var head store.AuditHead
					head, _, err = tx.GetAuditHead()
					prev = head.Hash
				}
				if err != nil {
					return err
				}
				r := &store.AuditRecord{At: t0, Event: "reset.verify", Actor: "jane", Outcome: "success", PrevHash: append([]byte{0}, prev...), Hash: []byte("h")}
				if err := tx.InsertAudit(r); err != nil {
					return err
				}
				return tx.SetAuditHead(store.AuditHead{LastID: r.ID, Hash: r.Hash, MAC: []byte("m")})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
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

// BenchmarkClaimDue is the outbox worker's claim on SQLite, in a writing
// transaction of its own as the worker runs it, with 2,000 delivered
// messages in the table: "empty" when nothing is due (every poll and every
// kick that finds the work taken), "one" when one message is due.
func BenchmarkClaimDue(b *testing.B) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, b.TempDir()+"/sspr.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	err = s.InTx(ctx, func(tx *store.Tx) error {
		for i := range 2000 {
			m := newMessage(fmt.Sprintf("sent-%d@example.com", i), t0)
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
			if err := tx.MarkSent(m.ID, t0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	claim := func(now time.Time, want int) []*store.Message {
		var ms []*store.Message
		err := s.InTx(ctx, func(tx *store.Tx) (err error) {
			ms, err = tx.ClaimDue(now, now.Add(time.Hour), "node", "instance", 8)
			if err == nil && len(ms) != want {
				err = fmt.Errorf("claimed %d, want %d", len(ms), want)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return ms
	}
	b.Run("empty", func(b *testing.B) {
		for b.Loop() {
			claim(t0, 0)
		}
	})
	b.Run("one", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.EnqueueMessage(newMessage("due@example.com", t0)) }); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			ms := claim(t0, 1)
			b.StopTimer()
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.MarkSent(ms[0].ID, t0) }); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
