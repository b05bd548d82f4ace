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

// counter is one window: which rule of the policy it follows, what it is
// keyed by, and the name its buckets are stored under.
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

	// checks lists the windows each action must have room in, and that
	// Take counts it in. Blocks of every scope the subject names are
	// checked for every action.
	checks = map[Action][]counter{
		Identify: {ipIdentifies},
		SendCode: {ipSends, destinationSends},
		Verify:   {ipFailures, userFailures},
		Reset:    {userResets},
	}
)

// bucketsPerWindow is how many buckets a window is cut into. A window's
// count is the sum of at most bucketsPerWindow+1 rows whatever the traffic;
// the price is that an event is forgotten up to one bucket (a twelfth of the
// window) later than a per-event window would forget it. The limit itself is
// never exceeded: a bucket counts as long as any part of it is in the
// window.
const bucketsPerWindow = 12

// span is where the buckets of one rule's window lie at now.
type span struct {
	width  time.Duration // of one bucket
	bucket time.Time     // start of the bucket now falls in
	since  time.Time     // buckets starting strictly after since count
	window time.Duration
}

func spanOf(r Rule, now time.Time) span {
	w := (r.Window / bucketsPerWindow).Truncate(time.Millisecond)
	if w < time.Millisecond {
		w = time.Millisecond
	}
	ms, wms := now.UnixMilli(), w.Milliseconds()
	start := time.UnixMilli(ms - ms%wms).UTC()
	// A bucket [b, b+w) still holds events of the window (now-Window, now]
	// while b+w > now-Window.
	return span{width: w, bucket: start, since: now.Add(-r.Window - w), window: r.Window}
}

// agesOut is when the bucket starting at b no longer counts.
func (s span) agesOut(b time.Time) time.Time { return b.Add(s.width + s.window) }

// Store runs a function in a transaction (*store.Store): InTx in the one
// writer's transaction, ReadTx in a read-only one that does not queue
// behind writers.
type Store interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
	ReadTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Limiter decides whether actions may go ahead and counts them. It holds no
// state of its own: everything is in the store, so any number of limiters
// on any number of nodes agree.
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

// Check tells whether action a for s would be allowed now. It only reads:
// nothing is counted, so two Checks can both say yes to the last free slot.
// Use it for views; a flow step uses Take, which checks and counts at once.
// Refusals about the client IP are reported before those about the account
// or destination, so which kind of refusal comes back never depends on the
// account.
func (l *Limiter) Check(tx *store.Tx, a Action, s Subject) (Decision, error) {
	d, _, _, err := l.decide(tx, a, l.keys(s), l.now(), nil)
	return d, err
}

// Take checks action a for s and, when it is allowed, counts it, all in
// tx: run in a writing transaction (store.InTx), no other Take can come
// between the check and the count, so however many requests race, no more
// than a rule's Limit are ever allowed in its window.
//
// Take reserves before the action happens. For Verify it takes a failure
// slot before the response is checked, and the caller gives it back with
// Refund when the response was right, so only wrong answers stay counted
// yet concurrent guesses never exceed the limit. A slot that fills a window
// whose rule has a Block also blocks the subject; the blocks set are
// returned (usually none), for the audit log and notifications.
//
// On PostgreSQL the count is added in the statement that reads the blocks
// and windows (which sees them as they were before it), one round trip
// under the write lock instead of two; a refusal then takes it back and
// decides again on what it reads without it, so a refused step leaves
// the counts and its answer (Retry-After included) exactly as if it had
// only read.
func (l *Limiter) Take(tx *store.Tx, a Action, s Subject) (Decision, []Block, error) {
	now := l.now()
	keys := l.keys(s)
	// Every window counted in one statement; the blocks below read and
	// write abuse_blocks only, so counting first changes nothing for them.
	var addsBuf [4]store.AbuseAdd
	adds := addsBuf[:0]
	for _, c := range checks[a] {
		r, key := c.rule(&l.policy), keys[scopeIndex(c.scope)]
		if !r.on() || key == "" {
			continue
		}
		sp := spanOf(r, now)
		adds = append(adds, store.AbuseAdd{Kind: c.kind, Key: key, Start: sp.bucket, KeepUntil: sp.agesOut(sp.bucket)})
	}
	d, sums, counted, err := l.decide(tx, a, keys, now, adds)
	if err != nil {
		return d, nil, err
	}
	if !d.Allowed {
		if !counted {
			return d, nil, nil
		}
		if err := tx.TakeBackAbuseAdds(adds); err != nil {
			return Decision{}, nil, fmt.Errorf("abuse: taking back %s: %w", a, err)
		}
		d, _, _, err = l.decide(tx, a, keys, now, nil)
		if err == nil && d.Allowed {
			// The same reads under the same lock cannot decide otherwise.
			return Decision{}, nil, fmt.Errorf("abuse: %s refused, then allowed on the same counts", a)
		}
		return d, nil, err
	}
	if !counted {
		if err := tx.AddAbuseCounts(adds); err != nil {
			return Decision{}, nil, fmt.Errorf("abuse: counting %s: %w", a, err)
		}
	}
	var set []Block
	for i, c := range checks[a] {
		r, key := c.rule(&l.policy), keys[scopeIndex(c.scope)]
		if !r.on() || key == "" {
			continue
		}
		if r.Block <= 0 || sums[i]+1 < r.Limit {
			continue
		}
		// An existing block is left as it is: events counted while
		// blocked do not stretch it.
		switch _, err := tx.ActiveAbuseBlock(string(c.scope), key, now); {
		case err == nil:
			continue
		case !errors.Is(err, store.ErrNotFound):
			return Decision{}, set, fmt.Errorf("abuse: reading %s block: %w", c.scope, err)
		}
		b := store.AbuseBlock{Kind: string(c.scope), Key: key, Until: now.Add(r.Block), Reason: c.kind, CreatedAt: now}
		if err := tx.SetAbuseBlock(&b); err != nil {
			return Decision{}, set, fmt.Errorf("abuse: blocking %s: %w", c.scope, err)
		}
		set = append(set, fromStore(&b))
	}
	return d, set, nil
}

// Refund gives back what an allowed Take of a for s counted: a response
// that turned out right, a code that was not sent, a reset the directory
// could not make for reasons that are not the person's. Call it only after
// an allowed Take, once. A block that Take set because of the slot given
// back is lifted again when the window is below its limit after the
// refund.
func (l *Limiter) Refund(tx *store.Tx, a Action, s Subject) error {
	counters, ok := checks[a]
	if !ok {
		return fmt.Errorf("abuse: unknown action %q", a)
	}
	now := l.now()
	// The counts given back, then, in one statement, the blocks those
	// counters set lifted where their window is now under the limit:
	// each counter has a kind and a scope of its own, so what one
	// counter's refund changes is never what another's reads.
	var liftsBuf [4]store.AbuseLift
	lifts := liftsBuf[:0]
	for _, c := range counters {
		r, key := c.rule(&l.policy), l.key(c.scope, s)
		if !r.on() || key == "" {
			continue
		}
		sp := spanOf(r, now)
		if _, err := tx.TakeBackAbuseCount(c.kind, key, sp.since); err != nil {
			return fmt.Errorf("abuse: refunding %s: %w", c.kind, err)
		}
		if r.Block <= 0 {
			continue
		}
		lifts = append(lifts, store.AbuseLift{Kind: string(c.scope), Key: key, Reason: c.kind, Since: sp.since, Limit: r.Limit})
	}
	if err := tx.LiftAbuseBlocksUnder(now, lifts); err != nil {
		return fmt.Errorf("abuse: unblocking after a refund of %s: %w", a, err)
	}
	return nil
}

// decide checks blocks and windows for a, returning the decision and, for
// each of checks[a], the window's count (0 for rules that are off). keys
// are the subject's keys in scopeOrder. adds, if any, are counted in the
// statement that reads (where the store can: counted says so); the counts
// returned are from before them.
func (l *Limiter) decide(tx *store.Tx, a Action, keys [3]string, now time.Time, adds []store.AbuseAdd) (Decision, []int, bool, error) {
	windows, ok := checks[a]
	if !ok {
		return Decision{}, nil, false, fmt.Errorf("abuse: unknown action %q", a)
	}
	// The three subjects' blocks in one read; they are still looked at
	// scope by scope below, so the IP's refusals come first as before...
	var subjects [3]store.AbuseSubject
	for i, scope := range scopeOrder {
		if keys[i] != "" {
			subjects[i] = store.AbuseSubject{Kind: string(scope), Key: keys[i]}
		}
	}
	// ... and every window's count in the same statement; nothing writes
	// between it and the checks below (the transaction is the writer's),
	// so each is what reading it there would give.
	blocks, counts, counted, err := l.blocksAndCounts(tx, subjects, windows, keys, now, adds)
	if err != nil {
		return Decision{}, nil, false, err
	}
	// A window checked below has room, and its sum is its count; decide
	// returns sums only when every window was checked.
	sums := counts
	for i, scope := range scopeOrder {
		key := keys[i]
		if key == "" {
			continue
		}
		for _, b := range blocks {
			if b.Kind == string(scope) && b.Key == key {
				return refusal(string(scope)+"_blocked", scope, b.Until.Sub(now)), nil, counted, nil
			}
		}
		for i, c := range windows {
			if c.scope != scope {
				continue
			}
			if r := c.rule(&l.policy); counted && r.on() && counts[i] >= r.Limit {
				// Full: Take takes this step's counts back and decides
				// again, reading the buckets (for when the window has
				// room again) without them.
				return Decision{}, nil, true, nil
			}
			d, _, err := l.window(tx, c, key, now, counts[i])
			if err != nil || !d.Allowed {
				return d, nil, counted, err
			}
		}
	}
	return Decision{Allowed: true}, sums, counted, nil
}

// scopeOrder is the order decide checks scopes in: refusals about the
// client IP come before those about the account or destination, so which
// kind of refusal comes back never depends on the account.
var scopeOrder = [3]Scope{ScopeIP, ScopeUser, ScopeDestination}

// scopeIndex is scope's place in scopeOrder.
func scopeIndex(scope Scope) int {
	for i, o := range scopeOrder {
		if o == scope {
			return i
		}
	}
	panic("abuse: unknown scope " + string(scope))
}

// keys returns s's key for each scope of scopeOrder ("" when s has none).
func (l *Limiter) keys(s Subject) [3]string {
	var out [3]string
	for i, scope := range scopeOrder {
		out[i] = l.key(scope, s)
	}
	return out
}

// blocksAndCounts reads the active blocks of subjects and the count of
// each of windows (0 for a rule that is off or a subject without that
// key), in one statement that also counts adds where the store can
// (counted).
func (l *Limiter) blocksAndCounts(tx *store.Tx, subjects [3]store.AbuseSubject, windows []counter, keys [3]string, now time.Time, adds []store.AbuseAdd) ([]*store.AbuseBlock, []int, bool, error) {
	out := make([]int, len(windows))
	var wsBuf [4]store.AbuseWindow
	var atBuf [4]int
	ws, at := wsBuf[:0], atBuf[:0]
	for i, c := range windows {
		r, key := c.rule(&l.policy), keys[scopeIndex(c.scope)]
		if !r.on() || key == "" {
			continue
		}
		ws = append(ws, store.AbuseWindow{Kind: c.kind, Key: key, Since: spanOf(r, now).since})
		at = append(at, i)
	}
	var nsBuf [4]int
	ns := nsBuf[:]
	if len(ws) > len(ns) {
		ns = make([]int, len(ws))
	}
	ns = ns[:len(ws)]
	blocks, counted, err := tx.CountAbuseAndRead(adds, now, subjects, ws, ns)
	if err != nil {
		return nil, nil, false, fmt.Errorf("abuse: reading blocks and counts: %w", err)
	}
	for j, i := range at {
		out[i] = ns[j]
	}
	return blocks, out, counted, nil
}

// window checks one counter, whose count is n, for room.
func (l *Limiter) window(tx *store.Tx, c counter, key string, now time.Time, n int) (Decision, int, error) {
	r := c.rule(&l.policy)
	if !r.on() {
		return Decision{Allowed: true}, 0, nil
	}
	sp := spanOf(r, now)
	if n < r.Limit {
		return Decision{Allowed: true}, n, nil
	}
	// The window has room again once enough of its oldest buckets aged
	// out to bring the count below the limit.
	buckets, err := tx.AbuseBuckets(c.kind, key, sp.since)
	if err != nil {
		return Decision{}, n, fmt.Errorf("abuse: reading %s: %w", c.kind, err)
	}
	retry, left := r.Window, n
	for _, b := range buckets {
		left -= b.Count
		if left < r.Limit {
			retry = sp.agesOut(b.Start).Sub(now)
			break
		}
	}
	return refusal(c.kind, c.scope, retry), n, nil
}

func refusal(reason string, scope Scope, retry time.Duration) Decision {
	if retry < 0 {
		retry = 0
	}
	return Decision{Reason: reason, RetryAfter: retry, Scope: scope, Quiet: scope != ScopeIP}
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
			if _, err := tx.DeleteAbuseCounts(c.kind, k); err != nil {
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

// Cleanup deletes counter buckets no window needs any more, nonces that
// expired and blocks that ended, returning how many rows went. Run it now
// and then (any node may).
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
// on st: Take, Refund, Unblock and Cleanup in the writer's transaction (so a
// Take's check and count are atomic), Check and Blocks in a read-only one.
func (l *Limiter) In(st Store) *Bound { return &Bound{l: l, st: st} }

// Bound is a Limiter whose methods open their own transactions.
type Bound struct {
	l  *Limiter
	st Store
}

// Check is Limiter.Check in a read-only transaction of its own.
func (b *Bound) Check(ctx context.Context, a Action, s Subject) (d Decision, err error) {
	err = b.st.ReadTx(ctx, func(tx *store.Tx) error { d, err = b.l.Check(tx, a, s); return err })
	return d, err
}

// Take is Limiter.Take in a writing transaction of its own.
func (b *Bound) Take(ctx context.Context, a Action, s Subject) (d Decision, set []Block, err error) {
	err = b.st.InTx(ctx, func(tx *store.Tx) error { d, set, err = b.l.Take(tx, a, s); return err })
	return d, set, err
}

// Refund is Limiter.Refund in a writing transaction of its own.
func (b *Bound) Refund(ctx context.Context, a Action, s Subject) error {
	return b.st.InTx(ctx, func(tx *store.Tx) error { return b.l.Refund(tx, a, s) })
}

// Unblock is Limiter.Unblock in a transaction of its own.
func (b *Bound) Unblock(ctx context.Context, scope Scope, key string) (ok bool, err error) {
	err = b.st.InTx(ctx, func(tx *store.Tx) error { ok, err = b.l.Unblock(tx, scope, key); return err })
	return ok, err
}

// Blocks is Limiter.Blocks in a read-only transaction of its own.
func (b *Bound) Blocks(ctx context.Context) (bs []Block, err error) {
	err = b.st.ReadTx(ctx, func(tx *store.Tx) error { bs, err = b.l.Blocks(tx); return err })
	return bs, err
}

// Cleanup is Limiter.Cleanup in a transaction of its own.
func (b *Bound) Cleanup(ctx context.Context) (n int64, err error) {
	err = b.st.InTx(ctx, func(tx *store.Tx) error { n, err = b.l.Cleanup(tx); return err })
	return n, err
}
