package email

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/internal/otp"
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
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Factor is the mailed-code factor.
type Factor struct{ cfg Config }

var _ factor.Factor = (*Factor)(nil)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	if err := otp.CheckConfig("email factor", cfg.Key, &cfg.CodeLength, &cfg.TTL, &cfg.Now); err != nil {
		return nil, err
	}
	cfg.Key = append([]byte(nil), cfg.Key...)
	return &Factor{cfg: cfg}, nil
}

// Kind is factor.Email.
func (f *Factor) Kind() factor.Kind { return factor.Email }

// NeedsEnrollment is true: an address must be registered (or pre-enrolled).
func (f *Factor) NeedsEnrollment() bool { return true }

// ErrInvalidAddress is wrapped by Normalize's errors.
var ErrInvalidAddress = errors.New("email: not a valid mail address")

// Normalize checks that addr is a bare mail address (no display name, no
// list) and returns it trimmed, with its domain in lower case.
func Normalize(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" || len(addr) > 254 {
		return "", fmt.Errorf("%w: %q", ErrInvalidAddress, addr)
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr {
		return "", fmt.Errorf("%w: %q", ErrInvalidAddress, addr)
	}
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr[:at], addr[at+1:]
	if strings.ContainsAny(addr, " \t\r\n\"<>,;") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", fmt.Errorf("%w: %q", ErrInvalidAddress, addr)
	}
	return local + "@" + strings.ToLower(domain), nil
}

// Mask hides an address for display, keeping the first letter of the
// local part and of the domain, and the top-level domain:
// "john.doe@example.com" gives "j***@e***.com".
func Mask(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "***"
	}
	local, domain := addr[:at], addr[at+1:]
	tld := ""
	if dot := strings.LastIndexByte(domain, '.'); dot > 0 {
		tld = domain[dot:]
	}
	return first(local) + "***@" + first(domain) + "***" + tld
}

func first(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// BeginEnroll reads the address from input.Values["email"] and mails a
// code to it.
func (f *Factor) BeginEnroll(_ context.Context, s factor.Subject, input factor.Response) (factor.Challenge, error) {
	addr, err := Normalize(input.Values["email"])
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("%w: %w", factor.ErrBadInput, err)
	}
	return f.challenge(s, otp.Enroll, addr)
}

// FinishEnroll checks resp.Values["code"] and returns the enrollment: the
// address as Secret, its masked form as Label.
func (f *Factor) FinishEnroll(_ context.Context, s factor.Subject, state []byte, resp factor.Response) (factor.Enrollment, error) {
	addr, err := otp.Check(f.cfg.Key, factor.Email, otp.Enroll, s, state, resp.Values["code"], f.cfg.Now())
	if err != nil {
		return factor.Enrollment{}, err
	}
	return f.enrollment(addr), nil
}

// Challenge mails a code to the enrolled address.
func (f *Factor) Challenge(_ context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	addr, err := Normalize(string(e.Secret))
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("%w: %w", factor.ErrNotAvailable, err)
	}
	return f.challenge(s, otp.Verify, addr)
}

// Verify checks resp.Values["code"] against the challenge for e.
func (f *Factor) Verify(_ context.Context, s factor.Subject, e factor.Enrollment, state []byte, resp factor.Response) (factor.Enrollment, error) {
	now := f.cfg.Now()
	addr, err := otp.Check(f.cfg.Key, factor.Email, otp.Verify, s, state, resp.Values["code"], now)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if want, _ := Normalize(string(e.Secret)); addr != want {
		return factor.Enrollment{}, fmt.Errorf("%w: the challenge was for another address", factor.ErrWrongResponse)
	}
	e.LastUsedAt = now
	return e, nil
}

// FromDirectory pre-enrolls an address read from the directory (the mail
// attribute).
func (f *Factor) FromDirectory(mail string) (factor.Enrollment, error) {
	addr, err := Normalize(mail)
	if err != nil {
		return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrBadInput, err)
	}
	return f.enrollment(addr), nil
}

func (f *Factor) enrollment(addr string) factor.Enrollment {
	return factor.Enrollment{
		Kind:      factor.Email,
		Label:     Mask(addr),
		Secret:    []byte(addr),
		CreatedAt: f.cfg.Now(),
	}
}

func (f *Factor) challenge(s factor.Subject, purpose, addr string) (factor.Challenge, error) {
	code, err := otp.Code(f.cfg.CodeLength)
	if err != nil {
		return factor.Challenge{}, err
	}
	expires := f.cfg.Now().Add(f.cfg.TTL)
	state, err := otp.Issue(f.cfg.Key, factor.Email, purpose, s, addr, code, expires)
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{
		Prompt:  map[string]any{"length": f.cfg.CodeLength, "to": Mask(addr)},
		Deliver: &factor.Delivery{Channel: "email", To: addr, Code: code},
		State:   state,
		Expires: expires,
	}, nil
}
