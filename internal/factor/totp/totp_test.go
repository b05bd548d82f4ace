package totp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/factor"
)

func newFactor(t *testing.T, cfg Config, c *testclock.Clock) *Factor {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "Example Corp"
	}
	cfg.Clock = c.Now
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var alice = factor.Subject{Login: "alice", DN: "uid=alice,ou=people,dc=example,dc=test"}

func codeResp(code string) factor.Response {
	return factor.Response{Values: map[string]string{"code": code}}
}

// TestRFC6238Vectors checks RFC 6238 Appendix B.
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[Algorithm]string{
		SHA1:   "12345678901234567890",
		SHA256: "12345678901234567890123456789012",
		SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		for alg, want := range map[Algorithm]string{SHA1: v.sha1, SHA256: v.sha256, SHA512: v.sha512} {
			if got := generate([]byte(seeds[alg]), alg, 8, v.unix/30); got != want {
				t.Errorf("%s at %d: %s, want %s", alg, v.unix, got, want)
			}
			// And through the factor: an enrollment with that seed accepts it.
			c := testclock.New(time.Unix(v.unix, 0))
			f := newFactor(t, Config{Digits: 8, Algorithm: alg}, c)
			e := enrollmentWith(t, []byte(seeds[alg]), params{alg, 8, 30}, 0)
			if _, err := f.Verify(context.Background(), alice, e, nil, codeResp(want)); err != nil {
				t.Errorf("%s at %d: Verify(%s) = %v", alg, v.unix, want, err)
			}
		}
	}
}

func enrollmentWith(t *testing.T, seed []byte, p params, last int64) factor.Enrollment {
	t.Helper()
	b, err := json.Marshal(record{Version: formatVersion, Seed: seed, params: p, LastStep: last})
	if err != nil {
		t.Fatal(err)
	}
	return factor.Enrollment{Kind: factor.TOTP, Secret: b}
}

// oathtool runs the oathtool command (a separate RFC 6238 implementation)
// for seed at time at. Without oathtool the test is skipped, or fails when
// SSPR_TEST_REQUIRE_INTEGRATION=1 (scripts/testenv/tools.sh installs it).
func oathtool(t *testing.T, seed []byte, alg Algorithm, digits int, period time.Duration, at time.Time) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		msg := "oathtool not installed (run scripts/testenv/tools.sh)"
		if os.Getenv("SSPR_TEST_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	args := []string{
		"--totp=" + strings.ToLower(string(alg)), "-b",
		"-d", itoa(digits), "-s", itoa(int(period/time.Second)) + "s",
		"-N", "@" + itoa(int(at.Unix())), encodeBase32(seed),
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestAgainstOathtool enrolls with a code computed by oathtool and then
// verifies later oathtool codes, for every algorithm, length and a
// non-default period.
func TestAgainstOathtool(t *testing.T) {
	cases := []Config{
		{},
		{Algorithm: SHA256, Digits: 8},
		{Algorithm: SHA512, Digits: 6, Period: 60 * time.Second},
		{Algorithm: SHA1, Digits: 8, Period: 15 * time.Second},
	}
	for _, cfg := range cases {
		c := testclock.New(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC))
		f := newFactor(t, cfg, c)
		ctx := context.Background()
		ch, err := f.BeginEnroll(ctx, alice, factor.Response{})
		if err != nil {
			t.Fatal(err)
		}
		var p pending
		if err := json.Unmarshal(ch.State, &p); err != nil {
			t.Fatal(err)
		}
		if want := f.cfg.Algorithm.seedSize(); len(p.Seed) != want {
			t.Errorf("%s seed is %d bytes, want %d", f.cfg.Algorithm, len(p.Seed), want)
		}
		// The seed the person types by hand is the one in the state.
		manual := strings.ReplaceAll(ch.Prompt["secret_base32"].(string), " ", "")
		if manual != encodeBase32(p.Seed) {
			t.Errorf("secret_base32 %q does not encode the seed", manual)
		}
		code := oathtool(t, p.Seed, f.cfg.Algorithm, f.cfg.Digits, f.cfg.Period, c.Now())
		e, err := f.FinishEnroll(ctx, alice, ch.State, codeResp(code))
		if err != nil {
			t.Fatalf("%+v: FinishEnroll(oathtool code %s): %v", cfg, code, err)
		}
		for i := 1; i <= 3; i++ {
			c.Advance(f.cfg.Period)
			code := oathtool(t, p.Seed, f.cfg.Algorithm, f.cfg.Digits, f.cfg.Period, c.Now())
			if got := generate(p.Seed, f.cfg.Algorithm, f.cfg.Digits, c.Now().Unix()/int64(f.cfg.Period/time.Second)); got != code {
				t.Errorf("%+v: generate = %s, oathtool = %s", cfg, got, code)
			}
			if e, err = f.Verify(ctx, alice, e, nil, codeResp(code)); err != nil {
				t.Fatalf("%+v: Verify(oathtool code %s) step %d: %v", cfg, code, i, err)
			}
		}
	}
}

func TestEnrollPrompt(t *testing.T) {
	c := testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f := newFactor(t, Config{Issuer: "Example Corp", Algorithm: SHA256, Digits: 8}, c)
	ch, err := f.BeginEnroll(context.Background(), factor.Subject{Login: "alice@example.test"}, factor.Response{})
	if err != nil {
		t.Fatal(err)
	}
	uri := ch.Prompt["otpauth_uri"].(string)
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Example Corp:alice@example.test" {
		t.Errorf("otpauth URI %q: scheme %q host %q path %q", uri, u.Scheme, u.Host, u.Path)
	}
	if strings.Contains(uri, "+") {
		t.Errorf("URI %q encodes spaces as +, which some apps show literally", uri)
	}
	q := u.Query()
	if q.Get("issuer") != "Example Corp" || q.Get("algorithm") != "SHA256" || q.Get("digits") != "8" || q.Get("period") != "30" {
		t.Errorf("URI query %v", q)
	}
	var p pending
	json.Unmarshal(ch.State, &p)
	if q.Get("secret") != encodeBase32(p.Seed) {
		t.Error("URI secret differs from the state's seed")
	}
	grouped := ch.Prompt["secret_base32"].(string)
	for _, g := range strings.Fields(grouped) {
		if len(g) > 4 {
			t.Errorf("group %q longer than 4 in %q", g, grouped)
		}
	}
	png, _ := ch.Prompt["qr_png"].(string)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(png, "data:image/png;base64,"))
	if !strings.HasPrefix(png, "data:image/png;base64,") || err != nil || !strings.HasPrefix(string(raw), "\x89PNG") {
		t.Errorf("qr_png is not a PNG data URI: %.40q (%v)", png, err)
	}
	if !ch.Expires.Equal(c.Now().Add(DefaultEnrollTTL)) {
		t.Errorf("expires %v", ch.Expires)
	}
	// Two enrollments never share a seed.
	ch2, _ := f.BeginEnroll(context.Background(), alice, factor.Response{})
	if ch2.Prompt["secret_base32"] == grouped {
		t.Error("two enrollments got the same seed")
	}

	off := newFactor(t, Config{QRSize: -1}, c)
	ch3, _ := off.BeginEnroll(context.Background(), alice, factor.Response{})
	if _, ok := ch3.Prompt["qr_png"]; ok {
		t.Error("QR code drawn although turned off")
	}
}

func TestFinishEnroll(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f := newFactor(t, Config{}, c)
	ch, _ := f.BeginEnroll(ctx, alice, factor.Response{})
	var p pending
	json.Unmarshal(ch.State, &p)
	step := c.Now().Unix() / 30

	if _, err := f.FinishEnroll(ctx, alice, ch.State, codeResp(wrongCode(p.Seed, step, 6))); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("wrong code: %v", err)
	}
	if _, err := f.FinishEnroll(ctx, alice, []byte("{garbage"), codeResp("123456")); err == nil || errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("garbage state: %v", err)
	}
	good := generate(p.Seed, SHA1, 6, step)
	e, err := f.FinishEnroll(ctx, alice, ch.State, codeResp(good[:3]+" "+good[3:]))
	if err != nil {
		t.Fatalf("FinishEnroll: %v", err)
	}
	if e.Kind != factor.TOTP || e.Label != DefaultLabel || !e.CreatedAt.Equal(c.Now()) {
		t.Errorf("enrollment %+v", e)
	}
	// The code used to enroll is spent.
	if _, err := f.Verify(ctx, alice, e, nil, codeResp(good)); !errors.Is(err, factor.ErrReplayed) {
		t.Errorf("enrollment code reused: %v", err)
	}
	c.Advance(DefaultEnrollTTL)
	if _, err := f.FinishEnroll(ctx, alice, ch.State, codeResp(generate(p.Seed, SHA1, 6, c.Now().Unix()/30))); !errors.Is(err, factor.ErrExpired) {
		t.Errorf("expired enrollment: %v", err)
	}
}

// wrongCode returns a code that matches no step of a window of 5 around step.
func wrongCode(seed []byte, step int64, digits int) string {
	for n := 0; ; n++ {
		cand := generate([]byte{byte(n), byte(n >> 8)}, SHA1, digits, 1)
		ok := true
		for d := int64(-5); d <= 5; d++ {
			if generate(seed, SHA1, digits, step+d) == cand {
				ok = false
			}
		}
		if ok {
			return cand
		}
	}
}

func TestVerifyReplayAndSkew(t *testing.T) {
	ctx := context.Background()
	seed := []byte("0123456789abcdefghij")
	start := time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC) // on a step boundary
	step := start.Unix() / 30
	at := func(s int64) string { return generate(seed, SHA1, 6, s) }

	c := testclock.New(start.Add(10 * time.Second))
	f := newFactor(t, Config{}, c)
	e := enrollmentWith(t, seed, params{SHA1, 6, 30}, step-5)

	// Wrong code.
	if _, err := f.Verify(ctx, alice, e, nil, codeResp(wrongCode(seed, step, 6))); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("wrong code: %v", err)
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, err := f.Verify(ctx, alice, e, nil, codeResp(bad)); !errors.Is(err, factor.ErrWrongResponse) {
			t.Errorf("code %q: %v", bad, err)
		}
	}
	// Outside the default ±1 window.
	for _, s := range []int64{step - 2, step + 2} {
		if _, err := f.Verify(ctx, alice, e, nil, codeResp(at(s))); !errors.Is(err, factor.ErrWrongResponse) {
			t.Errorf("step %+d accepted with skew 1: %v", s-step, err)
		}
	}
	// The previous step (a code typed just before it changed) is accepted.
	e1, err := f.Verify(ctx, alice, e, nil, codeResp(at(step-1)))
	if err != nil {
		t.Fatalf("previous step: %v", err)
	}
	// Replaying it is refused.
	if _, err := f.Verify(ctx, alice, e1, nil, codeResp(at(step-1))); !errors.Is(err, factor.ErrReplayed) {
		t.Errorf("replayed code: %v", err)
	}
	// The current step is still fresh.
	e2, err := f.Verify(ctx, alice, e1, nil, codeResp(at(step)))
	if err != nil {
		t.Fatalf("current step: %v", err)
	}
	if !e2.LastUsedAt.Equal(c.Now()) {
		t.Errorf("LastUsedAt %v", e2.LastUsedAt)
	}
	// A future step (fast phone clock) is accepted, and then even the
	// current step is refused: steps only move forward.
	e3, err := f.Verify(ctx, alice, e2, nil, codeResp(at(step+1)))
	if err != nil {
		t.Fatalf("next step: %v", err)
	}
	if _, err := f.Verify(ctx, alice, e3, nil, codeResp(at(step))); !errors.Is(err, factor.ErrReplayed) {
		t.Errorf("older step after a newer one: %v", err)
	}
	// A new period makes a new code work, once.
	c.Advance(60 * time.Second)
	e4, err := f.Verify(ctx, alice, e3, nil, codeResp(at(step+2)))
	if err != nil {
		t.Fatalf("later step: %v", err)
	}
	if _, err := f.Verify(ctx, alice, e4, nil, codeResp(at(step+2))); !errors.Is(err, factor.ErrReplayed) {
		t.Errorf("replay after time passed: %v", err)
	}

	// Skew 0: only the current step; skew 2: two either side.
	c.Set(start.Add(10 * time.Second))
	strict := newFactor(t, Config{Skew: -1}, c)
	if _, err := strict.Verify(ctx, alice, e, nil, codeResp(at(step-1))); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("skew 0 accepted the previous step: %v", err)
	}
	if _, err := strict.Verify(ctx, alice, e, nil, codeResp(at(step))); err != nil {
		t.Errorf("skew 0 refused the current step: %v", err)
	}
	wide := newFactor(t, Config{Skew: 2}, c)
	if _, err := wide.Verify(ctx, alice, e, nil, codeResp(at(step-2))); err != nil {
		t.Errorf("skew 2 refused step -2: %v", err)
	}
	if _, err := wide.Verify(ctx, alice, e, nil, codeResp(at(step+2))); err != nil {
		t.Errorf("skew 2 refused step +2: %v", err)
	}
	if _, err := wide.Verify(ctx, alice, e, nil, codeResp(at(step+3))); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("skew 2 accepted step +3: %v", err)
	}
}

func TestEnrollmentKeepsItsParameters(t *testing.T) {
	// An enrollment made with SHA256/8 digits keeps working after the
	// configuration changes to the defaults.
	ctx := context.Background()
	c := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	seed := make([]byte, 32)
	e := enrollmentWith(t, seed, params{SHA256, 8, 60}, 0)
	f := newFactor(t, Config{}, c)
	ch, err := f.Challenge(ctx, alice, e)
	// The prompt follows the configuration (6 digits), like a decoy's:
	// otherwise it would tell a stranger that this account enrolled an
	// app before the digits changed. The 8-digit code still verifies.
	if err != nil || ch.Prompt["code_length"] != 6 {
		t.Fatalf("Challenge = %v, %v", ch.Prompt, err)
	}
	decoy, err := f.Challenge(ctx, alice, f.DecoyEnrollment(alice))
	if err != nil || !reflect.DeepEqual(decoy.Prompt, ch.Prompt) {
		t.Fatalf("decoy prompt %v, real %v (%v)", decoy.Prompt, ch.Prompt, err)
	}
	if _, err := f.Verify(ctx, alice, e, nil, codeResp(generate(seed, SHA256, 8, c.Now().Unix()/60))); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if _, err := f.Verify(ctx, alice, factor.Enrollment{Secret: []byte("nope")}, nil, codeResp("123456")); err == nil {
		t.Error("malformed enrollment verified")
	}
}

func TestNewValidates(t *testing.T) {
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "issuer is required"},
		{Config{Issuer: "A:B"}, "colon"},
		{Config{Issuer: "X", Digits: 7}, "digits is 7"},
		{Config{Issuer: "X", Period: 1500 * time.Millisecond}, "period"},
		{Config{Issuer: "X", Algorithm: "MD5"}, "algorithm"},
		{Config{Issuer: "X", Skew: 9}, "skew"},
	}
	for _, b := range bad {
		if _, err := New(b.cfg); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("New(%+v) = %v, want %q", b.cfg, err, b.want)
		}
	}
	f, err := New(Config{Issuer: "X", Algorithm: "sha-256"})
	if err != nil || f.cfg.Algorithm != SHA256 {
		t.Errorf("lower-case algorithm: %v %v", f, err)
	}
	if f.Kind() != factor.TOTP || !f.NeedsEnrollment() {
		t.Error("kind / NeedsEnrollment")
	}
}

func BenchmarkVerify(b *testing.B) {
	seed := []byte("0123456789abcdefghij")
	f, _ := New(Config{Issuer: "X"})
	e := factor.Enrollment{}
	e.Secret, _ = json.Marshal(record{Version: formatVersion, Seed: seed, params: params{SHA1, 6, 30}})
	for b.Loop() {
		f.Verify(context.Background(), alice, e, nil, codeResp("000000"))
	}
}
