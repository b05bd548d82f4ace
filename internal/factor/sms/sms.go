package sms

import (
	"context"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/internal/otp"
	"github.com/sspr/sspr/internal/sms"
)

// Config configures the factor.
type Config struct {
	// Key is the HMAC key for code states, at least 32 random bytes,
	// shared by every node.
	Key []byte
	// CodeLength is the number of digits, 6 (the default) to 12.
	CodeLength int
	// TTL is how long a code is valid; 10 minutes when zero.
	TTL time.Duration
	// DefaultRegion is the country calling code completing national
	// numbers ("1", "+44"); see sms.Normalize.
	DefaultRegion string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Factor is the SMS-code factor.
type Factor struct{ cfg Config }

var _ factor.Factor = (*Factor)(nil)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	if err := otp.CheckConfig("sms factor", cfg.Key, &cfg.CodeLength, &cfg.TTL, &cfg.Now); err != nil {
		return nil, err
	}
	if cfg.DefaultRegion != "" {
		if _, err := sms.Normalize("+1 415 555 0142", cfg.DefaultRegion); err != nil {
			return nil, fmt.Errorf("sms factor: %w", err)
		}
	}
	cfg.Key = append([]byte(nil), cfg.Key...)
	return &Factor{cfg: cfg}, nil
}

// Kind is factor.SMS.
func (f *Factor) Kind() factor.Kind { return factor.SMS }

// NeedsEnrollment is true: a number must be registered (or pre-enrolled).
func (f *Factor) NeedsEnrollment() bool { return true }

// BeginEnroll reads the number from input.Values["phone"], normalises it
// and sends a code to it.
func (f *Factor) BeginEnroll(_ context.Context, s factor.Subject, input factor.Response) (factor.Challenge, error) {
	number, err := sms.Normalize(input.Values["phone"], f.cfg.DefaultRegion)
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("%w: %w", factor.ErrBadInput, err)
	}
	return f.challenge(s, otp.Enroll, number)
}

// FinishEnroll checks resp.Values["code"] and returns the enrollment: the
// number as Secret, its masked form as Label.
func (f *Factor) FinishEnroll(_ context.Context, s factor.Subject, state []byte, resp factor.Response) (factor.Enrollment, error) {
	number, err := otp.Check(f.cfg.Key, factor.SMS, otp.Enroll, s, state, resp.Values["code"], f.cfg.Now())
	if err != nil {
		return factor.Enrollment{}, err
	}
	return f.enrollment(number), nil
}

// Challenge sends a code to the enrolled number.
func (f *Factor) Challenge(_ context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	number := string(e.Secret)
	if _, _, ok := sms.SplitCountryCode(number); !ok {
		return factor.Challenge{}, fmt.Errorf("%w: the enrolled number is not E.164", factor.ErrNotAvailable)
	}
	return f.challenge(s, otp.Verify, number)
}

// Verify checks resp.Values["code"] against the challenge for e.
func (f *Factor) Verify(_ context.Context, s factor.Subject, e factor.Enrollment, state []byte, resp factor.Response) (factor.Enrollment, error) {
	now := f.cfg.Now()
	number, err := otp.Check(f.cfg.Key, factor.SMS, otp.Verify, s, state, resp.Values["code"], now)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if number != string(e.Secret) {
		return factor.Enrollment{}, fmt.Errorf("%w: the challenge was for another number", factor.ErrWrongResponse)
	}
	e.LastUsedAt = now
	return e, nil
}

// FromDirectory pre-enrolls a number read from the directory (the mobile
// attribute), normalised with the default region.
func (f *Factor) FromDirectory(mobile string) (factor.Enrollment, error) {
	number, err := sms.Normalize(mobile, f.cfg.DefaultRegion)
	if err != nil {
		return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrBadInput, err)
	}
	return f.enrollment(number), nil
}

func (f *Factor) enrollment(number string) factor.Enrollment {
	return factor.Enrollment{
		Kind:      factor.SMS,
		Label:     sms.Mask(number),
		Secret:    []byte(number),
		CreatedAt: f.cfg.Now(),
	}
}

func (f *Factor) challenge(s factor.Subject, purpose, number string) (factor.Challenge, error) {
	code, err := otp.Code(f.cfg.CodeLength)
	if err != nil {
		return factor.Challenge{}, err
	}
	expires := f.cfg.Now().Add(f.cfg.TTL)
	state, err := otp.Issue(f.cfg.Key, factor.SMS, purpose, s, number, code, expires)
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{
		Prompt:  map[string]any{"length": f.cfg.CodeLength, "to": sms.Mask(number)},
		Deliver: &factor.Delivery{Channel: "sms", To: number, Code: code},
		State:   state,
		Expires: expires,
	}, nil
}
