package yubikey

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

// Kind is the factor kind "yubikey".
const Kind factor.Kind = "yubikey"

// DefaultServer is Yubico's validation service (YubiCloud).
const DefaultServer = "https://api.yubico.com/wsapi/2.0/verify"

// Defaults.
const (
	DefaultTimeout = 5 * time.Second
	DefaultTTL     = 5 * time.Minute
	DefaultLabel   = "YubiKey"
)

// Config configures the factor.
type Config struct {
	// Servers are validation URLs (https), asked in order until one
	// answers; DefaultServer when empty.
	Servers []string
	// ClientID and APIKey (the base64-decoded key) are what Yubico (or
	// the own validation server) issued; the key signs requests and
	// checks responses. Required.
	ClientID string
	APIKey   []byte
	// HTTPClient makes the requests (a client with Timeout by default).
	HTTPClient *http.Client
	Timeout    time.Duration
	// TTL bounds how long a challenge may be answered (5 minutes).
	TTL time.Duration
	// Label is the enrollment's label ("YubiKey").
	Label string
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the YubiKey OTP factor. It is stateless and safe for
// concurrent use.
type Factor struct {
	cfg Config
}

var (
	_ factor.Factor  = (*Factor)(nil)
	_ factor.Decoyer = (*Factor)(nil)
)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	var problems []string
	if len(cfg.Servers) == 0 {
		cfg.Servers = []string{DefaultServer}
	}
	for _, s := range cfg.Servers {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
			problems = append(problems, fmt.Sprintf("server %q is not an https URL without a query", s))
		}
	}
	if cfg.ClientID == "" || strings.ContainsAny(cfg.ClientID, "&= ") {
		problems = append(problems, "a client ID is required")
	}
	if len(cfg.APIKey) < 16 {
		problems = append(problems, "the API key must be at least 16 octets (base64-decoded)")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Label == "" {
		cfg.Label = DefaultLabel
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("yubikey: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg}, nil
}

// Kind returns Kind.
func (f *Factor) Kind() factor.Kind { return Kind }

// NeedsEnrollment returns true: the key's public ID is bound to the person.
func (f *Factor) NeedsEnrollment() bool { return true }

// record is Enrollment.Secret.
type record struct {
	Version  int    `json:"v"`
	PublicID string `json:"id"`
	Decoy    bool   `json:"decoy,omitempty"`
}

// state is Challenge.State.
type state struct {
	Version int       `json:"v"`
	Enroll  bool      `json:"enroll,omitempty"`
	Expires time.Time `json:"exp"`
}

const formatVersion = 1

func (f *Factor) challenge(enroll bool) (factor.Challenge, error) {
	exp := f.cfg.Clock().Add(f.cfg.TTL)
	b, err := json.Marshal(state{Version: formatVersion, Enroll: enroll, Expires: exp})
	if err != nil {
		return factor.Challenge{}, err
	}
	prompt := map[string]any{"field": "otp", "input": "text", "message": "Insert your YubiKey and touch it."}
	return factor.Challenge{Prompt: prompt, State: b, Expires: exp}, nil
}

func (f *Factor) open(st []byte, enroll bool) error {
	var s state
	if err := json.Unmarshal(st, &s); err != nil || s.Version != formatVersion || s.Enroll != enroll {
		return errors.New("yubikey: challenge state is malformed")
	}
	if !f.cfg.Clock().Before(s.Expires) {
		return factor.ErrExpired
	}
	return nil
}

// BeginEnroll asks for an OTP from the key to enroll.
func (f *Factor) BeginEnroll(context.Context, factor.Subject, factor.Response) (factor.Challenge, error) {
	return f.challenge(true)
}

// FinishEnroll validates the OTP (resp "otp") and binds the key's public
// ID to the person.
func (f *Factor) FinishEnroll(ctx context.Context, _ factor.Subject, st []byte, resp factor.Response) (factor.Enrollment, error) {
	if err := f.open(st, true); err != nil {
		return factor.Enrollment{}, err
	}
	otp, id, err := NormaliseOTP(resp.Values["otp"])
	if err != nil {
		return factor.Enrollment{}, fmt.Errorf("%w: that is not a YubiKey OTP", factor.ErrBadInput)
	}
	if err := f.validate(ctx, otp); err != nil {
		return factor.Enrollment{}, err
	}
	secret, err := json.Marshal(record{Version: formatVersion, PublicID: id})
	if err != nil {
		return factor.Enrollment{}, err
	}
	now := f.cfg.Clock()
	return factor.Enrollment{Kind: Kind, Label: f.cfg.Label, Secret: secret, CreatedAt: now, LastUsedAt: now}, nil
}

// DecoyEnrollment returns an enrollment that challenges like a real one
// and never verifies (no server is asked).
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	secret, _ := json.Marshal(record{Version: formatVersion, Decoy: true})
	return factor.Enrollment{ID: "decoy", Kind: Kind, Label: f.cfg.Label, Secret: secret}
}

// Challenge asks for an OTP; it sends nothing and looks the same for
// everybody.
func (f *Factor) Challenge(_ context.Context, _ factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	if _, err := openRecord(e); err != nil {
		return factor.Challenge{}, err
	}
	return f.challenge(false)
}

func openRecord(e factor.Enrollment) (record, error) {
	var r record
	if err := json.Unmarshal(e.Secret, &r); err != nil || r.Version != formatVersion || (!r.Decoy && r.PublicID == "") {
		return r, factor.ErrNotAvailable
	}
	return r, nil
}

// Verify checks that the OTP (resp "otp") comes from the enrolled key
// (its public ID) and that the validation server accepts it: OK proves the
// factor, REPLAYED_OTP is factor.ErrReplayed, BAD_OTP
// factor.ErrWrongResponse.
func (f *Factor) Verify(ctx context.Context, _ factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	if err := f.open(st, false); err != nil {
		return factor.Enrollment{}, err
	}
	r, err := openRecord(e)
	if err != nil || r.Decoy {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	otp, id, err := NormaliseOTP(resp.Values["otp"])
	if err != nil || subtle.ConstantTimeCompare([]byte(id), []byte(r.PublicID)) != 1 {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	if err := f.validate(ctx, otp); err != nil {
		return factor.Enrollment{}, err
	}
	e.LastUsedAt = f.cfg.Clock()
	return e, nil
}

// Errors of validation beyond the factor's own.
var (
	// ErrBadSignature: a response was not signed with the API key (or the
	// server says the request was not).
	ErrBadSignature = errors.New("yubikey: bad signature")
	// ErrServer: the server could not answer (BACKEND_ERROR, ...).
	ErrServer = errors.New("yubikey: validation server error")
)

// validate asks the servers, in order, about otp.
func (f *Factor) validate(ctx context.Context, otp string) error {
	var errs []error
	for _, s := range f.cfg.Servers {
		err := f.validateWith(ctx, s, otp)
		switch {
		case err == nil, errors.Is(err, factor.ErrWrongResponse), errors.Is(err, factor.ErrReplayed):
			return err
		}
		errs = append(errs, fmt.Errorf("%s: %w", s, err))
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

func (f *Factor) validateWith(ctx context.Context, server, otp string) error {
	var nb [16]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return err
	}
	nonce := fmt.Sprintf("%x", nb)
	params := map[string]string{"id": f.cfg.ClientID, "otp": otp, "nonce": nonce, "timestamp": "1"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"?"+Query(params, f.cfg.APIKey), nil)
	if err != nil {
		return err
	}
	res, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		// Never the URL: its query holds the OTP, which a failed request
		// did not use up.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%w: %s %s: %w", ErrServer, ue.Op, req.URL.Host, ue.Err)
		}
		return fmt.Errorf("%w: %s", ErrServer, req.URL.Host)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: HTTP %s", ErrServer, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 4097))
	if err != nil {
		return err
	}
	p, err := ParseResponse(body)
	if err != nil {
		return err
	}
	// Every answer must be signed by the API key, an error as much as an
	// OK: an unsigned BAD_OTP could be a man in the middle's.
	if !Verify(p, f.cfg.APIKey) {
		return fmt.Errorf("%w: the response's h does not verify (status %s)", ErrBadSignature, p["status"])
	}
	switch p["status"] {
	case "OK":
	case "BAD_OTP":
		return factor.ErrWrongResponse
	case "REPLAYED_OTP":
		return factor.ErrReplayed
	case "BAD_SIGNATURE":
		return fmt.Errorf("%w: the server refused our request's signature (is the API key right?)", ErrBadSignature)
	default:
		return fmt.Errorf("%w: status %s", ErrServer, p["status"])
	}
	// An OK must be about this OTP and this request.
	if p["otp"] != otp || p["nonce"] != nonce {
		return fmt.Errorf("%w: an OK for another OTP or nonce", ErrBadSignature)
	}
	return nil
}
