package flow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow/record"
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
func (r *Reset) enrollments(ctx context.Context, _ *record.Flow, user *directory.User) ([]*enrolled, error) {
	return r.Catalogue.enrollmentsOf(ctx, r.Kit, user)
}

// enrollmentsOf lists what user can verify with, among the offered kinds:
// stored enrollments (opened), the directory's mail and mobile where they
// pre-enroll, and the kinds that need no enrollment.
func (c *Catalogue) enrollmentsOf(ctx context.Context, k *Kit, user *directory.User) ([]*enrolled, error) {
	var rows []*store.Enrollment
	err := k.readOne(ctx, func(tx *store.Tx) error {
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
		if !slices.Contains(c.Offered, kind) || c.Factors[kind] == nil {
			continue
		}
		secret, err := k.Sealer.Open(row.Secret, enrollmentAD(row.ID))
		if err != nil {
			k.log().Error("an enrollment cannot be decrypted (wrong key ring?)", "enrollment", row.ID, "err", err)
			continue
		}
		out = append(out, &enrolled{stored: true, sealed: row.Secret, Enrollment: factor.Enrollment{ID: row.ID, Kind: kind, Label: row.Label,
			Secret: secret, CreatedAt: row.CreatedAt, LastUsedAt: row.LastUsedAt}})
		have[kind] = true
	}
	offered := func(k factor.Kind) bool { return slices.Contains(c.Offered, k) && c.Factors[k] != nil }
	if c.PreEnrollMail && !have[factor.Email] && offered(factor.Email) && user.Email != "" {
		out = append(out, &enrolled{Enrollment: factor.Enrollment{ID: directoryMailID, Kind: factor.Email, Secret: []byte(user.Email)}})
	}
	if mobile := firstAttr(user, "mobile"); c.PreEnrollMobile && !have[factor.SMS] && offered(factor.SMS) && mobile != "" {
		out = append(out, &enrolled{Enrollment: factor.Enrollment{ID: directoryMobileID, Kind: factor.SMS, Secret: []byte(mobile)}})
	}
	for _, k := range c.Offered {
		if fa := c.Factors[k]; fa != nil && !fa.NeedsEnrollment() {
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

func subjectOf(f *record.Flow, u *directory.User) factor.Subject {
	s := factor.Subject{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login, DisplayName: f.DisplayName}
	if u != nil {
		s.Attributes = u.Attributes
	}
	return s
}

// choices are the kinds that may be chosen now: offered, not yet verified,
// and not a kind that may only follow another factor when none has.
func (r *Reset) choices(f *record.Flow) []factor.Kind {
	var out []factor.Kind
	for _, k := range r.Offered {
		if r.Factors[k] == nil || slices.Contains(f.FactorsDone, string(k)) {
			continue
		}
		if r.Settings.NotFirst[k] && len(f.FactorsDone) == 0 {
			continue
		}
		if !r.policyOffers(f, k) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// sealedChallenge is what the flow keeps of an outstanding challenge.
type sealedChallenge struct {
	// Enrollment and State are the one enrollment challenged and its
	// state, in flows started before Parts existed.
	Enrollment string         `json:"e"`
	Decoy      bool           `json:"d,omitempty"`
	State      []byte         `json:"s,omitempty"`
	Prompt     map[string]any `json:"p,omitempty"`
	// Parts are the enrollments the challenge covers, any one of which may
	// answer it, each with its state: a code factor challenges every
	// enrollment of the kind (each address gets its own code, a code from
	// any authenticator app verifies), a factor.Multi one challenge for all
	// (every part then has the same state). A decoy has one part and no
	// enrollment.
	Parts []challengePart `json:"ps,omitempty"`
	// Carries is set on every challenge issued since the found entry rides
	// along (real and decoy alike, so both skip the same directory read);
	// User is the person's directory entry as identify (or the step that
	// issued the challenge) found it, nil for decoys. The steps up to the
	// answer (resend, verify) use it instead of looking the person up
	// again: one directory request per step less (issue 10). It is sealed
	// with the rest, so the database holds no readable copy.
	Carries bool            `json:"c,omitempty"`
	User    *directory.User `json:"u,omitempty"`
}

type challengePart struct {
	Enrollment string `json:"e,omitempty"`
	State      []byte `json:"s,omitempty"`
}

func (c *sealedChallenge) parts() []challengePart {
	if len(c.Parts) > 0 {
		return c.Parts
	}
	return []challengePart{{Enrollment: c.Enrollment, State: c.State}}
}

func challengeAD(f *record.Flow) []byte { return append([]byte("challenge:"), f.TokenHash...) }

func (r *Reset) openChallenge(f *record.Flow) (*sealedChallenge, error) {
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

// carried is the copy of user a challenge carries: the account-state
// attributes stay out (they belong to the connector and are only good for
// seconds; the password step reads the status afresh).
func carried(f *record.Flow, user *directory.User) *directory.User {
	if !f.Known || user == nil {
		return nil
	}
	u := *user
	u.StatusAttributes, u.ReadAt = nil, time.Time{}
	return &u
}

// delivery is a code to send, composed in the flow's language.
type delivery struct {
	kind    string // outbox kind
	channel string
	to      string
	mail    notify.Mail
	sms     string
	// approval is the request a manager's approval mail asks about,
	// recorded with it (approval.go).
	approval *store.ApprovalRequest
}

// issue challenges f with a factor of the given kind: a real challenge
// against every enrollment of that kind the person has, or, for people
// without one (or unknown, or blocked), a decoy that looks the same and
// never verifies. It updates f and returns what must be delivered.
//
// Before a first factor is verified, a factor.Multi (passkeys) is
// challenged without naming any enrollment, for real and decoy flows alike:
// its options are then the same for everybody. After one, it names them
// all, so a passkey on any of the person's devices answers.
func (r *Reset) issue(ctx context.Context, f *record.Flow, user *directory.User, available []*enrolled, kind factor.Kind, now time.Time) ([]delivery, error) {
	fa := r.Factors[kind]
	if fa == nil || !slices.Contains(r.choices(f), kind) {
		return nil, refuse(CodeFactorNotAllowed)
	}
	if f.ChallengesSent >= r.Settings.MaxCodesSent {
		return nil, refuse(CodeTooManyCodes)
	}
	var targets []*enrolled
	if f.Known {
		for _, e := range available {
			if e.Kind == kind {
				targets = append(targets, e)
			}
		}
	}
	// The most recently used first: its prompt is the one shown.
	slices.SortStableFunc(targets, func(a, b *enrolled) int { return b.LastUsedAt.Compare(a.LastUsedAt) })
	subject := subjectOf(f, user)
	multi, isMulti := fa.(factor.Multi)
	anonymous := isMulti && len(f.FactorsDone) == 0
	var (
		parts   []challengePart
		prompt  map[string]any
		expires time.Time
		sends   []*factor.Delivery
		tos     []string
	)
	if isMulti && len(targets) > 0 {
		var es []factor.Enrollment
		if !anonymous {
			for _, t := range targets {
				es = append(es, t.Enrollment)
			}
		}
		ch, err := multi.ChallengeAll(ctx, subject, es)
		switch {
		case errors.Is(err, factor.ErrNotAvailable):
		case err != nil:
			return nil, &Error{Code: CodeInternal, Err: fmt.Errorf("challenge %s: %w", kind, err)}
		default:
			for _, t := range targets {
				parts = append(parts, challengePart{Enrollment: t.ID, State: ch.State})
			}
			prompt, expires = ch.Prompt, ch.Expires
		}
	} else {
		for _, t := range targets {
			ch, err := fa.Challenge(ctx, subject, t.Enrollment)
			if errors.Is(err, factor.ErrNotAvailable) {
				continue
			} else if err != nil {
				// A factor that must ask a server to challenge (OIDC
				// discovery) fails alike for decoys while that server is
				// down: the same refusal as theirs, so an outage does not
				// tell who has the factor.
				r.log().Error("a challenge failed", "factor", kind, "err", err)
				return nil, refuse(CodeFactorNotAllowed)
			}
			if ch.Deliver != nil {
				if e := r.limit(ctx, LimitSend, limitKey(f), f.ClientIP, ch.Deliver.To); e != nil {
					// Quietly: the answer stays "a code is on its way"; the
					// audit log says why no code went.
					ev := r.event(f, "challenge", f.ClientIP, audit.Denied, "")
					ev.Detail = map[string]any{"factor": string(kind)}
					r.recordLimited(ctx, ev, LimitSend, e, true)
					continue
				}
				sends = append(sends, ch.Deliver)
				if to, ok := ch.Prompt["to"].(string); ok {
					tos = append(tos, to)
				}
			}
			if len(parts) == 0 {
				prompt, expires = ch.Prompt, ch.Expires
			}
			parts = append(parts, challengePart{Enrollment: t.ID, State: ch.State})
		}
	}
	decoy := len(parts) == 0
	if decoy {
		ch, err := r.decoyChallenge(ctx, fa, subject, anonymous)
		if err != nil {
			// Never a 500 for a kind without decoys: the same refusal a
			// real challenge that cannot be made gets.
			r.log().Error("a decoy challenge failed", "factor", kind, "err", err)
			return nil, refuse(CodeFactorNotAllowed)
		}
		parts = []challengePart{{State: ch.State}}
		prompt, expires = ch.Prompt, ch.Expires
	}
	if len(tos) > 1 {
		// The code went to each address: the prompt (shown after a first
		// factor) names them all.
		prompt = maps.Clone(prompt)
		prompt["to"] = strings.Join(tos, ", ")
	}
	sc := sealedChallenge{Decoy: decoy, Prompt: prompt, Parts: parts, Carries: true, User: carried(f, user)}
	plain, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	if f.ChallengeState, err = r.Sealer.Seal(plain, challengeAD(f)); err != nil {
		return nil, err
	}
	if err := moveTo(f, StateChallenged); err != nil {
		return nil, err
	}
	f.ChallengeKind, f.ChallengeEnrollment = string(kind), parts[0].Enrollment
	f.ChallengeExpiresAt = expires
	// A manager's approval window is the factor's own (longer than a
	// code's: a person, not a machine, has to act).
	if _, approval := fa.(approvalLinker); f.ChallengeExpiresAt.IsZero() || (!approval && f.ChallengeExpiresAt.After(now.Add(r.Settings.CodeTTL))) {
		f.ChallengeExpiresAt = now.Add(r.Settings.CodeTTL)
	}
	f.ChallengesSent++
	f.UpdatedAt = now
	var out []delivery
	for _, send := range sends {
		d := delivery{kind: f.Kind + "_code", channel: send.Channel, to: send.To}
		switch send.Channel {
		case "email":
			d.mail, err = r.Composer.ResetCode(f.Language, notify.CodeMail{
				Action: f.Kind, Name: nameOf(f), Code: send.Code, ValidFor: r.Settings.CodeTTL, RequestIP: f.ClientIP, RequestAt: now,
				ContinueAt: r.Settings.ContinueURL,
			})
			if err != nil {
				return nil, fmt.Errorf("composing the code mail: %w", err)
			}
		case "sms":
			d.sms = r.Composer.SMSCode(f.Language, send.Code, r.Settings.CodeTTL)
		default:
			if ok, err := r.composeOther(f, kind, send, &d, now); err != nil {
				return nil, fmt.Errorf("composing the %s delivery: %w", send.Channel, err)
			} else if !ok {
				return nil, fmt.Errorf("factor %s asks for delivery over unknown channel %q", kind, send.Channel)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// decoyChallenge builds a challenge that looks like a real one of the same
// factor but can never verify. anonymous is a factor.Multi's challenge
// before a first factor, which names no enrollment for anybody.
func (r *Reset) decoyChallenge(ctx context.Context, fa factor.Factor, s factor.Subject, anonymous bool) (factor.Challenge, error) {
	var (
		ch  factor.Challenge
		err error
	)
	if dc, ok := fa.(factor.DecoyChallenger); ok {
		ch, err = dc.DecoyChallenge(ctx, s)
	} else if m, ok := fa.(factor.Multi); ok && anonymous {
		ch, err = m.ChallengeAll(ctx, s, nil)
	} else {
		ch, err = fa.Challenge(ctx, s, decoyEnrollment(fa, s))
	}
	ch.Deliver = nil
	return ch, err
}

// decoyEnrollment is an enrollment of fa's kind that presents like a real
// one and costs as much to verify, but never verifies.
func decoyEnrollment(fa factor.Factor, s factor.Subject) factor.Enrollment {
	if d, ok := fa.(factor.Decoyer); ok {
		return d.DecoyEnrollment(s)
	}
	return factor.Enrollment{ID: "decoy", Kind: fa.Kind(), Secret: decoySecret(fa.Kind())}
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
func (r *Reset) deliver(tx *store.Tx, f *record.Flow, ds []delivery, now time.Time) error {
	for _, d := range ds {
		var err error
		if other, oerr := r.enqueueOther(tx, d, now); other {
			err = oerr
		} else if d.channel == "sms" {
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
func (r *Reset) user(ctx context.Context, f *record.Flow) (*directory.User, error) {
	if !f.Known {
		return nil, nil
	}
	u, err := r.findIn(ctx, f.Directory, f.Login)
	if err != nil {
		return nil, err
	}
	if u.DN != f.SubjectDN || u.Directory != f.Directory {
		return nil, errAccountChanged
	}
	return u, nil
}

// errAccountChanged: the flow's login now finds another account than the
// one identify found (or the directory another entry at its DN).
var errAccountChanged = &directory.Error{Kind: directory.KindNotFound, Op: "search",
	Diagnostic: "the account found at identify is no longer the one the login or DN finds"}

// findIn looks login up again in the directory it was found in (a login
// may exist in several directories).
func (k *Kit) findIn(ctx context.Context, dir, login string) (*directory.User, error) {
	if p, ok := k.Directories.(directoryPicker); ok {
		return p.FindUserIn(ctx, dir, login)
	}
	return k.Directories.FindUser(ctx, login)
}

// decoyDN names no entry: decoy flows read the status and the enrollments
// of this subject, so they do the same directory and store round trips as
// real ones.
const decoyDN = "cn=sspr-decoy"

// lookup reads what a step needs about the flow's person: their directory
// entry and their enrollments. A decoy flow does the same reads (the login
// looked up again, enrollments read for a subject that has none), so a
// step takes as long whoever it is for; it returns no user and nothing
// enrolled.
//
// A challenge that carries the entry (opened is the flow's challenge when
// the caller opened it already) spares the directory read, for real and
// decoy flows alike.
func (r *Reset) lookup(ctx context.Context, f *record.Flow, opened *sealedChallenge) (*directory.User, []*enrolled, *Error) {
	if opened == nil && State(f.State) == StateChallenged {
		opened, _ = r.openChallenge(f)
	}
	var ch *sealedChallenge
	if opened != nil && opened.Carries {
		ch = opened
	}
	if !f.Known {
		var err error
		if f.Login != "" && ch == nil {
			// One directory, as a real flow asks only the person's own.
			dir := f.Directory
			if dir == "" {
				dir = r.decoyDirectory("")
			}
			_, err = r.findIn(ctx, dir, f.Login)
		}
		_, _ = r.enrollments(ctx, f, &directory.User{Directory: f.Directory, DN: decoyDN})
		if err != nil && directory.KindOf(err) != directory.KindNotFound && directory.KindOf(err) != directory.KindAmbiguous &&
			r.outageRefuses(false) {
			return nil, nil, &Error{Code: CodeDirectoryDown, Err: err}
		}
		return nil, nil, nil
	}
	var user *directory.User
	if ch != nil && ch.User != nil && ch.User.DN == f.SubjectDN && ch.User.Directory == f.Directory {
		user = ch.User
	} else {
		var err error
		if user, err = r.user(ctx, f); err != nil {
			return nil, nil, &Error{Code: CodeDirectoryDown, Err: err}
		}
	}
	available, err := r.enrollments(ctx, f, user)
	if err != nil {
		return nil, nil, &Error{Code: CodeInternal, Err: err}
	}
	return user, available, nil
}

// outageRefuses reports whether a directory that cannot be asked is said
// plainly (503) rather than walked past on the decoy path. With one
// directory to ask (one configured, or the one picked), nobody can be
// found while it is down, so everybody gets the same 503. With several, a
// login found in a reachable directory goes on, so a login not found in
// the reachable ones must go on alike (on the decoy path; its person, if
// any, is in the directory that is down and gets no code).
func (k *Kit) outageRefuses(picked bool) bool {
	if picked {
		return true
	}
	if a, ok := k.Directories.(interface{ All() []directory.Directory }); ok {
		return len(a.All()) <= 1
	}
	return true
}

// Choose challenges the flow with another kind of factor (or the same one
// again, which sends a new code). It takes at least StepMinDuration,
// whoever it is for.
func (r *Reset) Choose(ctx context.Context, token string, kind factor.Kind, clientIP string) (Status, error) {
	defer r.padStep(ctx, r.mono())
	return r.choose(ctx, token, kind, clientIP)
}

func (r *Reset) choose(ctx context.Context, token string, kind factor.Kind, clientIP string) (Status, error) {
	var f *record.Flow
	if err := r.readOne(ctx, func(tx *store.Tx) error {
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
	user, available, fe := r.lookup(ctx, f, nil)
	if fe != nil {
		return Status{}, fe
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
	}
	return r.status(f), nil
}

// Resend issues the current challenge again (a new code replaces the old
// one). The count of wrong tries is kept: resending never buys an attacker
// more guesses. It takes at least StepMinDuration.
func (r *Reset) Resend(ctx context.Context, token, clientIP string) (Status, error) {
	defer r.padStep(ctx, r.mono())
	var kind factor.Kind
	if err := r.readOne(ctx, func(tx *store.Tx) error {
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
	return r.choose(ctx, token, kind, clientIP)
}

// VerifyCode answers a code challenge (email, SMS, authenticator app, backup
// code).
func (r *Reset) VerifyCode(ctx context.Context, token, code, clientIP string) (Status, error) {
	return r.Verify(ctx, token, factor.Response{Values: map[string]string{"code": code}}, clientIP)
}

// Verify checks the response to the outstanding challenge. A right response,
// in time, counts the factor (and consumes the challenge); with enough
// factors the flow is verified, else the person chooses the next one. Each
// wrong response costs an attempt, and the last one kills the flow. It
// takes at least StepMinDuration, whoever it is for.
func (r *Reset) Verify(ctx context.Context, token string, resp factor.Response, clientIP string) (Status, error) {
	defer r.padStep(ctx, r.mono())
	var f *record.Flow
	if err := r.readOne(ctx, func(tx *store.Tx) error {
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
	if next, handled, err := r.awaitApproval(ctx, f, kind, resp, clientIP, now); handled {
		return r.status(f), err
	} else {
		resp = next
	}
	var updated *usedEnrollment
	good := false
	var note roundNote
	refund, e := r.take(ctx, LimitVerify, limitKey(f), clientIP, "")
	if e == nil {
		var down *Error
		good, updated, down = r.check(ctx, f, kind, resp, &note)
		if down != nil {
			// The directory could not be asked: that is nobody's wrong
			// answer. Nothing is counted, the challenge stays, and the
			// person may try again (a decoy flow answers the same).
			refund()
			_ = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
				return r.Audit.Append(tx, r.event(f, "verify", clientIP, audit.Failure, "directory_unavailable"))
			})
			return r.status(f), down
		}
	}
	reason := ""
	if e == nil && !good {
		// Another round, a server that cannot be asked, or a wrong answer
		// worth explaining (rounds.go).
		var st Status
		var err error
		var done bool
		if st, done, reason, err = r.round(ctx, f, kind, &note, clientIP, refund, now); done {
			return st, err
		}
	}
	// The first factor verified: now, and not before, the person's policy
	// is chosen (policy.go).
	var verdict *policyVerdict
	var av *accessVerdict
	if good && len(f.FactorsDone) == 0 {
		var pe *Error
		if verdict, pe = r.choosePolicy(ctx, f, kind, clientIP); pe != nil {
			refund()
			r.log().Error("choosing the policy failed; the person may try again", "err", pe.Err)
			_ = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
				return r.Audit.Append(tx, r.event(f, "verify", clientIP, audit.Failure, "policy_unavailable"))
			})
			return r.status(f), pe
		}
		if av, pe = r.decideAccess(ctx, f, kind, clientIP, verdict); pe != nil {
			refund()
			return r.status(f), pe
		}
	}
	var stepErr *Error
	refundedInTx := false
	step := func(tx *store.Tx) error {
		refundedInTx = false
		f.UpdatedAt = now
		ev := r.event(f, "verify", clientIP, audit.Success, "")
		ev.Detail = map[string]any{"factor": string(kind)}
		if good {
			f.FactorsDone = append(f.FactorsDone, string(kind))
			f.ChallengeState, f.ChallengeKind, f.ChallengeEnrollment = nil, "", ""
			if verdict != nil {
				applyPolicy(f, verdict.policy, kind)
				ev.Detail["policy"] = verdict.policy.Name
			}
			if av != nil {
				applyAccess(f, av)
				ev.Detail = withAccess(ev.Detail, r.Access, av.decision)
			}
			next := StateChoose
			if r.enough(f) {
				next = StateVerified
			}
			if verdict != nil && verdict.refusal != "" {
				next, stepErr = StateFailed, refuse(verdict.refusal)
				ev.Outcome, ev.Reason = audit.Denied, verdict.reason
			} else if av != nil && av.refusal != nil {
				next, stepErr = StateFailed, av.refusal
				ev.Outcome, ev.Reason = audit.Denied, av.reason
			}
			// Only wrong answers stay counted: the slot goes back in this
			// transaction when the limiter can, after it otherwise.
			if tr, ok := r.Limiter.(TxRefunder); ok && e == nil {
				if err := tr.RefundIn(tx, LimitVerify, limitKey(f), clientIP, ""); err != nil {
					r.log().Error("giving back an abuse-control slot failed; trying again after the step", "err", err)
				} else {
					refundedInTx = true
				}
			}
			if err := moveTo(f, next); err != nil {
				return err
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
			// Repeated failures on one account alert the admins
			// (notifications.failures), in this transaction; a decoy
			// flow is counted alike (windowNotice).
			if err := r.windowNotice(tx, NoticeFailures, ev, f.DisplayName); err != nil {
				return err
			}
			if left <= 0 {
				if err := moveTo(f, StateFailed); err != nil {
					return err
				}
				f.ChallengeState = nil
				stepErr = refuse(CodeTooManyAttempts)
				ev.Outcome, ev.Reason = audit.Denied, "too_many_attempts"
			} else {
				stepErr = &Error{Code: CodeCodeInvalid, AttemptsLeft: left, Reason: reason}
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
	if good && !refundedInTx {
		refund() // only wrong answers stay counted
	}
	if stepErr != nil {
		return r.status(f), stepErr
	}
	return r.status(f), nil
}

// check asks the factor whether resp answers the flow's challenge, trying
// every enrollment the challenge covers. A decoy never verifies, but does
// the same work: the same directory and store reads, and the factor asked
// against a decoy enrollment of the same cost (an Argon2id hash for backup
// codes and questions, a TOTP window), so the time taken does not tell.
//
// note records what a failed answer said besides "wrong" (rounds.go).
func (r *Reset) check(ctx context.Context, f *record.Flow, kind factor.Kind, resp factor.Response, note *roundNote) (bool, *usedEnrollment, *Error) {
	fa := r.Factors[kind]
	ch, err := r.openChallenge(f)
	if fa == nil || err != nil {
		return false, nil, nil
	}
	resp = withField(kind, resp, ch.Prompt)
	user, available, fe := r.lookup(ctx, f, ch)
	if fe != nil {
		r.log().Warn("looking the user up again failed during verification", "err", fe.Err)
		if fe.Code == CodeDirectoryDown {
			return false, nil, fe
		}
		return false, nil, nil
	}
	subject := subjectOf(f, user)
	parts := ch.parts()
	multi, isMulti := fa.(factor.Multi)
	backed := serverBacked(fa, resp)
	start := r.mono()
	if w, ok := fa.(interface {
		DecoyWait(factor.Response) time.Duration
	}); ok {
		note.pushWait = w.DecoyWait(resp)
	}
	if ch.Decoy || !f.Known {
		decoy := decoyEnrollment(fa, subject)
		var verr error
		if isMulti {
			_, verr = multi.VerifyAny(ctx, subject, []factor.Enrollment{decoy}, parts[0].State, resp)
		} else {
			_, verr = fa.Verify(ctx, subject, decoy, parts[0].State, resp)
		}
		r.decoyRound(ctx, fa, resp, note)
		if note.err == nil && errors.Is(verr, factor.ErrForeignAnswer) {
			// Foreign to a decoy's challenge as to a real one (round).
			note.err = verr
		}
		if backed && !errors.Is(note.err, errDecoyUnavailable) {
			// As long as a real answer its server took (rounds.go).
			r.padServer(ctx, kind, start, r.health().floor(kind))
		}
		return false, nil, nil
	}
	// A server-backed answer the server answered ends no sooner than the
	// kind's floor, as a decoy's does.
	answered := false
	if backed {
		defer func() {
			if answered && ctx.Err() == nil {
				r.padServer(ctx, kind, start, r.health().floor(kind))
			}
		}()
	}
	covered := func(e *enrolled) bool {
		return e.Kind == kind && slices.ContainsFunc(parts, func(p challengePart) bool { return p.Enrollment == e.ID })
	}
	if isMulti {
		var es []factor.Enrollment
		for _, e := range available {
			if covered(e) {
				es = append(es, e.Enrollment)
			}
		}
		if len(es) == 0 {
			return false, nil, nil
		}
		upd, err := multi.VerifyAny(ctx, subject, es, parts[0].State, resp)
		if err != nil {
			r.logVerifyError(kind, err)
			return false, nil, nil
		}
		for _, e := range available {
			if e.ID == upd.ID && covered(e) {
				return true, used(e, upd), nil
			}
		}
		return false, nil, nil
	}
	for i, p := range parts {
		for _, e := range available {
			if e.ID != p.Enrollment || e.Kind != kind {
				continue
			}
			began := r.mono()
			upd, err := fa.Verify(ctx, subject, e.Enrollment, p.State, resp)
			if _, more := continuation(err); backed && ctx.Err() == nil && (err == nil || more || wrongAnswer(err)) {
				// The server answered: time it, and it is up again.
				r.health().observe(kind, r.mono().Sub(began))
				r.health().recovered(kind)
				answered = true
			}
			if err != nil {
				if _, more := continuation(err); !more && wrongAnswer(err) {
					r.logVerifyError(kind, err)
				}
				note.err, note.part, note.took = err, i, r.mono().Sub(began)
				continue
			}
			return true, used(e, upd), nil
		}
	}
	return false, nil, nil
}

func (r *Reset) logVerifyError(kind factor.Kind, err error) {
	if !errors.Is(err, factor.ErrWrongResponse) && !errors.Is(err, factor.ErrReplayed) && !errors.Is(err, factor.ErrExpired) {
		r.log().Warn("a factor failed to verify", "factor", kind, "err", err)
	}
}

// used is what a successful verification of e leaves to store: the updated
// secret of a stored enrollment (nil for pre-enrolled ones).
func used(e *enrolled, upd factor.Enrollment) *usedEnrollment {
	if !e.stored {
		return nil
	}
	upd.ID = e.ID
	return &usedEnrollment{Enrollment: upd, old: e.sealed}
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
