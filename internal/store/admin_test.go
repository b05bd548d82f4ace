package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

func TestAdminSessionLifecycle(t *testing.T) { storetest.Each(t, testAdminSessionLifecycle) }

func testAdminSessionLifecycle(t *testing.T) {
	s, _ := open(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sess := &store.AdminSession{TokenHash: []byte("h1"), Directory: "corp", SubjectDN: "cn=a", Login: "a", Roles: []string{"admin", "auditor"},
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	inTx(t, s, func(tx *store.Tx) error { return tx.InsertAdminSession(sess) })
	var got *store.AdminSession
	inTx(t, s, func(tx *store.Tx) (err error) { got, err = tx.AdminSessionByTokenHash([]byte("h1")); return })
	if got.Login != "a" || len(got.Roles) != 2 || got.Roles[1] != "auditor" || !got.VerifiedAt.IsZero() || !got.LastSeenAt.Equal(now) {
		t.Fatalf("read back %+v", got)
	}
	got.VerifiedAt = now.Add(time.Minute)
	inTx(t, s, func(tx *store.Tx) error { return tx.UpdateAdminSession(got) })
	stale := *got
	stale.Version--
	err := s.InTx(t.Context(), func(tx *store.Tx) error { return tx.UpdateAdminSession(&stale) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a stale update: %v, want ErrConflict", err)
	}
	inTx(t, s, func(tx *store.Tx) error { return tx.TouchAdminSession([]byte("h1"), now.Add(10*time.Minute)) })
	inTx(t, s, func(tx *store.Tx) (err error) { got, err = tx.AdminSessionByTokenHash([]byte("h1")); return })
	if !got.LastSeenAt.Equal(now.Add(10*time.Minute)) || got.VerifiedAt.IsZero() {
		t.Fatalf("after touch: %+v", got)
	}
	// Idle since now+10m: an idle cutoff after that removes it.
	var n int64
	inTx(t, s, func(tx *store.Tx) (err error) {
		n, err = tx.DeleteExpiredAdminSessions(now, now.Add(5*time.Minute))
		return
	})
	if n != 0 {
		t.Fatalf("removed %d live sessions", n)
	}
	inTx(t, s, func(tx *store.Tx) (err error) {
		n, err = tx.DeleteExpiredAdminSessions(now, now.Add(11*time.Minute))
		return
	})
	if n != 1 {
		t.Fatalf("removed %d idle sessions, want 1", n)
	}
	err = s.InTx(t.Context(), func(tx *store.Tx) error { _, err := tx.AdminSessionByTokenHash([]byte("h1")); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after removal: %v", err)
	}
}

func TestSearchAndCountAudit(t *testing.T) { storetest.Each(t, testSearchAndCountAudit) }

func testSearchAndCountAudit(t *testing.T) {
	s, _ := open(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rows := []store.AuditRecord{
		{At: t0, Event: "reset.done", Actor: "ann", Subject: "uid=ann", Outcome: "success"},
		{At: t0.Add(time.Hour), Event: "reset.verify", Actor: "bob", Outcome: "failure", Reason: "wrong_response"},
		{At: t0.Add(25 * time.Hour), Event: "reset.done", Actor: "bob", Outcome: "success"},
		{At: t0.Add(26 * time.Hour), Event: "admin.signin", Actor: "root", Outcome: "success"},
		{At: t0.Add(27 * time.Hour), Event: "re%et", Actor: "x", Outcome: "info"},
	}
	inTx(t, s, func(tx *store.Tx) error {
		for i := range rows {
			r := rows[i]
			r.PrevHash, r.Hash = []byte{1}, []byte{2}
			if err := tx.InsertAudit(&r); err != nil {
				return err
			}
		}
		return nil
	})
	search := func(f store.AuditFilter) []string {
		var got []*store.AuditRecord
		inTx(t, s, func(tx *store.Tx) (err error) { got, err = tx.SearchAudit(f); return })
		var out []string
		for _, r := range got {
			out = append(out, r.Event+"/"+r.Actor)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want []string
	}{
		{"all newest first", store.AuditFilter{}, []string{"re%et/x", "admin.signin/root", "reset.done/bob", "reset.verify/bob", "reset.done/ann"}},
		{"event prefix is literal", store.AuditFilter{EventPrefix: "re%"}, []string{"re%et/x"}},
		{"prefix", store.AuditFilter{EventPrefix: "reset."}, []string{"reset.done/bob", "reset.verify/bob", "reset.done/ann"}},
		{"actor", store.AuditFilter{Actor: "bob"}, []string{"reset.done/bob", "reset.verify/bob"}},
		{"outcome", store.AuditFilter{Outcome: "failure"}, []string{"reset.verify/bob"}},
		{"subject", store.AuditFilter{Subject: "uid=ann"}, []string{"reset.done/ann"}},
		{"time range", store.AuditFilter{From: t0.Add(time.Hour), To: t0.Add(26 * time.Hour)}, []string{"reset.done/bob", "reset.verify/bob"}},
		{"limit", store.AuditFilter{Limit: 1}, []string{"re%et/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := search(tc.f)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	var counts []store.AuditCount
	inTx(t, s, func(tx *store.Tx) (err error) {
		counts, err = tx.CountAudit(store.AuditFilter{EventPrefix: "reset.", From: t0, To: t0.Add(48 * time.Hour)}, 24*time.Hour)
		return
	})
	want := []store.AuditCount{
		{Bucket: t0, Event: "reset.done", Outcome: "success", Count: 1},
		{Bucket: t0, Event: "reset.verify", Outcome: "failure", Reason: "wrong_response", Count: 1},
		{Bucket: t0.Add(24 * time.Hour), Event: "reset.done", Outcome: "success", Count: 1},
	}
	if len(counts) != len(want) {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	for i := range want {
		if counts[i] != want[i] {
			t.Fatalf("count %d: %+v, want %+v", i, counts[i], want[i])
		}
	}
}

// TestCountAuditValues counts detail values per bucket on both engines:
// a single value, each item of a list, nothing for a detail without the
// path or without JSON, and only the rows the reason and suffix select.
func TestCountAuditValues(t *testing.T) { storetest.Each(t, testCountAuditValues) }

func testCountAuditValues(t *testing.T) {
	s, _ := open(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rows := []store.AuditRecord{
		{At: t0, Event: "reset.verify", Outcome: "success", Detail: `{"factor":"email"}`},
		{At: t0.Add(time.Hour), Event: "unlock.verify", Outcome: "success", Detail: `{"factor":"totp"}`},
		{At: t0.Add(2 * time.Hour), Event: "reset.verify", Outcome: "success", Detail: `{"factor":"email"}`},
		{At: t0.Add(25 * time.Hour), Event: "reset.verify", Outcome: "success", Detail: `{"other":1}`},
		{At: t0.Add(26 * time.Hour), Event: "reset.verify", Outcome: "success", Detail: ``},
		{At: t0.Add(27 * time.Hour), Event: "reset.password", Outcome: "failure", Reason: "password_rules", Detail: `{"failed":["min_length","breached"]}`},
		{At: t0.Add(28 * time.Hour), Event: "reset.password", Outcome: "failure", Reason: "password_rules", Detail: `{"failed":["breached"]}`},
		{At: t0.Add(29 * time.Hour), Event: "reset.identify", Outcome: "success", Detail: `{"factor":"sms"}`},
	}
	inTx(t, s, func(tx *store.Tx) error {
		for i := range rows {
			r := rows[i]
			r.PrevHash, r.Hash = []byte{1}, []byte{2}
			if err := tx.InsertAudit(&r); err != nil {
				return err
			}
		}
		return nil
	})
	count := func(q store.AuditValueQuery) string {
		t.Helper()
		var got []store.ValueCount
		inTx(t, s, func(tx *store.Tx) (err error) { got, err = tx.CountAuditValues(q, 24*time.Hour); return })
		var out []string
		for _, c := range got {
			out = append(out, fmt.Sprintf("%s %s=%d", c.Bucket.Format("01-02"), c.Value, c.Count))
		}
		return strings.Join(out, ", ")
	}
	f := store.AuditFilter{From: t0, To: t0.Add(72 * time.Hour), Outcome: "success"}
	if got, want := count(store.AuditValueQuery{AuditFilter: f, EventSuffix: ".verify", Path: "$.factor"}), "03-01 email=2, 03-01 totp=1"; got != want {
		t.Errorf("factors: %s, want %s", got, want)
	}
	f.Outcome = ""
	if got, want := count(store.AuditValueQuery{AuditFilter: f, Reason: "password_rules", Path: "$.failed"}), "03-02 breached=2, 03-02 min_length=1"; got != want {
		t.Errorf("rules: %s, want %s", got, want)
	}
}
