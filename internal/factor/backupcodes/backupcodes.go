package backupcodes

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/secrets"
)

// alphabet is Crockford's base32: no I, L, O, U.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Defaults.
const (
	DefaultCount     = 10
	DefaultLength    = 10
	DefaultGroupSize = 5
	DefaultEnrollTTL = 15 * time.Minute
	DefaultLabel     = "Backup codes"
	// MinLength keeps at least 50 bits per code.
	MinLength = 10
	// MaxCount bounds the hashing work of one enrollment.
	MaxCount = 32
)

// Config configures the factor; zero fields take their defaults.
type Config struct {
	// Count is how many codes a set holds (10; at most MaxCount).
	Count int
	// Length is each code's length in characters (10, at least MinLength).
	Length int
	// GroupSize splits codes for display with dashes (5: "XXXXX-XXXXX").
	GroupSize int
	// Argon2id is the hashing cost; secrets.OWASPArgon2id by default,
	// never less.
	Argon2id secrets.Argon2idParams
	// EnrollTTL bounds the time between showing the codes and confirming
	// one (15 minutes).
	EnrollTTL time.Duration
	// Label is the enrollment's label ("Backup codes"); the number of codes
	// left is appended.
	Label string
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the backup-code factor; stateless and safe for concurrent use.
type Factor struct {
	cfg    Config
	params secrets.Argon2idParams
}

var _ factor.Factor = (*Factor)(nil)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	var problems []string
	if cfg.Count == 0 {
		cfg.Count = DefaultCount
	}
	if cfg.Count < 1 || cfg.Count > MaxCount {
		problems = append(problems, fmt.Sprintf("count is %d, want 1 to %d", cfg.Count, MaxCount))
	}
	if cfg.Length == 0 {
		cfg.Length = DefaultLength
	}
	if cfg.Length < MinLength || cfg.Length > 32 {
		problems = append(problems, fmt.Sprintf("length is %d, want %d to 32", cfg.Length, MinLength))
	}
	if cfg.GroupSize == 0 {
		cfg.GroupSize = DefaultGroupSize
	}
	if cfg.GroupSize < 0 {
		problems = append(problems, "group size is negative")
	}
	if cfg.Argon2id == (secrets.Argon2idParams{}) {
		cfg.Argon2id = secrets.OWASPArgon2id
	}
	if err := cfg.Argon2id.CheckMinimum(); err != nil {
		problems = append(problems, err.Error())
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
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("backupcodes: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg, params: cfg.Argon2id}, nil
}

// Kind returns factor.BackupCodes.
func (f *Factor) Kind() factor.Kind { return factor.BackupCodes }

// NeedsEnrollment returns true.
func (f *Factor) NeedsEnrollment() bool { return true }

// set is the hashed codes of one enrollment: Enrollment.Secret, and (with
// the confirmation position and expiry) the enrollment state.
type set struct {
	Version int                    `json:"v"`
	Params  secrets.Argon2idParams `json:"argon2id"`
	Salt    []byte                 `json:"salt"`
	// Length is the code length, to refuse wrong-length input unhashed.
	Length int      `json:"len"`
	Hashes [][]byte `json:"hashes"`
}

type pending struct {
	set
	// Confirm is the 0-based position of the code to type back.
	Confirm int       `json:"confirm"`
	Expires time.Time `json:"exp"`
}

const formatVersion = 1

// BeginEnroll draws a new set of codes and returns them in the prompt,
// the only time they are ever shown: "codes" (a []string, grouped with
// dashes), "count", "confirm_position" (1-based position of the code
// FinishEnroll asks for). The state holds only hashes.
func (f *Factor) BeginEnroll(_ context.Context, _ factor.Subject, _ factor.Response) (factor.Challenge, error) {
	codes, err := f.newCodes()
	if err != nil {
		return factor.Challenge{}, err
	}
	salt, err := secrets.NewSalt()
	if err != nil {
		return factor.Challenge{}, err
	}
	hashes := f.hashAll(codes, salt)
	pos, err := rand.Int(rand.Reader, big.NewInt(int64(len(codes))))
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("backupcodes: %w", err)
	}
	expires := f.cfg.Clock().Add(f.cfg.EnrollTTL)
	state, err := json.Marshal(pending{
		set:     set{Version: formatVersion, Params: f.params, Salt: salt, Length: f.cfg.Length, Hashes: hashes},
		Confirm: int(pos.Int64()),
		Expires: expires,
	})
	if err != nil {
		return factor.Challenge{}, err
	}
	shown := make([]string, len(codes))
	for i, c := range codes {
		shown[i] = group(c, f.cfg.GroupSize)
	}
	return factor.Challenge{
		Prompt: map[string]any{
			"codes":            shown,
			"count":            len(codes),
			"confirm_position": int(pos.Int64()) + 1,
			"code_length":      f.cfg.Length,
		},
		State:   state,
		Expires: expires,
	}, nil
}

// FinishEnroll checks that resp.Values["code"] is the code at the
// confirmation position and returns the enrollment with every code unused.
func (f *Factor) FinishEnroll(_ context.Context, _ factor.Subject, state []byte, resp factor.Response) (factor.Enrollment, error) {
	var p pending
	if err := json.Unmarshal(state, &p); err != nil || !p.valid() || p.Confirm < 0 || p.Confirm >= len(p.Hashes) {
		return factor.Enrollment{}, errors.New("backupcodes: enrollment state is malformed")
	}
	now := f.cfg.Clock()
	if !now.Before(p.Expires) {
		return factor.Enrollment{}, factor.ErrExpired
	}
	code, ok := normalise(resp.Values["code"], p.Length)
	if !ok || subtle.ConstantTimeCompare(hash(p.Params, []byte(code), p.Salt), p.Hashes[p.Confirm]) != 1 {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	secret, err := json.Marshal(p.set)
	if err != nil {
		return factor.Enrollment{}, err
	}
	return factor.Enrollment{
		Kind:      factor.BackupCodes,
		Label:     f.label(len(p.Hashes)),
		Secret:    secret,
		CreatedAt: now,
	}, nil
}

// Challenge asks for one unused code; the prompt has "code_length" and
// "remaining". With no code left it returns factor.ErrNotAvailable.
func (f *Factor) Challenge(_ context.Context, _ factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	s, err := decode(e.Secret)
	if err != nil {
		return factor.Challenge{}, err
	}
	if len(s.Hashes) == 0 {
		return factor.Challenge{}, factor.ErrNotAvailable
	}
	return factor.Challenge{
		// code_length comes from the configuration, like a decoy's: a set
		// printed before the length changed still verifies at its own.
		Prompt:  map[string]any{"code_length": f.cfg.Length, "remaining": len(s.Hashes)},
		Expires: f.cfg.Clock().Add(f.cfg.EnrollTTL),
	}, nil
}

// Verify checks resp.Values["code"] against the unused codes with one
// Argon2id hash. On success the returned enrollment lacks that code and must
// be stored before success is reported (the caller serialises concurrent
// verifications of one enrollment).
func (f *Factor) Verify(_ context.Context, _ factor.Subject, e factor.Enrollment, _ []byte, resp factor.Response) (factor.Enrollment, error) {
	s, err := decode(e.Secret)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if len(s.Hashes) == 0 {
		return factor.Enrollment{}, factor.ErrNotAvailable
	}
	code, ok := normalise(resp.Values["code"], s.Length)
	if !ok {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	h := hash(s.Params, []byte(code), s.Salt)
	match, found := 0, 0
	for i, stored := range s.Hashes {
		eq := subtle.ConstantTimeCompare(h, stored)
		match = subtle.ConstantTimeSelect(eq, i, match)
		found |= eq
	}
	if found != 1 {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	s.Hashes = append(s.Hashes[:match:match], s.Hashes[match+1:]...)
	secret, err := json.Marshal(s)
	if err != nil {
		return factor.Enrollment{}, err
	}
	now := f.cfg.Clock()
	e.Secret = secret
	e.Label = f.label(len(s.Hashes))
	e.LastUsedAt = now
	return e, nil
}

// hash is the one place codes are hashed (a variable so tests can count
// the hashes a verification costs).
var hash = func(p secrets.Argon2idParams, code, salt []byte) []byte { return p.Hash(code, salt) }

// Remaining returns how many unused codes e holds (for reminders to print
// a new set).
func Remaining(e factor.Enrollment) (int, error) {
	s, err := decode(e.Secret)
	if err != nil {
		return 0, err
	}
	return len(s.Hashes), nil
}

func (f *Factor) label(left int) string {
	return fmt.Sprintf("%s (%d left)", f.cfg.Label, left)
}

func (s set) valid() bool {
	if s.Version != formatVersion || !s.Params.Valid() || len(s.Salt) < 8 || s.Length < 1 {
		return false
	}
	for _, h := range s.Hashes {
		if len(h) != secrets.Argon2idKeyLen {
			return false
		}
	}
	return true
}

func decode(secret []byte) (set, error) {
	var s set
	if err := json.Unmarshal(secret, &s); err != nil || !s.valid() {
		return set{}, errors.New("backupcodes: enrollment secret is malformed")
	}
	return s, nil
}

// newCodes draws Count distinct codes.
func (f *Factor) newCodes() ([]string, error) {
	codes := make([]string, 0, f.cfg.Count)
	seen := make(map[string]bool, f.cfg.Count)
	buf := make([]byte, f.cfg.Length)
	for len(codes) < f.cfg.Count {
		if _, err := io.ReadFull(rand.Reader, buf); err != nil {
			return nil, fmt.Errorf("backupcodes: reading random bytes: %w", err)
		}
		for i, b := range buf {
			// 256 is a multiple of 32: the low five bits are uniform.
			buf[i] = alphabet[b&31]
		}
		c := string(buf)
		if !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	return codes, nil
}

// hashAll hashes codes with salt, in parallel on the available cores.
func (f *Factor) hashAll(codes []string, salt []byte) [][]byte {
	hashes := make([][]byte, len(codes))
	workers := min(runtime.GOMAXPROCS(0), len(codes))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				hashes[i] = hash(f.params, []byte(codes[i]), salt)
			}
		})
	}
	for i := range codes {
		next <- i
	}
	close(next)
	wg.Wait()
	return hashes
}

// normalise turns typed input into the canonical code: upper case, without
// spaces, dashes or underscores, O read as 0 and I, L as 1. It reports false
// when the result is not length characters of the alphabet.
func normalise(in string, length int) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch r {
		case ' ', '-', '_', '\t', '\u00a0', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(alphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != length {
		return "", false
	}
	return b.String(), true
}

// group inserts a dash every size characters.
func group(code string, size int) string {
	if size <= 0 || size >= len(code) {
		return code
	}
	var b strings.Builder
	for i := 0; i < len(code); i += size {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+size, len(code))])
	}
	return b.String()
}
