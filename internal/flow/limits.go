package flow

import (
	"context"
	"time"

	"github.com/sspr/sspr/internal/directory"
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
type Limiter interface {
	// Allow reports whether the action may go ahead, and if not, when it
	// may be tried again.
	Allow(ctx context.Context, action LimitAction, login, clientIP, destination string) (bool, time.Duration, error)
	// Failed records a wrong response (per person and per client address).
	Failed(ctx context.Context, login, clientIP string) error
	// Done records a completed action (a code sent, a reset made).
	Done(ctx context.Context, action LimitAction, login, clientIP, destination string) error
}

// limit asks the limiter; nil means go ahead. A limiter that fails is
// logged and lets the step through: the directory's own lockout still
// stands behind it.
func (r *Reset) limit(ctx context.Context, a LimitAction, login, clientIP, destination string) *Error {
	if r.Limiter == nil {
		return nil
	}
	ok, retry, err := r.Limiter.Allow(ctx, a, login, clientIP, destination)
	if err != nil {
		r.log().Error("the abuse controls failed; letting the step through", "action", a, "err", err)
		return nil
	}
	if ok {
		return nil
	}
	return &Error{Code: CodeRateLimited, RetryAfter: retry}
}

func (r *Reset) failure(ctx context.Context, login, clientIP string) {
	if r.Limiter == nil {
		return
	}
	if err := r.Limiter.Failed(context.WithoutCancel(ctx), login, clientIP); err != nil {
		r.log().Error("recording a failed verification failed", "err", err)
	}
}

func (r *Reset) done(ctx context.Context, a LimitAction, login, clientIP, destination string) {
	if r.Limiter == nil {
		return
	}
	if err := r.Limiter.Done(context.WithoutCancel(ctx), a, login, clientIP, destination); err != nil {
		r.log().Error("recording an action for the abuse controls failed", "action", a, "err", err)
	}
}

// wouldLock reports whether one more wrong password could lock the account
// in the directory: its failed-attempt count is one short of the lockout
// threshold. sspr then refuses (as for a wrong password) without binding, so
// no attacker can use sspr to lock somebody out. Unknown counts or
// thresholds do not refuse.
func (r *Reset) wouldLock(ctx context.Context, u *directory.User) bool {
	d, ok := r.Directories.Directory(u.Directory)
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
