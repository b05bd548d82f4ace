package flow

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/policy"
	"github.com/sspr/sspr/internal/store"
)

// Change lets a person who knows their password choose a new one. It is a
// single step: the old password is the proof of identity, checked by the
// directory itself (bound as the user), so the directory's lockout counts
// every wrong guess.
type Change struct {
	// Kit is the shared equipment (store, directories, messages, audit,
	// limits per client address and per account, clock, padding).
	*Kit
	// MinDuration pads every answer, so an unknown login cannot be told
	// from a wrong password by timing.
	MinDuration time.Duration
	// Rules are sspr's own password rules; nil leaves it to the directory.
	Rules PasswordRules
	// Policies may switch password change off for a population (asked
	// only once the old password is proven; policy.go); nil allows it.
	Policies *policy.Set
	// Access is conditional access: its rules for everybody may refuse a
	// change (a denied country, outside hours), decided before the
	// directory is asked, so the same for every login; AccessContact
	// (the help desk) follows the refusal's message. nil decides nothing.
	Access        *access.Set
	AccessContact string
}

// ChangeInput is what the change step receives.
type ChangeInput struct {
	Login       string
	OldPassword string
	NewPassword string
	Confirm     string
	ClientIP    string
	Language    string
}

// Change changes the password. An unknown login, a wrong old password, a
// locked account and a refusal by the abuse controls about the account all
// give the same CodeCredentialsWrong; a refused new password (which the
// directory only checks once the old one was right) gives
// CodePasswordRefused with the directory's rules. Too many requests from
// one client address give CodeRateLimited (it says nothing about accounts).
//
// Guesses are limited like enrollment sign-ins (per client address and per
// account, counted together with them: both check a directory password),
// and only a wrong old password or an unknown login counts as one.
func (c *Change) Change(ctx context.Context, in ChangeInput) error {
	began := c.mono()
	defer c.padTo(ctx, began, c.MinDuration, "identify_min_duration")

	login := strings.TrimSpace(in.Login)
	if login == "" {
		return refuse(CodeLoginRequired)
	}
	if in.OldPassword == "" {
		return refuse(CodeCredentialsWrong)
	}
	if e := checkNewPassword(in.NewPassword, in.Confirm); e != nil {
		return e
	}
	// Only rules that hold for everyone are checked before the old password
	// is: anything account-specific would tell a stranger the account exists.
	if c.Rules != nil {
		checker, err := c.Rules.For(nil)
		if err != nil {
			return &Error{Code: CodeInternal, Err: err}
		}
		if res := checker.Check(ctx, in.NewPassword, password.ContextFromNames(login, "")); !res.OK {
			var failed []password.Check
			for _, ch := range res.Checks {
				if !ch.Passed && !ch.Optional {
					failed = append(failed, ch)
				}
			}
			return &Error{Code: CodePasswordRefused, Checks: failed}
		}
	}
	base := audit.Event{Event: "change.password", Actor: c.typedActor(login), ClientIP: in.ClientIP}
	// Too many requests from this address: said plainly, as on identify.
	if fe := c.limit(ctx, LimitIdentify, "", in.ClientIP, ""); fe != nil {
		c.recordLimited(ctx, base, LimitIdentify, fe, false)
		return fe
	}
	if fe := c.refusedForEverybody(ctx, c.Access, c.AccessContact, "change.password", login, in.ClientIP); fe != nil {
		return fe
	}

	user, err := c.Directories.FindUser(ctx, login)
	known := err == nil
	cannotChange := false
	switch kind := directory.KindOf(err); {
	case known:
		base.Actor, base.Subject, base.Directory = user.Login, user.DN, user.Directory
	case kind == directory.KindNotFound, kind == directory.KindAmbiguous:
		user = &directory.User{Login: login}
	case !c.outageRefuses(false):
		// One directory of several is down and the others did not know
		// the login: a login they knew would go on, so this one goes on
		// as an unknown login (as identify does).
		c.log().Error("looking up a user failed in a directory; going on as for an unknown login", "err", err)
		user = &directory.User{Login: login}
	default:
		c.log().Error("looking up a user failed", "err", err)
		return &Error{Code: CodeDirectoryDown, Err: err}
	}
	key := passwordGuessKey(user, login)
	refund, fe := c.take(ctx, LimitVerify, key, in.ClientIP, "") // kept for a wrong password only
	if fe != nil {
		// Quietly: the same answer as a wrong password, the directory is
		// not asked.
		c.recordLimited(ctx, base, LimitVerify, fe, true)
		return refuse(CodeCredentialsWrong)
	}
	var changeErr error
	switch {
	case !known:
		changeErr = directory.ErrInvalidCredentials
	default:
		d, ok := c.Directories.Directory(user.Directory)
		changer, can := d.(directory.PasswordChanger)
		switch {
		case !ok || !can:
			// The directory cannot change a password with the old one
			// (Entra ID with client credentials): answered like an unknown
			// login, since anything else would tell a stranger the account
			// exists; the audit log and the log say why.
			changeErr = directory.ErrInvalidCredentials
			cannotChange = true
			c.log().Warn("a password change was asked of a directory that cannot change passwords", "directory", user.Directory)
		case c.wouldLock(ctx, user):
			// One more wrong password would lock the account: refuse as for
			// a wrong password, without asking the directory, and say so to
			// the operators: somebody may be guessing.
			c.lockoutGuard(ctx, base, key, in.ClientIP)
			return refuse(CodeCredentialsWrong)
		default:
			fe, proven := c.policyCheck(ctx, d, user, in.OldPassword, base)
			if fe != nil {
				refund() // the old password was right, or nobody's fault
				return fe
			}
			if proven != nil {
				changeErr = proven // a wrong old password, answered as ever
				break
			}
			changeErr = changer.ChangePassword(context.WithoutCancel(ctx), user, in.OldPassword, in.NewPassword)
		}
	}

	now := c.now()
	var result *Error
	ev := base
	ev.At = now
	var notice *notify.Mail
	var targets []noticeTarget
	switch kind := directory.KindOf(changeErr); {
	case changeErr == nil:
		refund()
		ev.Outcome = audit.Success
		targets = c.recipients(ctx, nil, user, NoticeChange)
		if len(targets) > 0 {
			m, err := c.Composer.PasswordChanged(in.Language, notify.ChangedMail{Name: firstNonEmpty(user.DisplayName, user.Login), Login: user.Login, ChangedAt: now, ClientIP: in.ClientIP})
			if err != nil {
				return &Error{Code: CodeInternal, Err: err}
			}
			notice = &m
		}
	case kind == directory.KindPolicyViolation:
		refund() // the old password was right
		var de *directory.Error
		errors.As(changeErr, &de)
		result = &Error{Code: CodePasswordRefused, Reasons: de.Reasons, MinLength: de.MinLength, Err: changeErr}
		ev.Outcome, ev.Reason, ev.Detail = audit.Failure, "policy_violation", map[string]any{"reasons": reasonNames(de.Reasons)}
	case kind == directory.KindInvalidCredentials, kind == directory.KindLocked, kind == directory.KindDisabled,
		kind == directory.KindAccountExpired:
		// The same answer for each: telling them apart would tell a
		// stranger which logins exist and which are locked.
		result = &Error{Code: CodeCredentialsWrong, Err: changeErr}
		ev.Outcome, ev.Reason = audit.Failure, kind.String()
		if !known {
			ev.Reason = "unknown_login"
		}
		if cannotChange {
			ev.Reason = "directory_cannot_change"
		}
		// Only a wrong password (or a login that is nobody's) is a failed
		// guess; a locked or disabled account says nothing about the
		// password typed.
		if kind != directory.KindInvalidCredentials {
			refund()
		}
	case kind == directory.KindUnavailable:
		refund()
		result = &Error{Code: CodeDirectoryDown, Err: changeErr}
		ev.Outcome, ev.Reason = audit.Failure, "directory_unavailable"
	default:
		refund()
		result = &Error{Code: CodeResetNotPermitted, Err: changeErr}
		ev.Outcome, ev.Reason = audit.Failure, "directory_"+kind.String()
		c.log().Error("the directory refused a password change", "directory", user.Directory, "subject", user.DN, "err", changeErr)
	}
	synced := 0
	err = c.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		for _, t := range targets {
			if t.role == "" {
				if err := c.enqueueMail(tx, "password_notice", t.to, *notice, now); err != nil {
					return err
				}
				continue
			}
			m, err := c.actionNotice(t, notify.NoticeMail{Action: string(NoticeChange), Name: firstNonEmpty(user.DisplayName, user.Login),
				Login: user.Login, At: now, ClientIP: in.ClientIP}, now)
			if err != nil {
				return err
			}
			if err := c.enqueue(tx, m); err != nil {
				return err
			}
		}
		if changeErr == nil {
			// The password changed: recovery flows and enrollment sessions
			// begun before no longer stand.
			flows, sessions, err := retireAccount(tx, user.Directory, user.DN, nil, now)
			if err != nil {
				return err
			}
			ev.Detail = map[string]any{"retired_flows": flows, "retired_sessions": sessions}
			// The directory took the password: it goes on to the other
			// places the person signs in to. (Pre-hooks run for resets
			// only: here the old password is known to be right only once
			// the directory has changed it.)
			if c.Sync != nil {
				n, err := c.enqueueSync(ctx, tx, user, in.NewPassword)
				if err != nil {
					return err
				}
				synced = n
				ev.Detail["sync_targets"] = n
			}
		}
		return c.Audit.Append(tx, ev)
	})
	if err != nil {
		return &Error{Code: CodeInternal, Err: err}
	}
	c.logOutcome(ev)
	if (notice != nil || synced > 0) && c.Enqueued != nil {
		c.Enqueued()
	}
	if result != nil {
		return result
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
