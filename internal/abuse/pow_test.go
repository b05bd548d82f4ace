package abuse_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/store"
)

func newPoW(c *testclock.Clock) *abuse.PoW {
	return &abuse.PoW{Key: testKey, Bits: 10, TTL: 5 * time.Minute, Now: c.Now}
}

func TestPoW(t *testing.T) {
	t.Parallel()
	e := newEnv(t, abuse.DefaultPolicy())
	p := newPoW(e.clock)
	verify := func(token, solution string) error {
		return e.st.InTx(context.Background(), func(tx *store.Tx) error { return p.Verify(tx, token, solution) })
	}
	c, err := p.Issue()
	if err != nil {
		t.Fatal(err)
	}
	if c.Bits != 10 || !c.Expires.Equal(t0.Add(5*time.Minute)) || !strings.HasPrefix(c.Token, c.Nonce+".") {
		t.Fatalf("challenge = %+v", c)
	}
	sol := abuse.Solve(c)
	if !abuse.Solves(c.Nonce, c.Bits, sol) {
		t.Fatalf("Solve gave %q, which does not solve the challenge", sol)
	}
	wrong := "0"
	for abuse.Solves(c.Nonce, c.Bits, wrong) {
		wrong += "0"
	}

	other, err := p.Issue()
	if err != nil {
		t.Fatal(err)
	}
	if other.Nonce == c.Nonce {
		t.Fatal("two challenges share a nonce")
	}
	parts := strings.Split(c.Token, ".")
	tamper := func(i int, v string) string {
		q := append([]string(nil), parts...)
		q[i] = v
		return strings.Join(q, ".")
	}
	otherKey := &abuse.PoW{Key: []byte("another key, 16+ bytes long"), Bits: 10, TTL: time.Minute, Now: e.clock.Now}
	forged, err := otherKey.Issue()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		token    string
		solution string
		want     error
	}{
		{"wrong solution", c.Token, wrong, abuse.ErrPoWWrong},
		{"not a number", c.Token, sol + "x", abuse.ErrPoWMalformed},
		{"too long", c.Token, strings.Repeat("1", 21), abuse.ErrPoWMalformed},
		{"empty", c.Token, "", abuse.ErrPoWMalformed},
		{"garbage token", "nonsense", sol, abuse.ErrPoWMalformed},
		{"lower difficulty", tamper(1, "1"), sol, abuse.ErrPoWForged},
		{"later expiry", tamper(2, "99999999999999"), sol, abuse.ErrPoWForged},
		{"other nonce", tamper(0, other.Nonce), sol, abuse.ErrPoWForged},
		{"other key", forged.Token, abuse.Solve(forged), abuse.ErrPoWForged},
		{"right", c.Token, sol, nil},
		{"replayed", c.Token, sol, abuse.ErrPoWReplayed},
	}
	for _, tc := range tests {
		if err := verify(tc.token, tc.solution); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}

	// A replay is refused after a restart too (the nonce is stored).
	e.restart()
	if err := verify(c.Token, sol); !errors.Is(err, abuse.ErrPoWReplayed) {
		t.Errorf("replay after restart: err = %v", err)
	}

	// A rolled-back step does not spend the nonce.
	solOther := abuse.Solve(other)
	errStep := errors.New("step failed")
	err = e.st.InTx(context.Background(), func(tx *store.Tx) error {
		if err := p.Verify(tx, other.Token, solOther); err != nil {
			return err
		}
		return errStep
	})
	if !errors.Is(err, errStep) {
		t.Fatalf("rolled-back step: %v", err)
	}
	// Expiry: a challenge is refused at its expiry, solved or not.
	e.clock.Advance(5 * time.Minute)
	if err := verify(other.Token, solOther); !errors.Is(err, abuse.ErrPoWExpired) {
		t.Errorf("expired: err = %v", err)
	}
	e.clock.Advance(-time.Millisecond)
	if err := verify(other.Token, solOther); err != nil {
		t.Errorf("just before expiry, after a rollback: err = %v", err)
	}
}

func TestPoWConfig(t *testing.T) {
	t.Parallel()
	for _, p := range []*abuse.PoW{
		{Key: []byte("short"), Bits: 10, TTL: time.Minute},
		{Key: testKey, Bits: 0, TTL: time.Minute},
		{Key: testKey, Bits: 33, TTL: time.Minute},
		{Key: testKey, Bits: 10},
	} {
		if _, err := p.Issue(); err == nil {
			t.Errorf("Issue with %+v: no error", p)
		}
	}
}

// TestPoWScript runs the browser solver under Node (when installed) and
// checks Verify accepts its answer.
func TestPoWScript(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	e := newEnv(t, abuse.DefaultPolicy())
	p := newPoW(e.clock)
	c, err := p.Issue()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "pow.js")
	src := abuse.PoWScript + "\nssprPoW(process.argv[2], Number(process.argv[3])).then(s => console.log(s));\n"
	if err := os.WriteFile(script, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, script, c.Nonce, "10").CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	sol := strings.TrimSpace(string(out))
	if want := abuse.Solve(c); sol != want {
		t.Errorf("PoWScript found %q, Solve %q", sol, want)
	}
	err = e.st.InTx(context.Background(), func(tx *store.Tx) error { return p.Verify(tx, c.Token, sol) })
	if err != nil {
		t.Errorf("Verify(PoWScript's solution): %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	def := abuse.DefaultPolicy()
	off := def
	off.UserFailures.Limit = 0
	bad := def
	bad.IPFailures = abuse.Rule{Limit: 3}
	bad.UserResets.Limit = -1
	bad.IPSends.Block = -time.Second
	bad.IPv6PrefixBits = 129
	tests := []struct {
		name      string
		p         abuse.Policy
		threshold int
		wantErr   []string
	}{
		{"default, no directory lockout", def, 0, nil},
		{"default below AD threshold 10", def, 10, nil},
		{"default below threshold 6", def, 6, nil},
		{"default equal to threshold 5", def, 5, []string{"user_failures.limit: 5 is not below", "at most 4"}},
		{"default above threshold 3", def, 3, []string{"user_failures.limit: 5 is not below", "at most 2"}},
		{"off with a lockout", off, 10, []string{"user_failures.limit: is off"}},
		{"off without a lockout", off, 0, nil},
		{"every error at once", bad, 0, []string{"ip_failures.window", "user_resets.limit", "ip_sends.block", "ipv6_prefix_bits"}},
	}
	for _, tc := range tests {
		err := tc.p.Validate(tc.threshold)
		if len(tc.wantErr) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.name, tc.wantErr)
			continue
		}
		for _, w := range tc.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
	if _, err := abuse.NewLimiter(bad, testKey, nil); err == nil {
		t.Error("NewLimiter accepted an invalid policy")
	}
}
