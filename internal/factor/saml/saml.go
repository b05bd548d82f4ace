package saml

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/sspr/sspr/internal/factor"
)

// Kind is the factor kind "saml".
const Kind factor.Kind = "saml"

// Defaults.
const (
	DefaultTTL   = 10 * time.Minute
	DefaultLabel = "Company sign-in"
)

// Config configures the factor.
type Config struct {
	// EntityID is sspr's entity ID as a service provider (its metadata
	// URL, usually). Required.
	EntityID string
	// ACSURL is sspr's assertion consumer service (HTTP-POST), registered
	// at the IdP. Required.
	ACSURL string
	// IDPMetadata is the identity provider's metadata XML (its entity ID,
	// SSO endpoint and signing certificates). Required.
	IDPMetadata []byte
	// Attribute names the SAML attribute that names the person; empty:
	// the NameID. DirectoryAttribute is what it must equal (the login
	// when empty), case-insensitively.
	Attribute          string
	DirectoryAttribute string
	// TTL bounds the round trip to the IdP (10 minutes).
	TTL time.Duration
	// Label names the factor ("Company sign-in").
	Label string
	// Clock returns the current time (time.Now by default) for the
	// challenge's expiry. Assertion conditions are checked at the real time.
	Clock func() time.Time
}

// Factor is the SAML factor. It is safe for concurrent use.
type Factor struct {
	cfg Config
	sp  *crewjam.ServiceProvider
}

var (
	_ factor.Factor  = (*Factor)(nil)
	_ factor.Decoyer = (*Factor)(nil)
)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	var problems []string
	if cfg.EntityID == "" {
		problems = append(problems, "sspr's entity ID is required")
	}
	acs, err := url.Parse(cfg.ACSURL)
	if err != nil || acs.Host == "" || (acs.Scheme != "https" && !loopback(acs)) {
		problems = append(problems, fmt.Sprintf("ACS URL %q is not an https URL", cfg.ACSURL))
	}
	var md crewjam.EntityDescriptor
	if err := xml.Unmarshal(cfg.IDPMetadata, &md); err != nil || md.EntityID == "" || len(md.IDPSSODescriptors) == 0 {
		problems = append(problems, "the IdP metadata is not an EntityDescriptor with an IDPSSODescriptor")
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
		return nil, fmt.Errorf("saml: %s", strings.Join(problems, "; "))
	}
	sp := &crewjam.ServiceProvider{EntityID: cfg.EntityID, AcsURL: *acs, MetadataURL: url.URL{Path: "/"}, IDPMetadata: &md}
	if sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding) == "" {
		return nil, errors.New("saml: the IdP metadata has no HTTP-Redirect SingleSignOnService")
	}
	return &Factor{cfg: cfg, sp: sp}, nil
}

func loopback(u *url.URL) bool {
	h := u.Hostname()
	return u.Scheme == "http" && (h == "127.0.0.1" || h == "::1" || h == "localhost")
}

// Kind returns Kind.
func (f *Factor) Kind() factor.Kind { return Kind }

// NeedsEnrollment returns false: the assertion is mapped to the directory.
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
// and never verifies.
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
	Version    int       `json:"v"`
	RequestID  string    `json:"req"`
	RelayState string    `json:"relay"`
	Decoy      bool      `json:"decoy,omitempty"`
	Expires    time.Time `json:"exp"`
}

const formatVersion = 1

func (f *Factor) expected(s factor.Subject) string {
	if f.cfg.DirectoryAttribute == "" {
		return strings.TrimSpace(s.Login)
	}
	for k, v := range s.Attributes {
		if strings.EqualFold(k, f.cfg.DirectoryAttribute) && len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

// Challenge returns the IdP's SSO URL with a new AuthnRequest
// (HTTP-Redirect binding, prompt "redirect") and a random RelayState; the
// request ID and RelayState stay in the state. The same for everybody; a
// person without the mapped attribute gets factor.ErrNotAvailable.
func (f *Factor) Challenge(_ context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	decoy := isDecoy(e)
	if !decoy && f.expected(s) == "" {
		return factor.Challenge{}, factor.ErrNotAvailable
	}
	req, err := f.sp.MakeAuthenticationRequest(f.sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding), crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("saml: %w", err)
	}
	var rb [24]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return factor.Challenge{}, err
	}
	relay := base64.RawURLEncoding.EncodeToString(rb[:])
	u, err := req.Redirect(relay, f.sp)
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("saml: %w", err)
	}
	st := state{Version: formatVersion, RequestID: req.ID, RelayState: relay, Decoy: decoy, Expires: f.cfg.Clock().Add(f.cfg.TTL)}
	b, err := json.Marshal(st)
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{State: b, Expires: st.Expires, Prompt: map[string]any{"redirect": u.String(), "label": f.cfg.Label,
		"message": "Sign in with your company account to continue."}}, nil
}

// Errors explaining a refusal (each wrapped with factor.ErrWrongResponse).
var (
	ErrRelayState = errors.New("saml: the answer is for another sign-in (RelayState)")
	ErrAssertion  = errors.New("saml: the response is not valid")
	ErrNotThem    = errors.New("saml: the IdP signed in somebody else")
)

func wrong(err error) error { return fmt.Errorf("%w: %w", factor.ErrWrongResponse, err) }

// Verify takes what the IdP posted to the ACS (resp "SAMLResponse",
// "RelayState"): it checks the RelayState, then the response with
// crewjam/saml — the IdP's signature, issuer, audience (sspr's entity
// ID), destination, InResponseTo (this challenge's request), time
// conditions — and that the NameID or the configured attribute names the
// person.
func (f *Factor) Verify(_ context.Context, s factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	var c state
	if err := json.Unmarshal(st, &c); err != nil || c.Version != formatVersion || c.RequestID == "" {
		return factor.Enrollment{}, errors.New("saml: challenge state is malformed")
	}
	if !f.cfg.Clock().Before(c.Expires) {
		return factor.Enrollment{}, factor.ErrExpired
	}
	// The RelayState first, for decoys too (theirs is as random): an
	// answer for another challenge costs nobody an attempt.
	if subtle.ConstantTimeCompare([]byte(resp.Values["RelayState"]), []byte(c.RelayState)) != 1 {
		return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrForeignAnswer, ErrRelayState)
	}
	if c.Decoy || isDecoy(e) {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	raw := resp.Values["SAMLResponse"]
	if raw == "" || len(raw) > 1<<20 {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	doc, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return factor.Enrollment{}, wrong(fmt.Errorf("%w: not base64", ErrAssertion))
	}
	a, err := f.sp.ParseXMLResponse(doc, []string{c.RequestID}, f.sp.AcsURL)
	if err != nil {
		return factor.Enrollment{}, wrong(fmt.Errorf("%w: %v", ErrAssertion, reason(err)))
	}
	if err := f.mapped(s, a); err != nil {
		return factor.Enrollment{}, wrong(err)
	}
	e.LastUsedAt = f.cfg.Clock()
	return e, nil
}

// reason digs the library's private cause out of its deliberately vague
// "Authentication failed", for the log.
func reason(err error) error {
	var ire *crewjam.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		return ire.PrivateErr
	}
	return err
}

func (f *Factor) mapped(s factor.Subject, a *crewjam.Assertion) error {
	want := f.expected(s)
	var got []string
	if f.cfg.Attribute == "" {
		if a.Subject != nil && a.Subject.NameID != nil {
			got = append(got, a.Subject.NameID.Value)
		}
	} else {
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				if at.Name == f.cfg.Attribute || at.FriendlyName == f.cfg.Attribute {
					for _, v := range at.Values {
						got = append(got, v.Value)
					}
				}
			}
		}
	}
	for _, g := range got {
		if want != "" && strings.EqualFold(strings.TrimSpace(g), want) {
			return nil
		}
	}
	return ErrNotThem
}
