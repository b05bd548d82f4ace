package flow

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/store"
)

// State is where a flow stands.
type State string

// The states of the reset flow (see the package documentation's diagram).
const (
	StateCodeSent  State = "code_sent"
	StateVerified  State = "verified"
	StateResetting State = "resetting"
	StateDone      State = "done"
	StateFailed    State = "failed"
)

// Action is what a verified recovery flow is for.
type Action string

// The actions a recovery flow can end in.
const (
	// ActionReset sets a new password.
	ActionReset Action = "reset"
	// ActionUnlock clears a lockout and leaves the password as it is.
	ActionUnlock Action = "unlock"
)

// StateUnlocking is the unlock flow's counterpart of StateResetting.
const StateUnlocking State = "unlocking"

// Settings are the reset flow's rules.
type Settings struct {
	CodeLength          int
	CodeTTL             time.Duration
	MaxCodeAttempts     int
	MaxCodesSent        int
	FlowTTL             time.Duration
	IdentifyMinDuration time.Duration
	MaxPasswordAttempts int
	// ContinueURL is where a mailed code is typed in, built from the
	// configured base URL (never from a request's Host header).
	ContinueURL string
	// AllowProtected names the directories where privileged (protected)
	// accounts may use self-service; everywhere else they are refused and
	// sent to the help desk.
	AllowProtected map[string]bool
}

// Directories finds users across the configured directories.
type Directories interface {
	FindUser(ctx context.Context, login string) (*directory.User, error)
	Directory(name string) (directory.Directory, bool)
}

// Composer renders the mails the flow sends.
type Composer interface {
	ResetCode(lang string, d notify.CodeMail) (notify.Mail, error)
	PasswordChanged(lang string, d notify.ChangedMail) (notify.Mail, error)
	AccountUnlocked(lang string, d notify.ChangedMail) (notify.Mail, error)
}

// Store runs a step's writes in one transaction.
type Store interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Reset runs password reset flows.
type Reset struct {
	Store       Store
	Directories Directories
	Composer    Composer
	Settings    Settings
	// HMACKey keys the HMAC codes are stored as.
	HMACKey []byte
	// MailFrom is used to build Message-IDs.
	MailFrom string
	Log      *slog.Logger
	// Now is the clock for expiries (injected in tests).
	Now func() time.Time
	// Rand is the source of tokens and codes: crypto/rand unless a test
	// injects another.
	Rand io.Reader
	// Sleep pads the identify step; real time, so tests can observe padding.
	Sleep func(ctx context.Context, d time.Duration)
	// Enqueued is called after a step committed a message, to wake the
	// outbox worker.
	Enqueued func()
	// Audit is the keyed audit chain every step appends to.
	Audit *audit.Chain
	// Rules are sspr's own password rules, checked before the directory is
	// asked; nil leaves it all to the directory.
	Rules PasswordRules
}

// PasswordRules checks new passwords (password.Rules).
type PasswordRules interface {
	For(d *password.DirectoryPolicy) (*password.Checker, error)
}

// Status is what a face may show about a flow. It is identical for real and
// decoy flows in every field.
type Status struct {
	Action        Action    `json:"action"`
	State         State     `json:"state"`
	ExpiresAt     time.Time `json:"expires_at"`
	CodeLength    int       `json:"code_length"`
	CodeExpiresAt time.Time `json:"code_expires_at"`
	AttemptsLeft  int       `json:"attempts_left"`
}

// StartInput is what the identify step receives.
type StartInput struct {
	// Action defaults to ActionReset.
	Action   Action
	Login    string
	ClientIP string
	Language string
}

func (r *Reset) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Reset) rand() io.Reader {
	if r.Rand != nil {
		return r.Rand
	}
	return rand.Reader
}

func (r *Reset) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// Start is the identify step. It returns a token that addresses the new flow.
// Known and unknown logins get the same Status, take the same time, and
// only a known login with a mail address gets a code.
func (r *Reset) Start(ctx context.Context, in StartInput) (token string, st Status, err error) {
	began := time.Now()
	defer func() { r.pad(ctx, began) }()

	login := strings.TrimSpace(in.Login)
	switch in.Action {
	case "":
		in.Action = ActionReset
	case ActionReset, ActionUnlock:
	default:
		return "", Status{}, refuse(CodeWrongState)
	}
	if login == "" {
		return "", Status{}, refuse(CodeLoginRequired)
	}
	if len(login) > 256 || !utf8.ValidString(login) {
		login = "" // cannot exist anywhere: walk the decoy path
	}
	tokenBytes := make([]byte, 32)
	if _, err := io.ReadFull(r.rand(), tokenBytes); err != nil {
		return "", Status{}, &Error{Code: CodeInternal, Err: err}
	}
	token = base64.RawURLEncoding.EncodeToString(tokenBytes)
	tokenHash := hashToken(token)

	var user *directory.User
	outcome := "code_sent"
	if login != "" {
		user, err = r.Directories.FindUser(ctx, login)
	} else {
		err = directory.ErrNotFound
	}
	switch kind := directory.KindOf(err); {
	case err == nil && user.Email == "":
		outcome, user = "no_mail", nil
	case err == nil:
	case kind == directory.KindNotFound:
		outcome = "unknown_login"
	case kind == directory.KindAmbiguous:
		outcome = "ambiguous_login"
	default:
		// The directory is down (or misconfigured): that says nothing about
		// the login, so it may be told plainly.
		r.log().Error("reset: looking up a user failed", "err", err)
		_ = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			return r.Audit.Append(tx, audit.Event{At: r.now(), Event: string(in.Action) + ".identify", Actor: login, ClientIP: in.ClientIP,
				Outcome: audit.Failure, Reason: "directory_" + kind.String()})
		})
		return "", Status{}, &Error{Code: CodeDirectoryDown, Err: err}
	}

	now := r.now()
	code, err := r.newCode()
	if err != nil {
		return "", Status{}, &Error{Code: CodeInternal, Err: err}
	}
	f := &store.Flow{
		TokenHash: tokenHash, Kind: string(in.Action), State: string(StateCodeSent), Login: login,
		Language: in.Language, ClientIP: in.ClientIP, CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(r.Settings.FlowTTL), CodeExpiresAt: now.Add(r.Settings.CodeTTL), CodesSent: 1,
		CodeHMAC: r.codeMAC(tokenHash, code),
	}
	if user != nil {
		f.Known, f.Directory, f.SubjectDN, f.Login, f.DisplayName, f.Email = true, user.Directory, user.DN, user.Login, user.DisplayName, user.Email
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertFlow(f); err != nil {
			return err
		}
		if f.Known {
			if err := r.enqueueCode(tx, f, code, now); err != nil {
				return err
			}
		}
		return r.Audit.Append(tx, audit.Event{At: now, Event: f.Kind + ".identify", Flow: flowRef(tokenHash), Actor: in.Login,
			Subject: f.SubjectDN, Directory: f.Directory, ClientIP: in.ClientIP, Outcome: audit.Success, Reason: outcome})
	})
	if err != nil {
		return "", Status{}, &Error{Code: CodeInternal, Err: err}
	}
	if f.Known {
		r.enqueued()
	}
	return token, r.status(f), nil
}

// pad sleeps until the identify step has taken IdentifyMinDuration, so its
// timing does not tell known from unknown logins.
func (r *Reset) pad(ctx context.Context, began time.Time) {
	left := r.Settings.IdentifyMinDuration - time.Since(began)
	if left <= 0 {
		if r.Settings.IdentifyMinDuration > 0 {
			r.log().Warn("reset: identify took longer than identify_min_duration; raise it so timing stays uniform",
				"took", time.Since(began), "identify_min_duration", r.Settings.IdentifyMinDuration)
		}
		return
	}
	if r.Sleep != nil {
		r.Sleep(ctx, left)
		return
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (r *Reset) enqueued() {
	if r.Enqueued != nil {
		r.Enqueued()
	}
}

func (r *Reset) enqueueCode(tx *store.Tx, f *store.Flow, code string, now time.Time) error {
	m, err := r.Composer.ResetCode(f.Language, notify.CodeMail{
		Name: nameOf(f), Code: code, ValidFor: r.Settings.CodeTTL, RequestIP: f.ClientIP, RequestAt: now,
		ContinueAt: r.Settings.ContinueURL,
	})
	if err != nil {
		return fmt.Errorf("composing code mail: %w", err)
	}
	return r.enqueue(tx, "reset_code", f.Email, m, now)
}

func (r *Reset) enqueue(tx *store.Tx, kind, to string, m notify.Mail, now time.Time) error {
	id := make([]byte, 16)
	if _, err := io.ReadFull(r.rand(), id); err != nil {
		return err
	}
	return tx.EnqueueMessage(&store.Message{
		CreatedAt: now, Kind: kind, Recipient: to, Subject: m.Subject, TextBody: m.Text, HTMLBody: m.HTML,
		MessageID: newMessageID(r.MailFrom, id), NextAttemptAt: now,
	})
}

func nameOf(f *store.Flow) string {
	if f.DisplayName != "" {
		return f.DisplayName
	}
	return f.Login
}

// Status reports where the flow stands.
func (r *Reset) Status(ctx context.Context, token string) (Status, error) {
	var st Status
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		f, err := r.load(tx, token)
		if err != nil {
			return err
		}
		st = r.status(f)
		return nil
	})
	return st, err
}

// Resend mails a fresh code, which replaces the previous one. The count of
// wrong tries is kept: resending never buys an attacker more guesses.
func (r *Reset) Resend(ctx context.Context, token, clientIP string) (Status, error) {
	var st Status
	var sent bool
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		f, err := r.load(tx, token)
		if err != nil {
			return err
		}
		if State(f.State) != StateCodeSent {
			return refuse(CodeWrongState)
		}
		if f.CodesSent >= r.Settings.MaxCodesSent {
			return refuse(CodeTooManyCodes)
		}
		now := r.now()
		code, err := r.newCode()
		if err != nil {
			return err
		}
		f.CodeHMAC, f.CodeExpiresAt, f.CodesSent, f.UpdatedAt = r.codeMAC(f.TokenHash, code), now.Add(r.Settings.CodeTTL), f.CodesSent+1, now
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		if f.Known {
			if err := r.enqueueCode(tx, f, code, now); err != nil {
				return err
			}
			sent = true
		}
		st = r.status(f)
		return r.Audit.Append(tx, r.event(f, "code_resent", clientIP, audit.Success, ""))
	})
	if sent {
		r.enqueued()
	}
	return st, r.wrap(err)
}

// VerifyCode checks a code. A right code, in time, verifies the flow and is
// consumed; each wrong one costs an attempt, and the last one kills the flow.
func (r *Reset) VerifyCode(ctx context.Context, token, code, clientIP string) (Status, error) {
	var st Status
	var stepErr *Error
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		f, err := r.load(tx, token)
		if err != nil {
			return err
		}
		switch State(f.State) {
		case StateCodeSent:
		case StateVerified, StateResetting, StateDone:
			return refuse(CodeCodeUsed)
		default:
			return refuse(CodeTooManyAttempts)
		}
		now := r.now()
		given := normaliseCode(code)
		good := len(given) == r.Settings.CodeLength && f.CodeHMAC != nil &&
			subtle.ConstantTimeCompare(r.codeMAC(f.TokenHash, given), f.CodeHMAC) == 1
		f.UpdatedAt = now
		var ev audit.Event
		switch {
		case now.After(f.CodeExpiresAt):
			// An expired code is refused even when right; it costs nothing,
			// because it could not be used anyway. Ask for a new one.
			stepErr = refuse(CodeCodeExpired)
			ev = r.event(f, "code_verify", clientIP, audit.Failure, "code_expired")
		case good && f.Known:
			f.State, f.CodeHMAC = string(StateVerified), nil
			ev = r.event(f, "code_verify", clientIP, audit.Success, "")
		default:
			f.CodeAttempts++
			left := r.Settings.MaxCodeAttempts - f.CodeAttempts
			if left <= 0 {
				f.State, f.CodeHMAC = string(StateFailed), nil
				stepErr = refuse(CodeTooManyAttempts)
				ev = r.event(f, "code_verify", clientIP, audit.Denied, "too_many_attempts")
			} else {
				stepErr = &Error{Code: CodeCodeInvalid, AttemptsLeft: left}
				ev = r.event(f, "code_verify", clientIP, audit.Failure, "wrong_code")
			}
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
	if stepErr != nil {
		return st, stepErr
	}
	return st, nil
}

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
	u := &directory.User{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login, Email: f.Email, DisplayName: f.DisplayName}
	var actErr error
	var refusal *Error
	d, ok := r.Directories.Directory(f.Directory)
	if !ok {
		actErr = &directory.Error{Kind: directory.KindMisconfigured, Op: event, Diagnostic: "directory " + f.Directory + " is no longer configured"}
	} else if refusal = r.guard(dirCtx, d, u); refusal == nil {
		actErr = do(dirCtx, d, u)
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
			m, err := notice(f, now)
			if err != nil {
				return err
			}
			if err := r.enqueue(tx, event+"_notice", f.Email, m, now); err != nil {
				return err
			}
			sent = true
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

// checkRules runs sspr's own password rules for the person behind a
// verified reset flow; a failure is audited and refused before the directory
// is asked (it does not count against the directory's attempts).
func (r *Reset) checkRules(ctx context.Context, token, pw, clientIP string) *Error {
	if r.Rules == nil {
		return nil
	}
	f, checker, u, err := r.rulesFor(ctx, token)
	if err != nil {
		return asError(err)
	}
	res := checker.Check(ctx, pw, u)
	var failed []password.Check
	for _, c := range res.Checks {
		if !c.Passed && !c.Optional {
			failed = append(failed, c)
		}
	}
	ev := r.event(f, "password", clientIP, audit.Failure, "password_rules")
	if res.OK {
		if len(res.Warnings) == 0 {
			return nil
		}
		ev.Outcome, ev.Reason = audit.Info, "password_rules_warning"
	}
	ids := make([]string, 0, len(failed))
	for _, c := range failed {
		ids = append(ids, c.ID)
	}
	ev.Detail = map[string]any{"failed": ids, "warnings": res.Warnings, "score": res.Score}
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error { return r.Audit.Append(tx, ev) }); err != nil {
		return &Error{Code: CodeInternal, Err: err}
	}
	if res.OK {
		return nil
	}
	return &Error{Code: CodePasswordRefused, Checks: failed}
}

// CheckPassword runs the password rules for the person behind a verified
// reset flow, as the live checklist does while they type. Nothing is sent
// to the directory and nothing is recorded.
func (r *Reset) CheckPassword(ctx context.Context, token, pw string) (password.Result, error) {
	_, checker, u, err := r.rulesFor(ctx, token)
	if err != nil {
		return password.Result{}, err
	}
	return checker.Check(ctx, pw, u), nil
}

// CheckPasswordFor runs the rules that hold for everyone (no flow, no
// account: the API's anonymous check), with login as the only context.
func (r *Reset) CheckPasswordFor(ctx context.Context, login, pw string) (password.Result, error) {
	if r.Rules == nil {
		return password.Result{OK: true}, nil
	}
	checker, err := r.Rules.For(nil)
	if err != nil {
		return password.Result{}, &Error{Code: CodeInternal, Err: err}
	}
	return checker.Check(ctx, pw, password.ContextFromNames(login, "")), nil
}

// PasswordRules lists the rules to show before the person types.
func (r *Reset) PasswordRules(ctx context.Context, token string) ([]password.Check, error) {
	_, checker, _, err := r.rulesFor(ctx, token)
	if err != nil {
		return nil, err
	}
	return checker.Describe(), nil
}

func (r *Reset) rulesFor(ctx context.Context, token string) (*store.Flow, *password.Checker, password.Context, error) {
	if r.Rules == nil {
		return nil, nil, password.Context{}, refuse(CodeWrongState)
	}
	var f *store.Flow
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		f, err = r.load(tx, token)
		return err
	})
	if err != nil {
		return nil, nil, password.Context{}, r.wrap(err)
	}
	if State(f.State) != StateVerified || f.Kind != string(ActionReset) {
		return nil, nil, password.Context{}, refuse(CodeWrongState)
	}
	var dp *password.DirectoryPolicy
	if d, ok := r.Directories.Directory(f.Directory); ok {
		if pr, ok := d.(directory.PolicyReader); ok {
			u := &directory.User{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login}
			if p, err := pr.EffectivePolicy(ctx, u); err == nil && p != nil {
				dp = &password.DirectoryPolicy{MinLength: p.MinLength, MaxLength: p.MaxLength, Complexity: p.Complexity, HistoryLength: p.HistoryLength}
			} else if err != nil {
				r.log().Warn("reading the directory's password policy failed; showing sspr's rules only", "directory", f.Directory, "err", err)
			}
		}
	}
	checker, err := r.Rules.For(dp)
	if err != nil {
		return nil, nil, password.Context{}, &Error{Code: CodeInternal, Err: err}
	}
	return f, checker, password.ContextFromNames(f.Login, f.DisplayName), nil
}

// statusOf reports a flow's status for a refusal, best effort.
func (r *Reset) statusOf(ctx context.Context, token string) Status {
	st, _ := r.Status(ctx, token)
	return st
}

func asError(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return &Error{Code: CodeInternal, Err: err}
}

func reasonNames(rs []directory.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// load finds a live flow by token, or refuses with CodeFlowNotFound.
func (r *Reset) load(tx *store.Tx, token string) (*store.Flow, error) {
	if len(token) != 43 {
		return nil, refuse(CodeFlowNotFound)
	}
	f, err := tx.FlowByTokenHash(hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(CodeFlowNotFound)
	}
	if err != nil {
		return nil, err
	}
	if (f.Kind != string(ActionReset) && f.Kind != string(ActionUnlock)) || r.now().After(f.ExpiresAt) {
		return nil, refuse(CodeFlowNotFound)
	}
	return f, nil
}

// wrap passes flow refusals through and hides anything else behind
// CodeInternal (a store failure, say), keeping the cause for the log.
func (r *Reset) wrap(err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, store.ErrConflict) {
		return refuse(CodeWrongState)
	}
	r.log().Error("reset: step failed", "err", err)
	return &Error{Code: CodeInternal, Err: err}
}

func (r *Reset) status(f *store.Flow) Status {
	st := Status{Action: Action(f.Kind), State: State(f.State), ExpiresAt: f.ExpiresAt.Truncate(time.Second), CodeLength: r.Settings.CodeLength}
	if State(f.State) == StateCodeSent {
		st.CodeExpiresAt = f.CodeExpiresAt.Truncate(time.Second)
		st.AttemptsLeft = r.Settings.MaxCodeAttempts - f.CodeAttempts
	}
	return st
}

func (r *Reset) event(f *store.Flow, name, clientIP string, outcome audit.Outcome, reason string) audit.Event {
	return audit.Event{At: r.now(), Event: f.Kind + "." + name, Flow: flowRef(f.TokenHash), Actor: f.Login, Subject: f.SubjectDN,
		Directory: f.Directory, ClientIP: clientIP, Outcome: outcome, Reason: reason}
}

// newCode draws CodeLength uniform decimal digits from the CSPRNG.
func (r *Reset) newCode() (string, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(r.Settings.CodeLength)), nil)
	n, err := rand.Int(r.rand(), max)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", r.Settings.CodeLength, n), nil
}

// codeMAC binds a code to its flow, so a stored MAC is useless for any other
// flow and the key never leaves the process.
func (r *Reset) codeMAC(tokenHash []byte, code string) []byte {
	m := hmac.New(sha256.New, r.HMACKey)
	m.Write([]byte("sspr reset code\x00"))
	m.Write(tokenHash)
	m.Write([]byte(code))
	return m.Sum(nil)
}

func normaliseCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == ' ' || r == '-' || r == '\t':
			return -1
		}
		return 'x' // anything else makes the code wrong, not shorter
	}, s)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// flowRef is a short, non-secret name for a flow in logs and the audit log.
func flowRef(tokenHash []byte) string { return hex.EncodeToString(tokenHash[:6]) }

func newMessageID(from string, random []byte) string {
	domain := "sspr.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok {
		domain = strings.TrimRight(d, ">")
	}
	return "<" + base64.RawURLEncoding.EncodeToString(random) + "@" + domain + ">"
}
