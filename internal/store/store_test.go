package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// t0 is the injected "now": whole milliseconds, as the store keeps them.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// open opens an empty store on the engine of t (storetest.Each) and
// returns it with its file path or DSN.
func open(t *testing.T) (*store.Store, string) {
	t.Helper()
	return storetest.Open(t)
}

// rawDB opens the same database without the store, as an operator (or
// attacker) with access to it would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	return storetest.RawDB(t, path)
}

func inTx(t *testing.T, s *store.Store, fn func(*store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func newFlow(token string, expires time.Time) *store.Flow {
	return &store.Flow{
		TokenHash: []byte(token), Kind: "reset", State: "identified", Directory: "corp",
		SubjectDN: "CN=Jane,DC=example,DC=com", Login: "jane", DisplayName: "Jane Doe", Privileged: true,
		Language: "de", Known: true, FactorsDone: []string{"email", "totp"}, FactorsRequired: 2,
		ChallengeKind: "totp", ChallengeEnrollment: "e1", ChallengeState: []byte{1, 2, 3}, ChallengeExpiresAt: t0.Add(10 * time.Minute),
		Attempts: 1, ChallengesSent: 2, PasswordAttempts: 3, ClientIP: "192.0.2.1",
		CreatedAt: t0, UpdatedAt: t0, ExpiresAt: expires, DirectoryNote: "policy-source 1741944413000\nCN=pso",
	}
}

func TestMigrationsIdempotentAcrossReopen(t *testing.T) {
	storetest.Each(t, testMigrationsIdempotentAcrossReopen)
}

func testMigrationsIdempotentAcrossReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, path := storetest.Target(t)
	for i := 0; i < 3; i++ {
		s, err := storetest.Reopen(path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if i == 0 {
			inTx(t, s, func(tx *store.Tx) error { return tx.InsertFlow(newFlow("tok", t0.Add(time.Hour))) })
		}
		// Data written before a reopen survives the (skipped) migrations.
		inTx(t, s, func(tx *store.Tx) error {
			_, err := tx.FlowByTokenHash([]byte("tok"))
			return err
		})
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var applied, distinct int
	if err := rawDB(t, path).QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("migrations/sqlite/*.sql")
	if applied != len(files) || distinct != len(files) {
		t.Errorf("schema_migrations has %d rows (%d versions), want %d", applied, distinct, len(files))
	}
}

func TestFlowRoundTripAndOptimisticLocking(t *testing.T) {
	storetest.Each(t, testFlowRoundTripAndOptimisticLocking)
}

func testFlowRoundTripAndOptimisticLocking(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	want := newFlow("token-1", t0.Add(30*time.Minute))
	inTx(t, s, func(tx *store.Tx) error { return tx.InsertFlow(want) })

	var got *store.Flow
	inTx(t, s, func(tx *store.Tx) (err error) { got, err = tx.FlowByTokenHash([]byte("token-1")); return })
	if !flowsEqual(got, want) {
		t.Fatalf("loaded flow\n got %+v\nwant %+v", got, want)
	}

	// Two readers hold version 0; the first update wins.
	first, second := *got, *got
	first.State, first.UpdatedAt = "code_sent", t0.Add(time.Minute)
	inTx(t, s, func(tx *store.Tx) error { return tx.UpdateFlow(&first) })
	if first.Version != 1 {
		t.Errorf("version after update = %d, want 1", first.Version)
	}
	second.State = "done"
	err := s.InTx(context.Background(), func(tx *store.Tx) error { return tx.UpdateFlow(&second) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: err = %v, want ErrConflict", err)
	}
	if second.Version != 0 {
		t.Errorf("a refused update bumped the caller's version to %d", second.Version)
	}
	inTx(t, s, func(tx *store.Tx) (err error) { got, err = tx.FlowByTokenHash([]byte("token-1")); return })
	if got.State != "code_sent" || got.Version != 1 || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after conflict: state %q version %d updated %v", got.State, got.Version, got.UpdatedAt)
	}
	// The winner can keep going with its fresh version.
	first.State = "done"
	inTx(t, s, func(tx *store.Tx) error { return tx.UpdateFlow(&first) })

	// Updating a flow that does not exist is a conflict too, not a silent no-op.
	ghost := newFlow("ghost", t0)
	if err := s.InTx(context.Background(), func(tx *store.Tx) error { return tx.UpdateFlow(ghost) }); !errors.Is(err, store.ErrConflict) {
		t.Errorf("update of a missing flow: err = %v, want ErrConflict", err)
	}
	if err := s.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.FlowByTokenHash([]byte("nope"))
		return err
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing flow: err = %v, want ErrNotFound", err)
	}
	// The token hash is the primary key.
	if err := s.InTx(context.Background(), func(tx *store.Tx) error { return tx.InsertFlow(newFlow("token-1", t0)) }); err == nil {
		t.Error("a second flow with the same token hash was accepted")
	}
}

func flowsEqual(a, b *store.Flow) bool {
	return bytes.Equal(a.TokenHash, b.TokenHash) && a.Kind == b.Kind && a.State == b.State && a.Directory == b.Directory &&
		a.SubjectDN == b.SubjectDN && a.Login == b.Login && a.DisplayName == b.DisplayName && a.Privileged == b.Privileged &&
		a.Language == b.Language && a.Known == b.Known && bytes.Equal(a.ChallengeState, b.ChallengeState) &&
		strings.Join(a.FactorsDone, ",") == strings.Join(b.FactorsDone, ",") && a.FactorsRequired == b.FactorsRequired &&
		a.ChallengeKind == b.ChallengeKind && a.ChallengeEnrollment == b.ChallengeEnrollment &&
		a.ChallengeExpiresAt.Equal(b.ChallengeExpiresAt) && a.Attempts == b.Attempts && a.ChallengesSent == b.ChallengesSent &&
		a.PasswordAttempts == b.PasswordAttempts && a.ClientIP == b.ClientIP && a.CreatedAt.Equal(b.CreatedAt) &&
		a.UpdatedAt.Equal(b.UpdatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.Version == b.Version &&
		a.DirectoryNote == b.DirectoryNote
}

func TestDeleteExpiredFlows(t *testing.T) { storetest.Each(t, testDeleteExpiredFlows) }

func testDeleteExpiredFlows(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		for _, f := range []*store.Flow{
			newFlow("expired-long-ago", t0.Add(-time.Hour)),
			newFlow("expired-just-now", t0.Add(-time.Millisecond)),
			newFlow("expires-now", t0),
			newFlow("live", t0.Add(time.Hour)),
		} {
			if err := tx.InsertFlow(f); err != nil {
				return err
			}
		}
		return nil
	})
	var n int64
	inTx(t, s, func(tx *store.Tx) (err error) { n, err = tx.DeleteExpiredFlows(t0, 100); return })
	if n != 2 {
		t.Errorf("deleted %d flows, want 2", n)
	}
	for token, wantFound := range map[string]bool{"expired-long-ago": false, "expired-just-now": false, "expires-now": true, "live": true} {
		err := s.InTx(context.Background(), func(tx *store.Tx) error { _, err := tx.FlowByTokenHash([]byte(token)); return err })
		if found := err == nil; found != wantFound {
			t.Errorf("flow %s found=%v (err %v), want %v", token, found, err, wantFound)
		}
	}
}

func newMessage(to string, due time.Time) *store.Message {
	return &store.Message{CreatedAt: t0, Kind: "reset.code", Recipient: to, Subject: "Your code",
		TextBody: "code 12345678", HTMLBody: "<p>12345678</p>", MessageID: "<" + to + "@sspr.invalid>", NextAttemptAt: due}
}

func TestOutboxLifecycle(t *testing.T) { storetest.Each(t, testOutboxLifecycle) }

func testOutboxLifecycle(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	a, b, later := newMessage("a@example.com", t0), newMessage("b@example.com", t0.Add(-time.Second)), newMessage("c@example.com", t0.Add(time.Hour))
	inTx(t, s, func(tx *store.Tx) error {
		for _, m := range []*store.Message{a, b, later} {
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
		t.Fatalf("ids not assigned: %d %d", a.ID, b.ID)
	}

	due := func(now time.Time) []int64 {
		t.Helper()
		var ms []*store.Message
		inTx(t, s, func(tx *store.Tx) (err error) { ms, err = tx.DueMessages(now, 10); return })
		ids := make([]int64, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
		}
		return ids
	}
	// Oldest due first; the future one is not due.
	if got := due(t0); len(got) != 2 || got[0] != b.ID || got[1] != a.ID {
		t.Fatalf("due at t0 = %v, want [%d %d]", got, b.ID, a.ID)
	}
	var limited []*store.Message
	inTx(t, s, func(tx *store.Tx) (err error) { limited, err = tx.DueMessages(t0, 1); return })
	if len(limited) != 1 {
		t.Errorf("limit 1 gave %d messages", len(limited))
	}

	claim := func(id int64, now time.Time) bool {
		t.Helper()
		var ok bool
		inTx(t, s, func(tx *store.Tx) (err error) { ok, err = tx.ClaimMessage(id, now, now.Add(2*time.Minute)); return })
		return ok
	}
	if !claim(a.ID, t0) {
		t.Fatal("first claim failed")
	}
	if claim(a.ID, t0) {
		t.Fatal("a second claim of the same message succeeded")
	}
	if claim(later.ID, t0) {
		t.Fatal("a message that is not due was claimed")
	}
	if got := due(t0); len(got) != 1 || got[0] != b.ID {
		t.Errorf("claimed message still due: %v", got)
	}
	// The lease runs out: the message is due again and can be reclaimed.
	if got := due(t0.Add(2 * time.Minute)); len(got) != 2 {
		t.Errorf("after the lease, due = %v", got)
	}

	// a: sent. b: retry, then failed.
	inTx(t, s, func(tx *store.Tx) error { return tx.MarkSent(a.ID, t0.Add(time.Second)) })
	if !claim(b.ID, t0) {
		t.Fatal("claim b")
	}
	inTx(t, s, func(tx *store.Tx) error { return tx.MarkRetry(b.ID, t0.Add(5*time.Second), "connection refused") })
	if got := due(t0.Add(4 * time.Second)); len(got) != 0 {
		t.Errorf("retry not yet due, but due = %v", got)
	}
	if got := due(t0.Add(5 * time.Second)); len(got) != 1 || got[0] != b.ID {
		t.Errorf("retry due = %v, want [%d]", got, b.ID)
	}
	if !claim(b.ID, t0.Add(5*time.Second)) {
		t.Fatal("reclaim b")
	}
	inTx(t, s, func(tx *store.Tx) error { return tx.MarkFailed(b.ID, t0.Add(6*time.Second), "550 no such user") })
	if got := due(t0.Add(24 * time.Hour)); len(got) != 1 || got[0] != later.ID {
		t.Errorf("a day later due = %v, want only [%d]", got, later.ID)
	}
	if claim(a.ID, t0.Add(24*time.Hour)) || claim(b.ID, t0.Add(24*time.Hour)) {
		t.Error("a sent or failed message was claimed")
	}

	var all []*store.Message
	inTx(t, s, func(tx *store.Tx) (err error) { all, err = tx.Messages(10); return })
	byID := map[int64]*store.Message{}
	for _, m := range all {
		byID[m.ID] = m
	}
	ga, gb := byID[a.ID], byID[b.ID]
	if ga.Attempts != 1 || !ga.SentAt.Equal(t0.Add(time.Second)) || !ga.FailedAt.IsZero() || ga.LastError != "" {
		t.Errorf("a = attempts %d sent %v failed %v err %q", ga.Attempts, ga.SentAt, ga.FailedAt, ga.LastError)
	}
	// A sent message keeps its envelope, not its content (codes).
	if ga.Recipient != "a@example.com" || ga.TextBody != "" || ga.HTMLBody != "" || ga.Subject != "" || ga.MessageID != a.MessageID || !ga.CreatedAt.Equal(t0) {
		t.Errorf("a round trip: %+v", ga)
	}
	if gb.Attempts != 2 || !gb.SentAt.IsZero() || !gb.FailedAt.Equal(t0.Add(6*time.Second)) || gb.LastError != "550 no such user" {
		t.Errorf("b = attempts %d sent %v failed %v err %q", gb.Attempts, gb.SentAt, gb.FailedAt, gb.LastError)
	}
	if len(all) != 3 || all[0].ID != later.ID {
		t.Errorf("Messages should list newest first: %d messages, first id %d", len(all), all[0].ID)
	}
}

func TestAuditIsAppendOnly(t *testing.T) { storetest.Each(t, testAuditIsAppendOnly) }

func testAuditIsAppendOnly(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		return tx.InsertAudit(&store.AuditRecord{At: t0, Event: "reset.identify", Outcome: "success", PrevHash: make([]byte, 32), Hash: []byte("h")})
	})
	var head []byte
	inTx(t, s, func(tx *store.Tx) (err error) { head, err = tx.LastAuditHash(); return })
	if string(head) != "h" {
		t.Errorf("LastAuditHash = %q", head)
	}
	db := rawDB(t, path)
	for _, stmt := range []string{
		`UPDATE audit SET outcome = 'failure'`,
		`DELETE FROM audit`,
	} {
		_, err := db.Exec(stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only trigger", stmt, err)
		}
	}
	var recs []*store.AuditRecord
	inTx(t, s, func(tx *store.Tx) (err error) { recs, err = tx.AuditRecords(0, 10); return })
	if len(recs) != 1 || recs[0].Outcome != "success" || !recs[0].At.Equal(t0) {
		t.Errorf("audit rows after refused changes: %+v", recs)
	}
}

func TestEmptyAuditHead(t *testing.T) { storetest.Each(t, testEmptyAuditHead) }

func testEmptyAuditHead(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		h, err := tx.LastAuditHash()
		if h != nil {
			t.Errorf("LastAuditHash of an empty log = %x, want nil", h)
		}
		return err
	})
}

func TestFailedTransactionLeavesNothing(t *testing.T) {
	storetest.Each(t, testFailedTransactionLeavesNothing)
}

func testFailedTransactionLeavesNothing(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	boom := errors.New("boom")
	err := s.InTx(context.Background(), func(tx *store.Tx) error {
		if err := tx.InsertFlow(newFlow("tok", t0.Add(time.Hour))); err != nil {
			return err
		}
		if err := tx.EnqueueMessage(newMessage("a@example.com", t0)); err != nil {
			return err
		}
		if err := tx.InsertAudit(&store.AuditRecord{At: t0, Event: "e", Outcome: "success", PrevHash: []byte{0}, Hash: []byte{1}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx err = %v, want the callback's error", err)
	}
	inTx(t, s, func(tx *store.Tx) error {
		if _, err := tx.FlowByTokenHash([]byte("tok")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("flow survived a rolled-back transaction (err %v)", err)
		}
		if ms, err := tx.Messages(10); err != nil || len(ms) != 0 {
			t.Errorf("messages after rollback: %d (err %v)", len(ms), err)
		}
		if rs, err := tx.AuditRecords(0, 10); err != nil || len(rs) != 0 {
			t.Errorf("audit rows after rollback: %d (err %v)", len(rs), err)
		}
		return nil
	})
}

// A missing storage folder is created (see TestStorageFolderCreated); one
// that cannot be a folder is refused with its path named.
// SQLite only: a file path; TestOpenPostgresFailsClearly is its PostgreSQL twin.
func TestOpenFailsOnUnusablePath(t *testing.T) {
	t.Parallel()
	notDir := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := store.OpenSQLite(context.Background(), filepath.Join(notDir, "sspr.db"))
	if err == nil || !strings.Contains(err.Error(), notDir) {
		t.Fatalf("opening a database below a file: %v, want an error naming %s", err, notDir)
	}
}

// TestDeleteFinishedFlows: only done and failed flows last changed before
// the cut-off go, at most limit at a time.
func TestDeleteFinishedFlows(t *testing.T) { storetest.Each(t, testDeleteFinishedFlows) }

func testDeleteFinishedFlows(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	inTx(t, s, func(tx *store.Tx) error {
		for i, st := range []string{"done", "failed", "done", "verified", "resetting", "done"} {
			f := newFlow(fmt.Sprint("f", i), t0.Add(time.Hour))
			f.State, f.UpdatedAt = st, t0.Add(-time.Minute)
			if i == 5 {
				f.UpdatedAt = t0 // not before the cut-off
			}
			if err := tx.InsertFlow(f); err != nil {
				return err
			}
		}
		return nil
	})
	var first, second int64
	inTx(t, s, func(tx *store.Tx) (err error) { first, err = tx.DeleteFinishedFlows(t0, 2); return })
	inTx(t, s, func(tx *store.Tx) (err error) { second, err = tx.DeleteFinishedFlows(t0, 2); return })
	if first != 2 || second != 1 {
		t.Errorf("deleted %d then %d flows, want 2 (the limit) then 1", first, second)
	}
	for token, wantFound := range map[string]bool{"f0": false, "f1": false, "f2": false, "f3": true, "f4": true, "f5": true} {
		err := s.InTx(context.Background(), func(tx *store.Tx) error { _, err := tx.FlowByTokenHash([]byte(token)); return err })
		if found := err == nil; found != wantFound {
			t.Errorf("flow %s found=%v (err %v), want %v", token, found, err, wantFound)
		}
	}
}
