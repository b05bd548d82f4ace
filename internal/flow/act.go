package flow

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

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
	if e := r.checkRules(ctx, token, password, clientIP); e != nil {
		return r.statusOf(ctx, token), e
	}
	return r.act(ctx, token, clientIP, ActionReset, StateResetting, "password",
		func(ctx context.Context, d directory.Directory, u *directory.User) error {
			resetter, ok := d.(directory.PasswordResetter)
			if !ok {
				return &directory.Error{Kind: directory.KindMisconfigured, Op: "reset", Diagnostic: "directory " + d.Name() + " cannot reset passwords"}
			}
			return resetter.ResetPassword(ctx, u, password)
		},
		func(f *store.Flow, now time.Time) (notify.Mail, error) {
			return r.Composer.PasswordChanged(f.Language, notify.ChangedMail{Name: nameOf(f), Login: f.Login, ChangedAt: now, ClientIP: clientIP})
		})
}

// Unlock clears the lockout of a verified unlock flow's account, leaving its
// password as it is.
func (r *Reset) Unlock(ctx context.Context, token, clientIP string) (Status, error) {
	return r.act(ctx, token, clientIP, ActionUnlock, StateUnlocking, "unlock",
		func(ctx context.Context, d directory.Directory, u *directory.User) error {
			unlocker, ok := d.(directory.Unlocker)
			if !ok {
				return &directory.Error{Kind: directory.KindMisconfigured, Op: "unlock", Diagnostic: "directory " + d.Name() + " cannot unlock accounts"}
			}
			return unlocker.Unlock(ctx, u)
		},
		func(f *store.Flow, now time.Time) (notify.Mail, error) {
			return r.Composer.AccountUnlocked(f.Language, notify.ChangedMail{Name: nameOf(f), Login: f.Login, ChangedAt: now, ClientIP: clientIP})
		})
}

// act runs the directory action of a verified flow: it claims the flow
// (verified → working) so two submissions cannot both act, checks that the
// account may use self-service, acts, and records the outcome, the audit
// event and the notice in one transaction.
func (r *Reset) act(ctx context.Context, token, clientIP string, action Action, working State, event string,
	do func(context.Context, directory.Directory, *directory.User) error,
	notice func(*store.Flow, time.Time) (notify.Mail, error),
) (Status, error) {
	var f *store.Flow
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if f, err = r.load(tx, token); err != nil {
			return err
		}
		if State(f.State) != StateVerified || f.Kind != string(action) {
			return refuse(CodeWrongState)
		}
		f.State, f.UpdatedAt = string(working), r.now()
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		return r.Audit.Append(tx, r.event(f, event+"_submitted", clientIP, audit.Info, ""))
	})
	if err != nil {
		return Status{}, r.wrap(err)
	}

	// The directory write must not be cut off half-way by a client that
	// went away; the connector's own timeouts bound it.
	dirCtx := context.WithoutCancel(ctx)
	u := &directory.User{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login, DisplayName: f.DisplayName}
	var actErr error
	var refusal *Error
	d, ok := r.Directories.Directory(f.Directory)
	if !ok {
		actErr = &directory.Error{Kind: directory.KindMisconfigured, Op: event, Diagnostic: "directory " + f.Directory + " is no longer configured"}
	} else if refusal = r.guard(dirCtx, d, u); refusal == nil {
		if refund, e := r.take(ctx, LimitReset, limitKey(f), clientIP, ""); e != nil {
			refusal = refuse(CodeTooManyResets)
		} else if actErr = do(dirCtx, d, u); actErr != nil {
			refund() // the directory made no change: only resets made count
		}
	}
	var targets []noticeTarget
	if refusal == nil && actErr == nil {
		targets = r.noticeTargets(dirCtx, f)
	}

	var st Status
	var stepErr *Error
	sent := false
	err = r.Store.InTx(dirCtx, func(tx *store.Tx) error {
		now := r.now()
		f.UpdatedAt = now
		var ev audit.Event
		switch kind := directory.KindOf(actErr); {
		case refusal != nil:
			f.State, stepErr = string(StateFailed), refusal
			ev = r.event(f, event, clientIP, audit.Denied, string(refusal.Code))
		case actErr == nil:
			f.State = string(StateDone)
			ev = r.event(f, event, clientIP, audit.Success, "")
			ev.Detail = map[string]any{"factors": f.FactorsDone}
			// Tell the person on every channel they have, so a reset they
			// did not make cannot go unnoticed.
			for _, t := range targets {
				var err error
				if t.channel == "sms" {
					err = r.enqueueSMS(tx, event+"_notice", t.to, r.Composer.SMSNotice(f.Language, event, f.Login, now), now)
				} else {
					var m notify.Mail
					if m, err = notice(f, now); err == nil {
						err = r.enqueueMail(tx, event+"_notice", t.to, m, now)
					}
				}
				if err != nil {
					return err
				}
				sent = true
			}
		case kind == directory.KindPolicyViolation:
			var de *directory.Error
			errors.As(actErr, &de)
			f.PasswordAttempts++
			f.State = string(StateVerified)
			stepErr = &Error{Code: CodePasswordRefused, Reasons: de.Reasons, MinLength: de.MinLength, Err: actErr}
			if f.PasswordAttempts >= r.Settings.MaxPasswordAttempts {
				f.State = string(StateFailed)
				stepErr = &Error{Code: CodeTooManyAttempts, Err: actErr}
			}
			ev = r.event(f, event, clientIP, audit.Failure, "policy_violation")
			ev.Detail = map[string]any{"reasons": reasonNames(de.Reasons)}
		case kind == directory.KindUnavailable:
			f.State = string(StateVerified)
			stepErr = &Error{Code: CodeDirectoryDown, Err: actErr}
			ev = r.event(f, event, clientIP, audit.Failure, "directory_unavailable")
		case kind == directory.KindDisabled:
			f.State, stepErr = string(StateFailed), &Error{Code: CodeAccountDisabled, Err: actErr}
			ev = r.event(f, event, clientIP, audit.Denied, "account_disabled")
		default:
			f.State = string(StateFailed)
			stepErr = &Error{Code: CodeResetNotPermitted, Err: actErr}
			ev = r.event(f, event, clientIP, audit.Failure, "directory_"+kind.String())
			r.log().Error("the directory refused a self-service action", "action", action, "directory", f.Directory, "subject", f.SubjectDN, "err", actErr)
		}
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		st = r.status(f)
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return Status{}, r.wrap(err)
	}
	if sent {
		r.enqueued()
	}
	if stepErr != nil {
		return st, stepErr
	}
	return st, nil
}

// guard refuses accounts self-service must not touch: disabled ones (a reset
// must not look like it re-enables them) and privileged ones where the
// configuration does not allow them. Directories that cannot report status
// are not guarded here; they still refuse what they refuse.
func (r *Reset) guard(ctx context.Context, d directory.Directory, u *directory.User) *Error {
	sr, ok := d.(directory.StatusReader)
	if !ok {
		return nil
	}
	st, err := sr.AccountStatus(ctx, u)
	if err != nil {
		// An unreadable status is not a reason to refuse; the action itself
		// fails if the directory is really down.
		r.log().Warn("reading the account status failed", "directory", d.Name(), "subject", u.DN, "err", err)
		return nil
	}
	switch {
	case st.Disabled:
		return &Error{Code: CodeAccountDisabled}
	case st.Protected && !r.Settings.AllowProtected[d.Name()]:
		return &Error{Code: CodeProtectedAccount, Err: errors.New(st.ProtectedReason)}
	}
	return nil
}

// noticeTarget is one channel a notice goes to.
type noticeTarget struct{ channel, to string }

// noticeTargets lists every address and number the person can be reached
// at: the directory's mail and every enrolled email and SMS destination.
func (r *Reset) noticeTargets(ctx context.Context, f *store.Flow) []noticeTarget {
	user, err := r.user(ctx, f)
	if err != nil || user == nil {
		r.log().Warn("looking the user up for notices failed", "err", err)
		return nil
	}
	seen := map[string]bool{}
	var out []noticeTarget
	add := func(channel, to string) {
		if to != "" && !seen[channel+":"+to] {
			seen[channel+":"+to] = true
			out = append(out, noticeTarget{channel, to})
		}
	}
	add("email", user.Email)
	es, err := r.enrollments(ctx, f, user)
	if err != nil {
		r.log().Warn("reading enrollments for notices failed", "err", err)
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
