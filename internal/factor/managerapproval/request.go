package managerapproval

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

// Request is what a token asks, for the page the manager's link opens.
type Request struct {
	// ID names the request (the challenge); decisions are kept under it.
	ID        string
	ManagerDN string
	Expires   time.Time
}

// Inspect checks a token from a link (signature and expiry) without
// spending it: the page the link opens shows the request and asks the
// manager to confirm, since mail scanners open links and a GET must never
// decide. A token spent already is factor.ErrReplayed, so the page can say
// so before anybody clicks.
func (f *Factor) Inspect(ctx context.Context, tok string) (Request, error) {
	var t token
	if err := f.open("token", tok, &t); err != nil {
		return Request{}, err
	}
	exp := time.Unix(t.Expires, 0)
	if !f.cfg.Clock().Before(exp) {
		return Request{}, factor.ErrExpired
	}
	if sp, ok := f.cfg.Used.(interface {
		Spent(ctx context.Context, id string) (bool, error)
	}); ok {
		spent, err := sp.Spent(ctx, "token:"+t.ID)
		if err != nil {
			return Request{}, err
		}
		if spent {
			return Request{}, factor.ErrReplayed
		}
	}
	return Request{ID: t.ID, ManagerDN: t.ManagerDN, Expires: exp}, nil
}

// RequestOf names the request a token (fresh from Challenge) belongs to;
// empty when it is not a token of this factor.
func (f *Factor) RequestOf(tok string) string {
	var t token
	if f.open("token", tok, &t) != nil {
		return ""
	}
	return t.ID
}

// RequestOfState names the request of a challenge state (a decoy's too,
// for which no decision ever comes).
func (f *Factor) RequestOfState(st []byte) string {
	var s state
	if json.Unmarshal(st, &s) != nil {
		return ""
	}
	return s.ID
}

// DecisionOf reads a signed decision (from Decide): the request and
// Approve or Deny; ok is false for anything this factor did not sign.
func (f *Factor) DecisionOf(signed string) (requestID, choice string, ok bool) {
	var d decision
	if f.open("decision", signed, &d) != nil {
		return "", "", false
	}
	return d.ID, d.Decision, true
}

// WithUsed makes the factor spend tokens in u (the store, shared by every
// node) instead of this process's memory. Call it before first use.
func (f *Factor) WithUsed(u UsedSet) { f.cfg.Used = u }

// Spent reports whether id was used (and has not expired), for Inspect.
func (m *memoryUsed) Spent(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.seen[id]
	return ok && m.clock().Before(until), nil
}
