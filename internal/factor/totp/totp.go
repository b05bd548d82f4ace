package totp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

// Algorithm is the HMAC hash of the codes.
type Algorithm string

// The algorithms RFC 6238 defines. SHA1 is what every app supports; some
// apps ignore the algorithm parameter and silently compute SHA-1 codes.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

func (a Algorithm) hash() (func() hash.Hash, bool) {
	switch a {
	case SHA1:
		return sha1.New, true
	case SHA256:
		return sha256.New, true
	case SHA512:
		return sha512.New, true
	}
	return nil, false
}

// seedSize is the seed length RFC 6238's reference uses per algorithm (the
// hash's output size).
func (a Algorithm) seedSize() int {
	switch a {
	case SHA256:
		return 32
	case SHA512:
		return 64
	}
	return 20
}

// Defaults.
const (
	DefaultDigits    = 6
	DefaultPeriod    = 30 * time.Second
	DefaultSkew      = 1
	DefaultEnrollTTL = 10 * time.Minute
	DefaultLabel     = "Authenticator app"
	// MaxSkew bounds Config.Skew: each step of window is another code an
	// attacker's guess may hit.
	MaxSkew = 5
)

// Config configures the factor. The zero value of each field means its
// default.
type Config struct {
	// Issuer names the service in the app ("Example Corp"); it is the
	// otpauth URI's issuer. Required.
	Issuer string
	// Digits is the code length, 6 (default) or 8.
	Digits int
	// Period is the time step, 30 s by default; whole seconds.
	Period time.Duration
	// Algorithm is SHA1 (default), SHA256 or SHA512.
	Algorithm Algorithm
	// Skew is how many steps before and after the current one are
	// accepted, for clock drift and typing time: 0 means the default 1, a
	// negative value means none (the current step only). At most MaxSkew.
	Skew int
	// EnrollTTL bounds how long a started enrollment may be finished (10
	// minutes by default).
	EnrollTTL time.Duration
	// Label is the enrollment's label ("Authenticator app" by default).
	Label string
	// QRSize is the QR code's width in pixels (256 by default); negative
	// turns the QR code off.
	QRSize int
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the TOTP factor. It is stateless and safe for concurrent use.
type Factor struct {
	cfg  Config
	skew int
}

var _ factor.Factor = (*Factor)(nil)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	var problems []string
	if strings.TrimSpace(cfg.Issuer) == "" {
		problems = append(problems, "issuer is required")
	}
	if strings.Contains(cfg.Issuer, ":") {
		problems = append(problems, fmt.Sprintf("issuer %q must not contain a colon (it separates issuer and account in the otpauth label)", cfg.Issuer))
	}
	if cfg.Digits == 0 {
		cfg.Digits = DefaultDigits
	}
	if cfg.Digits != 6 && cfg.Digits != 8 {
		problems = append(problems, fmt.Sprintf("digits is %d, want 6 or 8", cfg.Digits))
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Period < time.Second || cfg.Period%time.Second != 0 || cfg.Period > 10*time.Minute {
		problems = append(problems, fmt.Sprintf("period is %v, want whole seconds from 1s to 10m", cfg.Period))
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = SHA1
	}
	cfg.Algorithm = Algorithm(strings.ToUpper(strings.ReplaceAll(string(cfg.Algorithm), "-", "")))
	if _, ok := cfg.Algorithm.hash(); !ok {
		problems = append(problems, fmt.Sprintf("algorithm %q is not SHA1, SHA256 or SHA512", cfg.Algorithm))
	}
	skew := cfg.Skew
	switch {
	case skew == 0:
		skew = DefaultSkew
	case skew < 0:
		skew = 0
	}
	if skew > MaxSkew {
		problems = append(problems, fmt.Sprintf("skew is %d steps, at most %d", cfg.Skew, MaxSkew))
	}
	if cfg.EnrollTTL == 0 {
		cfg.EnrollTTL = DefaultEnrollTTL
	}
	if cfg.EnrollTTL < 0 {
		problems = append(problems, "enroll TTL is negative")
	}
	if cfg.Label == "" {
		cfg.Label = DefaultLabel
	}
	if cfg.QRSize == 0 {
		cfg.QRSize = 256
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("totp: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg, skew: skew}, nil
}

// Kind returns factor.TOTP.
func (f *Factor) Kind() factor.Kind { return factor.TOTP }

// NeedsEnrollment returns true.
func (f *Factor) NeedsEnrollment() bool { return true }

// params are what a seed needs to produce codes; stored with it.
type params struct {
	Algorithm Algorithm `json:"alg"`
	Digits    int       `json:"digits"`
	Period    int64     `json:"period"` // seconds
}

// pending is the enrollment state between BeginEnroll and FinishEnroll.
type pending struct {
	Version int    `json:"v"`
	Seed    []byte `json:"seed"`
	params
	Expires time.Time `json:"exp"`
}

// record is Enrollment.Secret.
type record struct {
	Version int    `json:"v"`
	Seed    []byte `json:"seed"`
	params
	// LastStep is the last accepted time step; codes of this step or an
	// earlier one are refused.
	LastStep int64 `json:"last"`
}

const formatVersion = 1

// BeginEnroll draws a new seed and returns the prompt to show: otpauth_uri,
// secret_base32 (grouped in fours for typing), qr_png (a data: URI, unless
// QR codes are off), issuer, account, algorithm, digits, period (seconds).
// The input is ignored.
func (f *Factor) BeginEnroll(_ context.Context, s factor.Subject, _ factor.Response) (factor.Challenge, error) {
	p := params{Algorithm: f.cfg.Algorithm, Digits: f.cfg.Digits, Period: int64(f.cfg.Period / time.Second)}
	seed := make([]byte, p.Algorithm.seedSize())
	if _, err := io.ReadFull(rand.Reader, seed); err != nil {
		return factor.Challenge{}, fmt.Errorf("totp: reading a random seed: %w", err)
	}
	account := s.Login
	if account == "" {
		account = s.DisplayName
	}
	uri := otpauthURI(f.cfg.Issuer, account, seed, p)
	prompt := map[string]any{
		"otpauth_uri":   uri,
		"secret_base32": groupBy4(encodeBase32(seed)),
		"issuer":        f.cfg.Issuer,
		"account":       account,
		"algorithm":     string(p.Algorithm),
		"digits":        p.Digits,
		"period":        p.Period,
		"code_length":   p.Digits,
	}
	if f.cfg.QRSize > 0 {
		png, err := qrPNG(uri, f.cfg.QRSize)
		if err != nil {
			return factor.Challenge{}, fmt.Errorf("totp: drawing the QR code: %w", err)
		}
		prompt["qr_png"] = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	}
	expires := f.cfg.Clock().Add(f.cfg.EnrollTTL)
	state, err := json.Marshal(pending{Version: formatVersion, Seed: seed, params: p, Expires: expires})
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{Prompt: prompt, State: state, Expires: expires}, nil
}

// FinishEnroll checks the code the person's app shows now (resp.Values
// "code") against the pending seed and returns the enrollment, with that
// code's step already used.
func (f *Factor) FinishEnroll(_ context.Context, _ factor.Subject, state []byte, resp factor.Response) (factor.Enrollment, error) {
	var p pending
	if err := json.Unmarshal(state, &p); err != nil || p.Version != formatVersion || !p.valid(p.Seed) {
		return factor.Enrollment{}, fmt.Errorf("totp: enrollment state is malformed")
	}
	now := f.cfg.Clock()
	if !now.Before(p.Expires) {
		return factor.Enrollment{}, factor.ErrExpired
	}
	step, ok := f.match(p.Seed, p.params, resp.Values["code"], now)
	if !ok {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	secret, err := json.Marshal(record{Version: formatVersion, Seed: p.Seed, params: p.params, LastStep: step})
	if err != nil {
		return factor.Enrollment{}, err
	}
	return factor.Enrollment{
		Kind:       factor.TOTP,
		Label:      f.cfg.Label,
		Secret:     secret,
		CreatedAt:  now,
		LastUsedAt: now,
	}, nil
}

// Challenge asks for the app's current code; nothing is sent. The prompt
// has code_length and issuer, both from the configuration, never from the
// enrollment: a decoy challenge (DecoyEnrollment) must present exactly
// like a real one, also for an app enrolled before the digits changed
// (whose codes still verify at the length it was enrolled with). The
// state is empty: the enrollment holds all Verify needs.
func (f *Factor) Challenge(_ context.Context, _ factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	if _, err := decodeRecord(e.Secret); err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{
		Prompt: map[string]any{"code_length": f.cfg.Digits, "issuer": f.cfg.Issuer},
		// A TOTP challenge lasts as long as the flow; the code itself
		// changes every period.
		Expires: f.cfg.Clock().Add(f.cfg.EnrollTTL),
	}, nil
}

// Verify checks resp.Values["code"]. A code of a step at or before the last
// accepted one gives factor.ErrReplayed; a code matching no step of the
// window gives factor.ErrWrongResponse. On success the returned enrollment
// remembers the step and must be stored.
func (f *Factor) Verify(_ context.Context, _ factor.Subject, e factor.Enrollment, _ []byte, resp factor.Response) (factor.Enrollment, error) {
	r, err := decodeRecord(e.Secret)
	if err != nil {
		return factor.Enrollment{}, err
	}
	now := f.cfg.Clock()
	step, ok := f.match(r.Seed, r.params, resp.Values["code"], now)
	if !ok {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	if step <= r.LastStep {
		return factor.Enrollment{}, factor.ErrReplayed
	}
	r.LastStep = step
	secret, err := json.Marshal(r)
	if err != nil {
		return factor.Enrollment{}, err
	}
	e.Secret = secret
	e.LastUsedAt = now
	return e, nil
}

// match compares code with every step of the window around now, in
// constant time per step and without stopping early. It returns the latest
// matching step (so a code that matches both a used and a fresh step, which
// only happens by coincidence, is not refused as a replay).
func (f *Factor) match(seed []byte, p params, code string, now time.Time) (int64, bool) {
	code = normaliseCode(code)
	if len(code) != p.Digits {
		return 0, false
	}
	current := now.Unix() / p.Period
	if now.Unix() < 0 {
		return 0, false
	}
	var (
		found int
		step  int64
	)
	for d := -f.skew; d <= f.skew; d++ {
		s := current + int64(d)
		if s < 0 {
			continue
		}
		want := generate(seed, p.Algorithm, p.Digits, s)
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(code))
		found |= eq
		// Later steps overwrite earlier ones: keep the latest match.
		step = int64(subtle.ConstantTimeSelect(eq, int(s), int(step)))
	}
	return step, found == 1
}

// normaliseCode drops the spaces and dashes people type or paste
// ("123 456").
func normaliseCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(code))
}

// generate is RFC 4226's HOTP over the RFC 6238 time step.
func generate(seed []byte, alg Algorithm, digits int, step int64) string {
	h, _ := alg.hash()
	mac := hmac.New(h, seed)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	s := strconv.FormatUint(uint64(bin%mod), 10)
	return strings.Repeat("0", digits-len(s)) + s
}

func (p params) valid(seed []byte) bool {
	_, ok := p.Algorithm.hash()
	return ok && (p.Digits == 6 || p.Digits == 8) && p.Period > 0 && len(seed) >= 16
}

func decodeRecord(secret []byte) (record, error) {
	var r record
	if err := json.Unmarshal(secret, &r); err != nil || r.Version != formatVersion || !r.valid(r.Seed) {
		return record{}, errors.New("totp: enrollment secret is malformed")
	}
	return r, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func encodeBase32(b []byte) string { return b32.EncodeToString(b) }

// groupBy4 writes s in groups of four for typing: "JBSW Y3DP EHPK 3PXP".
func groupBy4(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// otpauthURI builds the Key Uri Format Google Authenticator defined and
// every app reads:
// otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...&algorithm=...&digits=...&period=...
func otpauthURI(issuer, account string, seed []byte, p params) string {
	q := url.Values{}
	q.Set("secret", encodeBase32(seed))
	q.Set("issuer", issuer)
	q.Set("algorithm", string(p.Algorithm))
	q.Set("digits", strconv.Itoa(p.Digits))
	q.Set("period", strconv.FormatInt(p.Period, 10))
	u := url.URL{
		Scheme:   "otpauth",
		Host:     "totp",
		Path:     "/" + issuer + ":" + account,
		RawQuery: strings.ReplaceAll(q.Encode(), "+", "%20"),
	}
	return u.String()
}
