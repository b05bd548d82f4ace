package abuse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// Action is a step of a flow the limiter guards.
type Action string

// The guarded actions.
const (
	// Identify is a login typed into the first step.
	Identify Action = "identify"
	// SendCode is a code about to be mailed or texted.
	SendCode Action = "send_code"
	// Verify is a code (or other factor) about to be checked.
	Verify Action = "verify"
	// Reset is a verified user about to set a password or unlock.
	Reset Action = "reset"
)

// Scope is what a counter or block is about.
type Scope string

// The scopes of counters and blocks; they are also the kinds of stored blocks.
const (
	ScopeUser        Scope = "user"
	ScopeIP          Scope = "ip"
	ScopeDestination Scope = "destination"
)

// Subject is who and what an action concerns. Empty fields are not counted
// or checked.
type Subject struct {
	// Login names the account. Once the account is known, pass one
	// canonical identity (e.g. directory name and sAMAccountName, or the
	// DN) rather than what was typed, so typing the same account as UPN,
	// mail or short name all lands in one counter. Unknown logins are
	// counted as typed, exactly like known ones.
	Login string
	// IP is the client address, as the trusted proxy chain reported it.
	IP string
	// Destination is the phone number or mail address a code goes to.
	Destination string
}

// Decision is the limiter's answer to Check.
type Decision struct {
	// Allowed is true when the action may go ahead.
	Allowed bool
	// Reason names the control that refused ("user_blocked",
	// "ip_failures", ...), for the audit log and metrics. It is never for
	// the client.
	Reason string
	// RetryAfter is how long until the refusal ends.
	RetryAfter time.Duration
	// Scope is what the refusal is about.
	Scope Scope
	// Quiet is true when the refusal concerns an account or destination:
	// the flow must answer exactly as if Allowed (same status, body and
	// timing: "a code is on its way", "wrong code") and just not act.
	// A refusal that is not Quiet concerns only the client IP and may be
	// shown, e.g. as HTTP 429 with RetryAfter.
	Quiet bool
}

// Block is a subject that is cut off, for the help desk and admin views.
type Block struct {
	Scope Scope
	// Key is the stored key: the normalised login, the IP (or IPv6
	// prefix), or the HMAC of a destination.
	Key    string
	Until  time.Time
	Reason string
	Since  time.Time
}

// counter is one sliding window: which rule of the policy it follows, what
// it is keyed by, and the name its rows are stored under.
type counter struct {
	kind  string
	scope Scope
	rule  func(*Policy) Rule
}

var (
	userFailures     = counter{"verify_failure_user", ScopeUser, func(p *Policy) Rule { return p.UserFailures }}
	ipFailures       = counter{"verify_failure_ip", ScopeIP, func(p *Policy) Rule { return p.IPFailures }}
	destinationSends = counter{"send_destination", ScopeDestination, func(p *Policy) Rule { return p.DestinationSends }}
	ipSends          = counter{"send_ip", ScopeIP, func(p *Policy) Rule { return p.IPSends }}
	userResets       = counter{"reset_user", ScopeUser, func(p *Policy) Rule { return p.UserResets }}
	ipIdentifies     = counter{"identify_ip", ScopeIP, func(p *Policy) Rule { return p.IPIdentifies }}

	allCounters = []counter{userFailures, ipFailures, destinationSends, ipSends, userResets, ipIdentifies}

	// checks lists the windows each action must have room in. Blocks of
	// every scope the subject names are checked for every action.
	checks = map[Action][]counter{
		Identify: {ipIdentifies},
		SendCode: {ipSends, destinationSends},
		Verify:   {ipFailures, userFailures},
		Reset:    {userResets},
	}
)

// Store runs a function in a transaction (*store.Store).
type Store interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Limiter decides whether actions may go ahead and records what happened.
// It holds no state of its own: everything is in the store, so any number of
// limiters on any number of nodes agree.
type Limiter struct {
	policy  Policy
	hmacKey []byte
	now     func() time.Time
}

// NewLimiter returns a limiter following p. hmacKey keys the HMAC that
// destinations are stored as (at least 16 bytes; keep it stable, or the
// send counters start over). now is the clock; nil means time.Now.
func NewLimiter(p Policy, hmacKey []byte, now func() time.Time) (*Limiter, error) {
	if err := p.Validate(0); err != nil {
		return nil, err
	}
	if len(hmacKey) < 16 {
		return nil, fmt.Errorf("abuse: the destination HMAC key has %d bytes, want at least 16", len(hmacKey))
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{policy: p, hmacKey: append([]byte(nil), hmacKey...), now: now}, nil
}

// Policy returns the limiter's policy.
func (l *Limiter) Policy() Policy { return l.policy }

func (l *Limiter) key(scope Scope, s Subject) string {
	switch scope {
	case ScopeUser:
		return LoginKey(s.Login)
	case ScopeIP:
		if s.IP == "" {
			return ""
		}
		return IPKey(s.IP, l.policy.IPv6PrefixBits)
	case ScopeDestination:
		if s.Destination == "" {
			return ""
		}
		return destinationKey(l.hmacKey, s.Destination)
	}
	return ""
}

// Check tells whether action a for s may go ahead. It only reads: nothing is
// counted and nothing outside the store is touched, so a refused action can
// be answered exactly like an allowed one. Refusals about the client IP are
// reported before those about the account or destination, so which kind of
// refusal comes back never depends on the account.
func (l *Limiter) Check(tx *store.Tx, a Action, s Subject) (Decision, error) {
	windows, ok := checks[a]
	if !ok {
		return Decision{}, fmt.Errorf("abuse: unknown action %q", a)
	}
	now := l.now()
	for _, scope := range []Scope{ScopeIP, ScopeUser, ScopeDestination} {
		key := l.key(scope, s)
		if key == "" {
			continue
		}
		b, err := tx.ActiveAbuseBlock(string(scope), key, now)
		switch {
		case err == nil:
			return refusal(string(scope)+"_blocked", scope, b.Until.Sub(now)), nil
		case !errors.Is(err, store.ErrNotFound):
			return Decision{}, fmt.Errorf("abuse: reading %s block: %w", scope, err)
		}
		for _, c := range windows {
			if c.scope != scope {
				continue
			}
			d, err := l.window(tx, c, key, now)
			if err != nil || !d.Allowed {
				return d, err
			}
		}
	}
	return Decision{Allowed: true}, nil
}

// window checks one counter for room.
func (l *Limiter) window(tx *store.Tx, c counter, key string, now time.Time) (Decision, error) {
	r := c.rule(&l.policy)
	if !r.on() {
		return Decision{Allowed: true}, nil
	}
	since := now.Add(-r.Window)
	n, err := tx.CountAbuseEvents(c.kind, key, since)
	if err != nil {
		return Decision{}, fmt.Errorf("abuse: counting %s: %w", c.kind, err)
	}
	if n < r.Limit {
		return Decision{Allowed: true}, nil
	}
	// The window has room again when the event that makes it full ages out.
	at, err := tx.AbuseEventAt(c.kind, key, since, n-r.Limit)
	if err != nil {
		return Decision{}, fmt.Errorf("abuse: reading %s: %w", c.kind, err)
	}
	return refusal(c.kind, c.scope, at.Add(r.Window).Sub(now)), nil
}

func refusal(reason string, scope Scope, retry time.Duration) Decision {
	if retry < 0 {
		retry = 0
	}
	return Decision{Reason: reason, RetryAfter: retry, Scope: scope, Quiet: scope != ScopeIP}
}

// record counts one event in each of counters for s, and blocks a subject
// whose counter reached a rule with a Block. It returns the blocks it set.
func (l *Limiter) record(tx *store.Tx, s Subject, counters ...counter) ([]Block, error) {
	now := l.now()
	var set []Block
	for _, c := range counters {
		r := c.rule(&l.policy)
		key := l.key(c.scope, s)
		if !r.on() || key == "" {
			continue
		}
		if err := tx.RecordAbuseEvent(c.kind, key, now, now.Add(r.Window)); err != nil {
			return set, fmt.Errorf("abuse: recording %s: %w", c.kind, err)
		}
		if r.Block <= 0 {
			continue
		}
		n, err := tx.CountAbuseEvents(c.kind, key, now.Add(-r.Window))
		if err != nil {
			return set, fmt.Errorf("abuse: counting %s: %w", c.kind, err)
		}
		if n < r.Limit {
			continue
		}
		// An existing block is left as it is: failures recorded while
		// blocked do not stretch it.
		switch _, err := tx.ActiveAbuseBlock(string(c.scope), key, now); {
		case err == nil:
			continue
		case !errors.Is(err, store.ErrNotFound):
			return set, fmt.Errorf("abuse: reading %s block: %w", c.scope, err)
		}
		b := store.AbuseBlock{Kind: string(c.scope), Key: key, Until: now.Add(r.Block), Reason: c.kind, CreatedAt: now}
		if err := tx.SetAbuseBlock(&b); err != nil {
			return set, fmt.Errorf("abuse: blocking %s: %w", c.scope, err)
		}
		set = append(set, fromStore(&b))
	}
	return set, nil
}

// RecordFailure counts a failed verification against the account and the
// client IP, and blocks either that reached its limit. It returns the blocks
// it set (usually none), for the audit log and notifications.
func (l *Limiter) RecordFailure(tx *store.Tx, s Subject) ([]Block, error) {
	return l.record(tx, s, userFailures, ipFailures)
}

// RecordSend counts a code sent to s.Destination on behalf of s.IP.
func (l *Limiter) RecordSend(tx *store.Tx, s Subject) error {
	_, err := l.record(tx, s, destinationSends, ipSends)
	return err
}

// RecordReset counts a completed reset (or unlock) of s.Login.
func (l *Limiter) RecordReset(tx *store.Tx, s Subject) error {
	_, err := l.record(tx, s, userResets)
	return err
}

// RecordIdentify counts an identify request from s.IP.
func (l *Limiter) RecordIdentify(tx *store.Tx, s Subject) error {
	_, err := l.record(tx, s, ipIdentifies)
	return err
}

// Unblock lifts the block of a subject, for the help desk: key is the login,
// IP address or destination as a person would type it (it is normalised or
// HMAC'd here). It also forgets the subject's counts that lead to blocks, so
// the next failure does not block again at once. It reports whether there
// was a block.
func (l *Limiter) Unblock(tx *store.Tx, scope Scope, key string) (bool, error) {
	var s Subject
	switch scope {
	case ScopeUser:
		s.Login = key
	case ScopeIP:
		s.IP = key
	case ScopeDestination:
		s.Destination = key
	default:
		return false, fmt.Errorf("abuse: unknown block scope %q", scope)
	}
	k := l.key(scope, s)
	if k == "" {
		return false, fmt.Errorf("abuse: empty %s to unblock", scope)
	}
	for _, c := range allCounters {
		if c.scope == scope && c.rule(&l.policy).Block > 0 {
			if _, err := tx.DeleteAbuseEvents(c.kind, k); err != nil {
				return false, fmt.Errorf("abuse: forgetting %s: %w", c.kind, err)
			}
		}
	}
	ok, err := tx.DeleteAbuseBlock(string(scope), k)
	if err != nil {
		return false, fmt.Errorf("abuse: unblocking %s: %w", scope, err)
	}
	return ok, nil
}

// Blocks lists the blocks in force, those that end soonest first.
func (l *Limiter) Blocks(tx *store.Tx) ([]Block, error) {
	bs, err := tx.ActiveAbuseBlocks(l.now())
	if err != nil {
		return nil, fmt.Errorf("abuse: listing blocks: %w", err)
	}
	out := make([]Block, 0, len(bs))
	for _, b := range bs {
		out = append(out, fromStore(b))
	}
	return out, nil
}

// Cleanup deletes events no window needs any more and blocks that ended,
// returning how many rows went. Run it now and then (any node may).
func (l *Limiter) Cleanup(tx *store.Tx) (int64, error) {
	n, err := tx.DeleteExpiredAbuse(l.now())
	if err != nil {
		return 0, fmt.Errorf("abuse: cleanup: %w", err)
	}
	return n, nil
}

func fromStore(b *store.AbuseBlock) Block {
	return Block{Scope: Scope(b.Kind), Key: b.Key, Until: b.Until, Reason: b.Reason, Since: b.CreatedAt}
}

// In returns the limiter's methods each running in a transaction of its own
// on st, for callers outside a flow step (the admin view, a cleanup job).
// Inside a flow step use the Limiter with the step's transaction, so the
// count commits with the step.
func (l *Limiter) In(st Store) *Bound { return &Bound{l: l, st: st} }

// Bound is a Limiter whose methods open their own transactions.
type Bound struct {
	l  *Limiter
	st Store
}

// Check is Limiter.Check in a transaction of its own.
func (b *Bound) Check(ctx context.Context, a Action, s Subject) (d Decision, err error) {
	err = b.st.InTx(ctx, func(tx *store.Tx) error { d, err = b.l.Check(tx, a, s); return err })
	return d, err
}

// RecordFailure is Limiter.RecordFailure in a transaction of its own.
func (b *Bound) RecordFailure(ctx context.Context, s Subject) (set []Block, err error) {
	err = b.st.InTx(ctx, func(tx *store.Tx) error { set, err = b.l.RecordFailure(tx, s); return err })
	return set, err
}

// RecordSend is Limiter.RecordSend in a transaction of its own.
func (b *Bound) RecordSend(ctx context.Context, s Subject) error {
	return b.st.InTx(ctx, func(tx *store.Tx) error { return b.l.RecordSend(tx, s) })
}

// RecordReset is Limiter.RecordReset in a transaction of its own.
func (b *Bound) RecordReset(ctx context.Context, s Subject) error {
	return b.st.InTx(ctx, func(tx *store.Tx) error { return b.l.RecordReset(tx, s) })
}

// RecordIdentify is Limiter.RecordIdentify in a transaction of its own.
func (b *Bound) RecordIdentify(ctx context.Context, s Subject) error {
	return b.st.InTx(ctx, func(tx *store.Tx) error { return b.l.RecordIdentify(tx, s) })
}

// Unblock is Limiter.Unblock in a transaction of its own.
func (b *Bound) Unblock(ctx context.Context, scope Scope, key string) (ok bool, err error) {
	err = b.st.InTx(ctx, func(tx *store.Tx) error { ok, err = b.l.Unblock(tx, scope, key); return err })
	return ok, err
}

// Blocks is Limiter.Blocks in a transaction of its own.
func (b *Bound) Blocks(ctx context.Context) (bs []Block, err error) {
	err = b.st.InTx(ctx, func(tx *store.Tx) error { bs, err = b.l.Blocks(tx); return err })
	return bs, err
}

// Cleanup is Limiter.Cleanup in a transaction of its own.
func (b *Bound) Cleanup(ctx context.Context) (n int64, err error) {
	err = b.st.InTx(ctx, func(tx *store.Tx) error { n, err = b.l.Cleanup(tx); return err })
	return n, err
}
