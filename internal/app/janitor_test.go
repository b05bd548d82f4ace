package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/store"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestTidyRemovesFinishedFlowsPromptly: a flow that ended (done or failed)
// stays reset.finished_retention so a reload still shows how it ended, then
// the janitor's pass deletes it — however many there are (batches), while
// flows in progress stay until they expire (plus the hour's grace).
func TestTidyRemovesFinishedFlowsPromptly(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	a := tidyApp(t, clock, "reset:\n  finished_retention: 5m\n")
	now := clock.Now()
	flow := func(token, state string, updated, expires time.Time) *store.Flow {
		return &store.Flow{TokenHash: []byte(token), Kind: "reset", State: state, Directory: "corp", Login: "jane",
			CreatedAt: updated.Add(-time.Minute), UpdatedAt: updated, ExpiresAt: expires}
	}
	live := now.Add(20 * time.Minute)
	flows := []*store.Flow{
		flow("done-just-now", "done", now.Add(-time.Minute), live),
		flow("done-long-ago", "done", now.Add(-6*time.Minute), live),
		flow("failed-long-ago", "failed", now.Add(-6*time.Minute), live),
		flow("verified-idle", "verified", now.Add(-25*time.Minute), live),
		flow("resetting", "resetting", now.Add(-25*time.Minute), live),
		flow("expired-in-grace", "challenged", now.Add(-40*time.Minute), now.Add(-30*time.Minute)),
		flow("expired-past-grace", "challenged", now.Add(-100*time.Minute), now.Add(-61*time.Minute)),
	}
	const many = 2*janitorBatch + 7 // more than one batch
	for i := range many {
		flows = append(flows, flow(fmt.Sprintf("done-%d", i), "done", now.Add(-10*time.Minute), live))
	}
	if err := a.store.InTx(ctx, func(tx *store.Tx) error {
		for _, f := range flows {
			if err := tx.InsertFlow(f); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	present := func(token string) bool {
		var err error
		if e := a.store.InTx(ctx, func(tx *store.Tx) error { _, err = tx.FlowByTokenHash([]byte(token)); return nil }); e != nil {
			t.Fatal(e)
		}
		return err == nil
	}

	r, err := a.Tidy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Finished != many+2 || r.Expired != 1 {
		t.Errorf("first pass removed %d finished and %d expired flows, want %d and 1", r.Finished, r.Expired, many+2)
	}
	for token, want := range map[string]bool{
		"done-just-now": true, "done-long-ago": false, "failed-long-ago": false, "verified-idle": true,
		"resetting": true, "expired-in-grace": true, "expired-past-grace": false, "done-0": false, fmt.Sprintf("done-%d", many-1): false,
	} {
		if got := present(token); got != want {
			t.Errorf("after the first pass, flow %s present=%v, want %v", token, got, want)
		}
	}

	// Five minutes on, the flow that had just ended is gone too; the rest
	// of the flows in progress are not.
	clock.Add(5 * time.Minute)
	if r, err = a.Tidy(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Finished != 1 || present("done-just-now") {
		t.Errorf("second pass removed %d finished flows (done-just-now present=%v), want 1 and gone", r.Finished, present("done-just-now"))
	}
	for _, token := range []string{"verified-idle", "resetting", "expired-in-grace"} {
		if !present(token) {
			t.Errorf("flow %s in progress (or in its grace hour) was removed", token)
		}
	}
}

// tidyApp builds an App on a fresh database whose directory is never
// contacted, with clock and the extra configuration.
func tidyApp(t *testing.T, clock *testClock, extra string) *App {
	t.Helper()
	cfg, err := config.Parse([]byte(`
server:
  base_url: https://sspr.example.com
storage:
  path: `+filepath.Join(t.TempDir(), "sspr.db")+`
secrets:
  hmac_key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
directories:
  - name: corp
    type: ad
    urls: [ldaps://dc1.example.com:636]
    bind_dn: CN=svc,DC=example,DC=com
    bind_password: pw
    base_dn: DC=example,DC=com
mail:
  from: noreply@example.com
  smtp:
    host: smtp.example.com
`+extra), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestTidyAppliesAuditRetention: with audit.retention the janitor deletes
// the audit rows older than it (the creation record included), and the
// chain still verifies; without it nothing is deleted.
func TestTidyAppliesAuditRetention(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		extra string
		want  int64
	}{{"", 0}, {"audit:\n  retention: 48h\n", 4}} {
		clock := &testClock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
		a := tidyApp(t, clock, tc.extra) // writes the creation record now
		add := func() {
			if err := a.store.InTx(ctx, func(tx *store.Tx) error {
				return a.chain.Append(tx, audit.Event{At: clock.Now(), Event: "reset.identify", Outcome: audit.Success})
			}); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			add()
			clock.Add(time.Hour)
		}
		clock.Add(72 * time.Hour)
		add() // recent: stays
		r, err := a.Tidy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Audit != tc.want {
			t.Errorf("%q: Tidy deleted %d audit rows, want %d", tc.extra, r.Audit, tc.want)
		}
		if n, err := a.chain.Verify(ctx, a.store); err != nil || n != int(5-tc.want) {
			t.Errorf("%q: Verify after Tidy = %d, %v; want %d rows, intact", tc.extra, n, err, 5-tc.want)
		}
	}
}
