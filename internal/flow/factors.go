package flow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// enrolled is one factor a person can use now: stored (sealed in the
// store), pre-enrolled from a directory attribute, or needing no enrollment
// (directory-attribute questions).
type enrolled struct {
	factor.Enrollment
	stored bool
	// sealed is the stored ciphertext, for compare-and-swap on update.
	sealed []byte
}

// Pre-enrollment IDs: not rows, but derived from the directory each time.
const (
	directoryMailID   = "directory:mail"
	directoryMobileID = "directory:mobile"
	noEnrollmentID    = "directory:attributes"
)

func enrollmentAD(id string) []byte { return []byte("enrollment:" + id) }

// enrollments lists what user can verify with, among the offered kinds.
func (r *Reset) enrollments(ctx context.Context, f *store.Flow, user *directory.User) ([]*enrolled, error) {
	var rows []*store.Enrollment
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		rows, err = tx.Enrollments(user.Directory, user.DN)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*enrolled
	have := map[factor.Kind]bool{}
	for _, row := range rows {
		kind := factor.Kind(row.Kind)
		if !slices.Contains(r.Settings.Offered, kind) || r.Factors[kind] == nil {
			continue
		}
		secret, err := r.Sealer.Open(row.Secret, enrollmentAD(row.ID))
		if err != nil {
			r.log().Error("an enrollment cannot be decrypted (wrong key ring?)", "enrollment", row.ID, "err", err)
			continue
		}
		out = append(out, &enrolled{stored: true, sealed: row.Secret, Enrollment: factor.Enrollment{ID: row.ID, Kind: kind, Label: row.Label,
			Secret: secret, CreatedAt: row.CreatedAt, LastUsedAt: row.LastUsedAt}})
		have[kind] = true
	}
	offered := func(k factor.Kind) bool { return slices.Contains(r.Settings.Offered, k) && r.Factors[k] != nil }
	if r.Settings.PreEnrollMail && !have[factor.Email] && offered(factor.Email) && user.Email != "" {
		out = append(out, &enrolled{Enrollment: factor.Enrollment{ID: directoryMailID, Kind: factor.Email, Secret: []byte(user.Email)}})
	}
	if mobile := firstAttr(user, "mobile"); r.Settings.PreEnrollMobile && !have[factor.SMS] && offered(factor.SMS) && mobile != "" {
		out = append(out, &enrolled{Enrollment: factor.Enrollment{ID: directoryMobileID, Kind: factor.SMS, Secret: []byte(mobile)}})
	}
	for _, k := range r.Settings.Offered {
		if fa := r.Factors[k]; fa != nil && !fa.NeedsEnrollment() {
			out = append(out, &enrolled{Enrollment: factor.Enrollment{ID: noEnrollmentID, Kind: k}})
		}
	}
	return out, nil
}

func firstAttr(u *directory.User, name string) string {
	if u.Mobile != "" && name == "mobile" {
		return u.Mobile
	}
	for k, v := range u.Attributes {
		if len(v) > 0 && equalFold(k, name) {
			return v[0]
		}
	}
	return ""
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

func distinctKinds(es []*enrolled) int {
	seen := map[factor.Kind]bool{}
	for _, e := range es {
		seen[e.Kind] = true
	}
	return len(seen)
}

func subjectOf(f *store.Flow, u *directory.User) factor.Subject {
	s := factor.Subject{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login, DisplayName: f.DisplayName}
	if u != nil {
		s.Attributes = u.Attributes
	}
	return s
}

// choices are the kinds that may be chosen now: offered, not yet verified,
// and not a kind that may only follow another factor when none has.
func (r *Reset) choices(f *store.Flow) []factor.Kind {
	var out []factor.Kind
	for _, k := range r.Settings.Offered {
		if r.Factors[k] == nil || slices.Contains(f.FactorsDone, string(k)) {
			continue
		}
		if r.Settings.NotFirst[k] && len(f.FactorsDone) == 0 {
			continue
		}
		out = append(out, k)
	}
	return out
}

// sealedChallenge is what the flow keeps of an outstanding challenge.
type sealedChallenge struct {
	Enrollment string         `json:"e"`
	Decoy      bool           `json:"d,omitempty"`
	State      []byte         `json:"s,omitempty"`
	Prompt     map[string]any `json:"p,omitempty"`
}

func challengeAD(f *store.Flow) []byte { return append([]byte("challenge:"), f.TokenHash...) }

func (r *Reset) openChallenge(f *store.Flow) (*sealedChallenge, error) {
	if f.ChallengeState == nil {
		return nil, errors.New("no challenge")
	}
	plain, err := r.Sealer.Open(f.ChallengeState, challengeAD(f))
	if err != nil {
		return nil, err
	}
	var ch sealedChallenge
	return &ch, json.Unmarshal(plain, &ch)
}

// delivery is a code to send, composed in the flow's language.
type delivery struct {
	kind    string // outbox kind
	channel string
	to      string
	mail    notify.Mail
	sms     string
}

// issue challenges f with a factor of the given kind: a real challenge
// against the person's enrollment of that kind, or, for people without one
// (or unknown, or blocked), a decoy that looks the same and never verifies.
// It updates f and returns what must be delivered.
func (r *Reset) issue(ctx context.Context, f *store.Flow, user *directory.User, available []*enrolled, kind factor.Kind, now time.Time) ([]delivery, error) {
	fa := r.Factors[kind]
	if fa == nil || !slices.Contains(r.choices(f), kind) {
		return nil, refuse(CodeFactorNotAllowed)
	}
	if f.ChallengesSent >= r.Settings.MaxCodesSent {
		return nil, refuse(CodeTooManyCodes)
	}
	var target *enrolled
	if f.Known {
		for _, e := range available {
			if e.Kind == kind && (target == nil || e.LastUsedAt.After(target.LastUsedAt)) {
				target = e
			}
		}
	}
	subject := subjectOf(f, user)
	var ch factor.Challenge
	var err error
	decoy := target == nil
	if !decoy {
		ch, err = fa.Challenge(ctx, subject, target.Enrollment)
		if errors.Is(err, factor.ErrNotAvailable) {
			decoy = true
		} else if err != nil {
			return nil, &Error{Code: CodeInternal, Err: fmt.Errorf("challenge %s: %w", kind, err)}
		}
	}
	if !decoy && ch.Deliver != nil {
		if e := r.limit(ctx, LimitSend, limitKey(f), f.ClientIP, ch.Deliver.To); e != nil {
			decoy = true // quietly: the answer stays "a code is on its way"
		}
	}
	if decoy {
		ch, err = r.decoyChallenge(ctx, fa, subject)
		if err != nil {
			return nil, &Error{Code: CodeInternal, Err: fmt.Errorf("decoy challenge %s: %w", kind, err)}
		}
	}
	sc := sealedChallenge{Decoy: decoy, State: ch.State, Prompt: ch.Prompt}
	if !decoy {
		sc.Enrollment = target.ID
	}
	plain, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	if f.ChallengeState, err = r.Sealer.Seal(plain, challengeAD(f)); err != nil {
		return nil, err
	}
	f.State, f.ChallengeKind, f.ChallengeEnrollment = string(StateChallenged), string(kind), sc.Enrollment
	f.ChallengeExpiresAt = ch.Expires
	if f.ChallengeExpiresAt.IsZero() || f.ChallengeExpiresAt.After(now.Add(r.Settings.CodeTTL)) {
		f.ChallengeExpiresAt = now.Add(r.Settings.CodeTTL)
	}
	f.ChallengesSent++
	f.UpdatedAt = now
	if decoy || ch.Deliver == nil {
		return nil, nil
	}
	d := delivery{kind: f.Kind + "_code", channel: ch.Deliver.Channel, to: ch.Deliver.To}
	switch ch.Deliver.Channel {
	case "email":
		d.mail, err = r.Composer.ResetCode(f.Language, notify.CodeMail{
			Action: f.Kind, Name: nameOf(f), Code: ch.Deliver.Code, ValidFor: r.Settings.CodeTTL, RequestIP: f.ClientIP, RequestAt: now,
			ContinueAt: r.Settings.ContinueURL,
		})
		if err != nil {
			return nil, fmt.Errorf("composing the code mail: %w", err)
		}
	case "sms":
		d.sms = r.Composer.SMSCode(f.Language, ch.Deliver.Code, r.Settings.CodeTTL)
	default:
		return nil, fmt.Errorf("factor %s asks for delivery over unknown channel %q", kind, ch.Deliver.Channel)
	}
	return []delivery{d}, nil
}

// decoyChallenge builds a challenge that looks like a real one of the same
// factor but can never verify.
func (r *Reset) decoyChallenge(ctx context.Context, fa factor.Factor, s factor.Subject) (factor.Challenge, error) {
	var e factor.Enrollment
	if d, ok := fa.(factor.Decoyer); ok {
		e = d.DecoyEnrollment(s)
	} else {
		e = factor.Enrollment{ID: "decoy", Kind: fa.Kind(), Secret: decoySecret(fa.Kind())}
	}
	ch, err := fa.Challenge(ctx, s, e)
	ch.Deliver = nil
	return ch, err
}

// decoySecret is a destination no message is ever sent to (deliveries of
// decoys are dropped) but that a code factor accepts.
func decoySecret(k factor.Kind) []byte {
	switch k {
	case factor.Email:
		return []byte("nobody@decoy.invalid")
	case factor.SMS:
		return []byte("+15550000000")
	}
	return nil
}

// deliver enqueues the messages of a challenge, in the caller's transaction.
func (r *Reset) deliver(tx *store.Tx, f *store.Flow, ds []delivery, now time.Time) error {
	for _, d := range ds {
		var err error
		if d.channel == "sms" {
			err = r.enqueueSMS(tx, d.kind, d.to, d.sms, now)
		} else {
			err = r.enqueueMail(tx, d.kind, d.to, d.mail, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// user looks the flow's person up again (steps after the first need their
// directory data: destinations, attributes).
func (r *Reset) user(ctx context.Context, f *store.Flow) (*directory.User, error) {
	if !f.Known {
		return nil, nil
	}
	u, err := r.findIn(ctx, f.Directory, f.Login)
	if err != nil {
		return nil, err
	}
	if u.DN != f.SubjectDN || u.Directory != f.Directory {
		return nil, errors.New("the account changed during the flow")
	}
	return u, nil
}

// findIn looks login up again in the directory it was found in (a login
// may exist in several directories).
func (r *Reset) findIn(ctx context.Context, dir, login string) (*directory.User, error) {
	if p, ok := r.Directories.(directoryPicker); ok {
		return p.FindUserIn(ctx, dir, login)
	}
	return r.Directories.FindUser(ctx, login)
}

// Choose challenges the flow with another kind of factor (or the same one
// again, which sends a new code).
func (r *Reset) Choose(ctx context.Context, token string, kind factor.Kind, clientIP string) (Status, error) {
	var f *store.Flow
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		f, err = r.load(tx, token)
		return err
	}); err != nil {
		return Status{}, r.wrap(err)
	}
	switch State(f.State) {
	case StateChoose, StateChallenged:
	default:
		return r.status(f), refuse(CodeWrongState)
	}
	user, err := r.user(ctx, f)
	if err != nil {
		return Status{}, &Error{Code: CodeDirectoryDown, Err: err}
	}
	var available []*enrolled
	if user != nil {
		if available, err = r.enrollments(ctx, f, user); err != nil {
			return Status{}, &Error{Code: CodeInternal, Err: err}
		}
	}
	now := r.now()
	f.ClientIP = clientIP
	deliveries, err := r.issue(ctx, f, user, available, kind, now)
	if err != nil {
		return r.status(f), asError(err)
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		if err := r.deliver(tx, f, deliveries, now); err != nil {
			return err
		}
		ev := r.event(f, "challenge", clientIP, audit.Success, "")
		ev.Detail = map[string]any{"factor": string(kind)}
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return Status{}, r.wrap(err)
	}
	if len(deliveries) > 0 {
		r.enqueued()
		r.done(ctx, LimitSend, limitKey(f), clientIP, deliveries[0].to)
	}
	return r.status(f), nil
}

// Resend issues the current challenge again (a new code replaces the old
// one). The count of wrong tries is kept: resending never buys an attacker
// more guesses.
func (r *Reset) Resend(ctx context.Context, token, clientIP string) (Status, error) {
	var kind factor.Kind
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		f, err := r.load(tx, token)
		if err != nil {
			return err
		}
		if State(f.State) != StateChallenged {
			return refuse(CodeWrongState)
		}
		kind = factor.Kind(f.ChallengeKind)
		return nil
	}); err != nil {
		return Status{}, r.wrap(err)
	}
	return r.Choose(ctx, token, kind, clientIP)
}

// VerifyCode answers a code challenge (email, SMS, authenticator app, backup
// code).
func (r *Reset) VerifyCode(ctx context.Context, token, code, clientIP string) (Status, error) {
	return r.Verify(ctx, token, factor.Response{Values: map[string]string{"code": code}}, clientIP)
}

// Verify checks the response to the outstanding challenge. A right response,
// in time, counts the factor (and consumes the challenge); with enough
// factors the flow is verified, else the person chooses the next one. Each
// wrong response costs an attempt, and the last one kills the flow.
func (r *Reset) Verify(ctx context.Context, token string, resp factor.Response, clientIP string) (Status, error) {
	var f *store.Flow
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		f, err = r.load(tx, token)
		return err
	}); err != nil {
		return Status{}, r.wrap(err)
	}
	switch State(f.State) {
	case StateChallenged:
	case StateChoose, StateVerified, StateResetting, StateUnlocking, StateDone:
		return r.status(f), refuse(CodeCodeUsed)
	default:
		return r.status(f), refuse(CodeTooManyAttempts)
	}
	now := r.now()
	if now.After(f.ChallengeExpiresAt) {
		// An expired challenge is refused even when right; it costs nothing,
		// because it could not be used anyway. Ask for a new one.
		_ = r.Store.InTx(ctx, func(tx *store.Tx) error {
			return r.Audit.Append(tx, r.event(f, "verify", clientIP, audit.Failure, "expired"))
		})
		return r.status(f), refuse(CodeCodeExpired)
	}
	kind := factor.Kind(f.ChallengeKind)
	var updated *usedEnrollment
	good := false
	if e := r.limit(ctx, LimitVerify, limitKey(f), clientIP, ""); e == nil {
		good, updated = r.check(ctx, f, kind, resp)
	}
	var stepErr *Error
	step := func(tx *store.Tx) error {
		f.UpdatedAt = now
		ev := r.event(f, "verify", clientIP, audit.Success, "")
		ev.Detail = map[string]any{"factor": string(kind)}
		if good {
			f.FactorsDone = append(f.FactorsDone, string(kind))
			f.ChallengeState, f.ChallengeKind, f.ChallengeEnrollment = nil, "", ""
			f.State = string(StateChoose)
			if len(f.FactorsDone) >= f.FactorsRequired {
				f.State = string(StateVerified)
			}
			if updated != nil {
				sealed, err := r.Sealer.Seal(updated.Secret, enrollmentAD(updated.ID))
				if err != nil {
					return err
				}
				swapped, err := tx.SwapEnrollmentSecret(updated.ID, updated.old, sealed, updated.Label, now)
				if err != nil {
					return err
				}
				if !swapped {
					// Somebody used the same code at the same moment: only
					// one of the two may count.
					return errRace
				}
			}
			ev.Detail["factors_done"] = f.FactorsDone
		} else {
			f.Attempts++
			left := r.Settings.MaxCodeAttempts - f.Attempts
			ev.Outcome, ev.Reason = audit.Failure, "wrong_response"
			if left <= 0 {
				f.State, f.ChallengeState = string(StateFailed), nil
				stepErr = refuse(CodeTooManyAttempts)
				ev.Outcome, ev.Reason = audit.Denied, "too_many_attempts"
			} else {
				stepErr = &Error{Code: CodeCodeInvalid, AttemptsLeft: left}
			}
		}
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		return r.Audit.Append(tx, ev)
	}
	snapshot := *f
	err := r.Store.InTx(ctx, step)
	if errors.Is(err, errRace) {
		// The same one-time code was used concurrently elsewhere: this use
		// counts as wrong.
		*f, good, updated = snapshot, false, nil
		err = r.Store.InTx(ctx, step)
	}
	if err != nil {
		return Status{}, r.wrap(err)
	}
	if !good {
		r.failure(ctx, limitKey(f), clientIP)
	}
	if stepErr != nil {
		return r.status(f), stepErr
	}
	return r.status(f), nil
}

// check asks the factor whether resp answers the flow's challenge. A decoy
// never verifies, but the factor is still asked (against a decoy enrollment)
// so the time taken does not tell.
func (r *Reset) check(ctx context.Context, f *store.Flow, kind factor.Kind, resp factor.Response) (bool, *usedEnrollment) {
	fa := r.Factors[kind]
	ch, err := r.openChallenge(f)
	if fa == nil || err != nil {
		return false, nil
	}
	if ch.Decoy || !f.Known {
		return false, nil
	}
	user, err := r.user(ctx, f)
	if err != nil {
		r.log().Warn("looking the user up again failed during verification", "err", err)
		return false, nil
	}
	available, err := r.enrollments(ctx, f, user)
	if err != nil {
		return false, nil
	}
	for _, e := range available {
		if e.ID != ch.Enrollment || e.Kind != kind {
			continue
		}
		upd, err := fa.Verify(ctx, subjectOf(f, user), e.Enrollment, ch.State, resp)
		if err != nil {
			if !errors.Is(err, factor.ErrWrongResponse) && !errors.Is(err, factor.ErrReplayed) && !errors.Is(err, factor.ErrExpired) {
				r.log().Warn("a factor failed to verify", "factor", kind, "err", err)
			}
			return false, nil
		}
		if e.stored {
			upd.ID = e.ID
			return true, &usedEnrollment{Enrollment: upd, old: e.sealed}
		}
		return true, nil
	}
	return false, nil
}

// usedEnrollment is an enrollment a verification changed, with the
// ciphertext it had, for compare-and-swap.
type usedEnrollment struct {
	factor.Enrollment
	old []byte
}

var errRace = errors.New("an enrollment changed while it was being used")

// newID makes an enrollment ID.
func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
