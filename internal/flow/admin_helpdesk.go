package flow

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// Caller verification at the help desk: the agent enters the caller's
// login, sspr sends the person a code on a factor they have (or the person
// reads their authenticator app's code aloud), the agent types it in, and
// only then may the agent unlock the account or set a one-time password
// that must be changed at next logon. The agent sees kinds and masked
// destinations, never a secret, and every step is audited under the
// agent's name with the person as subject.

// CallerKinds are the factors a caller can prove over the telephone.
var CallerKinds = []factor.Kind{factor.Email, factor.SMS, factor.TOTP}

// CallerMaxAttempts caps wrong codes per case; the case then ends.
const CallerMaxAttempts = 5

// CallerMethod is one way the caller can prove who they are.
type CallerMethod struct {
	ID    string      `json:"id"`
	Kind  factor.Kind `json:"kind"`
	Label string      `json:"label"`
}

// CallerCase is what the agent sees of the case in progress.
type CallerCase struct {
	Login       string         `json:"login"`
	DisplayName string         `json:"display_name"`
	Directory   string         `json:"directory"`
	Methods     []CallerMethod `json:"methods"`
	// Pending is the method whose code is awaited.
	Pending  *CallerMethod `json:"pending,omitempty"`
	Verified bool          `json:"verified"`
	Locked   bool          `json:"locked"`
	// CanUnlock / CanReset say what the directory offers.
	CanUnlock bool `json:"can_unlock"`
	CanReset  bool `json:"can_reset"`
}

// callerState is the case kept in the agent's session, sealed.
type callerState struct {
	Purpose     string    `json:"p"` // "caller"
	Directory   string    `json:"d"`
	DN          string    `json:"dn"`
	Login       string    `json:"l"`
	DisplayName string    `json:"n"`
	Enrollment  string    `json:"e,omitempty"`
	Kind        string    `json:"k,omitempty"`
	State       []byte    `json:"s,omitempty"`
	Expires     time.Time `json:"x,omitzero"`
	Attempts    int       `json:"a,omitempty"`
	VerifiedAt  time.Time `json:"v,omitzero"`
}

func (a *Admin) callerCase(s *store.AdminSession) *callerState {
	if s.Pending == nil || s.VerifiedAt.IsZero() {
		return nil
	}
	plain, err := a.Enroll.Sealer.Open(s.Pending, adminSessionAD(s))
	if err != nil {
		return nil
	}
	var c callerState
	if json.Unmarshal(plain, &c) != nil || c.Purpose != "caller" {
		return nil
	}
	return &c
}

func (a *Admin) saveCase(ctx context.Context, s *store.AdminSession, c *callerState, fn func(tx *store.Tx) error) error {
	r := a.Enroll
	s.Pending = nil
	if c != nil {
		plain, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if s.Pending, err = r.Sealer.Seal(plain, adminSessionAD(s)); err != nil {
			return err
		}
	}
	return r.wrap(r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateAdminSession(s); err != nil {
			return err
		}
		if fn != nil {
			return fn(tx)
		}
		return nil
	}))
}

func caseSession(c *callerState) *store.Session {
	return &store.Session{Directory: c.Directory, SubjectDN: c.DN, Login: c.Login, DisplayName: c.DisplayName}
}

// verifiedFor is how long a verified caller stays verified: one call.
func (a *Admin) verifiedFor() time.Duration {
	if a.IdleTimeout > 0 {
		return a.IdleTimeout
	}
	return 15 * time.Minute
}

func (a *Admin) helpdeskEvent(p *Principal, c *callerState, event string) audit.Event {
	return audit.Event{At: a.Enroll.now(), Event: "admin.caller." + event, Flow: p.Session, Actor: p.Login, Subject: c.DN,
		Directory: c.Directory, ClientIP: p.ClientIP, Outcome: audit.Success, Detail: map[string]any{"agent": p.Login, "person": c.Login}}
}

// callerView builds what the agent sees.
func (a *Admin) callerView(ctx context.Context, c *callerState) (CallerCase, error) {
	r := a.Enroll
	v := CallerCase{Login: c.Login, DisplayName: c.DisplayName, Directory: c.Directory, Methods: []CallerMethod{}}
	u, err := r.findIn(ctx, c.Directory, c.Login)
	if err != nil {
		return CallerCase{}, &Error{Code: CodeDirectoryDown, Err: err}
	}
	methods, err := r.Catalogue.enrollmentsOf(ctx, r.Kit, u)
	if err != nil {
		return CallerCase{}, &Error{Code: CodeInternal, Err: err}
	}
	for _, m := range methods {
		if !slices.Contains(CallerKinds, m.Kind) {
			continue
		}
		label := m.Label
		if !m.stored {
			label = maskedDestination(m)
		}
		cm := CallerMethod{ID: m.ID, Kind: m.Kind, Label: label}
		v.Methods = append(v.Methods, cm)
		if c.Enrollment == m.ID && c.VerifiedAt.IsZero() {
			v.Pending = &cm
		}
	}
	v.Verified = !c.VerifiedAt.IsZero() && r.now().Sub(c.VerifiedAt) <= a.verifiedFor()
	d, _ := r.Directories.Directory(c.Directory)
	_, v.CanUnlock = d.(directory.Unlocker)
	_, v.CanReset = d.(directory.PasswordResetter)
	if sr, ok := d.(directory.StatusReader); ok {
		if st, err := sr.AccountStatus(ctx, u); err == nil {
			v.Locked = st.Locked
		}
	}
	return v, nil
}

// CallerFind opens a case for the caller's login (ending any case in
// progress) and lists how they can prove who they are.
func (a *Admin) CallerFind(ctx context.Context, token string, p *Principal, login string) (CallerCase, error) {
	r := a.Enroll
	s, err := a.load(ctx, token)
	if err != nil {
		return CallerCase{}, err
	}
	login = strings.TrimSpace(login)
	if login == "" {
		return CallerCase{}, refuse(CodeLoginRequired)
	}
	u, err := r.Directories.FindUser(ctx, login)
	if k := directory.KindOf(err); k == directory.KindNotFound || k == directory.KindAmbiguous {
		return CallerCase{}, refuse(CodeCredentialsWrong) // the agent is told "no such person"
	} else if err != nil {
		return CallerCase{}, &Error{Code: CodeDirectoryDown, Err: err}
	}
	c := &callerState{Purpose: "caller", Directory: u.Directory, DN: u.DN, Login: u.Login, DisplayName: u.DisplayName}
	if err := a.saveCase(ctx, s, c, func(tx *store.Tx) error { return r.Audit.Append(tx, a.helpdeskEvent(p, c, "case")) }); err != nil {
		return CallerCase{}, err
	}
	return a.callerView(ctx, c)
}

// CallerView shows the case in progress.
func (a *Admin) CallerView(ctx context.Context, token string) (CallerCase, bool, error) {
	s, err := a.load(ctx, token)
	if err != nil {
		return CallerCase{}, false, err
	}
	c := a.callerCase(s)
	if c == nil {
		return CallerCase{}, false, nil
	}
	v, err := a.callerView(ctx, c)
	return v, err == nil, err
}

// CallerChallenge sends the caller a code on one of their methods (for an
// authenticator app, nothing is sent: the caller reads its code).
func (a *Admin) CallerChallenge(ctx context.Context, token string, p *Principal, methodID string) (CallerCase, error) {
	r := a.Enroll
	s, err := a.load(ctx, token)
	if err != nil {
		return CallerCase{}, err
	}
	c := a.callerCase(s)
	if c == nil {
		return CallerCase{}, refuse(CodeWrongState)
	}
	subject, target, err := a.Enroll.method(ctx, caseSession(c), methodID)
	if err != nil {
		return CallerCase{}, err
	}
	if !slices.Contains(CallerKinds, target.Kind) {
		return CallerCase{}, refuse(CodeFactorNotAllowed)
	}
	ch, err := r.Factors[target.Kind].Challenge(ctx, subject, target.Enrollment)
	if err != nil {
		return CallerCase{}, &Error{Code: CodeInternal, Err: err}
	}
	if ch.Deliver != nil {
		if fe := r.limit(ctx, LimitSend, c.Directory+"|"+c.DN, p.ClientIP, ch.Deliver.To); fe != nil {
			r.recordLimited(ctx, a.helpdeskEvent(p, c, "challenge"), LimitSend, fe, false)
			return CallerCase{}, fe
		}
	}
	c.Enrollment, c.Kind, c.State, c.Expires, c.Attempts, c.VerifiedAt = target.ID, string(target.Kind), ch.State, expiry(ch, r), 0, time.Time{}
	now := r.now()
	err = a.saveCase(ctx, s, c, func(tx *store.Tx) error {
		ev := a.helpdeskEvent(p, c, "challenge")
		ev.Detail["factor"] = string(target.Kind)
		if err := r.Audit.Append(tx, ev); err != nil {
			return err
		}
		if ch.Deliver == nil {
			return nil
		}
		if ch.Deliver.Channel == "sms" {
			return r.enqueueSMS(tx, "helpdesk_code", ch.Deliver.To, r.Composer.SMSCode("", ch.Deliver.Code, r.CodeTTL), now)
		}
		m, err := r.Composer.ResetCode("", notify.CodeMail{Name: firstNonEmpty(c.DisplayName, c.Login), Code: ch.Deliver.Code,
			ValidFor: r.CodeTTL, RequestIP: p.ClientIP, RequestAt: now, ContinueAt: r.ContinueURL})
		if err != nil {
			return err
		}
		return r.enqueueMail(tx, "helpdesk_code", ch.Deliver.To, m, now)
	})
	if err != nil {
		return CallerCase{}, err
	}
	if ch.Deliver != nil {
		r.enqueued()
	}
	return a.callerView(ctx, c)
}

// CallerVerify checks the code the caller read out. Wrong codes are
// counted per case (CallerMaxAttempts ends it) and apart from the
// person's own recovery limits: an agent's typing must not block them.
func (a *Admin) CallerVerify(ctx context.Context, token string, p *Principal, code string) (CallerCase, error) {
	r := a.Enroll
	s, err := a.load(ctx, token)
	if err != nil {
		return CallerCase{}, err
	}
	c := a.callerCase(s)
	if c == nil || c.Enrollment == "" || !c.VerifiedAt.IsZero() {
		return CallerCase{}, refuse(CodeWrongState)
	}
	if r.now().After(c.Expires) {
		return CallerCase{}, refuse(CodeCodeExpired)
	}
	subject, target, err := a.Enroll.method(ctx, caseSession(c), c.Enrollment)
	if err != nil {
		return CallerCase{}, err
	}
	ev := a.helpdeskEvent(p, c, "verify")
	ev.Detail["factor"] = string(target.Kind)
	upd, err := r.Factors[target.Kind].Verify(ctx, subject, target.Enrollment, c.State, factor.Response{Values: map[string]string{"code": strings.TrimSpace(code)}})
	ok := err == nil
	switch {
	case ok:
		c.VerifiedAt, c.State = r.now(), nil
	case errors.Is(err, factor.ErrWrongResponse), errors.Is(err, factor.ErrReplayed), errors.Is(err, factor.ErrExpired):
		c.Attempts++
		ev.Outcome, ev.Reason = audit.Failure, "wrong_response"
	default:
		return CallerCase{}, &Error{Code: CodeInternal, Err: err}
	}
	var save *callerState = c
	if !ok && c.Attempts >= CallerMaxAttempts {
		save = nil // the case ends; the agent starts again
		ev.Reason = "too_many_attempts"
	}
	err = a.saveCase(ctx, s, save, func(tx *store.Tx) error {
		if ok && target.stored {
			sealed, err := r.Sealer.Seal(upd.Secret, enrollmentAD(target.ID))
			if err != nil {
				return err
			}
			swapped, err := tx.SwapEnrollmentSecret(target.ID, target.sealed, sealed, upd.Label, r.now())
			if err != nil {
				return err
			}
			if !swapped {
				return errRace
			}
		}
		return r.Audit.Append(tx, ev)
	})
	if errors.Is(err, errRace) {
		return CallerCase{}, refuse(CodeCodeInvalid)
	}
	if err != nil {
		return CallerCase{}, err
	}
	if !ok {
		if save == nil {
			return CallerCase{}, refuse(CodeTooManyAttempts)
		}
		return CallerCase{}, &Error{Code: CodeCodeInvalid, AttemptsLeft: CallerMaxAttempts - c.Attempts}
	}
	return a.callerView(ctx, c)
}

// verifiedCase loads the case and insists that the caller was verified
// within this call; it also looks the person up again.
func (a *Admin) verifiedCase(ctx context.Context, token string, p *Principal) (*store.AdminSession, *callerState, *directory.User, directory.Directory, error) {
	r := a.Enroll
	s, err := a.load(ctx, token)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	c := a.callerCase(s)
	if c == nil || c.VerifiedAt.IsZero() || r.now().Sub(c.VerifiedAt) > a.verifiedFor() {
		return nil, nil, nil, nil, refuse(CodeStepUpRequired)
	}
	u, err := r.findIn(ctx, c.Directory, c.Login)
	if err != nil {
		return nil, nil, nil, nil, &Error{Code: CodeDirectoryDown, Err: err}
	}
	if u.DN != c.DN {
		return nil, nil, nil, nil, refuse(CodeWrongState)
	}
	d, _ := r.Directories.Directory(c.Directory)
	if sr, ok := d.(directory.StatusReader); ok {
		st, err := sr.AccountStatus(ctx, u)
		if err != nil {
			return nil, nil, nil, nil, &Error{Code: CodeDirectoryDown, Err: err}
		}
		// A privileged account is the administrators' to reset, not the
		// help desk's.
		if st.Protected && !p.Has(RoleAdmin) {
			ev := a.helpdeskEvent(p, c, "refused")
			ev.Outcome, ev.Reason = audit.Denied, "protected_account"
			r.appendAudit(ctx, ev)
			return nil, nil, nil, nil, refuse(CodeProtectedAccount)
		}
	}
	return s, c, u, d, nil
}

// CallerUnlock unlocks the verified caller's account.
func (a *Admin) CallerUnlock(ctx context.Context, token string, p *Principal) (CallerCase, error) {
	r := a.Enroll
	_, c, u, d, err := a.verifiedCase(ctx, token, p)
	if err != nil {
		return CallerCase{}, err
	}
	un, ok := d.(directory.Unlocker)
	if !ok {
		return CallerCase{}, refuse(CodeResetNotPermitted)
	}
	ev := a.helpdeskEvent(p, c, "unlock")
	if err := un.Unlock(ctx, u); err != nil {
		ev.Outcome, ev.Reason = audit.Failure, "directory_"+directory.KindOf(err).String()
		r.appendAudit(ctx, ev)
		return CallerCase{}, &Error{Code: CodeDirectoryDown, Err: err}
	}
	if err := r.wrap(r.Store.InTx(ctx, func(tx *store.Tx) error { return r.Audit.Append(tx, ev) })); err != nil {
		return CallerCase{}, err
	}
	return a.callerView(ctx, c)
}

// oneTimeAlphabets are the classes a one-time password draws from: every
// class once (directories' complexity rules), no look-alike characters
// (the agent reads it out).
var oneTimeAlphabets = []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnpqrstuvwxyz", "23456789", "#%+=?!"}

// oneTimePassword draws a 16-character password with every class.
func oneTimePassword(rnd io.Reader) (string, error) {
	const n = 16
	buf := make([]byte, 2*n)
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return "", err
	}
	out := make([]byte, n)
	all := strings.Join(oneTimeAlphabets, "")
	for i := range out {
		set := all
		if i < len(oneTimeAlphabets) {
			set = oneTimeAlphabets[i]
		}
		out[i] = set[int(buf[i])%len(set)]
	}
	// Shuffle so the classes are not always first (Fisher–Yates on the
	// remaining random bytes).
	for i := n - 1; i > 0; i-- {
		j := int(buf[n+i]) % (i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

// CallerReset sets a one-time password on the verified caller's account,
// which must be changed at next logon, unlocks it when the directory keeps
// the lock across a reset (AD), retires the person's other flows and
// enrollment sessions, and returns the password for the agent to read out
// once. It is never stored or logged.
func (a *Admin) CallerReset(ctx context.Context, token string, p *Principal) (string, CallerCase, error) {
	r := a.Enroll
	s, c, u, d, err := a.verifiedCase(ctx, token, p)
	if err != nil {
		return "", CallerCase{}, err
	}
	rs, ok := d.(directory.PasswordResetter)
	fc, ok2 := d.(directory.ForceChanger)
	if !ok || !ok2 {
		return "", CallerCase{}, refuse(CodeResetNotPermitted)
	}
	pw, err := oneTimePassword(r.rand())
	if err != nil {
		return "", CallerCase{}, &Error{Code: CodeInternal, Err: err}
	}
	ev := a.helpdeskEvent(p, c, "reset")
	ev.Detail["must_change"] = true
	fail := func(err error) (string, CallerCase, error) {
		ev.Outcome, ev.Reason = audit.Failure, "directory_"+directory.KindOf(err).String()
		r.appendAudit(ctx, ev)
		if directory.KindOf(err) == directory.KindPolicyViolation {
			return "", CallerCase{}, &Error{Code: CodePasswordRefused, Err: err}
		}
		return "", CallerCase{}, &Error{Code: CodeDirectoryDown, Err: err}
	}
	if err := rs.ResetPassword(ctx, u, pw); err != nil {
		return fail(err)
	}
	if err := fc.SetMustChange(ctx, u, true); err != nil {
		return fail(err)
	}
	if un, ok := d.(directory.Unlocker); ok {
		if sr, ok := d.(directory.StatusReader); ok {
			if st, err := sr.AccountStatus(ctx, u); err == nil && st.Locked {
				if err := un.Unlock(ctx, u); err != nil {
					return fail(err)
				}
				ev.Detail["unlocked"] = true
			}
		}
	}
	// The verification is spent: a second reset needs a new one.
	err = a.saveCase(ctx, s, nil, func(tx *store.Tx) error {
		if _, _, err := retireAccount(tx, c.Directory, c.DN, nil, r.now()); err != nil {
			return err
		}
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return "", CallerCase{}, err
	}
	v, err := a.callerView(ctx, &callerState{Directory: c.Directory, DN: c.DN, Login: c.Login, DisplayName: c.DisplayName})
	return pw, v, err
}
