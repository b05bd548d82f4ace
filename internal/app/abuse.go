package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
)

// limiter adapts the abuse controls to what the flows ask.
type limiter struct {
	l     *abuse.Limiter
	store *store.Store
}

func newLimiter(cfg config.Abuse, key []byte, now func() time.Time, st *store.Store) (*limiter, error) {
	rule := func(l config.Limit) abuse.Rule { return abuse.Rule{Limit: l.Limit, Window: l.Window, Block: l.Block} }
	p := abuse.DefaultPolicy()
	p.UserFailures, p.IPFailures = rule(cfg.UserFailures), rule(cfg.IPFailures)
	p.DestinationSends, p.IPSends = rule(cfg.SendsPerDestination), rule(cfg.SendsPerIP)
	p.UserResets, p.IPIdentifies = rule(cfg.ResetsPerUser), rule(cfg.IdentifyPerIP)
	l, err := abuse.NewLimiter(p, secrets.Derive(key, "abuse:destinations"), now)
	if err != nil {
		return nil, fmt.Errorf("abuse: %w", err)
	}
	return &limiter{l: l, store: st}, nil
}

// Take checks and counts in one writing transaction (abuse.Limiter.Take),
// so concurrent requests cannot all pass one check before any is counted.
func (l *limiter) Take(ctx context.Context, a flow.LimitAction, login, ip, dest string) (bool, time.Duration, error) {
	d, _, err := l.l.In(l.store).Take(ctx, limitActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
	return d.Allowed, d.RetryAfter, err
}

// TakeIn is Take in tx (a flow step's own transaction; flow.TxTaker).
func (l *limiter) TakeIn(tx *store.Tx, a flow.LimitAction, login, ip, dest string) (bool, time.Duration, error) {
	d, _, err := l.l.Take(tx, limitActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
	return d.Allowed, d.RetryAfter, err
}

// RefundIn gives back what an allowed Take counted, in tx (a flow step's
// own transaction; flow.TxRefunder).
func (l *limiter) RefundIn(tx *store.Tx, a flow.LimitAction, login, ip, dest string) error {
	return l.l.Refund(tx, limitActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
}

// Refund gives back what an allowed Take counted.
func (l *limiter) Refund(ctx context.Context, a flow.LimitAction, login, ip, dest string) error {
	return l.l.In(l.store).Refund(ctx, limitActions[a], abuse.Subject{Login: login, IP: ip, Destination: dest})
}

// proofOfWork adapts the abuse package's puzzle to the flow.
type proofOfWork struct {
	p     *abuse.PoW
	store *store.Store
}

func (w proofOfWork) Issue() (flow.PoWChallenge, error) {
	c, err := w.p.Issue()
	return flow.PoWChallenge{Token: c.Token, Nonce: c.Nonce, Bits: c.Bits, Expires: c.Expires}, err
}

func (w proofOfWork) Verify(ctx context.Context, token, solution string) error {
	return w.store.InTx(ctx, func(tx *store.Tx) error { return w.p.Verify(tx, token, solution) })
}
