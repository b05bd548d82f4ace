package flow

import (
	"context"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/store"
)

// LimitAction names what the abuse controls are asked about.
type LimitAction string

// The actions the abuse controls meter.
const (
	LimitIdentify LimitAction = "identify"
	LimitSend     LimitAction = "send"
	LimitVerify   LimitAction = "verify"
	LimitReset    LimitAction = "reset"
)

// Limiter applies the abuse controls (abuse.Limiter, adapted). Its state
// lives in the store, so limits hold across restarts and nodes.
//
// Everything is reserved before it happens: Take checks and counts in one
// transaction, so concurrent requests can never exceed a limit between a
// check and a count. A verification takes a failure slot before the
// response is checked and gives it back when the response was right; a
// code send and a reset are counted before they are made, and a reset the
// directory did not make is given back.
type Limiter interface {
	// Take reports whether the action may go ahead and, if so, counts it;
	// if not, it says when it may be tried again.
	Take(ctx context.Context, action LimitAction, login, clientIP, destination string) (ok bool, retry time.Duration, err error)
	// Refund gives back what an allowed Take counted (a right response, a
	// reset the directory did not make).
	Refund(ctx context.Context, action LimitAction, login, clientIP, destination string) error
}

// TxRefunder is a Limiter that can also give a slot back inside a
// transaction the step already holds (internal/app's does): a right answer
// then costs the verify step one writing transaction less, the refund
// riding in the one that records the answer (issue 10).
type TxRefunder interface {
	RefundIn(tx *store.Tx, action LimitAction, login, clientIP, destination string) error
}

// TxTaker is a Limiter that can also take a slot inside a transaction the
// step already holds (internal/app's does): the password step's reset
// limit then rides in the transaction that claims the flow, one writing
// transaction less per reset (issue 10). The check and the count stay
// atomic, and a claim that fails takes its count back with it.
type TxTaker interface {
	TakeIn(tx *store.Tx, action LimitAction, login, clientIP, destination string) (ok bool, retry time.Duration, err error)
}

// limit takes a slot for the action; nil means go ahead (and it is
// counted). A limiter that fails is logged and lets the step through: the
// directory's own lockout still stands behind it.
func (k *Kit) limit(ctx context.Context, a LimitAction, login, clientIP, destination string) *Error {
	_, e := k.take(ctx, a, login, clientIP, destination)
	return e
}

// take is limit for a slot that may have to be given back: refund gives it
// back (at most once). refund is never nil; it does nothing when no slot
// was taken (no limiter, a refusal, or a limiter that failed), so it never
// gives back somebody else's slot.
func (k *Kit) take(ctx context.Context, a LimitAction, login, clientIP, destination string) (refund func(), e *Error) {
	refund = func() {}
	if k.Limiter == nil {
		return refund, nil
	}
	ok, retry, err := k.Limiter.Take(ctx, a, login, clientIP, destination)
	if err != nil {
		k.log().Error("the abuse controls failed; letting the step through", "action", a, "err", err)
		return refund, nil
	}
	if !ok {
		return refund, &Error{Code: CodeRateLimited, RetryAfter: retry}
	}
	return k.refunder(ctx, a, login, clientIP, destination), nil
}

// refunder gives back, at most once and in a transaction of its own, a
// slot an allowed take counted.
func (k *Kit) refunder(ctx context.Context, a LimitAction, login, clientIP, destination string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			if err := k.Limiter.Refund(context.WithoutCancel(ctx), a, login, clientIP, destination); err != nil {
				k.log().Error("giving back an abuse-control slot failed", "action", a, "err", err)
			}
		})
	}
}

// failure counts a verification that failed without anything to check (an
// unknown login at sign-in): a failure slot taken and kept. A refusal
// changes nothing, the answer is wrong either way.
func (k *Kit) failure(ctx context.Context, login, clientIP string) {
	_ = k.limit(context.WithoutCancel(ctx), LimitVerify, login, clientIP, "")
}

// wouldLock reports whether one more wrong password could lock the account
// in the directory: its failed-attempt count is one short of the lockout
// threshold. sspr then refuses (as for a wrong password) without binding, so
// no attacker can use sspr to lock somebody out. Unknown counts or
// thresholds do not refuse.
func (k *Kit) wouldLock(ctx context.Context, u *directory.User) bool {
	d, ok := k.Directories.Directory(u.Directory)
	if !ok {
		return false
	}
	pr, okP := d.(directory.PolicyReader)
	sr, okS := d.(directory.StatusReader)
	if !okP || !okS {
		return false
	}
	p, err := pr.EffectivePolicy(ctx, u)
	if err != nil || p == nil || p.LockoutThreshold <= 0 {
		return false
	}
	st, err := sr.AccountStatus(ctx, u)
	if err != nil || st == nil {
		return false
	}
	return st.FailedAttempts >= p.LockoutThreshold-1
}

// ProofOfWork guards the start of a flow with a small puzzle the browser
// solves (abuse.PoW, adapted); nil turns it off.
type ProofOfWork interface {
	Issue() (PoWChallenge, error)
	Verify(ctx context.Context, token, solution string) error
}

// PoWChallenge is a puzzle to solve before starting a flow.
type PoWChallenge struct {
	Token   string    `json:"token"`
	Nonce   string    `json:"nonce"`
	Bits    int       `json:"bits"`
	Expires time.Time `json:"expires"`
}

// PoWChallenge issues a puzzle, or nil when proof of work is off.
func (r *Reset) PoWChallenge() (*PoWChallenge, error) {
	if r.PoW == nil {
		return nil, nil
	}
	c, err := r.PoW.Issue()
	if err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	return &c, nil
}
