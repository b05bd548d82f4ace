package backupcodes

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/secrets"
)

var ctx = context.Background()

var bob = factor.Subject{Login: "bob"}

// cheap are fast parameters for tests that are not about the cost.
var cheap = secrets.Argon2idParams{Memory: 64, Time: 1, Threads: 1}

func newFactor(t testing.TB, cfg Config, c *testclock.Clock) *Factor {
	t.Helper()
	cfg.Clock = c.Now
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.params = cheap
	return f
}

func code(c string) factor.Response { return factor.Response{Values: map[string]string{"code": c}} }

// enroll runs the whole enrollment and returns the shown codes.
func enroll(t testing.TB, f *Factor) ([]string, factor.Enrollment) {
	t.Helper()
	ch, err := f.BeginEnroll(ctx, bob, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	codes := ch.Prompt["codes"].([]string)
	pos := ch.Prompt["confirm_position"].(int)
	e, err := f.FinishEnroll(ctx, bob, ch.State, code(codes[pos-1]))
	if err != nil {
		t.Fatalf("FinishEnroll: %v", err)
	}
	return codes, e
}

func TestEnrollShowsCodesOnce(t *testing.T) {
	c := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := newFactor(t, Config{}, c)
	ch, err := f.BeginEnroll(ctx, bob, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	codes := ch.Prompt["codes"].([]string)
	if len(codes) != DefaultCount {
		t.Fatalf("%d codes, want %d", len(codes), DefaultCount)
	}
	seen := map[string]bool{}
	for _, s := range codes {
		if len(s) != 11 || s[5] != '-' {
			t.Errorf("code %q is not XXXXX-XXXXX", s)
		}
		for _, r := range strings.ReplaceAll(s, "-", "") {
			if !strings.ContainsRune(alphabet, r) {
				t.Errorf("code %q has %q outside the alphabet", s, r)
			}
		}
		if seen[s] {
			t.Errorf("code %q repeated", s)
		}
		seen[s] = true
		// Neither the state nor the enrollment holds a code in clear.
		if strings.Contains(string(ch.State), strings.ReplaceAll(s, "-", "")) {
			t.Errorf("state holds code %q in clear", s)
		}
	}
	pos := ch.Prompt["confirm_position"].(int)
	if pos < 1 || pos > len(codes) {
		t.Fatalf("confirm_position %d", pos)
	}
	// Typing another code of the list does not confirm: the person must
	// have the whole list.
	other := codes[pos%len(codes)]
	if _, err := f.FinishEnroll(ctx, bob, ch.State, code(other)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("confirmed with code at the wrong position: %v", err)
	}
	e, err := f.FinishEnroll(ctx, bob, ch.State, code(codes[pos-1]))
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != factor.BackupCodes || e.Label != "Backup codes (10 left)" {
		t.Errorf("enrollment %+v", e)
	}
	for _, s := range codes {
		if strings.Contains(string(e.Secret), strings.ReplaceAll(s, "-", "")) {
			t.Errorf("enrollment holds code %q in clear", s)
		}
	}
	if n, _ := Remaining(e); n != 10 {
		t.Errorf("Remaining = %d (the confirmation does not use a code)", n)
	}
	c.Advance(DefaultEnrollTTL)
	if _, err := f.FinishEnroll(ctx, bob, ch.State, code(codes[pos-1])); !errors.Is(err, factor.ErrExpired) {
		t.Errorf("late confirmation: %v", err)
	}
	if _, err := f.FinishEnroll(ctx, bob, []byte("{}"), code(codes[0])); err == nil {
		t.Error("empty state accepted")
	}
}

func TestEachCodeWorksOnce(t *testing.T) {
	c := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := newFactor(t, Config{Count: 4}, c)
	codes, e := enroll(t, f)
	for i, s := range codes {
		ch, err := f.Challenge(ctx, bob, e)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Prompt["remaining"] != len(codes)-i {
			t.Errorf("remaining %v, want %d", ch.Prompt["remaining"], len(codes)-i)
		}
		next, err := f.Verify(ctx, bob, e, ch.State, code(s))
		if err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
		want := factor.ErrWrongResponse
		if i == len(codes)-1 {
			want = factor.ErrNotAvailable // none left at all
		}
		if _, err := f.Verify(ctx, bob, next, nil, code(s)); !errors.Is(err, want) {
			t.Errorf("code %d reused: %v, want %v", i, err, want)
		}
		if n, _ := Remaining(next); n != len(codes)-i-1 {
			t.Errorf("Remaining %d after %d uses", n, i+1)
		}
		if !next.LastUsedAt.Equal(c.Now()) {
			t.Errorf("LastUsedAt %v", next.LastUsedAt)
		}
		e = next
	}
	if e.Label != "Backup codes (0 left)" {
		t.Errorf("label %q", e.Label)
	}
	if _, err := f.Challenge(ctx, bob, e); !errors.Is(err, factor.ErrNotAvailable) {
		t.Errorf("Challenge when exhausted: %v", err)
	}
	if _, err := f.Verify(ctx, bob, e, nil, code(codes[0])); !errors.Is(err, factor.ErrNotAvailable) {
		t.Errorf("Verify when exhausted: %v", err)
	}
}

func TestCodesInAnyOrder(t *testing.T) {
	f := newFactor(t, Config{Count: 5}, testclock.New(time.Now()))
	codes, e := enroll(t, f)
	for _, i := range []int{3, 0, 4} {
		var err error
		if e, err = f.Verify(ctx, bob, e, nil, code(codes[i])); err != nil {
			t.Fatalf("code %d: %v", i, err)
		}
	}
	for _, i := range []int{1, 2} {
		if _, err := f.Verify(ctx, bob, e, nil, code(codes[i])); err != nil {
			t.Errorf("code %d refused after others were used: %v", i, err)
		}
	}
}

func TestWrongCode(t *testing.T) {
	f := newFactor(t, Config{}, testclock.New(time.Now()))
	codes, e := enroll(t, f)
	wrong := []string{"", "00000-00000", "ZZZZZ-ZZZZZ", codes[0][:10], codes[0] + "0", "UUUUU-UUUUU", "é", strings.Repeat("0", 1000)}
	for _, w := range wrong {
		if w == codes[0] {
			continue
		}
		if _, err := f.Verify(ctx, bob, e, nil, code(w)); !errors.Is(err, factor.ErrWrongResponse) {
			t.Errorf("Verify(%q) = %v, want ErrWrongResponse", w, err)
		}
	}
	// Another enrollment's code does not work here.
	other, _ := enroll(t, f)
	if _, err := f.Verify(ctx, bob, e, nil, code(other[0])); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("another set's code: %v", err)
	}
	if _, err := f.Verify(ctx, bob, factor.Enrollment{Secret: []byte("x")}, nil, code(codes[0])); err == nil || errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("malformed enrollment: %v", err)
	}
}

func TestNormalisation(t *testing.T) {
	cases := []struct{ in, want string }{
		{"7K2M9-X4P3Q", "7K2M9X4P3Q"},
		{"7k2m9x4p3q", "7K2M9X4P3Q"},
		{"  7k2m9 x4p3q ", "7K2M9X4P3Q"},
		{"7K2M9–X4P3Q", "7K2M9X4P3Q"}, // en dash from a word processor
		{"7k2m9_x4p3q", "7K2M9X4P3Q"},
	}
	for _, c := range cases {
		got, ok := normalise(c.in, 10)
		if !ok || got != c.want {
			t.Errorf("normalise(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	if got, ok := normalise("oOiIl-L0000", 10); !ok || got != "0011110000" {
		t.Errorf("Crockford decoding: %q %v", got, ok)
	}
	for _, bad := range []string{"7K2M9X4P3", "7K2M9X4P3QQ", "7K2M9X4P3U", "7K2M9X4P3!"} {
		if _, ok := normalise(bad, 10); ok {
			t.Errorf("normalise(%q) accepted", bad)
		}
	}

	// Through Verify: a code typed in lower case, without the dash and with
	// O for 0 works.
	f := newFactor(t, Config{Count: 1}, testclock.New(time.Now()))
	codes, e := enroll(t, f)
	typed := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(codes[0], "-", " "), "0", "o"))
	if _, err := f.Verify(ctx, bob, e, nil, code(typed)); err != nil {
		t.Errorf("Verify(%q) for %q: %v", typed, codes[0], err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{Count: -1}, {Count: MaxCount + 1}, {Length: 8}, {GroupSize: -1},
		{Argon2id: secrets.Argon2idParams{Memory: 1024, Time: 1, Threads: 1}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	f, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if f.params != secrets.OWASPArgon2id {
		t.Errorf("default params %+v", f.params)
	}
	if f.Kind() != factor.BackupCodes || !f.NeedsEnrollment() {
		t.Error("kind / NeedsEnrollment")
	}
}

// TestCostAtOWASPMinimum measures enrollment and verification at the real
// cost: verifying must cost one hash, whatever the number of codes.
func TestCostAtOWASPMinimum(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real Argon2id cost")
	}
	f, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	salt, _ := secrets.NewSalt()
	start := time.Now()
	secrets.OWASPArgon2id.Hash([]byte("0123456789"), salt)
	one := time.Since(start)

	start = time.Now()
	codes, e := enroll(t, f)
	enrollTime := time.Since(start)

	start = time.Now()
	if _, err := f.Verify(ctx, bob, e, nil, code(codes[len(codes)-1])); err != nil {
		t.Fatal(err)
	}
	right := time.Since(start)
	start = time.Now()
	if _, err := f.Verify(ctx, bob, e, nil, code("00000-00000")); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatal(err)
	}
	wrong := time.Since(start)
	t.Logf("argon2id (19 MiB, t=2, p=1): one hash %v; enrollment of %d codes %v; verify right %v, wrong %v",
		one, len(codes), enrollTime, right, wrong)
}

// TestOneHashPerVerification counts hashes: a verification costs one
// Argon2id whatever the number of codes left (timing is only logged above,
// as it is too noisy on a shared machine to assert).
func TestOneHashPerVerification(t *testing.T) {
	f := newFactor(t, Config{Count: 10}, testclock.New(time.Now()))
	codes, e := enroll(t, f)
	var n atomic.Int32
	orig := hash
	hash = func(p secrets.Argon2idParams, code, salt []byte) []byte { n.Add(1); return orig(p, code, salt) }
	defer func() { hash = orig }()
	for _, c := range []string{"00000-00000", codes[9], codes[0]} {
		n.Store(0)
		f.Verify(ctx, bob, e, nil, code(c))
		if got := n.Load(); got != 1 {
			t.Errorf("Verify(%q) hashed %d times, want 1", c, got)
		}
	}
	n.Store(0)
	f.Verify(ctx, bob, e, nil, code("not a code"))
	if got := n.Load(); got != 0 {
		t.Errorf("malformed input hashed %d times, want 0", got)
	}
}

func BenchmarkVerifyOWASP(b *testing.B) {
	f, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	_, e := enroll(b, f)
	for b.Loop() {
		f.Verify(ctx, bob, e, nil, code("00000-00000"))
	}
}

// TestPromptFollowsTheConfiguration: after the configured code length
// changes, a set printed before still verifies, but its challenge presents
// like a decoy's (the configured length): the length must not tell a
// stranger that the account has an older set.
func TestPromptFollowsTheConfiguration(t *testing.T) {
	c := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	codes, e := enroll(t, newFactor(t, Config{}, c))
	f := newFactor(t, Config{Length: 16}, c)
	real, err := f.Challenge(ctx, bob, e)
	if err != nil {
		t.Fatal(err)
	}
	decoy, err := f.Challenge(ctx, bob, f.DecoyEnrollment(bob))
	if err != nil {
		t.Fatal(err)
	}
	if real.Prompt["code_length"] != 16 || real.Prompt["code_length"] != decoy.Prompt["code_length"] {
		t.Fatalf("real prompt %v, decoy %v", real.Prompt, decoy.Prompt)
	}
	if _, err := f.Verify(ctx, bob, e, real.State, code(codes[0])); err != nil {
		t.Fatalf("a code of the older length: %v", err)
	}
}
