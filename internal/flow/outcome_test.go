package flow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/flow"
)

// lostDirectory stands for a directory reached through an outbound-only
// connector whose connection died with the write: the write happened or
// not, and the answer is "outcome unknown".
type lostDirectory struct {
	*openldap.Directory
	write bool
}

func (d *lostDirectory) ResetPassword(ctx context.Context, u *directory.User, pw string) error {
	if d.write {
		if err := d.Directory.ResetPassword(ctx, u, pw); err != nil {
			return err
		}
	}
	return &directory.Error{Kind: directory.KindUnavailable, Op: directory.OpOutcomeUnknown, Diagnostic: "the connector went away"}
}

// TestOutcomeUnknownIsSettledLater: a write whose outcome is unknown
// leaves the flow claimed, with its intent and held notice, and the person
// is told the directory is down; the resolver then asks the directory and
// finishes the flow (written) or hands it back (not written), exactly as
// after a crash.
func TestOutcomeUnknownIsSettledLater(t *testing.T) {
	for _, write := range []bool{true, false} {
		name := map[bool]string{true: "written", false: "not written"}[write]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			token := h.verified(t, "alice")
			// pwdChangedTime has one-second resolution.
			time.Sleep(1100 * time.Millisecond)
			lost := *h.reset
			kit := *h.reset.Kit
			kit.Directories = directory.NewSet(&lostDirectory{Directory: h.dir, write: write})
			lost.Kit = &kit
			_, err := lost.SetPassword(ctx, token, "Unknown-Pass-2026", "Unknown-Pass-2026", "192.0.2.1")
			var fe *flow.Error
			if !errors.As(err, &fe) || fe.Code != flow.CodeDirectoryDown {
				t.Fatalf("an unknown outcome: %v, want directory down", err)
			}
			if st, _ := h.reset.Status(ctx, token); st.State != flow.StateResetting {
				t.Fatalf("the flow is %q, want still resetting", st.State)
			}
			if due, held := noticesIn(t, h); due != 0 || held == 0 {
				t.Fatalf("the notice must stay held: due %d held %d", due, held)
			}
			// This process's own intents are settled once older than the
			// longest write may take (the janitor's maxAge).
			if res, _ := h.reset.ResolveInterrupted(ctx, time.Minute); res != (flow.Resolution{}) {
				t.Fatalf("settled before its time: %+v", res)
			}
			h.clock.Advance(2 * time.Minute)
			res, err := h.reset.ResolveInterrupted(ctx, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := h.reset.Status(ctx, token)
			due, held := noticesIn(t, h)
			switch {
			case write && (res.Finished != 1 || st.State != flow.StateDone || due == 0 || held != 0):
				t.Fatalf("written: resolution %+v, state %q, notices due %d held %d", res, st.State, due, held)
			case !write && (res.Returned != 1 || st.State != flow.StateVerified || due != 0 || held != 0):
				t.Fatalf("not written: resolution %+v, state %q, notices due %d held %d", res, st.State, due, held)
			}
		})
	}
}
