package flow_test

import (
	"context"
	"strings"
	"sync"
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

// downDirectories answers every lookup with "unavailable", as a directory
// that went away between two steps.
type downDirectories struct{ flow.Directories }

func (downDirectories) FindUser(context.Context, string) (*directory.User, error) {
	return nil, &directory.Error{Kind: directory.KindUnavailable, Op: "search"}
}

func (downDirectories) FindUserIn(context.Context, string, string) (*directory.User, error) {
	return nil, &directory.Error{Kind: directory.KindUnavailable, Op: "search"}
}

// TestVerifyDuringAnOutageCostsNothing: a directory that went away between
// two steps costs the person nothing at verification. The challenge carries
// the entry identify found (issue 10), so verify does not ask the directory:
// the right code verifies during the outage and no failure is kept. (Where
// the entry is not carried, the step answers "directory unavailable"
// rather than "wrong code".)
func TestVerifyDuringAnOutageCostsNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	taken := &countingLimiter{}
	h.reset.Limiter = taken
	token, before, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	up := h.reset.Directories
	h.reset.Directories = downDirectories{up}
	st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.1")
	if err != nil || st.State != flow.StateVerified {
		t.Fatalf("the right code during an outage: %v %+v", err, st)
	}
	if taken.kept() != 0 || before.AttemptsLeft != 5 {
		t.Fatalf("the outage cost the person: failures kept %d", taken.kept())
	}
	h.reset.Directories = up
}

// countingLimiter allows everything and counts the verification slots
// kept (taken and not given back).
type countingLimiter struct {
	mu   sync.Mutex
	held int
}

func (c *countingLimiter) Take(_ context.Context, a flow.LimitAction, _, _, _ string) (bool, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a == flow.LimitVerify {
		c.held++
	}
	return true, 0, nil
}

func (c *countingLimiter) Refund(_ context.Context, a flow.LimitAction, _, _, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a == flow.LimitVerify {
		c.held--
	}
	return nil
}

func (c *countingLimiter) kept() int { c.mu.Lock(); defer c.mu.Unlock(); return c.held }

// statusTurns reports the account's status, as privileged once told so (an
// account added to a protected group mid-flow), or fails to read it.
type statusTurns struct {
	*openldap.Directory
	privileged, fail bool
}

func (d *statusTurns) AccountStatus(ctx context.Context, u *directory.User) (*directory.AccountStatus, error) {
	if d.fail {
		return nil, &directory.Error{Kind: directory.KindUnavailable, Op: "search"}
	}
	st, err := d.Directory.AccountStatus(ctx, u)
	if err == nil && d.privileged {
		cp := *st
		cp.Protected, cp.ProtectedReason = true, "member of a protected group"
		st = &cp
	}
	return st, err
}

// TestPrivilegedNeverWithOneFactor: an account that turns out privileged at
// the write, verified with one factor, is refused even where privileged
// accounts may use self-service; one whose status cannot be read at
// identify is asked for the privileged minimum (the guards fail closed).
func TestPrivilegedNeverWithOneFactor(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	turns := &statusTurns{Directory: h.dir}
	h.reset.Directories = directory.NewSet(turns)
	h.reset.Settings.AllowProtected = map[string]bool{"demo": true}
	token := h.verified(t, "alice")
	turns.privileged = true
	if _, err := h.reset.SetPassword(ctx, token, "Privileged-Pass-2026", "Privileged-Pass-2026", ""); flowCode(err) != flow.CodeProtectedAccount {
		t.Fatalf("a privileged account with one factor: %v", err)
	}

	turns.fail = true
	_, st, err := h.reset.Start(ctx, flow.StartInput{Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if st.FactorsRequired != 1 {
		t.Fatalf("the privileged minimum shows before a first factor: %+v", st)
	}
	for _, r := range h.auditRows(t) {
		if r.Event == "reset.identify" && strings.Contains(r.Detail, `"factors_required":2`) {
			return
		}
	}
	t.Fatal("an unreadable status did not raise the factors required to the privileged minimum")
}
