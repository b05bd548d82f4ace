package flow

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
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
	"github.com/sspr/sspr/internal/policy"
	"github.com/sspr/sspr/internal/store"
)

// Enroll runs the enrollment portal: people sign in with their directory
// password (and, once they have one, an enrolled factor), then add, replace
// and remove the factors they will later recover with. Every change is
// audited and announced on every channel the person has.
type Enroll struct {
	// Kit is the shared equipment (store, directories, messages, audit,
	// limits, clock, padding).
	*Kit
	// Catalogue is what people can enroll and verify with (shared with
	// the recovery flow).
	*Catalogue
	// SessionTTL bounds a signed-in session.
	SessionTTL time.Duration
	// StepUpWindow is how recent a factor verification must be to change
	// factors.
	StepUpWindow time.Duration
	// CodeTTL is how long a code sent for a step-up or a new enrollment is
	// valid; ContinueURL is where a mailed code is typed in.
	CodeTTL     time.Duration
	ContinueURL string
	// SignInMinDuration pads the sign-in like identify, so an unknown login
	// cannot be told from a wrong password by timing.
	SignInMinDuration time.Duration
}

// EnrollStep says what a session needs next.
type EnrollStep string

// The steps of an enrollment session.
const (
	// StepReady: signed in and verified; factors may be changed.
	StepReady EnrollStep = "ready"
	// StepVerify: the person has factors, so one must be verified first.
	StepVerify EnrollStep = "verify"
	// StepConfirm: an enrollment waits for its confirmation (a code, an
	// authenticator code, a passkey attestation, a saved backup code).
	StepConfirm EnrollStep = "confirm"
)

// EnrolledFactor is one enrollment as people see it: never its secret.
type EnrolledFactor struct {
	ID         string      `json:"id"`
	Kind       factor.Kind `json:"kind"`
	Label      string      `json:"label"`
	Source     string      `json:"source"`
	CreatedAt  time.Time   `json:"created_at"`
	LastUsedAt time.Time   `json:"last_used_at,omitzero"`
}

// SessionView is what the enrollment portal shows.
type SessionView struct {
	Login       string           `json:"login"`
	DisplayName string           `json:"display_name"`
	Step        EnrollStep       `json:"step"`
	Factors     []EnrolledFactor `json:"factors"`
	// CanAdd are the kinds that may be enrolled.
	CanAdd []factor.Kind `json:"can_add"`
	// Pending is the kind being enrolled or verified, with its prompt.
	PendingKind   factor.Kind    `json:"pending_kind,omitempty"`
	PendingPrompt map[string]any `json:"pending_prompt,omitempty"`
	ExpiresAt     time.Time      `json:"expires_at"`
	// Requirements are what the person's policy asks them to enroll
	// (policy.go); nil without policies or when it asks nothing.
	Requirements *EnrollRequirements `json:"requirements,omitempty"`
}

// pendingStep is what a session keeps between two requests, sealed.
type pendingStep struct {
	// Purpose is "enroll" or "verify".
	Purpose    string         `json:"p"`
	Kind       string         `json:"k"`
	Enrollment string         `json:"e,omitempty"`
	State      []byte         `json:"s,omitempty"`
	Prompt     map[string]any `json:"pr,omitempty"`
	Expires    time.Time      `json:"x"`
}

func sessionAD(s *store.Session) []byte { return append([]byte("session:"), s.TokenHash...) }

// SignIn checks the directory password and opens a session. An unknown
// login and a wrong password answer the same; only those two count as
// failed guesses against the abuse controls (and the directory's own
// lockout counts its wrong passwords). A directory that cannot answer, or
// answers with something that is not the person's doing (sspr's
// configuration, missing rights), is said plainly and counts against no one.
func (e *Enroll) SignIn(ctx context.Context, login, password, clientIP, lang string) (string, SessionView, error) {
	r := e
	began := e.mono()
	defer r.padTo(ctx, began, r.SignInMinDuration, "identify_min_duration")
	if fe := e.accessRefusesSignIn(ctx, login, clientIP); fe != nil {
		return "", SessionView{}, fe
	}
	user, base, err := e.checkPassword(ctx, "enroll.signin", login, password, clientIP)
	if err != nil {
		return "", SessionView{}, err
	}
	if fe := e.policyRefuses(ctx, e.Policies, user, policy.Enroll, base); fe != nil {
		return "", SessionView{}, fe
	}
	tokenBytes := make([]byte, 32)
	if _, err := io.ReadFull(r.rand(), tokenBytes); err != nil {
		return "", SessionView{}, &Error{Code: CodeInternal, Err: err}
	}
	token := base64.RawURLEncoding.EncodeToString(tokenBytes)
	now := r.now()
	s := &store.Session{TokenHash: hashToken(token), Directory: user.Directory, SubjectDN: user.DN, Login: user.Login,
		DisplayName: user.DisplayName, Language: lang, ClientIP: clientIP, CreatedAt: now, ExpiresAt: now.Add(e.SessionTTL)}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertSession(s); err != nil {
			return err
		}
		ev := base
		ev.At, ev.Outcome = now, audit.Success
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return "", SessionView{}, &Error{Code: CodeInternal, Err: err}
	}
	v, err := e.view(ctx, s)
	return token, v, err
}

// checkPassword is the password half of a sign-in (enrollment and the admin
// console): the identify limit, the lookup, the guess limit, the lockout
// guard and the bind. An unknown login, a directory that cannot check
// passwords, a wrong password and an account in a state that refuses
// sign-in all answer CodeCredentialsWrong, and only the first three count
// as guesses, so the answer tells a stranger nothing. base is the audit
// event filled in so far, for the caller's own records.
func (r *Enroll) checkPassword(ctx context.Context, event, login, password, clientIP string) (user *directory.User, base audit.Event, err error) {
	login = strings.TrimSpace(login)
	if login == "" || password == "" {
		return nil, base, refuse(CodeCredentialsWrong)
	}
	base = audit.Event{Event: event, Actor: r.typedActor(login), ClientIP: clientIP}
	refundIdentify, fe := r.take(ctx, LimitIdentify, "", clientIP, "")
	if fe != nil {
		r.recordLimited(ctx, base, LimitIdentify, fe, false)
		return nil, base, fe
	}
	user, err = r.Directories.FindUser(ctx, login)
	switch kind := directory.KindOf(err); {
	case err == nil:
		base.Actor, base.Subject, base.Directory = user.Login, user.DN, user.Directory
	case kind == directory.KindNotFound, kind == directory.KindAmbiguous, !r.outageRefuses(false):
		// Unknown, or one directory of several down while the others did
		// not know the login: a login they knew would be answered by its
		// password, so this one is answered as unknown (as identify does).
		reason := "unknown_login"
		if kind != directory.KindNotFound && kind != directory.KindAmbiguous {
			reason = "directory_unavailable"
			r.log().Error("looking up a user failed in a directory; answering as for an unknown login", "err", err)
		}
		r.failure(ctx, passwordGuessKey(nil, login), clientIP)
		ev := base
		ev.At, ev.Outcome, ev.Reason = r.now(), audit.Failure, reason
		r.appendAudit(ctx, ev)
		return nil, base, refuse(CodeCredentialsWrong)
	default:
		refundIdentify() // the directory is down: counts against no one
		r.log().Error("looking up a user failed", "err", err)
		return nil, base, &Error{Code: CodeDirectoryDown, Err: err}
	}
	if d, ok := r.Directories.Directory(user.Directory); ok && !verifiesPasswords(d) {
		// The directory cannot check a password (Entra ID with client
		// credentials). The answer is the one an unknown login gets,
		// counted the same way: a different one would tell a stranger
		// the account exists. The audit log says why.
		r.failure(ctx, passwordGuessKey(nil, login), clientIP)
		ev := base
		ev.At, ev.Outcome, ev.Reason = r.now(), audit.Denied, "directory_cannot_verify"
		r.appendAudit(ctx, ev)
		return nil, base, refuse(CodeCredentialsWrong)
	}
	// Wrong passwords here are counted apart from failed recovery
	// verifications, so nobody can block a person's recovery by failing to
	// sign in as them.
	key := passwordGuessKey(user, login)
	refund, fe := r.take(ctx, LimitVerify, key, clientIP, "") // kept for a wrong password only
	if fe != nil {
		r.recordLimited(ctx, base, LimitVerify, fe, true)
		return nil, base, refuse(CodeCredentialsWrong) // quietly
	}
	if r.wouldLock(ctx, user) {
		// One more wrong password would lock the account: do not bind.
		r.lockoutGuard(ctx, base, key, clientIP)
		return nil, base, refuse(CodeCredentialsWrong)
	}
	d, _ := r.Directories.Directory(user.Directory)
	if err := d.VerifyPassword(ctx, user, password); err != nil {
		kind := directory.KindOf(err)
		ev := base
		ev.At, ev.Outcome, ev.Reason = r.now(), audit.Failure, kind.String()
		var answer *Error
		switch kind {
		case directory.KindInvalidCredentials:
			// A wrong password is the one result that counts: its slot
			// is kept.
			answer = refuse(CodeCredentialsWrong)
		case directory.KindLocked, directory.KindDisabled, directory.KindAccountExpired, directory.KindPasswordExpired,
			directory.KindMustChange, directory.KindLogonRestricted:
			// The account's state, not a guess: the same answer as a wrong
			// password (telling them apart tells a stranger about the
			// account), but nothing is counted.
			refund()
			answer = refuse(CodeCredentialsWrong)
		default:
			// Down, or sspr's own configuration (rights, TLS, an operation
			// the directory lacks): nothing the person did.
			refund()
			ev.Reason = "directory_" + kind.String()
			r.log().Error("checking a password at sign-in failed", "directory", user.Directory, "subject", user.DN, "err", err)
			answer = &Error{Code: CodeDirectoryDown, Err: err}
		}
		r.appendAudit(ctx, ev)
		return nil, base, answer
	}
	refund()
	return user, base, nil
}

// session loads a live session.
func (e *Enroll) session(tx *store.Tx, token string) (*store.Session, error) {
	if len(token) != 43 {
		return nil, refuse(CodeSessionNotFound)
	}
	s, err := tx.SessionByTokenHash(hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(CodeSessionNotFound)
	}
	if err != nil {
		return nil, err
	}
	if e.now().After(s.ExpiresAt) {
		return nil, refuse(CodeSessionNotFound)
	}
	return s, nil
}

func (e *Enroll) load(ctx context.Context, token string) (*store.Session, error) {
	var s *store.Session
	err := e.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		s, err = e.session(tx, token)
		return err
	})
	return s, e.wrap(err)
}

// stored lists the person's stored enrollments, opened.
func (e *Enroll) stored(ctx context.Context, s *store.Session) ([]*store.Enrollment, error) {
	var rows []*store.Enrollment
	err := e.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		rows, err = tx.Enrollments(s.Directory, s.SubjectDN)
		return err
	})
	return rows, err
}

func (e *Enroll) pending(s *store.Session) *pendingStep {
	if s.Pending == nil {
		return nil
	}
	plain, err := e.Sealer.Open(s.Pending, sessionAD(s))
	if err != nil {
		return nil
	}
	var p pendingStep
	if json.Unmarshal(plain, &p) != nil || e.now().After(p.Expires) {
		return nil
	}
	return &p
}

func (e *Enroll) verified(s *store.Session, haveFactors bool) bool {
	if !haveFactors {
		return true
	}
	return !s.FactorVerifiedAt.IsZero() && e.now().Sub(s.FactorVerifiedAt) <= e.StepUpWindow
}

func (e *Enroll) view(ctx context.Context, s *store.Session) (SessionView, error) {
	rows, err := e.stored(ctx, s)
	if err != nil {
		return SessionView{}, &Error{Code: CodeInternal, Err: err}
	}
	v := SessionView{Login: s.Login, DisplayName: s.DisplayName, ExpiresAt: s.ExpiresAt.Truncate(time.Second)}
	for _, row := range rows {
		v.Factors = append(v.Factors, EnrolledFactor{ID: row.ID, Kind: factor.Kind(row.Kind), Label: row.Label, Source: row.Source,
			CreatedAt: row.CreatedAt, LastUsedAt: row.LastUsedAt})
	}
	_, pre, preErr := e.directoryMethods(ctx, s)
	if preErr != nil {
		// Shown without them; a change still needs the directory (forChange).
		e.log().Warn("looking up the directory's methods for the enrollment page failed", "directory", s.Directory, "err", preErr)
	}
	for _, p := range pre {
		v.Factors = append(v.Factors, EnrolledFactor{ID: p.ID, Kind: p.Kind, Label: maskedDestination(p), Source: SourceDirectory})
	}
	for _, k := range e.Offered {
		if fa := e.Factors[k]; fa != nil && fa.NeedsEnrollment() {
			v.CanAdd = append(v.CanAdd, k)
		}
	}
	e.policyView(ctx, s, &v)
	v.Step = StepReady
	if !e.verified(s, len(rows) > 0 || len(pre) > 0 || preErr != nil) {
		v.Step = StepVerify
	}
	if p := e.pending(s); p != nil {
		v.PendingKind, v.PendingPrompt = factor.Kind(p.Kind), p.Prompt
		if p.Purpose == "enroll" {
			v.Step = StepConfirm
		}
	}
	return v, nil
}

// View shows the session.
func (e *Enroll) View(ctx context.Context, token string) (SessionView, error) {
	s, err := e.load(ctx, token)
	if err != nil {
		return SessionView{}, err
	}
	return e.view(ctx, s)
}

// subject looks the session's person up again.
func (e *Enroll) subject(ctx context.Context, s *store.Session) (factor.Subject, *directory.User, error) {
	u, err := e.findIn(ctx, s.Directory, s.Login)
	if err != nil {
		return factor.Subject{}, nil, &Error{Code: CodeDirectoryDown, Err: err}
	}
	if u.DN != s.SubjectDN || u.Directory != s.Directory {
		return factor.Subject{}, nil, refuse(CodeSessionNotFound)
	}
	return factor.Subject{Directory: u.Directory, DN: u.DN, Login: u.Login, DisplayName: u.DisplayName, Attributes: u.Attributes}, u, nil
}

// savePending stores (or clears) the step in progress and enqueues what a
// challenge asks to deliver, in one transaction.
func (e *Enroll) savePending(ctx context.Context, s *store.Session, p *pendingStep, deliver *factor.Delivery, purpose string) error {
	r := e
	s.Pending = nil
	if p != nil {
		plain, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if s.Pending, err = r.Sealer.Seal(plain, sessionAD(s)); err != nil {
			return err
		}
	}
	now := r.now()
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateSession(s); err != nil {
			return err
		}
		if deliver == nil {
			return nil
		}
		if deliver.Channel == "sms" {
			return r.enqueueSMS(tx, purpose+"_code", deliver.To, r.Composer.SMSCode(s.Language, deliver.Code, r.CodeTTL), now)
		}
		if deliver.Channel == channelVoice {
			return r.enqueueVoice(tx, purpose+"_code", s.Language, deliver.To, deliver.Code, now)
		}
		m, err := r.Composer.ResetCode(s.Language, notify.CodeMail{Name: firstNonEmpty(s.DisplayName, s.Login), Code: deliver.Code,
			ValidFor: r.CodeTTL, RequestIP: s.ClientIP, RequestAt: now, ContinueAt: r.ContinueURL})
		if err != nil {
			return err
		}
		return r.enqueueMail(tx, purpose+"_code", deliver.To, m, now)
	})
	if err == nil && deliver != nil {
		r.enqueued()
	}
	return r.wrap(err)
}

// StartVerify challenges one of the person's enrolled factors (step-up
// before changes).
func (e *Enroll) StartVerify(ctx context.Context, token, enrollmentID string) (SessionView, error) {
	r := e
	s, err := e.load(ctx, token)
	if err != nil {
		return SessionView{}, err
	}
	subject, target, err := e.method(ctx, s, enrollmentID)
	if err != nil {
		return SessionView{}, err
	}
	fa := r.Factors[target.Kind]
	ch, err := fa.Challenge(ctx, subject, target.Enrollment)
	if err != nil {
		return SessionView{}, &Error{Code: CodeInternal, Err: err}
	}
	if ch.Deliver != nil {
		if fe := r.limit(ctx, LimitSend, s.Directory+"|"+s.SubjectDN, s.ClientIP, ch.Deliver.To); fe != nil {
			r.recordLimited(ctx, audit.Event{Event: "enroll.verify_start", Actor: s.Login, Subject: s.SubjectDN, Directory: s.Directory,
				ClientIP: s.ClientIP, Detail: map[string]any{"factor": string(target.Kind)}}, LimitSend, fe, false)
			return SessionView{}, fe
		}
	}
	p := &pendingStep{Purpose: "verify", Kind: string(target.Kind), Enrollment: target.ID, State: ch.State, Prompt: ch.Prompt, Expires: expiry(ch, r)}
	if err := e.savePending(ctx, s, p, ch.Deliver, "enroll_verify"); err != nil {
		return SessionView{}, err
	}
	return e.view(ctx, s)
}

func expiry(ch factor.Challenge, r *Enroll) time.Time {
	if ch.Expires.IsZero() {
		return r.now().Add(r.CodeTTL)
	}
	return ch.Expires
}

// FinishVerify checks the step-up response. Only a wrong response counts
// against the person; a directory or store that fails is said plainly.
func (e *Enroll) FinishVerify(ctx context.Context, token string, resp factor.Response) (SessionView, error) {
	r := e
	s, err := e.load(ctx, token)
	if err != nil {
		return SessionView{}, err
	}
	p := e.pending(s)
	if p == nil || p.Purpose != "verify" {
		return SessionView{}, refuse(CodeWrongState)
	}
	subject, target, err := e.method(ctx, s, p.Enrollment)
	if err != nil {
		return SessionView{}, err
	}
	key := s.Directory + "|" + s.SubjectDN
	fa := r.Factors[target.Kind]
	now := r.now()
	ev := audit.Event{At: now, Event: "enroll.verify", Actor: s.Login, Subject: s.SubjectDN, Directory: s.Directory, ClientIP: s.ClientIP,
		Outcome: audit.Success, Detail: map[string]any{"factor": string(target.Kind)}}
	var upd factor.Enrollment
	ok := false
	refund, fe := r.take(ctx, LimitVerify, key, s.ClientIP, "") // kept for a wrong response only
	if fe != nil {
		// Quietly: answered as a wrong code, recorded as a block.
		r.recordLimited(ctx, ev, LimitVerify, fe, true)
		v, _ := e.view(ctx, s)
		return v, refuse(CodeCodeInvalid)
	}
	resp = withField(target.Kind, resp, p.Prompt)
	upd, err = fa.Verify(ctx, subject, target.Enrollment, p.State, resp)
	if next, more := continuation(err); more {
		refund() // another round (rounds.go): no answer yet
		return e.continuePending(ctx, s, p, next)
	}
	switch {
	case err == nil:
		ok = true
		refund()
	case errors.Is(err, factor.ErrWrongResponse), errors.Is(err, factor.ErrReplayed), errors.Is(err, factor.ErrExpired):
		ev.Outcome, ev.Reason = audit.Failure, "wrong_response"
	case errors.Is(err, factor.ErrForeignAnswer):
		// Another challenge's answer: no attempt, as in recovery (round).
		refund()
		return SessionView{}, &Error{Code: CodeAnswerForeign, Err: err}
	default:
		// The factor could not check (its service is down, say): not the
		// person's failure.
		refund()
		r.log().Error("a factor failed to verify at step-up", "factor", target.Kind, "err", err)
		return SessionView{}, &Error{Code: CodeFactorUnavailable, Err: err}
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if ok {
			s.FactorVerifiedAt, s.Pending = now, nil
			if target.stored {
				sealed, err := r.Sealer.Seal(upd.Secret, enrollmentAD(target.ID))
				if err != nil {
					return err
				}
				swapped, err := tx.SwapEnrollmentSecret(target.ID, target.sealed, sealed, upd.Label, now)
				if err != nil {
					return err
				}
				if !swapped {
					return errRace
				}
			}
			if err := tx.UpdateSession(s); err != nil {
				return err
			}
		}
		return r.Audit.Append(tx, ev)
	})
	if errors.Is(err, errRace) {
		ok = false // the same one-time code was used concurrently
		err = nil
	}
	if err != nil {
		return SessionView{}, r.wrap(err)
	}
	if !ok {
		v, _ := e.view(ctx, s)
		return v, refuse(CodeCodeInvalid)
	}
	return e.view(ctx, s)
}

// forChange loads a session that may change factors now: signed in, and
// (when the person has factors) with a recent step-up. It also returns the
// person's stored enrollments.
func (e *Enroll) forChange(ctx context.Context, token string) (*store.Session, []*store.Enrollment, error) {
	s, err := e.load(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	rows, err := e.stored(ctx, s)
	if err != nil {
		return nil, nil, &Error{Code: CodeInternal, Err: err}
	}
	have := len(rows) > 0
	if !have || s.FactorVerifiedAt.IsZero() {
		// A pre-enrolled directory address or number is a factor too: a
		// directory password alone must not add factors beside it. When the
		// directory cannot say, nothing changes.
		_, pre, err := e.directoryMethods(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		have = have || len(pre) > 0
	}
	if !e.verified(s, have) {
		return nil, nil, refuse(CodeStepUpRequired)
	}
	return s, rows, nil
}

// Begin starts enrolling a factor of kind with the person's input (an
// address, a phone number, chosen questions and answers).
func (e *Enroll) Begin(ctx context.Context, token string, kind factor.Kind, input factor.Response) (SessionView, error) {
	r := e
	s, _, err := e.forChange(ctx, token)
	if err != nil {
		return SessionView{}, err
	}
	fa := r.Factors[kind]
	if fa == nil || !fa.NeedsEnrollment() || !slices.Contains(r.Offered, kind) {
		return SessionView{}, refuse(CodeFactorNotAllowed)
	}
	subject, _, err := e.subject(ctx, s)
	if err != nil {
		return SessionView{}, err
	}
	ch, err := fa.BeginEnroll(ctx, subject, input)
	if errors.Is(err, factor.ErrBadInput) {
		return SessionView{}, &Error{Code: CodeBadEnrollmentInput, Err: err}
	}
	if err != nil {
		return SessionView{}, &Error{Code: CodeInternal, Err: err}
	}
	if ch.Deliver != nil {
		if fe := r.limit(ctx, LimitSend, s.Directory+"|"+s.SubjectDN, s.ClientIP, ch.Deliver.To); fe != nil {
			r.recordLimited(ctx, audit.Event{Event: "enroll.begin", Actor: s.Login, Subject: s.SubjectDN, Directory: s.Directory,
				ClientIP: s.ClientIP, Detail: map[string]any{"factor": string(kind)}}, LimitSend, fe, false)
			return SessionView{}, fe
		}
	}
	p := &pendingStep{Purpose: "enroll", Kind: string(kind), State: ch.State, Prompt: ch.Prompt, Expires: expiry(ch, r)}
	if p.Expires.Before(r.now().Add(15 * time.Minute)) {
		p.Expires = r.now().Add(15 * time.Minute) // time to scan a QR code or save backup codes
	}
	if err := e.savePending(ctx, s, p, ch.Deliver, "enroll"); err != nil {
		return SessionView{}, err
	}
	return e.view(ctx, s)
}

// Finish completes the enrollment in progress with the person's
// confirmation, stores it sealed, and tells the person on every channel.
func (e *Enroll) Finish(ctx context.Context, token string, resp factor.Response, name string) (SessionView, error) {
	r := e
	s, err := e.load(ctx, token)
	if err != nil {
		return SessionView{}, err
	}
	p := e.pending(s)
	if p == nil || p.Purpose != "enroll" {
		return SessionView{}, refuse(CodeWrongState)
	}
	fa := r.Factors[factor.Kind(p.Kind)]
	if fa == nil {
		return SessionView{}, refuse(CodeFactorNotAllowed)
	}
	subject, _, err := e.subject(ctx, s)
	if err != nil {
		return SessionView{}, err
	}
	key := s.Directory + "|" + s.SubjectDN
	refund, fe := r.take(ctx, LimitVerify, key, s.ClientIP, "") // kept for a wrong proof only
	if fe != nil {
		r.recordLimited(ctx, audit.Event{Event: "enroll.add", Actor: s.Login, Subject: s.SubjectDN, Directory: s.Directory,
			ClientIP: s.ClientIP, Detail: map[string]any{"factor": p.Kind}}, LimitVerify, fe, true)
		return SessionView{}, refuse(CodeCodeInvalid)
	}
	resp = withField(factor.Kind(p.Kind), resp, p.Prompt)
	en, err := fa.FinishEnroll(ctx, subject, p.State, resp)
	if next, more := continuation(err); more {
		refund() // another round (rounds.go): no answer yet
		return e.continuePending(ctx, s, p, next)
	}
	if err != nil {
		v, _ := e.view(ctx, s)
		switch {
		case errors.Is(err, factor.ErrBadInput):
			// Answers that do not meet the rules: not a failed proof.
			refund()
			return v, &Error{Code: CodeBadEnrollmentInput, Err: err}
		case errors.Is(err, factor.ErrExpired):
			refund()
			return v, refuse(CodeCodeExpired)
		case errors.Is(err, factor.ErrWrongResponse), errors.Is(err, factor.ErrReplayed):
			return v, refuse(CodeCodeInvalid)
		}
		// The factor could not check: not the person's failure.
		refund()
		r.log().Error("a factor failed to finish an enrollment", "factor", p.Kind, "err", err)
		return v, &Error{Code: CodeFactorUnavailable, Err: err}
	}
	refund()
	en.ID = newID()
	if name = strings.TrimSpace(name); name != "" && len(name) <= 64 && en.Label == "" {
		en.Label = name
	}
	sealed, err := r.Sealer.Seal(en.Secret, enrollmentAD(en.ID))
	if err != nil {
		return SessionView{}, &Error{Code: CodeInternal, Err: err}
	}
	now := r.now()
	targets := e.targets(ctx, s, en)
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertEnrollment(&store.Enrollment{ID: en.ID, Directory: s.Directory, SubjectDN: s.SubjectDN, Kind: string(en.Kind),
			Label: en.Label, Secret: sealed, Source: "user", CreatedAt: now}); err != nil {
			return err
		}
		s.Pending = nil
		if s.FactorVerifiedAt.IsZero() {
			// Enrolling the first factor proves it too.
			s.FactorVerifiedAt = now
		}
		if err := tx.UpdateSession(s); err != nil {
			return err
		}
		if err := e.notice(tx, s, targets, "added", string(en.Kind), now); err != nil {
			return err
		}
		return r.Audit.Append(tx, audit.Event{At: now, Event: "enroll.add", Actor: s.Login, Subject: s.SubjectDN, Directory: s.Directory,
			ClientIP: s.ClientIP, Outcome: audit.Success, Detail: map[string]any{"factor": string(en.Kind), "enrollment": en.ID}})
	})
	if err != nil {
		return SessionView{}, r.wrap(err)
	}
	r.enqueued()
	return e.view(ctx, s)
}

// Cancel drops the step in progress.
func (e *Enroll) Cancel(ctx context.Context, token string) (SessionView, error) {
	s, err := e.load(ctx, token)
	if err != nil {
		return SessionView{}, err
	}
	if err := e.savePending(ctx, s, nil, nil, ""); err != nil {
		return SessionView{}, err
	}
	return e.view(ctx, s)
}

// Remove deletes one of the person's enrollments; it needs a recent factor
// verification, like every change.
func (e *Enroll) Remove(ctx context.Context, token, enrollmentID string) (SessionView, error) {
	r := e
	s, rows, err := e.forChange(ctx, token)
	if err != nil {
		return SessionView{}, err
	}
	var gone *store.Enrollment
	for _, row := range rows {
		if subtle.ConstantTimeCompare([]byte(row.ID), []byte(enrollmentID)) == 1 {
			gone = row
		}
	}
	if gone == nil {
		return SessionView{}, refuse(CodeFactorNotAllowed)
	}
	now := r.now()
	// Notices go to the channels the person had before the removal, so
	// removing a phone is announced to that phone too.
	targets := e.targets(ctx, s, factor.Enrollment{})
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteEnrollment(s.Directory, s.SubjectDN, gone.ID); err != nil {
			return err
		}
		if err := e.notice(tx, s, targets, "removed", gone.Kind, now); err != nil {
			return err
		}
		return r.Audit.Append(tx, audit.Event{At: now, Event: "enroll.remove", Actor: s.Login, Subject: s.SubjectDN, Directory: s.Directory,
			ClientIP: s.ClientIP, Outcome: audit.Success, Detail: map[string]any{"factor": gone.Kind, "enrollment": gone.ID}})
	})
	if err != nil {
		return SessionView{}, r.wrap(err)
	}
	r.enqueued()
	return e.view(ctx, s)
}

// SignOut ends the session.
func (e *Enroll) SignOut(ctx context.Context, token string) error {
	return e.wrap(e.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.DeleteSession(hashToken(token))
	}))
}

// targets lists every channel the person can be reached at, plus a new
// enrollment's own destination.
func (e *Enroll) targets(ctx context.Context, s *store.Session, added factor.Enrollment) []noticeTarget {
	var out []noticeTarget
	if u, err := e.findIn(ctx, s.Directory, s.Login); err != nil || u.DN != s.SubjectDN {
		e.log().Warn("looking the user up for notices failed", "err", err)
	} else {
		out = e.recipients(ctx, e.Catalogue, u, NoticeEnrollment)
	}
	switch {
	case added.Kind == factor.Email && e.wants(NoticeEnrollment, "email"):
		out = append(out, noticeTarget{channel: "email", to: string(added.Secret)})
	case added.Kind == factor.SMS && e.wants(NoticeEnrollment, "sms"):
		out = append(out, noticeTarget{channel: "sms", to: string(added.Secret)})
	}
	return out
}

// notice enqueues "your verification methods changed" on every channel.
func (e *Enroll) notice(tx *store.Tx, s *store.Session, targets []noticeTarget, change, kind string, now time.Time) error {
	r := e
	seen := map[string]bool{}
	for _, t := range targets {
		if seen[t.channel+t.to] {
			continue
		}
		seen[t.channel+t.to] = true
		if t.role != "" {
			m, err := r.actionNotice(t, notify.NoticeMail{Action: string(NoticeEnrollment), Name: firstNonEmpty(s.DisplayName, s.Login), Login: s.Login,
				At: now, ClientIP: s.ClientIP}, now)
			if err != nil {
				return err
			}
			if err := r.enqueue(tx, m); err != nil {
				return err
			}
			continue
		}
		if t.channel == "sms" {
			if err := r.enqueueSMS(tx, "enrollment_notice", t.to, r.Composer.SMSNotice(s.Language, "enrollment", s.Login, now), now); err != nil {
				return err
			}
			continue
		}
		m, err := r.Composer.EnrollmentChanged(s.Language, notify.EnrollmentMail{Name: firstNonEmpty(s.DisplayName, s.Login), Login: s.Login,
			Change: change, Factor: kind, ChangedAt: now, ClientIP: s.ClientIP})
		if err != nil {
			return err
		}
		if err := r.enqueueMail(tx, "enrollment_notice", t.to, m, now); err != nil {
			return err
		}
	}
	return nil
}

// passwordVerifierCapability is implemented by directories that can say
// they cannot check a person's password at all (Entra ID: client
// credentials cannot sign in as a person). LDAP directories do not
// implement it and always can.
type passwordVerifierCapability interface{ VerifiesPasswords() bool }

func verifiesPasswords(d directory.Directory) bool {
	v, ok := d.(passwordVerifierCapability)
	return !ok || v.VerifiesPasswords()
}
