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
	st *store.Store
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

func (s *storeLimiter) Allow(ctx context.Context, a flow.LimitAction, login, ip, dest string) (bool, time.Duration, error) {
	d, err := s.l.In(s.st).Check(ctx, testActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
	return d.Allowed, d.RetryAfter, err
}

func (s *storeLimiter) Failed(ctx context.Context, login, ip string) error {
	_, err := s.l.In(s.st).RecordFailure(ctx, abuse.Subject{Login: login, IP: ip})
	return err
}

func (s *storeLimiter) Done(ctx context.Context, a flow.LimitAction, login, ip, dest string) error {
	b, sub := s.l.In(s.st), abuse.Subject{Login: login, IP: ip, Destination: dest}
	switch a {
	case flow.LimitSend:
		return b.RecordSend(ctx, sub)
	case flow.LimitReset:
		return b.RecordReset(ctx, sub)
	case flow.LimitIdentify:
		return b.RecordIdentify(ctx, sub)
	}
	return nil
}
