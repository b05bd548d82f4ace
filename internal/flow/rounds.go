package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/duo"
	"github.com/sspr/sspr/internal/factor/radius"
	"github.com/sspr/sspr/internal/factor/yubikey"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/store"
)

// This file is how the flow drives factors whose answer is not simply
// right or wrong (issue 12): a RADIUS server that asks another question
// (Access-Challenge), a Duo push the person approves, denies or ignores,
// a YubiKey OTP used before, and a factor's server that does not answer.
//
//   - A continuation (a factor's error carrying Next() factor.Challenge,
//     radius.ContinueError) is no answer yet: the challenge's state and
//     prompt are replaced by the next ones, no attempt is spent, and the
//     step answers 200 with the new prompt. A decoy never continues: its
//     Verify is simply wrong, and its first prompt is the real one's.
//   - Denied and unanswered pushes and replayed OTPs are wrong answers
//     (they cost an attempt) with a Reason the faces explain plainly.
//   - A server that cannot be asked (no answer, a reply that does not
//     verify, a wrong shared secret) is nobody's wrong answer:
//     CodeFactorUnavailable, no attempt spent. So that this does not tell
//     a stranger which logins are real (decoys never reach a server), the
//     failure is remembered for the kind for unavailableFor, and decoy
//     answers of that kind are refused alike, after as long as the real
//     failure took.
//   - A decoy's push waits as long as a push nobody answers
//     (duo.Factor.DecoyWait) and then says so, like a real one.

// unavailableFor is how long a kind's server failure makes decoys of that
// kind answer "unavailable" too.
const unavailableFor = 5 * time.Minute

// roundNote is what a verification learned besides right or wrong.
type roundNote struct {
	// err is the last error a real enrollment's Verify returned.
	err error
	// part is the index of the challenge part err came from.
	part int
	// decoy: the challenge was a decoy.
	decoy bool
	// took is how long the factor took for err.
	took time.Duration
	// pushWait is how long a push nobody answers waits (0: not a push).
	pushWait time.Duration
}

// health remembers, per kind, the last time its server could not be
// asked and how long finding that out took, and how long its server takes
// to answer (slow): the floor every answer of the kind, real or decoy, is
// padded to, so the server's own delay (FreeRADIUS delays a reject by a
// second; an MFA proxy waits for a phone) does not tell a real login from
// a decoy, which never asks it.
type health struct {
	mu   sync.Mutex
	last map[factor.Kind]failure
	slow map[factor.Kind]time.Duration
}

// serverFloor is the padding of a server-backed answer before any real one
// was timed; real answers then move it (observe).
const serverFloor = 500 * time.Millisecond

// serverBacked reports whether an answer of kind asks a server (a Duo
// push is padded by its own wait, DecoyWait).
func serverBacked(fa factor.Factor, resp factor.Response) bool {
	switch fa.Kind() {
	case radius.Kind, yubikey.Kind:
		return true
	case duo.Kind:
		if w, ok := fa.(interface {
			DecoyWait(factor.Response) time.Duration
		}); ok && w.DecoyWait(resp) > 0 {
			return false
		}
		return true
	}
	return false
}

// observe records how long a real answer of k took: the floor jumps to a
// slower answer at once and drifts down slowly (1/32 of the gap per
// answer), an upper envelope of the server's recent answers.
func (h *health) observe(k factor.Kind, took time.Duration) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.slow == nil {
		h.slow = map[factor.Kind]time.Duration{}
	}
	cur, ok := h.slow[k]
	if !ok {
		cur = serverFloor
	}
	if took > cur {
		cur = took
	} else {
		cur -= (cur - took) / 32
	}
	h.slow[k] = cur
	return cur
}

// floor is the padding of answers of k now.
func (h *health) floor(k factor.Kind) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d, ok := h.slow[k]; ok {
		return d
	}
	return serverFloor
}

// recovered forgets a failure of k's server once it answered again, so
// decoys stop answering "unavailable" as soon as real answers would not.
func (h *health) recovered(k factor.Kind) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.last, k)
}

type failure struct {
	at   time.Time
	took time.Duration
}

// health is the Kit's: one per wired sspr (a reload starts afresh),
// shared by its flows.
func (r *Reset) health() *health {
	healthInit.Lock()
	defer healthInit.Unlock()
	if r.Kit.roundHealth == nil {
		r.Kit.roundHealth = &health{}
	}
	return r.Kit.roundHealth
}

// healthInit guards making a Kit's health (Kits are built in many places,
// and copied by value in tests, so it cannot hold a lock of its own).
var healthInit sync.Mutex

// padServer ends a server-backed answer that began at began no sooner than
// the kind's floor.
func (r *Reset) padServer(ctx context.Context, kind factor.Kind, began time.Time, floor time.Duration) {
	if left := floor - r.mono().Sub(began); left > 0 {
		sleep(ctx, left)
	}
}

func (h *health) failed(k factor.Kind, at time.Time, took time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		h.last = map[factor.Kind]failure{}
	}
	h.last[k] = failure{at: at, took: took}
}

func (h *health) recent(k factor.Kind, now time.Time) (failure, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.last[k]
	return f, ok && now.Sub(f.at) < unavailableFor && !now.Before(f.at)
}

// continuation is the next challenge a factor asks for, if err carries
// one (radius.ContinueError).
func continuation(err error) (factor.Challenge, bool) {
	var c interface{ Next() factor.Challenge }
	if err != nil && errors.As(err, &c) {
		return c.Next(), true
	}
	return factor.Challenge{}, false
}

// wrongAnswer reports whether err is the person's wrong answer (as
// opposed to a factor that could not check).
func wrongAnswer(err error) bool {
	return errors.Is(err, factor.ErrWrongResponse) || errors.Is(err, factor.ErrReplayed) || errors.Is(err, factor.ErrExpired)
}

// reasonOf is the plain-language reason of a wrong answer of kind.
func reasonOf(kind factor.Kind, err error) string {
	switch {
	case errors.Is(err, duo.ErrPushDenied):
		return "push_denied"
	case errors.Is(err, duo.ErrPushTimeout):
		return "push_timeout"
	case kind == yubikey.Kind && errors.Is(err, factor.ErrReplayed):
		return "replayed"
	}
	return ""
}

// typedCode are the kinds whose one typed answer may come as a plain
// "code". Not every prompt's field may be typed: a certificate comes from
// the TLS handshake, a manager's decision from the signed link.
var typedCode = map[factor.Kind]bool{radius.Kind: true, duo.Kind: true, yubikey.Kind: true}

// withField copies a plain "code" answer to the value the prompt names
// ("otp", "passcode") for the typedCode kinds, so the API's code field and
// the agent's one text answer work for them.
func withField(kind factor.Kind, resp factor.Response, prompt map[string]any) factor.Response {
	field, _ := prompt["field"].(string)
	if !typedCode[kind] || field == "" || field == "code" || resp.Values[field] != "" || resp.Values["code"] == "" {
		return resp
	}
	values := maps.Clone(resp.Values)
	values[field] = values["code"]
	return factor.Response{Values: values, JSON: resp.JSON}
}

// decoyRound makes a decoy answer of kind look like a real one that went
// the same way: a push waits as long as an unanswered one; a kind whose
// server failed lately is refused as unavailable.
func (r *Reset) decoyRound(ctx context.Context, fa factor.Factor, resp factor.Response, note *roundNote) {
	note.decoy = true
	if f, ok := r.health().recent(fa.Kind(), r.now()); ok {
		sleep(ctx, f.took)
		note.err = errDecoyUnavailable
		return
	}
	if w, ok := fa.(interface {
		DecoyWait(factor.Response) time.Duration
	}); ok {
		if d := w.DecoyWait(resp); d > 0 {
			sleep(ctx, d)
			note.err = duo.ErrPushTimeout
		}
	}
}

var errDecoyUnavailable = errors.New("flow: the factor's server failed lately")

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// round handles what a verification that was not right left in note. done
// is true when the step is answered here (a continuation, an unavailable
// server); otherwise the answer is wrong, with reason (possibly empty) to
// explain it.
func (r *Reset) round(ctx context.Context, f *record.Flow, kind factor.Kind, note *roundNote, clientIP string, refund func(), now time.Time) (st Status, done bool, reason string, err error) {
	if note.err == nil {
		return Status{}, false, "", nil
	}
	if errors.Is(note.err, factor.ErrForeignAnswer) {
		// Not an answer to this challenge (its random state differs):
		// nobody's guess at anything, so no attempt is counted, decoy or
		// not. Otherwise anyone could spend a person's attempts by sending
		// their browser to the identity provider's return page.
		refund()
		_ = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			ev := r.event(f, "verify", clientIP, audit.Failure, "foreign_answer")
			ev.Detail = map[string]any{"factor": string(kind)}
			return r.Audit.Append(tx, ev)
		})
		return r.status(f), true, "", &Error{Code: CodeAnswerForeign}
	}
	if note.pushWait > 0 && !note.decoy && len(f.FactorsDone) == 0 {
		if _, more := continuation(note.err); !more {
			// Before a first factor, a push that was not approved — denied,
			// an account Duo refuses, a server that failed — ends like one
			// nobody answered, as a stranger's does (decoyRound): anything
			// else would tell a stranger the login is real.
			if note.took < note.pushWait {
				sleep(ctx, note.pushWait-note.took)
			}
			note.err = fmt.Errorf("%w: %w", factor.ErrWrongResponse, duo.ErrPushTimeout)
		}
	}
	if errors.Is(note.err, errDecoyUnavailable) {
		refund()
		_ = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			return r.Audit.Append(tx, r.event(f, "verify", clientIP, audit.Failure, "factor_unavailable"))
		})
		return r.status(f), true, "", &Error{Code: CodeFactorUnavailable}
	}
	if note.decoy {
		return Status{}, false, reasonOf(kind, note.err), nil
	}
	if next, ok := continuation(note.err); ok {
		st, err := r.continueRound(ctx, f, kind, note.part, next, clientIP, now)
		if err == nil {
			refund()
		}
		return st, true, "", err
	}
	if ctx.Err() != nil {
		// The person went away mid-answer (a closed connection): a wrong
		// answer, counted, and no sign of the server's health, which a
		// stranger could otherwise set at will by hanging up.
		return Status{}, false, reasonOf(kind, note.err), nil
	}
	if !wrongAnswer(note.err) {
		// The factor's server could not be asked: nobody's wrong answer.
		r.health().failed(kind, now, note.took)
		refund()
		r.log().Warn("a factor's server could not check an answer", "factor", kind, "err", note.err)
		_ = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			ev := r.event(f, "verify", clientIP, audit.Failure, "factor_unavailable")
			ev.Detail = map[string]any{"factor": string(kind)}
			return r.Audit.Append(tx, ev)
		})
		return r.status(f), true, "", &Error{Code: CodeFactorUnavailable, Err: note.err}
	}
	return Status{}, false, reasonOf(kind, note.err), nil
}

// continueRound stores the factor's next challenge with the flow: the
// answered part's state and the prompt are replaced; attempts stay.
func (r *Reset) continueRound(ctx context.Context, f *record.Flow, kind factor.Kind, part int, next factor.Challenge, clientIP string, now time.Time) (Status, error) {
	ch, err := r.openChallenge(f)
	if err != nil {
		return r.status(f), &Error{Code: CodeInternal, Err: err}
	}
	parts := ch.parts()
	if part < 0 || part >= len(parts) {
		return r.status(f), &Error{Code: CodeInternal, Err: errors.New("a continuation for no part of the challenge")}
	}
	// Only the part that answered goes on: the server's state is its own.
	p := parts[part]
	p.State = next.State
	ch.Parts, ch.Enrollment, ch.State, ch.Prompt = []challengePart{p}, "", nil, next.Prompt
	plain, err := json.Marshal(ch)
	if err != nil {
		return r.status(f), &Error{Code: CodeInternal, Err: err}
	}
	if f.ChallengeState, err = r.Sealer.Seal(plain, challengeAD(f)); err != nil {
		return r.status(f), &Error{Code: CodeInternal, Err: err}
	}
	f.ChallengeEnrollment = p.Enrollment
	f.ChallengeExpiresAt = next.Expires
	if f.ChallengeExpiresAt.IsZero() || f.ChallengeExpiresAt.After(now.Add(r.Settings.CodeTTL)) {
		f.ChallengeExpiresAt = now.Add(r.Settings.CodeTTL)
	}
	f.UpdatedAt = now
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateFlow(f); err != nil {
			return err
		}
		ev := r.event(f, "verify", clientIP, audit.Info, "challenge_continued")
		ev.Detail = map[string]any{"factor": string(kind)}
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return Status{}, r.wrap(err)
	}
	return r.status(f), nil
}

// continuePending keeps an enrollment session's step going with the
// factor's next challenge (a RADIUS Access-Challenge while enrolling or
// stepping up).
func (e *Enroll) continuePending(ctx context.Context, s *store.Session, p *pendingStep, next factor.Challenge) (SessionView, error) {
	p.State, p.Prompt = next.State, next.Prompt
	if !next.Expires.IsZero() && next.Expires.Before(p.Expires) {
		p.Expires = next.Expires
	}
	if err := e.savePending(ctx, s, p, nil, "enroll"); err != nil {
		return SessionView{}, err
	}
	return e.view(ctx, s)
}
