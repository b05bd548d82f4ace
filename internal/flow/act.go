package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// errResetLimited ends a claim whose reset limit refused it (TxTaker):
// the claim's transaction is rolled back, the count with it.
var errResetLimited = errors.New("flow: reset limit reached")

// MaxPasswordBytes bounds what is sent to a directory.
const MaxPasswordBytes = 512

// checkNewPassword refuses what no directory should be sent.
func checkNewPassword(password, confirm string) *Error {
	switch {
	case password == "":
		return refuse(CodePasswordRequired)
	case password != confirm:
		return refuse(CodePasswordMismatch)
	case len(password) > MaxPasswordBytes || !utf8.ValidString(password):
		return refuse(CodePasswordTooLong)
	}
	return nil
}

// SetPassword writes the new password to the directory. When the directory
// refuses it, the flow stays verified and the error lists the directory's
// rules the password broke, so the person can try again at once.
func (r *Reset) SetPassword(ctx context.Context, token, password, confirm, clientIP string) (Status, error) {
	if e := checkNewPassword(password, confirm); e != nil {
		return Status{}, e
	}
	// The rules (the person's policy), the guards (their status) and the
	// notices (their addresses) all read one lookup made in this step.
	ctx = withStepUser(ctx)
	if e := r.checkRules(ctx, token, password, clientIP); e != nil {
		return r.statusOf(ctx, token), e
	}
	return r.act(ctx, token, clientIP, ActionReset, StateResetting, "password", password,
		func(ctx context.Context, d directory.Directory, u *directory.User) error {
			resetter, ok := d.(directory.PasswordResetter)
			if !ok {
				return &directory.Error{Kind: directory.KindMisconfigured, Op: "reset", Diagnostic: "directory " + d.Name() + " cannot reset passwords"}
			}
			return resetter.ResetPassword(ctx, u, password)
		},
		func(f *record.Flow, now time.Time) (notify.Mail, error) {
			return r.Composer.PasswordChanged(f.Language, notify.ChangedMail{Name: nameOf(f), Login: f.Login, ChangedAt: now, ClientIP: clientIP})
		})
}

// Unlock clears the lockout of a verified unlock flow's account, leaving its
// password as it is.
func (r *Reset) Unlock(ctx context.Context, token, clientIP string) (Status, error) {
	ctx = withStepUser(ctx)
	return r.act(ctx, token, clientIP, ActionUnlock, StateUnlocking, "unlock", "",
		func(ctx context.Context, d directory.Directory, u *directory.User) error {
			unlocker, ok := d.(directory.Unlocker)
			if !ok {
				return &directory.Error{Kind: directory.KindMisconfigured, Op: "unlock", Diagnostic: "directory " + d.Name() + " cannot unlock accounts"}
			}
			return unlocker.Unlock(ctx, u)
		},
		func(f *record.Flow, now time.Time) (notify.Mail, error) {
			return r.Composer.AccountUnlocked(f.Language, notify.ChangedMail{Name: nameOf(f), Login: f.Login, ChangedAt: now, ClientIP: clientIP})
		})
}

// act runs the directory action of a verified flow, so that a crash at any
// instant leaves nothing half-done:
//
//  1. Before anything is claimed it reads what the write needs: the
//     account's status (the guards, and the password-last-set time and lock
//     state that later tell whether the write happened) and where notices
//     go.
//  2. One transaction claims the flow (verified → working, so two
//     submissions cannot both act), records the intent (flow_acts) and the
//     audit event, and queues the notices held.
//  3. It writes to the directory.
//  4. One transaction records the outcome and its audit event, releases the
//     notices (success) or discards them, and forgets the intent.
//
// A process that dies between 2 and 4 leaves the intent behind;
// ResolveInterrupted asks the directory whether the write happened and
// finishes the flow (audit, notices) or hands it back to the person.
func (r *Reset) act(ctx context.Context, token, clientIP string, action Action, working State, event, newPassword string,
	do func(context.Context, directory.Directory, *directory.User) error,
	notice func(*record.Flow, time.Time) (notify.Mail, error),
) (Status, error) {
	f, err := r.stepFlow(ctx, token)
	if err == nil && (State(f.State) != StateVerified || f.Kind != string(action)) {
		err = refuse(CodeWrongState)
	}
	if err != nil {
		return Status{}, r.wrap(err)
	}

	// The directory work must not be cut off half-way by a client that went
	// away; the connector's own timeouts bound it.
	dirCtx := context.WithoutCancel(ctx)
	u := &directory.User{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login, DisplayName: f.DisplayName}
	found, findErr := r.stepUser(dirCtx, f)
	if found != nil {
		// Found afresh in this step: its status attributes stand in for
		// a status read (ldapdir.StatusMaxAge).
		u = found
	}
	var actErr error
	var refusal *Error
	var before *directory.AccountStatus
	refund := func() {}
	// The reset limit is taken in the claim's transaction when the
	// limiter can (TxTaker). Not when a password sync is configured: its
	// pre-hook, which runs before the claim, is handed the new password,
	// and a reset the limit refuses must not reach it.
	taker, takeInClaim := r.Limiter.(TxTaker)
	if r.Sync != nil && newPassword != "" {
		takeInClaim = false
	}
	d, ok := r.Directories.Directory(f.Directory)
	if !ok {
		actErr = &directory.Error{Kind: directory.KindMisconfigured, Op: event, Diagnostic: "directory " + f.Directory + " is no longer configured"}
	} else if directory.KindOf(findErr) == directory.KindNotFound {
		// Gone since identify, moved out of the directory's base DN, no
		// longer matching its user filter, or its login now names another
		// account: nothing is written, the flow ends.
		actErr = findErr
	} else if before, refusal = r.guard(dirCtx, d, u); refusal == nil && before != nil && before.Protected && len(f.FactorsDone) < PrivilegedMinimum {
		// Privileged now, with fewer factors than privileged accounts need
		// (its status could not be read, or it changed, since identify).
		refusal = &Error{Code: CodeProtectedAccount, Err: errors.New("privileged account verified with fewer than two factors")}
	} else if refusal == nil && !takeInClaim {
		var e *Error
		if refund, e = r.take(ctx, LimitReset, limitKey(f), clientIP, ""); e != nil {
			refusal = refuse(CodeTooManyResets)
		}
	}
	if refusal != nil || actErr != nil {
		return r.recordAct(dirCtx, f, action, event, clientIP, refusal, actErr)
	}
	// The person's entry, read once in this step (stepUser, shared with
	// the rules and the guards): where notices go, and what password sync
	// maps them by.
	user := found
	if user == nil {
		var err error
		if user, err = r.stepUser(dirCtx, f); err != nil || user == nil {
			r.log().Warn("looking the user up for notices failed", "err", err)
		}
	}
	var targets []noticeTarget
	if user != nil {
		na := NoticeReset
		if action == ActionUnlock {
			na = NoticeUnlock
		}
		targets = r.recipients(dirCtx, r.Catalogue, user, na)
	}
	syncing := r.Sync != nil && newPassword != "" && user != nil
	if syncing {
		if e := r.preHook(dirCtx, f, user, newPassword, clientIP); e != nil {
			refund()
			return r.statusOf(ctx, token), e
		}
	}

	// Claim, with the intent and the held notices. The notices are
	// composed and sealed first: every write queues for the one writer, so
	// its transaction should only insert.
	now := r.now()
	held, err := r.composeNotices(f, event, targets, notice, now)
	if err != nil {
		refund()
		return Status{}, r.wrap(err)
	}
	err = r.Store.InTx(dirCtx, func(tx *store.Tx) error {
		if takeInClaim {
			// A limiter that fails here fails the claim (its statement
			// ended the transaction on PostgreSQL): the store is what
			// failed, and the claim needs it as much.
			ok, _, err := taker.TakeIn(tx, LimitReset, limitKey(f), clientIP, "")
			if err != nil {
				return fmt.Errorf("abuse controls: %w", err)
			}
			if !ok {
				return errResetLimited // nothing of the claim is written
			}
		}
		f.UpdatedAt = now
		if err := moveTo(f, working); err != nil {
			return err
		}
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		intent := &record.Act{TokenHash: f.TokenHash, StartedAt: now, Instance: r.instance(), WasLocked: before != nil && before.Locked}
		if before != nil {
			intent.PasswordLastSet = before.PasswordLastSet
		}
		if err := tx.InsertFlowAct(intent); err != nil {
			return err
		}
		if err := holdNotices(tx, f, held); err != nil {
			return err
		}
		if syncing {
			if err := r.holdSync(ctx, tx, f, user, newPassword); err != nil {
				return err
			}
		}
		return r.Audit.Append(tx, r.event(f, event+"_submitted", clientIP, audit.Info, ""))
	})
	if errors.Is(err, errResetLimited) {
		return r.recordAct(dirCtx, f, action, event, clientIP, refuse(CodeTooManyResets), nil)
	}
	if err != nil {
		refund() // not claimed, nothing written
		return Status{}, r.wrap(err)
	}
	if takeInClaim {
		refund = r.refunder(ctx, LimitReset, limitKey(f), clientIP, "")
	}

	actErr = do(dirCtx, d, u)
	if directory.OutcomeUnknown(actErr) {
		// Whether the write happened is unknown (the connection to an
		// outbound-only connector died with it): as after a crash, the
		// intent stays for ResolveInterrupted, which asks the directory.
		r.log().Warn("a directory write's outcome is unknown; it will be settled", "flow", flowRef(f.TokenHash), "err", actErr)
		return Status{}, &Error{Code: CodeDirectoryDown, Err: actErr}
	}
	if actErr != nil {
		refund() // the directory made no change: only resets made count
	}
	return r.recordAct(dirCtx, f, action, event, clientIP, nil, actErr)
}

// stepUserKey keys the slot a step keeps its one fresh lookup in.
type stepUserKey struct{}

type stepUserSlot struct {
	token []byte
	user  *directory.User
	// flow is the step's flow as its first read found it (stepFlow): the
	// claim's optimistic update refuses it if it changed since.
	flowToken string
	flow      *record.Flow
}

// withStepUser gives ctx a slot for the person's entry, looked up once by
// the first part of the step that needs it (stepUser) and shared by the
// rest: the password step's rules, guards and notices made three directory
// requests for what one answers (issue 10).
func withStepUser(ctx context.Context) context.Context {
	return context.WithValue(ctx, stepUserKey{}, &stepUserSlot{})
}

// stepUser looks the flow's person up afresh, once per step with a slot
// (withStepUser), else every time.
func (r *Reset) stepUser(ctx context.Context, f *record.Flow) (*directory.User, error) {
	slot, _ := ctx.Value(stepUserKey{}).(*stepUserSlot)
	if slot != nil && slot.user != nil && string(slot.token) == string(f.TokenHash) {
		return slot.user, nil
	}
	u, err := r.reread(ctx, f)
	if err == nil && u != nil && slot != nil {
		slot.token, slot.user = f.TokenHash, u
	}
	return u, err
}

// stepFlow loads the flow by token, once per step with a slot
// (withStepUser): the password step's rules and its act share the read.
// Whatever is decided on it is written back by UpdateFlow, which refuses a
// flow that changed since it was read.
func (r *Reset) stepFlow(ctx context.Context, token string) (*record.Flow, error) {
	slot, _ := ctx.Value(stepUserKey{}).(*stepUserSlot)
	if slot != nil && slot.flow != nil && slot.flowToken == token {
		f := slot.flow
		slot.flow = nil // handed over: whoever changes it owns it
		return f, nil
	}
	var f *record.Flow
	err := r.readOne(ctx, func(tx *store.Tx) error {
		var err error
		f, err = r.load(tx, token)
		return err
	})
	if err != nil {
		return nil, err
	}
	if slot != nil {
		cp := *f
		slot.flowToken, slot.flow = token, &cp
	}
	return f, nil
}

// composeNotices composes and seals the notices of a successful write, to be
// held until the write's outcome is known: on every channel the person has,
// so a reset they did not make cannot go unnoticed.
func (r *Reset) composeNotices(f *record.Flow, event string, targets []noticeTarget,
	notice func(*record.Flow, time.Time) (notify.Mail, error), now time.Time) ([]*store.Message, error) {
	held := make([]*store.Message, 0, len(targets))
	for _, t := range targets {
		var m *store.Message
		var err error
		if t.role != "" {
			action := string(NoticeReset)
			if event == "unlock" {
				action = string(NoticeUnlock)
			}
			m, err = r.actionNotice(t, notify.NoticeMail{Action: action, Name: nameOf(f), Login: f.Login, At: now, ClientIP: f.ClientIP}, now)
		} else if t.channel == "sms" {
			m, err = r.newSMS(event+"_notice", t.to, r.Composer.SMSNotice(f.Language, event, f.Login, now), now)
		} else {
			var mail notify.Mail
			if mail, err = notice(f, now); err == nil {
				m, err = r.newMail(event+"_notice", t.to, mail, now)
			}
		}
		if err == nil {
			err = r.seal(m)
		}
		if err != nil {
			return nil, err
		}
		m.NextAttemptAt = heldUntil
		held = append(held, m)
	}
	return held, nil
}

// holdNotices queues composed notices (composeNotices), held for the flow.
func holdNotices(tx *store.Tx, f *record.Flow, held []*store.Message) error {
	for _, m := range held {
		if err := tx.EnqueueMessage(m); err != nil {
			return err
		}
		if err := tx.HoldMessage(m.ID, f.TokenHash); err != nil {
			return err
		}
	}
	return nil
}

// heldUntil is the due time of a held message: never, until released.
var heldUntil = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// recordAct records the outcome of a flow's directory action in one
// transaction: the flow's new state, the audit event, the held notices
// released (success) or discarded, the intent forgotten.
func (r *Reset) recordAct(ctx context.Context, f *record.Flow, action Action, event, clientIP string, refusal *Error, actErr error) (Status, error) {
	var st Status
	var stepErr *Error
	var logged audit.Event
	released := int64(0)
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		now := r.now()
		f.UpdatedAt = now
		var ev audit.Event
		var next State
		switch kind := directory.KindOf(actErr); {
		case refusal != nil && refusal.Code == CodeDirectoryDown:
			// The guard could not read the account: nothing was written,
			// and the person may try again.
			next, stepErr = StateVerified, refusal
			ev = r.event(f, event, clientIP, audit.Failure, "directory_unavailable")
		case refusal != nil && refusal.Code == CodeTooManyResets:
			next, stepErr = StateFailed, refusal
			ev = limitedEvent(r.event(f, event, clientIP, audit.Denied, ""), LimitReset, refusal, false)
		case refusal != nil:
			next, stepErr = StateFailed, refusal
			ev = r.event(f, event, clientIP, audit.Denied, string(refusal.Code))
		case actErr == nil:
			var err error
			if ev, released, err = r.completeAct(tx, f, action, event, clientIP, now); err != nil {
				return err
			}
			next = StateDone
		case kind == directory.KindPolicyViolation:
			var de *directory.Error
			errors.As(actErr, &de)
			f.PasswordAttempts++
			next = StateVerified
			stepErr = &Error{Code: CodePasswordRefused, Reasons: de.Reasons, MinLength: de.MinLength, Err: actErr}
			if f.PasswordAttempts >= r.Settings.MaxPasswordAttempts {
				next = StateFailed
				stepErr = &Error{Code: CodeTooManyAttempts, Err: actErr}
			}
			ev = r.event(f, event, clientIP, audit.Failure, "policy_violation")
			ev.Detail = map[string]any{"reasons": reasonNames(de.Reasons)}
		case kind == directory.KindUnavailable:
			next = StateVerified
			stepErr = &Error{Code: CodeDirectoryDown, Err: actErr}
			ev = r.event(f, event, clientIP, audit.Failure, "directory_unavailable")
		case kind == directory.KindDisabled:
			next, stepErr = StateFailed, &Error{Code: CodeAccountDisabled, Err: actErr}
			ev = r.event(f, event, clientIP, audit.Denied, "account_disabled")
		default:
			next = StateFailed
			stepErr = &Error{Code: CodeResetNotPermitted, Err: actErr}
			ev = r.event(f, event, clientIP, audit.Failure, "directory_"+kind.String())
			r.log().Error("the directory refused a self-service action", "action", action, "directory", f.Directory, "subject", f.SubjectDN, "err", actErr)
		}
		if err := moveTo(f, next); err != nil {
			return err
		}
		if actErr != nil || refusal != nil {
			if _, err := tx.DiscardHeldMessages(f.TokenHash); err != nil {
				return err
			}
		}
		if err := tx.DeleteFlowAct(f.TokenHash); err != nil {
			return err
		}
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		st = r.status(f)
		// Without a sync planner this act planned no sync message, so
		// there is nothing to read (a query per reset saved).
		if next == StateDone && r.Sync != nil {
			var err error
			if st.Sync, err = r.syncOutcomes(tx, f); err != nil {
				return err
			}
		}
		logged = ev
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return Status{}, r.wrap(err)
	}
	r.logOutcome(logged)
	if released > 0 {
		r.enqueued()
	}
	if stepErr != nil {
		return st, stepErr
	}
	return st, nil
}

// completeAct records a write that happened, inside tx (the caller moves
// the flow to done): its notices go out, and (for a new password) the account's other flows
// and sessions end. It returns the audit event and how many notices it
// released.
func (r *Reset) completeAct(tx *store.Tx, f *record.Flow, action Action, event, clientIP string, now time.Time) (audit.Event, int64, error) {
	ev := r.event(f, event, clientIP, audit.Success, "")
	ev.Detail = map[string]any{"factors": f.FactorsDone}
	released, err := tx.ReleaseHeldMessages(f.TokenHash, now)
	if err != nil {
		return ev, 0, err
	}
	ev.Detail["notices"] = released
	if action == ActionReset {
		// The password changed: no other flow of the account may set it
		// again, and sessions signed in with the old one end.
		flows, sessions, err := retireAccount(tx, f.Directory, f.SubjectDN, f.TokenHash, now)
		if err != nil {
			return ev, 0, err
		}
		ev.Detail["retired_flows"], ev.Detail["retired_sessions"] = flows, sessions
	}
	return ev, released, nil
}

// guard refuses accounts self-service must not touch: disabled ones (a reset
// must not look like it re-enables them) and privileged ones where the
// configuration does not allow them. Directories that cannot report status
// are not guarded here; they still refuse what they refuse. A status that
// cannot be read refuses (CodeDirectoryDown): the guards fail closed.
func (r *Reset) guard(ctx context.Context, d directory.Directory, u *directory.User) (*directory.AccountStatus, *Error) {
	sr, ok := d.(directory.StatusReader)
	if !ok {
		return nil, nil
	}
	st, err := sr.AccountStatus(ctx, u)
	if err != nil || st == nil {
		// Unknown status: the account may be disabled or privileged, so
		// nothing is written. The flow stays verified and the person may
		// try again once the directory answers.
		r.log().Warn("reading the account status failed; refusing until it can be read", "directory", d.Name(), "subject", u.DN, "err", err)
		return nil, &Error{Code: CodeDirectoryDown, Err: err}
	}
	switch {
	case st.Disabled:
		return st, &Error{Code: CodeAccountDisabled}
	case st.Protected && !r.Settings.AllowProtected[d.Name()]:
		return st, &Error{Code: CodeProtectedAccount, Err: errors.New(st.ProtectedReason)}
	}
	return st, nil
}

// noticeTarget is one channel a notice goes to; role is empty for the
// person's own channels, else who the recipient is (notices.go).
type noticeTarget struct{ channel, to, role string }

// noticeTargets lists every channel user can be reached at: the
// directory's mail and every enrolled email and SMS destination.
func (c *Catalogue) noticeTargets(ctx context.Context, k *Kit, user *directory.User) []noticeTarget {
	seen := map[string]bool{}
	var out []noticeTarget
	add := func(channel, to string) {
		if to != "" && !seen[channel+":"+to] {
			seen[channel+":"+to] = true
			out = append(out, noticeTarget{channel: channel, to: to})
		}
	}
	add("email", user.Email)
	es, err := c.enrollmentsOf(ctx, k, user)
	if err != nil {
		k.log().Warn("reading enrollments for notices failed", "err", err)
	}
	for _, e := range es {
		switch e.Kind {
		case factor.Email:
			add("email", string(e.Secret))
		case factor.SMS:
			add("sms", string(e.Secret))
		}
	}
	return out
}

// reread reads a verified flow's person afresh for the password step: by
// the DN identify found where the connector can (directory.Refresher, one
// base read instead of the login filter's search; Samba spent about 1.5 ms
// less on it, issue 10), else by login again (user). Only verified flows
// come here, so no stranger can time the difference between the two.
func (r *Reset) reread(ctx context.Context, f *record.Flow) (*directory.User, error) {
	if !f.Known {
		return nil, nil
	}
	d, ok := r.Directories.Directory(f.Directory)
	rf, refreshes := d.(directory.Refresher)
	if !ok || !refreshes {
		return r.user(ctx, f)
	}
	u, err := rf.Refresh(ctx, &directory.User{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login, Note: f.DirectoryNote})
	if err != nil {
		return nil, err
	}
	if u.Directory == "" {
		u.Directory = f.Directory
	}
	if !strings.EqualFold(u.DN, f.SubjectDN) || u.Directory != f.Directory {
		return nil, errAccountChanged
	}
	return u, nil
}
