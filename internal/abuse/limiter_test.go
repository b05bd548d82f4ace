package abuse_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
)

// t0 is the injected "now": whole milliseconds, as the store keeps them.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

var testKey = []byte("0123456789abcdef0123456789abcdef")

type env struct {
	t     *testing.T
	path  string
	st    *store.Store
	clock *testclock.Clock
	l     *abuse.Limiter
}

func newEnv(t *testing.T, p abuse.Policy) *env {
	t.Helper()
	_, path := storetest.Target(t) // a SQLite file or a PostgreSQL database of its own
	e := &env{t: t, path: path, clock: testclock.New(t0)}
	e.open()
	l, err := abuse.NewLimiter(p, testKey, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.l = l
	return e
}

func (e *env) open() {
	e.t.Helper()
	st, err := storetest.Reopen(e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.st = st
	e.t.Cleanup(func() { st.Close() })
}

// restart closes the database and opens the file again, as a restarted
// process (or another node) would.
func (e *env) restart() {
	e.t.Helper()
	if err := e.st.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) check(a abuse.Action, s abuse.Subject) abuse.Decision {
	e.t.Helper()
	d, err := e.l.In(e.st).Check(context.Background(), a, s)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// take runs Take in a transaction of its own.
func (e *env) take(a abuse.Action, s abuse.Subject) (abuse.Decision, []abuse.Block) {
	e.t.Helper()
	d, set, err := e.l.In(e.st).Take(context.Background(), a, s)
	if err != nil {
		e.t.Fatal(err)
	}
	return d, set
}

// fail takes a failure slot for a wrong response (one that is never
// refunded), returning the blocks it set.
func (e *env) fail(s abuse.Subject) []abuse.Block {
	e.t.Helper()
	_, set := e.take(abuse.Verify, s)
	return set
}

// aligned is t0 moved back to a whole hour: the start of a bucket of every
// window the default policy has (5 min, 50 s, 2 h), so the tests can say
// exactly when a bucket ages out.
var aligned = t0.Truncate(2 * time.Hour)

func (e *env) do(fn func(tx *store.Tx) error) {
	e.t.Helper()
	if err := e.st.InTx(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

var (
	alice = abuse.Subject{Login: "alice", IP: "192.0.2.1"}
	// aliceElsewhere is the same account typed differently, from another IP.
	aliceElsewhere = abuse.Subject{Login: "  ALICE ", IP: "198.51.100.7"}
)

func TestUserBlockedAfterFiveFailures(t *testing.T) {
	storetest.Each(t, testUserBlockedAfterFiveFailures)
}

func testUserBlockedAfterFiveFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, abuse.DefaultPolicy())
	for i := 1; i <= 5; i++ {
		if d := e.check(abuse.Verify, alice); !d.Allowed {
			t.Fatalf("attempt %d refused: %+v", i, d)
		}
		set := e.fail(alice)
		if wantBlock := i == 5; (len(set) == 1) != wantBlock {
			t.Fatalf("failure %d set blocks %+v; want a block only at the 5th", i, set)
		}
	}
	want := abuse.Decision{Reason: "user_blocked", RetryAfter: 24 * time.Hour, Scope: abuse.ScopeUser, Quiet: true}
	for _, a := range []abuse.Action{abuse.Verify, abuse.Identify, abuse.SendCode, abuse.Reset} {
		if d := e.check(a, aliceElsewhere); d != want {
			t.Errorf("6th %s = %+v, want %+v", a, d, want)
		}
	}
	// Other accounts from the same IP go on.
	if d := e.check(abuse.Verify, abuse.Subject{Login: "bob", IP: alice.IP}); !d.Allowed {
		t.Errorf("bob refused: %+v", d)
	}
	// The block survives a restart.
	e.restart()
	e.clock.Advance(23 * time.Hour)
	if d := e.check(abuse.Verify, alice); d.Allowed || d.Reason != "user_blocked" || d.RetryAfter != time.Hour {
		t.Errorf("after restart, 23h later: %+v, want blocked for 1h more", d)
	}
	e.clock.Advance(time.Hour)
	if d := e.check(abuse.Verify, alice); !d.Allowed {
		t.Errorf("after 24h: %+v, want allowed", d)
	}
}

func TestWindowSlides(t *testing.T) { storetest.Each(t, testWindowSlides) }

func testWindowSlides(t *testing.T) {
	t.Parallel()
	p := abuse.DefaultPolicy()
	p.UserFailures.Block = 0 // watch the window alone
	e := newEnv(t, p)
	// Failures at 0, 15, 30, 45 and 50 minutes fill the window (1 h, in
	// buckets of 5 min).
	for _, at := range []time.Duration{0, 15, 30, 45, 50} {
		e.clock.Set(aligned.Add(at * time.Minute))
		e.fail(alice)
	}
	tests := []struct {
		at      time.Duration
		allowed bool
		retry   time.Duration
	}{
		// The bucket [0, 5m) counts while any of it is in the window:
		// until 5m + 1h.
		{55 * time.Minute, false, 10 * time.Minute},
		{64*time.Minute + 59*time.Second, false, time.Second},
		{65 * time.Minute, true, 0}, // the failure at 0 has aged out
		{80 * time.Minute, true, 0},
	}
	for _, tc := range tests {
		e.clock.Set(aligned.Add(tc.at))
		d := e.check(abuse.Verify, alice)
		if d.Allowed != tc.allowed || d.RetryAfter != tc.retry {
			t.Errorf("at +%s: %+v, want allowed=%v retry=%s", tc.at, d, tc.allowed, tc.retry)
		}
		if !d.Allowed && (d.Reason != "verify_failure_user" || !d.Quiet) {
			t.Errorf("at +%s: %+v, want a quiet verify_failure_user refusal", tc.at, d)
		}
	}
	// One more failure at +80m: failures at 30, 45, 50, 80 make 4 < 5.
	e.fail(alice)
	if d := e.check(abuse.Verify, alice); !d.Allowed {
		t.Errorf("after old failures aged out: %+v", d)
	}
}

func TestIPLimitIndependentOfUser(t *testing.T) { storetest.Each(t, testIPLimitIndependentOfUser) }

func testIPLimitIndependentOfUser(t *testing.T) {
	t.Parallel()
	p := abuse.DefaultPolicy()
	p.IPFailures = abuse.Rule{Limit: 4, Window: time.Hour, Block: time.Hour}
	e := newEnv(t, p)
	// Four accounts, one failure each from one IP: no user is near its
	// limit, the IP is blocked.
	var set []abuse.Block
	for _, login := range []string{"u1", "u2", "u3", "u4"} {
		set = append(set, e.fail(abuse.Subject{Login: login, IP: "192.0.2.9"})...)
	}
	if len(set) != 1 || set[0].Scope != abuse.ScopeIP || set[0].Key != "192.0.2.9" || !set[0].Until.Equal(t0.Add(time.Hour)) {
		t.Fatalf("blocks set = %+v, want the IP for 1h", set)
	}
	tests := []struct {
		name string
		s    abuse.Subject
		want abuse.Decision
	}{
		{"fresh user, blocked IP", abuse.Subject{Login: "u9", IP: "192.0.2.9"},
			abuse.Decision{Reason: "ip_blocked", RetryAfter: time.Hour, Scope: abuse.ScopeIP}},
		{"IPv4-mapped form of the blocked IP", abuse.Subject{Login: "u9", IP: "::ffff:192.0.2.9"},
			abuse.Decision{Reason: "ip_blocked", RetryAfter: time.Hour, Scope: abuse.ScopeIP}},
		{"same user, other IP", abuse.Subject{Login: "u1", IP: "192.0.2.10"}, abuse.Decision{Allowed: true}},
		{"no IP known", abuse.Subject{Login: "u1"}, abuse.Decision{Allowed: true}},
	}
	for _, tc := range tests {
		if d := e.check(abuse.Verify, tc.s); d != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, d, tc.want)
		}
	}
	// A user blocked and an IP blocked: the IP refusal (which says nothing
	// about the account) comes first, whoever the account is.
	for range 5 {
		e.fail(abuse.Subject{Login: "u1", IP: "203.0.113.5"})
	}
	if d := e.check(abuse.Verify, abuse.Subject{Login: "u1", IP: "192.0.2.9"}); d.Reason != "ip_blocked" || d.Quiet {
		t.Errorf("user and IP blocked: %+v, want the IP refusal, not quiet", d)
	}
}

func TestIPv6GroupedByPrefix(t *testing.T) { storetest.Each(t, testIPv6GroupedByPrefix) }

func testIPv6GroupedByPrefix(t *testing.T) {
	t.Parallel()
	p := abuse.DefaultPolicy()
	p.IPIdentifies = abuse.Rule{Limit: 2, Window: time.Minute}
	e := newEnv(t, p)
	e.take(abuse.Identify, abuse.Subject{IP: "2001:db8:1:2::1"})
	e.take(abuse.Identify, abuse.Subject{IP: "[2001:db8:1:2:ffff::9]:443"})
	if d := e.check(abuse.Identify, abuse.Subject{IP: "2001:db8:1:2::42"}); d.Allowed || d.Reason != "identify_ip" || d.Quiet {
		t.Errorf("same /64: %+v, want a loud identify_ip refusal", d)
	}
	if d := e.check(abuse.Identify, abuse.Subject{IP: "2001:db8:1:3::1"}); !d.Allowed {
		t.Errorf("other /64: %+v, want allowed", d)
	}
}

func TestSendCaps(t *testing.T) { storetest.Each(t, testSendCaps) }

func testSendCaps(t *testing.T) {
	t.Parallel()
	p := abuse.DefaultPolicy()
	p.IPSends = abuse.Rule{Limit: 8, Window: time.Hour}
	e := newEnv(t, p)
	e.clock.Set(aligned)
	phone := "+1 (555) 010-0042"
	for i := range 5 {
		// Different IPs and logins: only the destination is shared.
		e.take(abuse.SendCode, abuse.Subject{Login: "x", IP: "192.0.2." + string(rune('1'+i)), Destination: phone})
	}
	tests := []struct {
		name string
		a    abuse.Action
		s    abuse.Subject
		want abuse.Decision
	}{
		{"same number, other spelling", abuse.SendCode, abuse.Subject{IP: "203.0.113.1", Destination: "+15550100042"},
			abuse.Decision{Reason: "send_destination", RetryAfter: time.Hour + 5*time.Minute, Scope: abuse.ScopeDestination, Quiet: true}},
		{"other number", abuse.SendCode, abuse.Subject{IP: "203.0.113.1", Destination: "+15550100043"}, abuse.Decision{Allowed: true}},
		{"mail unaffected", abuse.SendCode, abuse.Subject{IP: "203.0.113.1", Destination: "Alice@Example.com"}, abuse.Decision{Allowed: true}},
		{"destination not blocked for verify", abuse.Verify, abuse.Subject{Login: "x", Destination: phone}, abuse.Decision{Allowed: true}},
	}
	for _, tc := range tests {
		if d := e.check(tc.a, tc.s); d != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, d, tc.want)
		}
	}
	// Sends per IP: 8 from one IP to 8 numbers.
	for i := range 8 {
		e.take(abuse.SendCode, abuse.Subject{IP: "198.51.100.1", Destination: "+4930123456" + string(rune('0'+i))})
	}
	if d := e.check(abuse.SendCode, abuse.Subject{IP: "198.51.100.1", Destination: "+49301234569"}); d.Reason != "send_ip" || d.Quiet {
		t.Errorf("9th send from one IP: %+v, want a loud send_ip refusal", d)
	}
	// No block was set by sends: the window just slides (its 5-minute
	// buckets count until all of them left the hour).
	e.clock.Advance(time.Hour + 5*time.Minute)
	if d := e.check(abuse.SendCode, abuse.Subject{IP: "203.0.113.1", Destination: phone}); !d.Allowed {
		t.Errorf("an hour and a bucket later: %+v", d)
	}
}

func TestResetsPerDay(t *testing.T) { storetest.Each(t, testResetsPerDay) }

func testResetsPerDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, abuse.DefaultPolicy())
	e.clock.Set(aligned)
	for i := range 3 {
		if d, _ := e.take(abuse.Reset, alice); !d.Allowed {
			t.Fatalf("reset %d refused: %+v", i+1, d)
		}
		e.clock.Advance(time.Hour)
	}
	// Resets at 0h, 1h (bucket [0, 2h)) and 2h; now is 3h: the first
	// bucket ages out at 2h + 24h.
	want := abuse.Decision{Reason: "reset_user", RetryAfter: 23 * time.Hour, Scope: abuse.ScopeUser, Quiet: true}
	if d, _ := e.take(abuse.Reset, aliceElsewhere); d != want {
		t.Errorf("4th reset: %+v, want %+v", d, want)
	}
	if d := e.check(abuse.Reset, abuse.Subject{Login: "bob", IP: alice.IP}); !d.Allowed {
		t.Errorf("bob: %+v", d)
	}
	e.clock.Advance(23 * time.Hour)
	if d := e.check(abuse.Reset, alice); !d.Allowed {
		t.Errorf("a day after the first: %+v", d)
	}
}

func TestDestinationsNotStoredInPlain(t *testing.T) {
	storetest.Each(t, testDestinationsNotStoredInPlain)
}

func testDestinationsNotStoredInPlain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, abuse.DefaultPolicy())
	dests := []string{"+4915112345678", "jane.doe@example.com"}
	for _, dst := range dests {
		e.take(abuse.SendCode, abuse.Subject{Login: "jane", IP: "192.0.2.1", Destination: dst})
	}
	p := abuse.DefaultPolicy()
	p.DestinationSends.Block = time.Hour // so a destination block is stored too
	l, err := abuse.NewLimiter(p, testKey, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 { // the first send is already counted
		if _, _, err := l.In(e.st).Take(context.Background(), abuse.SendCode, abuse.Subject{Destination: dests[0]}); err != nil {
			t.Fatal(err)
		}
	}
	if bs, _ := l.In(e.st).Blocks(context.Background()); len(bs) != 1 || bs[0].Scope != abuse.ScopeDestination {
		t.Fatalf("blocks = %+v, want one destination block", bs)
	}
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	db := storetest.RawDB(t, e.path)
	var dump strings.Builder
	for _, q := range []string{`SELECT kind || ' ' || key FROM abuse_counters`, `SELECT kind || ' ' || key || ' ' || reason FROM abuse_blocks`} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(s + "\n")
		}
		rows.Close()
	}
	text := strings.ToLower(dump.String())
	if !strings.Contains(text, "send_destination") {
		t.Fatalf("no destination rows found in\n%s", text)
	}
	for _, needle := range []string{"4915112345678", "12345678", "jane.doe", "example.com"} {
		if strings.Contains(text, needle) {
			t.Errorf("the abuse tables hold %q:\n%s", needle, text)
		}
	}
	// And not anywhere in the file, in any encoding SQLite could use.
	if storetest.Engine(t) == "postgres" {
		return // the server's files are its own
	}
	raw, err := readFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range dests {
		if strings.Contains(raw, needle) {
			t.Errorf("the database file holds %q", needle)
		}
	}
}

// TestConcurrentTakesAllowExactlyLimit races many Takes of one subject:
// however they interleave, exactly the limit is allowed and counted, and
// exactly one block is set. On PostgreSQL the Takes also come from three
// stores on the one database, as from three nodes: the write lock is the
// database's, not the process's.
func TestConcurrentTakesAllowExactlyLimit(t *testing.T) {
	storetest.Each(t, testConcurrentTakesAllowExactlyLimit)
}

func testConcurrentTakesAllowExactlyLimit(t *testing.T) {
	t.Parallel()
	const limit, workers, each = 25, 8, 10
	tests := []struct {
		name   string
		policy func(*abuse.Policy)
		action abuse.Action
		s      func(w, i int) abuse.Subject
		kind   string
		key    string
		block  abuse.Scope
	}{
		{"failures of one account from many IPs", func(p *abuse.Policy) {
			p.UserFailures = abuse.Rule{Limit: limit, Window: time.Hour, Block: time.Hour}
			p.IPFailures = abuse.Rule{Limit: 1000, Window: time.Hour, Block: time.Hour}
		}, abuse.Verify, func(w, i int) abuse.Subject {
			return abuse.Subject{Login: "Alice", IP: fmt.Sprintf("192.0.2.%d", 1+(w+i)%9)}
		}, "verify_failure_user", abuse.LoginKey("alice"), abuse.ScopeUser},
		{"identifies from one IP", func(p *abuse.Policy) {
			p.IPIdentifies = abuse.Rule{Limit: limit, Window: time.Hour}
		}, abuse.Identify, func(w, i int) abuse.Subject {
			return abuse.Subject{Login: fmt.Sprintf("u%d-%d", w, i), IP: "198.51.100.7"}
		}, "identify_ip", "198.51.100.7", ""},
		{"sends to one destination", func(p *abuse.Policy) {
			p.DestinationSends = abuse.Rule{Limit: limit, Window: time.Hour}
			p.IPSends = abuse.Rule{}
		}, abuse.SendCode, func(w, i int) abuse.Subject {
			return abuse.Subject{Login: "bob", IP: fmt.Sprintf("203.0.113.%d", w), Destination: "bob@example.com"}
		}, "send_destination", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := abuse.DefaultPolicy()
			tc.policy(&p)
			e := newEnv(t, p)
			nodes := []*store.Store{e.st}
			if storetest.Engine(t) == "postgres" {
				for range 2 {
					st, err := storetest.Reopen(e.path)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { st.Close() })
					nodes = append(nodes, st)
				}
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var allowed int
			var blocks []abuse.Block
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						d, set, err := e.l.In(nodes[w%len(nodes)]).Take(context.Background(), tc.action, tc.s(w, i))
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						if d.Allowed {
							allowed++
						}
						blocks = append(blocks, set...)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if allowed != limit {
				t.Errorf("%d of %d Takes allowed, want exactly %d", allowed, workers*each, limit)
			}
			if tc.key != "" {
				e.do(func(tx *store.Tx) error {
					n, err := tx.SumAbuseCounts(tc.kind, tc.key, time.Time{})
					if err != nil {
						return err
					}
					if n != limit {
						t.Errorf("counted %d, want %d", n, limit)
					}
					return nil
				})
			}
			if tc.block != "" && (len(blocks) != 1 || blocks[0].Scope != tc.block) {
				t.Errorf("blocks set = %+v, want exactly one %s block", blocks, tc.block)
			} else if tc.block == "" && len(blocks) != 0 {
				t.Errorf("blocks set = %+v, want none", blocks)
			}
		})
	}
}

func TestRefundGivesBackTheSlotAndItsBlock(t *testing.T) {
	storetest.Each(t, testRefundGivesBackTheSlotAndItsBlock)
}

func testRefundGivesBackTheSlotAndItsBlock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, abuse.DefaultPolicy())
	b := e.l.In(e.st)
	ctx := context.Background()
	// Four wrong answers, then a fifth slot taken: it fills the window and
	// blocks the account (and only the account) at once, so a sixth guess
	// racing it finds no room.
	for range 4 {
		e.fail(alice)
	}
	d, set := e.take(abuse.Verify, alice)
	if !d.Allowed || len(set) != 1 || set[0].Scope != abuse.ScopeUser {
		t.Fatalf("5th take: %+v, blocks %+v; want allowed and a user block", d, set)
	}
	if d, _ := e.take(abuse.Verify, aliceElsewhere); d.Allowed || d.Reason != "user_blocked" {
		t.Fatalf("6th take while the 5th is out: %+v, want user_blocked", d)
	}
	// The fifth answer was right: its slot and the block it set go.
	if err := b.Refund(ctx, abuse.Verify, alice); err != nil {
		t.Fatal(err)
	}
	if bs, _ := b.Blocks(ctx); len(bs) != 0 {
		t.Errorf("blocks after the refund = %+v, want none", bs)
	}
	e.do(func(tx *store.Tx) error {
		for kind, key := range map[string]string{"verify_failure_user": "alice", "verify_failure_ip": alice.IP} {
			if n, err := tx.SumAbuseCounts(kind, key, time.Time{}); err != nil || n != 4 {
				t.Errorf("%s after the refund = %d, %v; want 4", kind, n, err)
			}
		}
		return nil
	})
	// A refused Take counted nothing; the next wrong answer blocks again.
	if _, set := e.take(abuse.Verify, alice); len(set) != 1 {
		t.Errorf("a 5th wrong answer set blocks %+v, want one", set)
	}
	// A refund does not lift a block another rule set.
	p := abuse.DefaultPolicy()
	p.UserResets.Block = 24 * time.Hour
	e2 := newEnv(t, p)
	for range 3 {
		e2.take(abuse.Reset, alice)
	}
	if err := e2.l.In(e2.st).Refund(ctx, abuse.Verify, alice); err != nil {
		t.Fatal(err)
	}
	if d := e2.check(abuse.Verify, alice); d.Reason != "user_blocked" {
		t.Errorf("after refunding a verification: %+v, want the reset block to stand", d)
	}
}

func TestUnblockAndBlocks(t *testing.T) { storetest.Each(t, testUnblockAndBlocks) }

func testUnblockAndBlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, abuse.DefaultPolicy())
	for range 5 {
		e.fail(abuse.Subject{Login: "Alice", IP: "192.0.2.1"})
	}
	e.clock.Advance(time.Minute)
	bs, err := e.l.In(e.st).Blocks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := abuse.Block{Scope: abuse.ScopeUser, Key: "alice", Until: t0.Add(24 * time.Hour), Reason: "verify_failure_user", Since: t0}
	if len(bs) != 1 || bs[0] != want {
		t.Fatalf("blocks = %+v, want [%+v]", bs, want)
	}
	b := e.l.In(e.st)
	if ok, err := b.Unblock(context.Background(), abuse.ScopeUser, " ALICE"); err != nil || !ok {
		t.Fatalf("Unblock = %v, %v; want true", ok, err)
	}
	if ok, err := b.Unblock(context.Background(), abuse.ScopeUser, "alice"); err != nil || ok {
		t.Errorf("second Unblock = %v, %v; want false", ok, err)
	}
	if d := e.check(abuse.Verify, alice); !d.Allowed {
		t.Errorf("after unblock: %+v", d)
	}
	// The failures were forgotten with the block: one more does not block.
	if set := e.fail(alice); len(set) != 0 {
		t.Errorf("first failure after unblock set %+v", set)
	}
	if _, err := b.Unblock(context.Background(), "planet", "x"); err == nil {
		t.Error("Unblock of an unknown scope: no error")
	}
}

func TestCleanup(t *testing.T) { storetest.Each(t, testCleanup) }

func testCleanup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, abuse.DefaultPolicy())
	e.clock.Set(aligned)
	e.take(abuse.Identify, alice) // a bucket of 50 s, kept 10 min after it
	for range 5 {
		e.fail(alice) // one bucket of 5 min per user and IP, kept 1 h after; block 24 h
	}
	tests := []struct {
		after time.Duration
		want  int64
	}{
		{5 * time.Minute, 0},
		{10*time.Minute + 50*time.Second, 1}, // identify
		{65 * time.Minute, 2},                // the user and the IP failure buckets
		{24 * time.Hour, 1},                  // the user block (the IP block of 20 failures never came)
		{48 * time.Hour, 0},
	}
	for _, tc := range tests {
		e.clock.Set(aligned.Add(tc.after))
		n, err := e.l.In(e.st).Cleanup(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("cleanup at +%s removed %d rows, want %d", tc.after, n, tc.want)
		}
	}
}

func TestCheckUnknownAction(t *testing.T) { storetest.Each(t, testCheckUnknownAction) }

func testCheckUnknownAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, abuse.DefaultPolicy())
	if _, err := e.l.In(e.st).Check(context.Background(), "dance", alice); err == nil {
		t.Error("no error for an unknown action")
	}
}

func TestNewLimiterRefusesShortKey(t *testing.T) { storetest.Each(t, testNewLimiterRefusesShortKey) }

func testNewLimiterRefusesShortKey(t *testing.T) {
	t.Parallel()
	if _, err := abuse.NewLimiter(abuse.DefaultPolicy(), []byte("short"), nil); err == nil {
		t.Error("no error for a 5-byte key")
	}
}

func TestKeys(t *testing.T) { storetest.Each(t, testKeys) }

func testKeys(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"  Alice ", "alice"},
		{"ＡＬＩＣＥ", "alice"},
		{"Straße", "strasse"},
		{`EXAMPLE\Bob`, `example\bob`},
	}
	for _, tc := range tests {
		if got := abuse.LoginKey(tc.in); got != tc.want {
			t.Errorf("LoginKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	ips := []struct {
		in   string
		bits int
		want string
	}{
		{"192.0.2.1", 0, "192.0.2.1"},
		{" ::ffff:192.0.2.1 ", 0, "192.0.2.1"},
		{"192.0.2.1:8080", 0, "192.0.2.1"},
		{"2001:db8::1", 0, "2001:db8::/64"},
		{"2001:DB8:0:0:1::1", 56, "2001:db8::/56"},
		{"2001:db8::1", 128, "2001:db8::1"},
		{"fe80::1%eth0", 128, "fe80::1"},
		{"Not-An-IP", 0, "not-an-ip"},
	}
	for _, tc := range ips {
		if got := abuse.IPKey(tc.in, tc.bits); got != tc.want {
			t.Errorf("IPKey(%q, %d) = %q, want %q", tc.in, tc.bits, got, tc.want)
		}
	}
}

// readFile returns the database file and its write-ahead log, if any, as
// text to search.
func readFile(path string) (string, error) {
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			return "", err
		}
		all = append(all, b...)
	}
	return string(all), nil
}

func TestCheckAgainstLockout(t *testing.T) { storetest.Each(t, testCheckAgainstLockout) }

func testCheckAgainstLockout(t *testing.T) {
	t.Parallel()
	p := abuse.DefaultPolicy() // 5 failures an hour
	off := p
	off.UserFailures = abuse.Rule{}
	tests := []struct {
		name      string
		p         abuse.Policy
		threshold int
		window    time.Duration
		want      string // part of the one warning; "" for none
	}{
		{"directory never locks", p, 0, 0, ""},
		{"limit below threshold", p, 10, 30 * time.Minute, ""},
		{"limit one below", p, 6, time.Hour, ""},
		{"limit equal to threshold", p, 5, 0, "not below the directory's lockout threshold of 5"},
		{"limit above threshold", p, 3, 0, "set it to at most 2"},
		{"limit off", off, 5, 0, "is off"},
		{"window shorter than the directory's", p, 10, 2 * time.Hour, "shorter than the directory's lockout observation window"},
	}
	for _, tc := range tests {
		got := abuse.CheckAgainstLockout(tc.p, tc.threshold, tc.window)
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%s: %q, want no warning", tc.name, got)
		case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
			t.Errorf("%s: %q, want one warning containing %q", tc.name, got, tc.want)
		}
	}
}

// TestConcurrentTakesWithSeveralKeysStayExact: each Take counts two keys
// (the client IP and the destination, both limited), the subjects overlap
// (three IPs, two destinations), and 80 Takes race from three nodes on
// PostgreSQL (one store on SQLite). Whatever order they ran in, the result
// must be one a serial run could give: no key allowed past its limit, and
// every refused Take refused because one of its keys was full — so none
// was refused while both of its keys had room.
func TestConcurrentTakesWithSeveralKeysStayExact(t *testing.T) {
	storetest.Each(t, testConcurrentTakesWithSeveralKeysStayExact)
}

func testConcurrentTakesWithSeveralKeysStayExact(t *testing.T) {
	t.Parallel()
	const ipLimit, destLimit, workers, each = 7, 9, 8, 10
	p := abuse.DefaultPolicy()
	p.IPSends = abuse.Rule{Limit: ipLimit, Window: time.Hour}
	p.DestinationSends = abuse.Rule{Limit: destLimit, Window: time.Hour}
	e := newEnv(t, p)
	nodes := []*store.Store{e.st}
	if storetest.Engine(t) == "postgres" {
		for range 2 {
			st, err := storetest.Reopen(e.path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			nodes = append(nodes, st)
		}
	}
	ips := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
	dests := []string{"a@example.com", "b@example.com"}
	type take struct {
		ip, dest string
		allowed  bool
	}
	var mu sync.Mutex
	var takes []take
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				s := abuse.Subject{Login: "carol", IP: ips[(w+i)%len(ips)], Destination: dests[(w*each+i)%len(dests)]}
				d, _, err := e.l.In(nodes[w%len(nodes)]).Take(context.Background(), abuse.SendCode, s)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				takes = append(takes, take{s.IP, s.Destination, d.Allowed})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	perIP, perDest := map[string]int{}, map[string]int{}
	total := 0
	for _, tk := range takes {
		if tk.allowed {
			perIP[tk.ip]++
			perDest[tk.dest]++
			total++
		}
	}
	for k, n := range perIP {
		if n > ipLimit {
			t.Errorf("IP %s: %d allowed, limit %d", k, n, ipLimit)
		}
	}
	for k, n := range perDest {
		if n > destLimit {
			t.Errorf("destination %s: %d allowed, limit %d", k, n, destLimit)
		}
	}
	for _, tk := range takes {
		if !tk.allowed && perIP[tk.ip] < ipLimit && perDest[tk.dest] < destLimit {
			t.Errorf("a Take for %s → %s was refused though both had room (%d, %d)", tk.ip, tk.dest, perIP[tk.ip], perDest[tk.dest])
		}
	}
	// Two destinations of 9 bind before three IPs of 7.
	if total != len(dests)*destLimit {
		t.Errorf("%d Takes allowed, want %d", total, len(dests)*destLimit)
	}
	// What the store counted is what was allowed.
	e.do(func(tx *store.Tx) error {
		for _, ip := range ips {
			n, err := tx.SumAbuseCounts("send_ip", ip, time.Time{})
			if err != nil {
				return err
			}
			if n != perIP[ip] {
				t.Errorf("IP %s: counted %d, allowed %d", ip, n, perIP[ip])
			}
		}
		return nil
	})
}

// A refused Take answers exactly what Check answers (reason, scope and
// Retry-After) and leaves every count as it found it, whether it refused
// on a full window, a full window of another scope than the one it also
// counts, or a block — also on PostgreSQL, where Take counts in the
// statement that reads and takes the counts back when it refuses.
func TestRefusedTakeCountsNothing(t *testing.T) { storetest.Each(t, testRefusedTakeCountsNothing) }

func testRefusedTakeCountsNothing(t *testing.T) {
	t.Parallel()
	p := abuse.DefaultPolicy()
	p.IPSends = abuse.Rule{Limit: 3, Window: time.Hour}
	e := newEnv(t, p)
	e.clock.Set(aligned.Add(7 * time.Minute))
	ip := "198.51.100.9"
	// Every counter the steps below may touch, summed over all time.
	subjects := []abuse.Subject{{IP: "198.51.100.9", Destination: "+49301234009"}, alice}
	sums := func() string {
		var out []string
		e.do(func(tx *store.Tx) error {
			for _, s := range subjects {
				k := e.l.KeysOf(s)
				for _, c := range []struct{ kind, key string }{
					{"send_ip", k[0]}, {"send_destination", k[2]}, {"verify_failure_ip", k[0]}, {"verify_failure_user", k[1]},
				} {
					if c.key == "" {
						continue
					}
					n, err := tx.SumAbuseCounts(c.kind, c.key, time.Time{})
					if err != nil {
						return err
					}
					out = append(out, fmt.Sprintf("%s=%d", c.kind, n))
				}
			}
			return nil
		})
		return strings.Join(out, " ")
	}
	// Three sends from one IP fill its window; the numbers differ, so the
	// destination windows have room.
	for i := range 3 {
		if d, _ := e.take(abuse.SendCode, abuse.Subject{IP: ip, Destination: fmt.Sprintf("+4930123400%d", i)}); !d.Allowed {
			t.Fatalf("send %d refused: %+v", i, d)
		}
	}
	e.clock.Advance(11 * time.Minute)
	refused := subjects[0]
	before, want := sums(), e.check(abuse.SendCode, refused)
	// The window's first bucket (from aligned+5m) ages out an hour and a
	// bucket after it began: 59 minutes after now (aligned+18m).
	if want.Allowed || want.Reason != "send_ip" || want.RetryAfter != 52*time.Minute {
		t.Fatalf("the fourth send from one IP: Check = %+v, want send_ip with Retry-After 52m", want)
	}
	for range 2 {
		if d, _ := e.take(abuse.SendCode, refused); d != want || d.Allowed {
			t.Errorf("refused send: Take = %+v, Check = %+v", d, want)
		}
	}
	if after := sums(); after != before {
		t.Errorf("a refused Take changed the counts:\n before %s\n after  %s", before, after)
	}
	// Blocked: five failures block alice; the next Take is refused as
	// blocked, and counts nothing either.
	for range 5 {
		e.fail(alice)
	}
	before, want = sums(), e.check(abuse.Verify, alice)
	if want.Reason != "user_blocked" {
		t.Fatalf("after five failures, Check = %+v", want)
	}
	if d, _ := e.take(abuse.Verify, alice); d != want {
		t.Errorf("blocked verify: Take = %+v, Check = %+v", d, want)
	}
	if after := sums(); after != before {
		t.Errorf("a Take refused by a block changed the counts:\n before %s\n after  %s", before, after)
	}
}
