package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sspr/sspr/internal/factor"
)

// Kind is the factor kind "oidc".
const Kind factor.Kind = "oidc"

// Defaults.
const (
	DefaultTTL     = 10 * time.Minute
	DefaultClaim   = "preferred_username"
	DefaultTimeout = 10 * time.Second
	DefaultLabel   = "Company sign-in"
)

// Config configures the factor.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// from Issuer + "/.well-known/openid-configuration". Required.
	Issuer string
	// ClientID and ClientSecret are sspr's registration at the provider;
	// RedirectURL is sspr's callback registered there. Required.
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// Scopes beyond openid (e.g. profile, email).
	Scopes []string
	// Claim of the ID token that names the person (preferred_username by
	// default; upn, email, sub, oid, ...), compared with the directory
	// Attribute (the login when empty), case-insensitively.
	Claim     string
	Attribute string
	// HTTPClient talks to the provider (one with Timeout by default).
	HTTPClient *http.Client
	Timeout    time.Duration
	// TTL bounds the round trip to the provider (10 minutes).
	TTL time.Duration
	// Label names the factor ("Company sign-in").
	Label string
	// Clock returns the current time (time.Now by default); ID token
	// expiry is checked against it.
	Clock func() time.Time
}

// Factor is the OIDC factor. It is safe for concurrent use.
type Factor struct {
	cfg Config

	mu       sync.Mutex
	provider *gooidc.Provider
}

var (
	_ factor.Factor  = (*Factor)(nil)
	_ factor.Decoyer = (*Factor)(nil)
)

// New checks cfg and returns the factor. It does not contact the
// provider: discovery happens on the first challenge.
func New(cfg Config) (*Factor, error) {
	var problems []string
	if u, err := url.Parse(cfg.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !loopback(u)) {
		problems = append(problems, fmt.Sprintf("issuer %q is not an https URL", cfg.Issuer))
	}
	if cfg.ClientID == "" {
		problems = append(problems, "the client ID is required")
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || u.Host == "" || (u.Scheme != "https" && !loopback(u)) {
		problems = append(problems, fmt.Sprintf("redirect URL %q is not an https URL", cfg.RedirectURL))
	}
	if cfg.Claim == "" {
		cfg.Claim = DefaultClaim
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
		return nil, fmt.Errorf("oidc: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg}, nil
}

// loopback allows plain http to a provider on this machine (tests, a
// provider behind a local proxy).
func loopback(u *url.URL) bool {
	h := u.Hostname()
	return u.Scheme == "http" && (h == "127.0.0.1" || h == "::1" || h == "localhost")
}

// Kind returns Kind.
func (f *Factor) Kind() factor.Kind { return Kind }

// NeedsEnrollment returns false: a claim is mapped to the directory.
func (f *Factor) NeedsEnrollment() bool { return false }

// BeginEnroll is not supported: nothing to enroll.
func (f *Factor) BeginEnroll(context.Context, factor.Subject, factor.Response) (factor.Challenge, error) {
	return factor.Challenge{}, factor.ErrNotAvailable
}

// FinishEnroll is not supported: nothing to enroll.
func (f *Factor) FinishEnroll(context.Context, factor.Subject, []byte, factor.Response) (factor.Enrollment, error) {
	return factor.Enrollment{}, factor.ErrNotAvailable
}

// DecoyEnrollment returns an enrollment that challenges like a real one
// (a real redirect to the provider) and never verifies.
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	return factor.Enrollment{ID: "decoy", Kind: Kind, Secret: []byte(`{"decoy":true}`)}
}

func isDecoy(e factor.Enrollment) bool {
	var r struct {
		Decoy bool `json:"decoy"`
	}
	return len(e.Secret) > 0 && json.Unmarshal(e.Secret, &r) == nil && r.Decoy
}

type state struct {
	Version  int       `json:"v"`
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"pkce"`
	Decoy    bool      `json:"decoy,omitempty"`
	Expires  time.Time `json:"exp"`
}

const formatVersion = 1

func (f *Factor) ctx(ctx context.Context) context.Context {
	ctx = gooidc.ClientContext(ctx, f.cfg.HTTPClient)
	return context.WithValue(ctx, oauth2.HTTPClient, f.cfg.HTTPClient)
}

// discover reads the provider's discovery document once.
func (f *Factor) discover(ctx context.Context) (*gooidc.Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.provider != nil {
		return f.provider, nil
	}
	p, err := gooidc.NewProvider(f.ctx(ctx), f.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery at %s: %w", f.cfg.Issuer, err)
	}
	f.provider = p
	return p, nil
}

func (f *Factor) oauth(p *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: f.cfg.ClientID, ClientSecret: f.cfg.ClientSecret, RedirectURL: f.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{gooidc.ScopeOpenID}, f.cfg.Scopes...)}
}

func random() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Challenge returns the provider's authorization URL (prompt "redirect"),
// with a fresh state, nonce and PKCE S256 challenge, kept in the state.
// The same for everybody; a person without the mapped attribute gets
// factor.ErrNotAvailable (the caller issues a decoy).
func (f *Factor) Challenge(ctx context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	decoy := isDecoy(e)
	if !decoy && f.expected(s) == "" {
		return factor.Challenge{}, factor.ErrNotAvailable
	}
	p, err := f.discover(ctx)
	if err != nil {
		return factor.Challenge{}, err
	}
	st := state{Version: formatVersion, Decoy: decoy, Expires: f.cfg.Clock().Add(f.cfg.TTL)}
	if st.State, err = random(); err != nil {
		return factor.Challenge{}, err
	}
	if st.Nonce, err = random(); err != nil {
		return factor.Challenge{}, err
	}
	st.Verifier = oauth2.GenerateVerifier()
	u := f.oauth(p).AuthCodeURL(st.State, gooidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	b, err := json.Marshal(st)
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{State: b, Expires: st.Expires, Prompt: map[string]any{"redirect": u, "label": f.cfg.Label,
		"message": "Sign in with your company account to continue."}}, nil
}

func (f *Factor) expected(s factor.Subject) string {
	if f.cfg.Attribute == "" {
		return strings.TrimSpace(s.Login)
	}
	for k, v := range s.Attributes {
		if strings.EqualFold(k, f.cfg.Attribute) && len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

// Errors explaining a refusal (each wrapped with factor.ErrWrongResponse,
// ErrState with factor.ErrForeignAnswer).
var (
	ErrState    = errors.New("oidc: the answer is for another sign-in (state)")
	ErrIDToken  = errors.New("oidc: the ID token is not valid")
	ErrNotThem  = errors.New("oidc: the provider signed in somebody else")
	ErrProvider = errors.New("oidc: the provider refused")
)

func wrong(err error) error { return fmt.Errorf("%w: %w", factor.ErrWrongResponse, err) }

// Verify takes the provider's answer at the redirect URL (resp "code",
// "state", or "error"): it checks the state, redeems the code with the
// PKCE verifier, checks the ID token (signature against the provider's
// keys, issuer, audience, expiry, nonce) and that its claim names the
// person.
func (f *Factor) Verify(ctx context.Context, s factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	var c state
	if err := json.Unmarshal(st, &c); err != nil || c.Version != formatVersion || c.State == "" {
		return factor.Enrollment{}, errors.New("oidc: challenge state is malformed")
	}
	if !f.cfg.Clock().Before(c.Expires) {
		return factor.Enrollment{}, factor.ErrExpired
	}
	// The state first, for decoys too (theirs is as random): an answer
	// for another challenge costs nobody an attempt, stranger or not.
	if subtle.ConstantTimeCompare([]byte(resp.Values["state"]), []byte(c.State)) != 1 {
		return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrForeignAnswer, ErrState)
	}
	if c.Decoy || isDecoy(e) {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	if msg := resp.Values["error"]; msg != "" {
		return factor.Enrollment{}, wrong(fmt.Errorf("%w: %.100q", ErrProvider, msg))
	}
	code := resp.Values["code"]
	if code == "" || len(code) > 4096 {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	p, err := f.discover(ctx)
	if err != nil {
		return factor.Enrollment{}, err
	}
	tok, err := f.oauth(p).Exchange(f.ctx(ctx), code, oauth2.VerifierOption(c.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return factor.Enrollment{}, wrong(fmt.Errorf("%w: %s", ErrProvider, re.ErrorCode))
		}
		return factor.Enrollment{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return factor.Enrollment{}, wrong(fmt.Errorf("%w: no ID token in the answer", ErrIDToken))
	}
	if err := f.checkIDToken(ctx, p, raw, c.Nonce, s); err != nil {
		return factor.Enrollment{}, err
	}
	e.LastUsedAt = f.cfg.Clock()
	return e, nil
}

// checkIDToken verifies raw: signature, issuer, audience (and azp when
// there are several audiences), expiry, nonce, and the mapped claim.
func (f *Factor) checkIDToken(ctx context.Context, p *gooidc.Provider, raw, nonce string, s factor.Subject) error {
	v := p.Verifier(&gooidc.Config{ClientID: f.cfg.ClientID, Now: f.cfg.Clock})
	idt, err := v.Verify(f.ctx(ctx), raw)
	if err != nil {
		return wrong(fmt.Errorf("%w: %v", ErrIDToken, err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return wrong(fmt.Errorf("%w: nonce does not match", ErrIDToken))
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return wrong(fmt.Errorf("%w: %v", ErrIDToken, err))
	}
	if len(idt.Audience) > 1 {
		if azp, _ := claims["azp"].(string); azp != f.cfg.ClientID {
			return wrong(fmt.Errorf("%w: several audiences and azp is not sspr", ErrIDToken))
		}
	}
	got, _ := claims[f.cfg.Claim].(string)
	want := f.expected(s)
	if got == "" || want == "" || !strings.EqualFold(strings.TrimSpace(got), want) {
		return wrong(fmt.Errorf("%w (claim %s)", ErrNotThem, f.cfg.Claim))
	}
	return nil
}
