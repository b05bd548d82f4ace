package flow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/store"
)

// processInstance names this process in recorded intents, so a restarted
// process knows at once which intents a dead one left behind.
var processInstance = func() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}()

func (k *Kit) instance() string {
	if k.Instance != "" {
		return k.Instance
	}
	return processInstance
}

// Resolution counts what ResolveInterrupted did.
type Resolution struct {
	// Finished flows had their write happen: they are done, audited, and
	// their notices went out.
	Finished int
	// Returned flows had no write: they are verified again, so the person
	// can submit once more.
	Returned int
	// Pending could not be decided (the directory did not answer); the next
	// round tries again.
	Pending int
}

// ResolveInterrupted settles directory writes that a process started and
// never recorded the outcome of (it died, or the machine did): intents
// recorded by another process instance, or older than maxAge whoever
// recorded them. For each it asks the directory whether the write happened —
// the password-last-set time moved past the one read before the write, or
// the lock is gone — and finishes the flow (audit event, notices, other
// flows retired) or returns it to verified (notices discarded). Run it at
// start-up and now and then (the janitor does).
func (r *Reset) ResolveInterrupted(ctx context.Context, maxAge time.Duration) (Resolution, error) {
	var res Resolution
	var acts []*record.Act
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		acts, err = tx.InterruptedActs(r.instance(), r.now().Add(-maxAge), 100)
		return err
	})
	if err != nil {
		return res, err
	}
	for _, a := range acts {
		outcome, err := r.resolveOne(ctx, a)
		switch {
		case err != nil:
			res.Pending++
			r.log().Warn("an interrupted directory write could not be settled yet", "flow", flowRef(a.TokenHash), "err", err)
		case outcome == "finished":
			res.Finished++
		case outcome == "returned":
			res.Returned++
		}
	}
	if res.Finished+res.Returned > 0 {
		r.log().Info("settled interrupted directory writes", "finished", res.Finished, "returned", res.Returned, "pending", res.Pending)
	}
	return res, nil
}

// errSettled: another resolver settled the intent first.
var errSettled = errors.New("settled elsewhere")

func (r *Reset) resolveOne(ctx context.Context, a *record.Act) (string, error) {
	var f *record.Flow
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		f, err = tx.FlowByTokenHash(a.TokenHash)
		if errors.Is(err, store.ErrNotFound) {
			// The flow expired and was removed: nothing to finish.
			return tx.DeleteFlowAct(a.TokenHash)
		}
		return err
	})
	if err != nil || f == nil {
		return "", err
	}
	action, event := ActionReset, "password"
	switch State(f.State) {
	case StateResetting:
	case StateUnlocking:
		action, event = ActionUnlock, "unlock"
	default:
		// The outcome was recorded after all; only the intent is left.
		return "", r.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteFlowAct(a.TokenHash) })
	}
	happened, err := r.writeHappened(ctx, f, a, action)
	if err != nil {
		return "", err
	}
	outcome := "returned"
	released := int64(0)
	var logged audit.Event
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		// Only the resolver that removes the intent acts on it.
		if _, err := tx.FlowActByToken(a.TokenHash); errors.Is(err, store.ErrNotFound) {
			return errSettled
		} else if err != nil {
			return err
		}
		now := r.now()
		f.UpdatedAt = now
		var ev audit.Event
		if happened {
			outcome = "finished"
			if ev, released, err = r.completeAct(tx, f, action, event, f.ClientIP, now); err != nil {
				return err
			}
			ev.Reason = "settled_after_interruption"
			if err := moveTo(f, StateDone); err != nil {
				return err
			}
		} else {
			if err := moveTo(f, StateVerified); err != nil {
				return err
			}
			if _, err := tx.DiscardHeldMessages(f.TokenHash); err != nil {
				return err
			}
			ev = r.event(f, event, f.ClientIP, audit.Failure, "interrupted")
		}
		if err := tx.DeleteFlowAct(a.TokenHash); err != nil {
			return err
		}
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		logged = ev
		return r.Audit.Append(tx, ev)
	})
	if errors.Is(err, errSettled) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	r.logOutcome(logged)
	if released > 0 {
		r.enqueued()
	}
	return outcome, nil
}

// writeHappened asks the directory whether the interrupted write took
// effect: for a reset, the password-last-set time moved past the one read
// before the write; for an unlock, the account is no longer locked.
func (r *Reset) writeHappened(ctx context.Context, f *record.Flow, a *record.Act, action Action) (bool, error) {
	d, ok := r.Directories.Directory(f.Directory)
	if !ok {
		return false, fmt.Errorf("directory %s is no longer configured", f.Directory)
	}
	sr, ok := d.(directory.StatusReader)
	if !ok {
		// Nothing to ask: hand the flow back; a second write of the same
		// password is harmless where history allows it, and the directory
		// says plainly where it does not.
		return false, nil
	}
	st, err := sr.AccountStatus(ctx, &directory.User{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login})
	if err != nil {
		return false, err
	}
	if action == ActionUnlock {
		return a.WasLocked && !st.Locked, nil
	}
	return st.PasswordLastSet.After(a.PasswordLastSet), nil
}
