package flow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
)

// stuckDirectory stands for a process that dies in the middle of the
// password step: its write either happens and then never returns, or never
// starts.
type stuckDirectory struct {
	*openldap.Directory
	writeFirst bool
	release    chan struct{}
	entered    chan struct{}
}

func (d *stuckDirectory) ResetPassword(ctx context.Context, u *directory.User, pw string) error {
	var err error
	if d.writeFirst {
		err = d.Directory.ResetPassword(ctx, u, pw)
	}
	close(d.entered)
	<-d.release
	return err
}

// auditCount counts audit rows with this event and outcome.
func auditCount(t *testing.T, st *store.Store, event, outcome string) int {
	t.Helper()
	n := 0
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		rs, err := tx.AuditRecords(0, 10000)
		for _, r := range rs {
			if r.Event == event && r.Outcome == outcome {
				n++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func noticesIn(t *testing.T, h *harness) (due, held int) {
	t.Helper()
	for _, m := range h.messages(t) {
		if m.Kind != "password_notice" {
			continue
		}
		if m.NextAttemptAt.Year() > 9000 {
			held++
		} else {
			due++
		}
	}
	return due, held
}

// TestResolveInterruptedWrite: a process claimed the password step and died
// (here: is stuck forever) — after the write, or before it. The resolver of
// another process instance asks the directory and either finishes the flow
// (done, one audit record, the notice released) or hands it back (verified,
// the held notice discarded) so the person can retry; the stuck writer can
// record nothing afterwards.
func TestResolveInterruptedWrite(t *testing.T) {
	for _, writeFirst := range []bool{true, false} {
		name := map[bool]string{true: "written", false: "not written"}[writeFirst]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			token := h.verified(t, "alice")
			// pwdChangedTime has one-second resolution.
			time.Sleep(1100 * time.Millisecond)

			stuck := &stuckDirectory{Directory: h.dir, writeFirst: writeFirst, release: make(chan struct{}), entered: make(chan struct{})}
			dead := *h.reset
			kit := *h.reset.Kit
			kit.Directories = directory.NewSet(stuck)
			kit.Instance = "a-process-that-died"
			dead.Kit = &kit
			done := make(chan error, 1)
			go func() {
				_, err := dead.SetPassword(ctx, token, "Resolved-Pass-2026", "Resolved-Pass-2026", "192.0.2.1")
				done <- err
			}()
			<-stuck.entered
			if st, _ := h.reset.Status(ctx, token); st.State != flow.StateResetting {
				t.Fatalf("claimed flow is %q", st.State)
			}
			if due, held := noticesIn(t, h); due != 0 || held == 0 {
				t.Fatalf("before the outcome the notice must be held: due %d held %d", due, held)
			}

			res, err := h.reset.ResolveInterrupted(ctx, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := h.reset.Status(ctx, token)
			due, held := noticesIn(t, h)
			if writeFirst {
				if res.Finished != 1 || st.State != flow.StateDone || due == 0 || held != 0 {
					t.Fatalf("written: resolution %+v, state %q, notices due %d held %d", res, st.State, due, held)
				}
			} else {
				if res.Returned != 1 || st.State != flow.StateVerified || due != 0 || held != 0 {
					t.Fatalf("not written: resolution %+v, state %q, notices due %d held %d", res, st.State, due, held)
				}
				if _, err := h.reset.SetPassword(ctx, token, "Retried-Pass-2026", "Retried-Pass-2026", "192.0.2.1"); err != nil {
					t.Fatalf("retry after the hand-back: %v", err)
				}
			}
			// The stuck writer wakes up: it must not record a second outcome.
			close(stuck.release)
			if err := <-done; err == nil || !strings.Contains(err.Error(), string(flow.CodeWrongState)) {
				t.Fatalf("the stale writer recorded its outcome: %v", err)
			}
			if n := auditCount(t, h.store, "reset.password", "success"); n != 1 {
				t.Fatalf("%d successful reset records, want exactly 1", n)
			}
			// Nothing is left to resolve.
			if res, _ := h.reset.ResolveInterrupted(ctx, time.Hour); res != (flow.Resolution{}) {
				t.Fatalf("second round: %+v", res)
			}
		})
	}
}
