package certificate

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

// Kind is the factor kind "certificate".
const Kind factor.Kind = "certificate"

// How a certificate is mapped to the person.
const (
	// MapUPN compares the certificate's user principal name (the
	// otherName SAN smart cards for Windows logon carry) with a directory
	// attribute (userPrincipalName by default).
	MapUPN = "upn"
	// MapEmail compares an rfc822Name SAN with a directory attribute
	// (mail by default).
	MapEmail = "email"
	// MapSHA256 looks the certificate's SHA-256 fingerprint (lower-case
	// hex) up among the values of a directory attribute.
	MapSHA256 = "sha256"
)

// Defaults.
const (
	DefaultTTL     = 5 * time.Minute
	DefaultTimeout = 5 * time.Second
	DefaultLabel   = "Smart card"
)

// Config configures the factor.
type Config struct {
	// Roots are the CAs people's certificates must chain to. Required.
	Roots *x509.CertPool
	// Intermediates completes chains the client did not send in full.
	Intermediates *x509.CertPool
	// MapBy is MapUPN (default), MapEmail or MapSHA256; Attribute the
	// directory attribute compared (userPrincipalName, mail; required for
	// MapSHA256).
	MapBy     string
	Attribute string
	// RevocationOptional accepts a certificate whose revocation status no
	// OCSP responder or CRL could tell. Off: such a certificate is refused
	// (fail closed). A certificate found revoked is always refused.
	RevocationOptional bool
	// HTTPClient fetches CRLs and asks OCSP responders (named in the
	// certificates that chain to Roots, and only those).
	HTTPClient *http.Client
	Timeout    time.Duration
	// TTL bounds how long a challenge may be answered (5 minutes).
	TTL time.Duration
	// Label names the factor to the person ("Smart card").
	Label string
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the client certificate factor. It is safe for concurrent use.
type Factor struct {
	cfg Config

	mu   sync.Mutex
	crls map[string]*x509.RevocationList // by URL, until NextUpdate
}

var (
	_ factor.Factor  = (*Factor)(nil)
	_ factor.Decoyer = (*Factor)(nil)
)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	var problems []string
	if cfg.Roots == nil {
		problems = append(problems, "the trusted CA certificates are required")
	}
	if cfg.MapBy == "" {
		cfg.MapBy = MapUPN
	}
	switch cfg.MapBy {
	case MapUPN:
		if cfg.Attribute == "" {
			cfg.Attribute = "userPrincipalName"
		}
	case MapEmail:
		if cfg.Attribute == "" {
			cfg.Attribute = "mail"
		}
	case MapSHA256:
		if cfg.Attribute == "" {
			problems = append(problems, "mapping by sha256 needs the directory attribute holding fingerprints")
		}
	default:
		problems = append(problems, fmt.Sprintf("map_by %q is not upn, email or sha256", cfg.MapBy))
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
		return nil, fmt.Errorf("certificate: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg, crls: map[string]*x509.RevocationList{}}, nil
}

// Kind returns Kind.
func (f *Factor) Kind() factor.Kind { return Kind }

// NeedsEnrollment returns false: the directory maps the certificate.
func (f *Factor) NeedsEnrollment() bool { return false }

// BeginEnroll is not supported: nothing to enroll.
func (f *Factor) BeginEnroll(context.Context, factor.Subject, factor.Response) (factor.Challenge, error) {
	return factor.Challenge{}, factor.ErrNotAvailable
}

// FinishEnroll is not supported: nothing to enroll.
func (f *Factor) FinishEnroll(context.Context, factor.Subject, []byte, factor.Response) (factor.Enrollment, error) {
	return factor.Enrollment{}, factor.ErrNotAvailable
}

type state struct {
	Version int       `json:"v"`
	Decoy   bool      `json:"decoy,omitempty"`
	Expires time.Time `json:"exp"`
}

const formatVersion = 1

// DecoyEnrollment returns an enrollment that challenges like a real one
// and never verifies.
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	return factor.Enrollment{ID: "decoy", Kind: Kind, Label: f.cfg.Label, Secret: []byte(`{"decoy":true}`)}
}

// Challenge asks for the certificate. It is the same for everybody; a
// person whose directory entry lacks the mapping attribute gets
// factor.ErrNotAvailable (the caller then issues a decoy).
func (f *Factor) Challenge(_ context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	decoy := isDecoy(e)
	if !decoy && len(attr(s, f.cfg.Attribute)) == 0 {
		return factor.Challenge{}, factor.ErrNotAvailable
	}
	exp := f.cfg.Clock().Add(f.cfg.TTL)
	b, err := json.Marshal(state{Version: formatVersion, Decoy: decoy, Expires: exp})
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{State: b, Expires: exp, Prompt: map[string]any{"field": "certificate",
		"message": "Insert your smart card and choose its certificate when your browser asks."}}, nil
}

func isDecoy(e factor.Enrollment) bool {
	var r struct {
		Decoy bool `json:"decoy"`
	}
	return len(e.Secret) > 0 && json.Unmarshal(e.Secret, &r) == nil && r.Decoy
}

func attr(s factor.Subject, name string) []string {
	for k, v := range s.Attributes {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// Errors explaining a refusal (each wrapped with factor.ErrWrongResponse).
var (
	ErrUntrusted  = errors.New("certificate: not issued by a trusted CA, expired, or not for client authentication")
	ErrRevoked    = errors.New("certificate: revoked")
	ErrRevocation = errors.New("certificate: revocation status unknown")
	ErrNotMapped  = errors.New("certificate: does not belong to this person")
)

func wrong(err error) error { return fmt.Errorf("%w: %w", factor.ErrWrongResponse, err) }

// Verify checks the certificate the person presented: resp "certificate",
// PEM, the client's certificate first and any intermediates after it. The
// caller puts there only what the TLS handshake of this very request
// proved (mutual TLS) or what a trusted proxy that terminated it passed
// on (ParseProxyHeader) — never a value the client could type.
func (f *Factor) Verify(ctx context.Context, s factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	var c state
	if err := json.Unmarshal(st, &c); err != nil || c.Version != formatVersion {
		return factor.Enrollment{}, errors.New("certificate: challenge state is malformed")
	}
	now := f.cfg.Clock()
	if !now.Before(c.Expires) {
		return factor.Enrollment{}, factor.ErrExpired
	}
	if c.Decoy || isDecoy(e) {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	certs, err := ParsePEMChain(resp.Values["certificate"])
	if err != nil {
		return factor.Enrollment{}, wrong(err)
	}
	leaf := certs[0]
	inter := x509.NewCertPool()
	if f.cfg.Intermediates != nil {
		inter = f.cfg.Intermediates.Clone()
	}
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: f.cfg.Roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return factor.Enrollment{}, wrong(fmt.Errorf("%w: %v", ErrUntrusted, err))
	}
	// Map before asking responders: a stranger's card costs no requests.
	if err := f.mapped(s, leaf); err != nil {
		return factor.Enrollment{}, wrong(err)
	}
	if err := f.checkRevocation(ctx, chains[0], now); err != nil {
		if errors.Is(err, ErrRevoked) || errors.Is(err, ErrRevocation) {
			return factor.Enrollment{}, wrong(err)
		}
		return factor.Enrollment{}, err
	}
	e.LastUsedAt = now
	return e, nil
}

var oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}

// UPNs returns the user principal names in cert's subject alternative
// names (otherName with Microsoft's UPN OID, a UTF8String).
func UPNs(cert *x509.Certificate) []string {
	var out []string
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &seq); err != nil || len(rest) > 0 {
			return nil
		}
		for rest := seq.Bytes; len(rest) > 0; {
			var name asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &name); err != nil {
				return nil
			}
			if name.Class != asn1.ClassContextSpecific || name.Tag != 0 {
				continue
			}
			var other struct {
				ID    asn1.ObjectIdentifier
				Value asn1.RawValue `asn1:"explicit,tag:0"`
			}
			if _, err := asn1.UnmarshalWithParams(name.FullBytes, &other, "tag:0"); err != nil || !other.ID.Equal(oidUPN) {
				continue
			}
			var upn string
			if _, err := asn1.UnmarshalWithParams(other.Value.Bytes, &upn, "utf8"); err == nil {
				out = append(out, upn)
			}
		}
	}
	return out
}

func (f *Factor) mapped(s factor.Subject, leaf *x509.Certificate) error {
	want := attr(s, f.cfg.Attribute)
	var have []string
	switch f.cfg.MapBy {
	case MapUPN:
		have = UPNs(leaf)
	case MapEmail:
		have = leaf.EmailAddresses
	case MapSHA256:
		sum := sha256.Sum256(leaf.Raw)
		have = []string{hex.EncodeToString(sum[:])}
	}
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(strings.TrimSpace(w), h) {
				return nil
			}
		}
	}
	return ErrNotMapped
}

// ParsePEMChain reads PEM certificates (at most 8), the first the
// client's.
func ParsePEMChain(s string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(s)
	for len(out) < 9 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 || len(out) > 8 {
		return nil, errors.New("certificate: want 1 to 8 PEM certificates")
	}
	return out, nil
}

// ParseProxyHeader decodes the client certificate a TLS-terminating proxy
// passes on: URL-escaped PEM (nginx $ssl_client_escaped_cert, HAProxy,
// Traefik), PEM with its line breaks replaced by spaces (Apache), or PEM.
// Believe the header only from the configured trusted proxies.
func ParseProxyHeader(v string) ([]*x509.Certificate, error) {
	if strings.Contains(v, "%") {
		u, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("certificate: proxy header: %w", err)
		}
		v = u
	}
	const begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
	if !strings.Contains(v, "\n") {
		// Apache: one line, spaces for line breaks.
		v = strings.ReplaceAll(v, begin, "\x00B")
		v = strings.ReplaceAll(v, end, "\x00E")
		v = strings.ReplaceAll(v, " ", "\n")
		v = strings.ReplaceAll(v, "\x00B", begin+"\n")
		v = strings.ReplaceAll(v, "\x00E", "\n"+end)
	}
	return ParsePEMChain(v)
}
