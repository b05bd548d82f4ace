package flow

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/store"
)

// Change lets a person who knows their password choose a new one. It is a
// single step: the old password is the proof of identity, checked by the
// directory itself (bound as the user), so the directory's lockout counts
// every wrong guess.
type Change struct {
	Store       Store
	Directories Directories
	Composer    Composer
	MailFrom    string
	Log         *slog.Logger
	Now         func() time.Time
	// MinDuration pads every answer, so an unknown login cannot be told
	// from a wrong password by timing.
	MinDuration time.Duration
	Enqueued    func()
	Audit       *audit.Chain
	// Rules are sspr's own password rules; nil leaves it to the directory.
	Rules PasswordRules
	// Sealer seals the notices in the outbox.
	Sealer Sealer
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

// Change changes the password. An unknown login, a wrong old password and a
// locked account all give the same CodeCredentialsWrong; a refused new
// password (which the directory only checks once the old one was right)
// gives CodePasswordRefused with the directory's rules.
func (c *Change) Change(ctx context.Context, in ChangeInput) error {
	began := time.Now()
	// The reset flow's helpers (clock, padding, outbox) serve here too.
	helper := &Reset{Store: c.Store, Log: c.Log, Now: c.Now, MailFrom: c.MailFrom, Sealer: c.Sealer, Settings: Settings{IdentifyMinDuration: c.MinDuration}}
	defer helper.pad(ctx, began)

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
	user, err := c.Directories.FindUser(ctx, login)
	var changeErr error
	switch {
	case err == nil:
		d, ok := c.Directories.Directory(user.Directory)
		changer, can := d.(directory.PasswordChanger)
		if !ok || !can {
			changeErr = &directory.Error{Kind: directory.KindMisconfigured, Op: "change", Diagnostic: "directory " + user.Directory + " cannot change passwords"}
		} else if helper.Directories = c.Directories; helper.wouldLock(ctx, user) {
			// One more wrong password would lock the account: refuse as for
			// a wrong password, without asking the directory.
			changeErr = directory.ErrInvalidCredentials
		} else {
			changeErr = changer.ChangePassword(context.WithoutCancel(ctx), user, in.OldPassword, in.NewPassword)
		}
	case directory.KindOf(err) == directory.KindNotFound, directory.KindOf(err) == directory.KindAmbiguous:
		changeErr = directory.ErrInvalidCredentials
		user = &directory.User{Login: login}
	default:
		return &Error{Code: CodeDirectoryDown, Err: err}
	}

	now := helper.now()
	var result *Error
	ev := audit.Event{At: now, Event: "change.password", Actor: login, Subject: user.DN, Directory: user.Directory, ClientIP: in.ClientIP}
	var notice *notify.Mail
	switch kind := directory.KindOf(changeErr); {
	case changeErr == nil:
		ev.Outcome = audit.Success
		if user.Email != "" {
			m, err := c.Composer.PasswordChanged(in.Language, notify.ChangedMail{Name: firstNonEmpty(user.DisplayName, user.Login), Login: user.Login, ChangedAt: now, ClientIP: in.ClientIP})
			if err != nil {
				return &Error{Code: CodeInternal, Err: err}
			}
			notice = &m
		}
	case kind == directory.KindPolicyViolation:
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
		if err != nil {
			ev.Reason = "unknown_login"
		}
	case kind == directory.KindUnavailable:
		result = &Error{Code: CodeDirectoryDown, Err: changeErr}
		ev.Outcome, ev.Reason = audit.Failure, "directory_unavailable"
	default:
		result = &Error{Code: CodeResetNotPermitted, Err: changeErr}
		ev.Outcome, ev.Reason = audit.Failure, "directory_"+kind.String()
		helper.log().Error("the directory refused a password change", "directory", user.Directory, "subject", user.DN, "err", changeErr)
	}
	err = c.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if notice != nil {
			if err := helper.enqueueMail(tx, "password_notice", user.Email, *notice, now); err != nil {
				return err
			}
		}
		return c.Audit.Append(tx, ev)
	})
	if err != nil {
		return &Error{Code: CodeInternal, Err: err}
	}
	if notice != nil && c.Enqueued != nil {
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
