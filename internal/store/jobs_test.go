package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestJobLease: one holder at a time; a lease that ran out is taken over;
// the old holder can then neither renew nor finish it; a failed run keeps
// the slot due.
func TestJobLease(t *testing.T) { storetest.Each(t, testJobLease) }

func testJobLease(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	do := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := s.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	acquire := func(holder string, now time.Time) (got bool) {
		t.Helper()
		do(func(tx *store.Tx) (err error) {
			got, err = tx.AcquireJob("j", holder, now, now.Add(10*time.Minute))
			return
		})
		return got
	}
	do(func(tx *store.Tx) error { return tx.EnsureJob("j", t0.Add(-time.Hour)) })
	do(func(tx *store.Tx) error { return tx.EnsureJob("j", t0) }) // a second call changes nothing
	if !acquire("a", t0) || acquire("b", t0.Add(5*time.Minute)) {
		t.Fatal("two holders at once")
	}
	if !acquire("b", t0.Add(11*time.Minute)) {
		t.Fatal("a lease that ran out was not taken over")
	}
	var kept bool
	do(func(tx *store.Tx) (err error) { kept, err = tx.ExtendJob("j", "a", t0.Add(time.Hour)); return })
	if kept {
		t.Fatal("the old holder renewed a lease it lost")
	}
	do(func(tx *store.Tx) error { return tx.FinishJob("j", "a", t0, t0, true, "ok") })
	var row *store.JobLease
	do(func(tx *store.Tx) (err error) { row, err = tx.Job("j"); return })
	if row.Holder != "b" || !row.LastSlot.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("the old holder finished the new one's run: %+v", row)
	}
	do(func(tx *store.Tx) error { return tx.FinishJob("j", "b", t0, t0.Add(12*time.Minute), false, "boom") })
	do(func(tx *store.Tx) (err error) { row, err = tx.Job("j"); return })
	if row.Holder != "" || !row.LastSlot.Equal(t0.Add(-time.Hour)) || row.LastResult != "boom" {
		t.Fatalf("a failed run: %+v", row)
	}
	if !acquire("c", t0.Add(13*time.Minute)) {
		t.Fatal("a released job was not free")
	}
	do(func(tx *store.Tx) error { return tx.FinishJob("j", "c", t0, t0.Add(14*time.Minute), true, "ok") })
	do(func(tx *store.Tx) (err error) { row, err = tx.Job("j"); return })
	if !row.LastSlot.Equal(t0) {
		t.Fatalf("a finished run did not record its slot: %+v", row)
	}
}

// TestJobSends: a send is recorded once per job, person and slot; the
// last send is found whatever the case of the DN; old records go.
func TestJobSends(t *testing.T) { storetest.Each(t, testJobSends) }

func testJobSends(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	record := func(subject, slot string, at time.Time) (fresh bool) {
		t.Helper()
		if err := s.InTx(ctx, func(tx *store.Tx) (err error) { fresh, err = tx.RecordJobSend("r", subject, slot, at); return }); err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if !record("corp\nuid=A,dc=x", "s1", t0) || record("corp\nuid=a,dc=x", "s1", t0) || !record("corp\nuid=a,dc=x", "s2", t0.Add(time.Hour)) {
		t.Fatal("send records are not once per person and slot")
	}
	var last time.Time
	var deleted int64
	if err := s.InTx(ctx, func(tx *store.Tx) (err error) {
		if last, err = tx.LastJobSend("r", "corp\nUID=A,dc=x"); err != nil {
			return err
		}
		deleted, err = tx.DeleteJobSendsBefore(t0.Add(time.Minute), 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !last.Equal(t0.Add(time.Hour)) || deleted != 1 {
		t.Fatalf("last %s, deleted %d", last, deleted)
	}
}
