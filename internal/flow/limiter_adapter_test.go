package flow_test

import (
	"context"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
)

// storeLimiter adapts the real abuse.Limiter over the test's real store to
// flow.Limiter, as internal/app does.
type storeLimiter struct {
	l  *abuse.Limiter
	st abuse.Store
}

func newStoreLimiter(p abuse.Policy, st *store.Store, now func() time.Time) *storeLimiter {
	l, err := abuse.NewLimiter(p, []byte("0123456789abcdef0123456789abcdef"), now)
	if err != nil {
		panic(err)
	}
	return &storeLimiter{l: l, st: st}
}

var testActions = map[flow.LimitAction]abuse.Action{
	flow.LimitIdentify: abuse.Identify, flow.LimitSend: abuse.SendCode, flow.LimitVerify: abuse.Verify, flow.LimitReset: abuse.Reset,
}

func (s *storeLimiter) Take(ctx context.Context, a flow.LimitAction, login, ip, dest string) (bool, time.Duration, error) {
	d, _, err := s.l.In(s.st).Take(ctx, testActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
	return d.Allowed, d.RetryAfter, err
}

func (s *storeLimiter) Refund(ctx context.Context, a flow.LimitAction, login, ip, dest string) error {
	return s.l.In(s.st).Refund(ctx, testActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
}

// TakeIn takes a slot in the step's transaction, as internal/app's limiter
// does (flow.TxTaker).
func (s *storeLimiter) TakeIn(tx *store.Tx, a flow.LimitAction, login, ip, dest string) (bool, time.Duration, error) {
	d, _, err := s.l.Take(tx, testActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
	return d.Allowed, d.RetryAfter, err
}

// RefundIn gives a slot back in the step's transaction, as internal/app's
// limiter does (flow.TxRefunder).
func (s *storeLimiter) RefundIn(tx *store.Tx, a flow.LimitAction, login, ip, dest string) error {
	return s.l.Refund(tx, testActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
}
