package flow

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/email"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/sms"
	"github.com/sspr/sspr/internal/store"
)

// This file holds what keeps an account safe across the flows: retiring
// the account's other flows and sessions when its password changes, audit
// actors that never hold a mistyped password, refusals of the abuse
// controls in the audit log, and outcomes in the log.

// busyStates are flows whose directory write is in progress: they are left
// to finish (and record their own outcome) when the account's other flows
// are retired.
var busyStates = []string{string(StateResetting), string(StateUnlocking)}

// retireAccount ends, in the caller's transaction, every other live flow of
// the account (so no other verified flow can set the password again, nor a
// waiting code verify) and every enrollment session of it (signed in with
// the old password). keep is the flow that made the change, if any. It
// returns how many flows and sessions ended (OWASP Forgot Password Cheat
// Sheet: invalidate on use; a changed password ends other sessions).
func retireAccount(tx *store.Tx, dir, subjectDN string, keep []byte, now time.Time) (flows, sessions int64, err error) {
	if subjectDN == "" {
		return 0, 0, nil
	}
	if flows, err = tx.ExpireFlowsOf(dir, subjectDN, keep, busyStates, now); err != nil {
		return 0, 0, err
	}
	sessions, err = tx.DeleteSessionsOf(dir, subjectDN)
	return flows, sessions, err
}

// LoginHashPrefix marks an audit actor that is a keyed hash of what was
// typed, not a login.
const LoginHashPrefix = "h:"

// hashedLogin is what the audit log and the log record for a login that
// matches no account. People type passwords into login fields; a keyed hash
// lets an auditor see that the same thing was typed again (and check a
// suspected login with the key) without the log ever holding the text.
func hashedLogin(key []byte, typed string) string {
	m := hmac.New(sha256.New, append([]byte("sspr audit login\x00"), key...))
	m.Write([]byte(strings.ToLower(strings.TrimSpace(typed))))
	return LoginHashPrefix + hex.EncodeToString(m.Sum(nil)[:16])
}

// HashLogin is the audit actor recorded for typed, a login that matched no
// account, under key (the installation's login-hash key): an auditor with
// the key finds a suspected login's rows with it.
func HashLogin(key []byte, typed string) string { return hashedLogin(key, typed) }

// typedActor is the actor for a login nobody looked up successfully.
func (k *Kit) typedActor(typed string) string { return hashedLogin(k.LoginHashKey, typed) }

// flowActor is the actor of a flow's events: the account's canonical login
// once the flow has an account, else a hash of what was typed.
func (r *Reset) flowActor(f *record.Flow, typed string) string {
	if f.SubjectDN != "" {
		return f.Login
	}
	return r.typedActor(typed)
}

// limitedEvent turns base into the record of a refusal by the abuse
// controls: outcome denied, reason rate_limited (too_many_resets for the
// reset cap), which limit, and whether the person was told (a quiet refusal
// answers as if allowed: a decoy code, "wrong code"). Callers that are
// inside a transaction append it there; others use recordLimited.
func limitedEvent(base audit.Event, action LimitAction, refusal *Error, quiet bool) audit.Event {
	ev := base
	ev.Outcome, ev.Reason = audit.Denied, "rate_limited"
	if action == LimitReset {
		ev.Reason = string(CodeTooManyResets)
	}
	detail := map[string]any{"limit": string(action), "quiet": quiet}
	for k, v := range base.Detail {
		detail[k] = v
	}
	if refusal != nil && refusal.RetryAfter > 0 {
		detail["retry_after_s"] = int64(refusal.RetryAfter.Round(time.Second) / time.Second)
	}
	ev.Detail = detail
	return ev
}

// recordLimited appends the refusal of an abuse control to the audit log in
// a transaction of its own, without changing what the person is told. Steps
// that refuse quietly (Start and issue turning codes into decoys, a quiet
// verify) call it too, so blocks show in the audit log.
func (k *Kit) recordLimited(ctx context.Context, base audit.Event, action LimitAction, refusal *Error, quiet bool) {
	ev := limitedEvent(base, action, refusal, quiet)
	if ev.At.IsZero() {
		ev.At = k.now()
	}
	// A known account's block is noticed (notifications.block) in the
	// same transaction; an unknown login's is counted alike, never sent.
	err := k.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := k.Audit.Append(tx, ev); err != nil {
			return err
		}
		return k.windowNotice(tx, NoticeBlock, ev, "")
	})
	if err != nil {
		k.log().Error("writing an audit event failed", "event", ev.Event, "err", err)
	}
	k.log().Warn("the abuse controls refused a step", "event", ev.Event, "flow", ev.Flow, "limit", action, "quiet", quiet,
		"directory", ev.Directory, "login", ev.Actor, "client_ip", ev.ClientIP)
}

// appendAudit appends ev in a transaction of its own; a failure is logged
// (the step's answer to the person does not depend on it).
func (k *Kit) appendAudit(ctx context.Context, ev audit.Event) {
	err := k.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return k.Audit.Append(tx, ev) })
	if err != nil {
		k.log().Error("writing an audit event failed", "event", ev.Event, "err", err)
	}
}

// logOutcome writes the outcome of a reset, unlock or change to the log at
// INFO, so operators see them without reading the audit log. Only what the
// audit row holds is logged: never a password, never a login as typed.
func (k *Kit) logOutcome(ev audit.Event) {
	k.log().Info("self-service outcome", "event", ev.Event, "flow", ev.Flow, "directory", ev.Directory, "login", ev.Actor,
		"outcome", string(ev.Outcome), "reason", ev.Reason)
}

// passwordGuessKey is the account the abuse controls count directory
// password guesses under (enrollment sign-in and change): apart from failed
// recovery verifications, so nobody can block a person's recovery by
// guessing their password. An unknown login counts under what was typed.
func passwordGuessKey(u *directory.User, typed string) string {
	if u != nil && u.DN != "" {
		return "signin|" + u.Directory + "|" + u.DN
	}
	return "signin|" + strings.ToLower(strings.TrimSpace(typed))
}

// lockoutGuard records that the lockout guard refused a password guess:
// one more wrong password would have locked the account in the directory.
// It counts as a failed guess (the caller keeps the slot it took before the
// guard), is audited (denied, lockout_guard) and logged at WARN: somebody
// may be guessing this person's password.
func (k *Kit) lockoutGuard(ctx context.Context, base audit.Event, key, clientIP string) {
	ev := base
	ev.At, ev.Outcome, ev.Reason = k.now(), audit.Denied, "lockout_guard"
	k.appendAudit(ctx, ev)
	k.log().Warn("refused a password guess that could lock the account in the directory; somebody may be guessing its password",
		"event", ev.Event, "directory", ev.Directory, "login", ev.Actor, "client_ip", clientIP)
}

// SourceDirectory is the source of a pre-enrolled method: the directory's
// mail or mobile attribute, shown read-only (the organisation keeps it).
const SourceDirectory = "directory"

// directoryMethods looks the session's person up again and lists their
// pre-enrolled methods: the directory's mail and mobile serving as email
// and SMS factors (Catalogue.PreEnrollMail, PreEnrollMobile) while they have
// not enrolled one of that kind themselves.
func (e *Enroll) directoryMethods(ctx context.Context, s *store.Session) (factor.Subject, []*enrolled, error) {
	subject, u, err := e.subject(ctx, s)
	if err != nil {
		return factor.Subject{}, nil, err
	}
	all, err := e.Catalogue.enrollmentsOf(ctx, e.Kit, u)
	if err != nil {
		return factor.Subject{}, nil, &Error{Code: CodeInternal, Err: err}
	}
	var out []*enrolled
	for _, m := range all {
		if !m.stored && (m.ID == directoryMailID || m.ID == directoryMobileID) {
			out = append(out, m)
		}
	}
	return subject, out, nil
}

// method finds one of the person's methods to verify with by ID: a stored
// enrollment (opened) or a pre-enrolled directory address or number.
func (e *Enroll) method(ctx context.Context, s *store.Session, id string) (factor.Subject, *enrolled, error) {
	r := e
	if id == directoryMailID || id == directoryMobileID {
		subject, pre, err := e.directoryMethods(ctx, s)
		if err != nil {
			return factor.Subject{}, nil, err
		}
		for _, m := range pre {
			if m.ID == id && r.Factors[m.Kind] != nil {
				return subject, m, nil
			}
		}
		return factor.Subject{}, nil, refuse(CodeFactorNotAllowed)
	}
	rows, err := e.stored(ctx, s)
	if err != nil {
		return factor.Subject{}, nil, &Error{Code: CodeInternal, Err: err}
	}
	var row *store.Enrollment
	for _, x := range rows {
		if x.ID == id {
			row = x
		}
	}
	if row == nil || r.Factors[factor.Kind(row.Kind)] == nil {
		return factor.Subject{}, nil, refuse(CodeFactorNotAllowed)
	}
	subject, _, err := e.subject(ctx, s)
	if err != nil {
		return factor.Subject{}, nil, err
	}
	secret, err := r.Sealer.Open(row.Secret, enrollmentAD(row.ID))
	if err != nil {
		return factor.Subject{}, nil, &Error{Code: CodeInternal, Err: err}
	}
	fa := r.Factors[factor.Kind(row.Kind)]
	return subject, &enrolled{stored: true, sealed: row.Secret, Enrollment: factor.Enrollment{ID: row.ID, Kind: fa.Kind(), Label: row.Label,
		Secret: secret, CreatedAt: row.CreatedAt, LastUsedAt: row.LastUsedAt}}, nil
}

// maskedDestination shows a pre-enrolled address or number the way its
// factor labels an enrolled one.
func maskedDestination(m *enrolled) string {
	if m.Kind == factor.SMS {
		return sms.Mask(string(m.Secret))
	}
	return email.Mask(string(m.Secret))
}
