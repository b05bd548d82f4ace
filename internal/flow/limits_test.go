package flow_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
)

// limitWith puts the abuse controls of p in front of the harness's flow.
// The zero Policy limits nothing, so each test names only the rule it is
// about.
func (h *harness) limitWith(t *testing.T, p abuse.Policy) {
	t.Helper()
	h.reset.Limiter = newStoreLimiter(p, h.store, h.clock.Now)
}

// countingFactor counts the responses that reach the factor's check.
type countingFactor struct {
	factor.Factor
	verifies atomic.Int64
}

func (c *countingFactor) Verify(ctx context.Context, s factor.Subject, e factor.Enrollment, state []byte, resp factor.Response) (factor.Enrollment, error) {
	c.verifies.Add(1)
	return c.Factor.Verify(ctx, s, e, state, resp)
}

// run calls fn(i) for i in [0, n) concurrently, all released at once.
func run(n int, fn func(i int)) {
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-start
			fn(i)
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
}

// TestParallelWrongGuessesStopAtTheAccountLimit: 30 wrong codes sent at
// once, each in its own flow of one account, from 30 addresses. Every flow
// has guesses left, so only the per-account limit stands between them and
// the factor: at most its limit may reach the check.
func TestParallelWrongGuessesStopAtTheAccountLimit(t *testing.T) {
	h := newHarness(t)
	counting := &countingFactor{Factor: h.reset.Factors[factor.Email]}
	h.reset.Factors = map[factor.Kind]factor.Factor{factor.Email: counting}
	const limit, flows = 5, 30
	h.limitWith(t, abuse.Policy{UserFailures: abuse.Rule{Limit: limit, Window: time.Hour, Block: 24 * time.Hour}})
	ctx := context.Background()
	tokens := make([]string, flows)
	for i := range tokens {
		var err error
		if tokens[i], _, err = h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: fmt.Sprintf("192.0.2.%d", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	wrong := wrongCode(h.lastCode(t))
	errs := make([]error, flows)
	run(flows, func(i int) {
		_, errs[i] = h.reset.VerifyCode(ctx, tokens[i], wrong, fmt.Sprintf("192.0.2.%d", i+1))
	})
	for i, err := range errs {
		// Refused or not, every guess is answered "wrong code": the
		// limit stays invisible.
		if flowCode(err) != flow.CodeCodeInvalid {
			t.Errorf("guess %d: %v, want code_invalid", i, err)
		}
	}
	if n := counting.verifies.Load(); n != limit {
		t.Errorf("%d of %d parallel guesses reached the factor check, want exactly %d (user_failures.limit)", n, flows, limit)
	}
	// The account is now blocked: even the right code in a new flow is
	// not checked.
	token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "198.51.100.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "198.51.100.1"); flowCode(err) != flow.CodeCodeInvalid {
		t.Errorf("right code of a blocked account: %v, want code_invalid", err)
	}
	if n := counting.verifies.Load(); n != limit {
		t.Errorf("a blocked account's code reached the factor check (%d checks)", n)
	}
}

// TestConcurrentIdentifiesFromOneAddress: 150 flows started at once from
// one address with a limit of 60: exactly 60 are accepted, the rest are
// told to wait (a refusal about an address may be shown).
func TestConcurrentIdentifiesFromOneAddress(t *testing.T) {
	h := newHarness(t)
	const limit, starts = 60, 150
	h.limitWith(t, abuse.Policy{IPIdentifies: abuse.Rule{Limit: limit, Window: 10 * time.Minute}})
	h.reset.Log = slog.New(slog.DiscardHandler) // identifies this crowded run slower than identify_min_duration
	errs := make([]error, starts)
	run(starts, func(i int) {
		// Unknown logins: no mail, the same identify step.
		_, _, errs[i] = h.reset.Start(context.Background(), flow.StartInput{Login: fmt.Sprintf("nobody-%d", i), ClientIP: "203.0.113.9"})
	})
	accepted := 0
	for i, err := range errs {
		switch {
		case err == nil:
			accepted++
		case flowCode(err) != flow.CodeRateLimited:
			t.Errorf("start %d: %v, want accepted or rate_limited", i, err)
		}
	}
	if accepted != limit {
		t.Errorf("%d of %d concurrent identifies accepted, want exactly %d", accepted, starts, limit)
	}
}

// TestConcurrentStartsOfOneAccountMailAtMostTheLimit: 40 flows of one
// account started at once (from 40 addresses) with 5 codes per destination
// an hour: at most 5 code mails are queued, and every start still answers
// "a code is on its way".
func TestConcurrentStartsOfOneAccountMailAtMostTheLimit(t *testing.T) {
	h := newHarness(t)
	const limit, starts = 5, 40
	h.limitWith(t, abuse.Policy{DestinationSends: abuse.Rule{Limit: limit, Window: time.Hour}})
	h.reset.Log = slog.New(slog.DiscardHandler)
	errs := make([]error, starts)
	states := make([]flow.State, starts)
	run(starts, func(i int) {
		var st flow.Status
		_, st, errs[i] = h.reset.Start(context.Background(), flow.StartInput{Login: "bob", ClientIP: fmt.Sprintf("198.51.100.%d", i+1)})
		states[i] = st.State
	})
	for i, err := range errs {
		if err != nil || states[i] != flow.StateChallenged {
			t.Errorf("start %d: %v %s, want a challenge like any other", i, err, states[i])
		}
	}
	mails := 0
	for _, m := range h.messages(t) {
		if m.Kind == "reset_code" {
			mails++
		}
	}
	if mails != limit {
		t.Errorf("%d code mails queued for one address, want exactly %d (destination_sends.limit)", mails, limit)
	}
}

// TestRightAnswersAndRefusedPasswordsAreGivenBack: a failure slot taken for
// a right code, and a reset slot taken for a password the directory
// refused, are given back, so neither counts against the person.
func TestRightAnswersAndRefusedPasswordsAreGivenBack(t *testing.T) {
	h := newHarness(t)
	h.limitWith(t, abuse.Policy{
		UserFailures: abuse.Rule{Limit: 1, Window: time.Hour, Block: 24 * time.Hour},
		UserResets:   abuse.Rule{Limit: 1, Window: 24 * time.Hour},
	})
	ctx := context.Background()
	// Three right codes in a row with a failure limit of one: each took the
	// only slot (and blocked the account for a moment) and gave it back.
	var token string
	for i := range 3 {
		var err error
		if token, _, err = h.reset.Start(ctx, flow.StartInput{Login: "carol"}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), ""); err != nil {
			t.Fatalf("right code %d: %v", i+1, err)
		}
	}
	// A password the directory refuses makes no reset: the one reset a day
	// is still there for the good password.
	if _, err := h.reset.SetPassword(ctx, token, "short1", "short1", ""); flowCode(err) != flow.CodePasswordRefused {
		t.Fatalf("short password: %v, want password_refused", err)
	}
	if st, err := h.reset.SetPassword(ctx, token, "Given-Back-77", "Given-Back-77", ""); err != nil || st.State != flow.StateDone {
		t.Fatalf("good password after a refused one: %v %+v", err, st)
	}
	// And that reset used it up.
	token, _, _ = h.reset.Start(ctx, flow.StartInput{Login: "carol"})
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reset.SetPassword(ctx, token, "Second-Reset-77", "Second-Reset-77", ""); flowCode(err) != flow.CodeTooManyResets {
		t.Fatalf("second reset in a day: %v, want too_many_resets", err)
	}
}

// TestQuietRefusalsAreAudited: a code suppressed by a sending limit is
// answered exactly as if sent, and the audit log says why none went; an
// identify refused for its client address is audited too.
func TestQuietRefusalsAreAudited(t *testing.T) {
	h := newHarness(t)
	h.limitWith(t, abuse.Policy{DestinationSends: abuse.Rule{Limit: 1, Window: time.Hour},
		IPIdentifies: abuse.Rule{Limit: 2, Window: time.Hour}})
	ctx := context.Background()
	_, first, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7"})
	if err != nil || !reflect.DeepEqual(first, second) {
		t.Fatalf("the suppressed code was answered differently: %+v / %+v (%v)", first, second, err)
	}
	r := h.findAudit(t, "reset.challenge", "denied", "rate_limited")
	if r == nil || !strings.Contains(r.Detail, `"quiet":true`) || !strings.Contains(r.Detail, `"limit":"send"`) {
		t.Fatalf("the suppressed code is not in the audit log: %+v", r)
	}
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7"}); flowCode(err) != flow.CodeRateLimited {
		t.Fatalf("third identify from one address: %v", err)
	}
	if h.findAudit(t, "reset.identify", "denied", "rate_limited") == nil {
		t.Fatal("the refused identify is not in the audit log")
	}
}

// recordingLimiter notes which actions were taken in a writing transaction
// of their own (Take) and which in a step's (TakeIn).
type recordingLimiter struct {
	*storeLimiter
	mu      sync.Mutex
	own, in []flow.LimitAction
}

func (r *recordingLimiter) Take(ctx context.Context, a flow.LimitAction, login, ip, dest string) (bool, time.Duration, error) {
	r.mu.Lock()
	r.own = append(r.own, a)
	r.mu.Unlock()
	return r.storeLimiter.Take(ctx, a, login, ip, dest)
}

func (r *recordingLimiter) TakeIn(tx *store.Tx, a flow.LimitAction, login, ip, dest string) (bool, time.Duration, error) {
	r.mu.Lock()
	r.in = append(r.in, a)
	r.mu.Unlock()
	return r.storeLimiter.TakeIn(tx, a, login, ip, dest)
}

// TestResetLimitTakenInTheClaim: with a limiter that can take in a step's
// transaction, the password step counts the reset in the transaction that
// claims the flow — one writing transaction less per reset — and the
// limit holds as before: the second reset of the day is refused, and
// nothing of its claim is written.
func TestResetLimitTakenInTheClaim(t *testing.T) {
	h := newHarness(t)
	rl := &recordingLimiter{storeLimiter: newStoreLimiter(abuse.Policy{UserResets: abuse.Rule{Limit: 1, Window: 24 * time.Hour}}, h.store, h.clock.Now)}
	h.reset.Limiter = rl
	ctx := context.Background()
	verified := func() string {
		token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "carol"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), ""); err != nil {
			t.Fatal(err)
		}
		return token
	}
	if st, err := h.reset.SetPassword(ctx, verified(), "First-Reset-77", "First-Reset-77", ""); err != nil || st.State != flow.StateDone {
		t.Fatalf("first reset: %v %+v", err, st)
	}
	token := verified()
	if _, err := h.reset.SetPassword(ctx, token, "Second-Reset-77", "Second-Reset-77", ""); flowCode(err) != flow.CodeTooManyResets {
		t.Fatalf("second reset in a day: %v, want too_many_resets", err)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if slices.Contains(rl.own, flow.LimitReset) {
		t.Errorf("the reset limit was taken in a transaction of its own: %v", rl.own)
	}
	if want := []flow.LimitAction{flow.LimitReset, flow.LimitReset}; !slices.Equal(rl.in, want) {
		t.Errorf("taken in a step's transaction: %v, want %v", rl.in, want)
	}
	// The refused claim wrote nothing: the password is still the first
	// reset's.
	u, _ := h.dir.FindUser(ctx, "carol")
	if err := h.dir.VerifyPassword(ctx, u, "First-Reset-77"); err != nil {
		t.Errorf("after the refused second reset, the first reset's password: %v", err)
	}
}
