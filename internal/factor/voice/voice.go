package voice

import (
	"context"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/internal/otp"
	"github.com/sspr/sspr/internal/sms"
)

// Kind is the factor kind "voice".
const Kind factor.Kind = "voice"

// Channel is the Delivery channel: a phone call that speaks the code
// (Caller places it).
const Channel = "voice"

// Config configures the factor.
type Config struct {
	// Key is the HMAC key for code states, at least 32 random bytes,
	// shared by every node.
	Key []byte
	// CodeLength is the number of digits, 6 (the default) to 12.
	CodeLength int
	// TTL is how long a code is valid; 10 minutes when zero.
	TTL time.Duration
	// DefaultRegion completes national numbers ("1", "+44"); see
	// sms.Normalize.
	DefaultRegion string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Factor is the voice-call factor. It is stateless and safe for
// concurrent use.
type Factor struct{ cfg Config }

var (
	_ factor.Factor  = (*Factor)(nil)
	_ factor.Decoyer = (*Factor)(nil)
)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	if err := otp.CheckConfig("voice factor", cfg.Key, &cfg.CodeLength, &cfg.TTL, &cfg.Now); err != nil {
		return nil, err
	}
	if cfg.DefaultRegion != "" {
		if _, err := sms.Normalize("+1 415 555 0142", cfg.DefaultRegion); err != nil {
			return nil, fmt.Errorf("voice factor: %w", err)
		}
	}
	cfg.Key = append([]byte(nil), cfg.Key...)
	return &Factor{cfg: cfg}, nil
}

// Kind returns Kind.
func (f *Factor) Kind() factor.Kind { return Kind }

// NeedsEnrollment is true: a number must be registered.
func (f *Factor) NeedsEnrollment() bool { return true }

// BeginEnroll reads the number from input "phone" (a landline is fine),
// normalises it and calls it with a code.
func (f *Factor) BeginEnroll(_ context.Context, s factor.Subject, input factor.Response) (factor.Challenge, error) {
	number, err := sms.Normalize(input.Values["phone"], f.cfg.DefaultRegion)
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("%w: %w", factor.ErrBadInput, err)
	}
	return f.challenge(s, otp.Enroll, number)
}

// FinishEnroll checks the code heard (resp "code") and returns the
// enrollment: the number as Secret, masked as Label.
func (f *Factor) FinishEnroll(_ context.Context, s factor.Subject, state []byte, resp factor.Response) (factor.Enrollment, error) {
	number, err := otp.Check(f.cfg.Key, Kind, otp.Enroll, s, state, resp.Values["code"], f.cfg.Now())
	if err != nil {
		return factor.Enrollment{}, err
	}
	return factor.Enrollment{Kind: Kind, Label: sms.Mask(number), Secret: []byte(number), CreatedAt: f.cfg.Now()}, nil
}

// decoyNumber is a number no call goes to (decoy deliveries are
// dropped) that challenges like a real one.
const decoyNumber = "+15550000000"

// DecoyEnrollment returns an enrollment whose challenge looks like a real
// one; its code is never delivered, so it never verifies.
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	return factor.Enrollment{ID: "decoy", Kind: Kind, Label: sms.Mask(decoyNumber), Secret: []byte(decoyNumber)}
}

// Challenge calls the enrolled number with a code (Deliver).
func (f *Factor) Challenge(_ context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	number := string(e.Secret)
	if _, _, ok := sms.SplitCountryCode(number); !ok {
		return factor.Challenge{}, fmt.Errorf("%w: the enrolled number is not E.164", factor.ErrNotAvailable)
	}
	return f.challenge(s, otp.Verify, number)
}

// Verify checks the code heard (resp "code") against the challenge for e.
func (f *Factor) Verify(_ context.Context, s factor.Subject, e factor.Enrollment, state []byte, resp factor.Response) (factor.Enrollment, error) {
	now := f.cfg.Now()
	number, err := otp.Check(f.cfg.Key, Kind, otp.Verify, s, state, resp.Values["code"], now)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if number != string(e.Secret) || number == decoyNumber {
		return factor.Enrollment{}, fmt.Errorf("%w: the challenge was for another number", factor.ErrWrongResponse)
	}
	e.LastUsedAt = now
	return e, nil
}

func (f *Factor) challenge(s factor.Subject, purpose, number string) (factor.Challenge, error) {
	code, err := otp.Code(f.cfg.CodeLength)
	if err != nil {
		return factor.Challenge{}, err
	}
	expires := f.cfg.Now().Add(f.cfg.TTL)
	state, err := otp.Issue(f.cfg.Key, Kind, purpose, s, number, code, expires)
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{
		Prompt:  map[string]any{"length": f.cfg.CodeLength, "message": "We are calling you. Type the code you hear."},
		Deliver: &factor.Delivery{Channel: Channel, To: number, Code: code},
		State:   state,
		Expires: expires,
	}, nil
}
