package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// TestCopySQLiteToPostgres: every table's rows arrive, ids keep counting
// after the copied ones, and a second copy into the now non-empty database
// is refused without changing it.
func TestCopySQLiteToPostgres(t *testing.T) {
	t.Parallel()
	dst := storetest.NewDatabase(t)
	ctx := context.Background()
	src := t.TempDir() + "/sspr.db"
	s, err := store.OpenSQLite(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	const mails = 1203 // more than one insert batch
	var lastAudit int64
	inTx(t, s, func(tx *store.Tx) error {
		if err := tx.InsertFlow(newFlow("tok-1", t0.Add(time.Hour))); err != nil {
			return err
		}
		for i := range mails {
			m := &store.Message{CreatedAt: t0, Kind: "reset.code", Recipient: fmt.Sprintf("p%d@example.com", i), Subject: "Your code",
				TextBody: "body", HTMLBody: "<p>body</p>", MessageID: fmt.Sprintf("<%d@sspr.invalid>", i), NextAttemptAt: t0, Urgent: i%2 == 0}
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
		}
		for i := range 3 {
			r := &store.AuditRecord{At: t0, Event: "test", Outcome: "success", Detail: "ünïcode", PrevHash: make([]byte, 32), Hash: []byte{byte(i)}}
			if err := tx.InsertAudit(r); err != nil {
				return err
			}
			lastAudit = r.ID
		}
		if err := tx.InsertEnrollment(&store.Enrollment{ID: "e1", Directory: "corp", SubjectDN: "cn=jane", Kind: "totp", Label: "phone", Secret: []byte{0, 1, 2, 255}, Source: "user", CreatedAt: t0}); err != nil {
			return err
		}
		return tx.AddAbuseCount("identify_ip", "192.0.2.1", t0, t0.Add(time.Hour))
	})
	s.Close()

	res, err := store.CopySQLiteToPostgres(ctx, src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int64{"flows": 1, "outbox": mails, "outbox_bodies": mails, "audit": 3, "enrollments": 1, "abuse_counters": 1, "audit_genesis": 1} {
		if res.Tables[table] != want {
			t.Errorf("%s: %d rows copied, want %d", table, res.Tables[table], want)
		}
	}

	pg, err := store.OpenPostgres(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	inTx(t, pg, func(tx *store.Tx) error {
		f, err := tx.FlowByTokenHash([]byte("tok-1"))
		if err != nil {
			return err
		}
		if want := newFlow("tok-1", t0.Add(time.Hour)); !flowsEqual(f, want) {
			return fmt.Errorf("flow = %+v, want %+v", f, want)
		}
		es, err := tx.Enrollments("corp", "cn=jane")
		if err != nil || len(es) != 1 || string(es[0].Secret) != string([]byte{0, 1, 2, 255}) {
			return fmt.Errorf("enrollments = %+v, %v", es, err)
		}
		if n, err := tx.SumAbuseCounts("identify_ip", "192.0.2.1", time.Time{}); err != nil || n != 1 {
			return fmt.Errorf("abuse count = %d, %v", n, err)
		}
		recs, err := tx.AuditRecords(0, 10)
		if err != nil || len(recs) != 3 || recs[2].Detail != "ünïcode" {
			return fmt.Errorf("audit = %v, %v", recs, err)
		}
		// New rows continue after the copied ids.
		r := &store.AuditRecord{At: t0, Event: "after", Outcome: "success", PrevHash: make([]byte, 32), Hash: []byte{9}}
		if err := tx.InsertAudit(r); err != nil {
			return err
		}
		if r.ID <= lastAudit {
			return fmt.Errorf("a new audit row got id %d, not after the copied %d", r.ID, lastAudit)
		}
		m := &store.Message{CreatedAt: t0, Kind: "x", Recipient: "new@example.com", MessageID: "<new@sspr.invalid>", NextAttemptAt: t0}
		if err := tx.EnqueueMessage(m); err != nil {
			return err
		}
		if m.ID <= mails {
			return fmt.Errorf("a new message got id %d", m.ID)
		}
		ms, err := tx.ClaimDue(t0, t0.Add(time.Minute), "n", "i", 5)
		if err != nil || len(ms) != 5 || ms[0].TextBody != "body" || !ms[0].Urgent {
			return fmt.Errorf("claimed %+v, %v", ms, err)
		}
		return nil
	})

	_, err = store.CopySQLiteToPostgres(ctx, src, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a copy into a database with rows: %v", err)
	}
}
