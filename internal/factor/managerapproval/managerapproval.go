package managerapproval

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

// Kind is the factor kind "manager_approval".
const Kind factor.Kind = "manager_approval"

// Channel is the Delivery channel of an approval request: To is the
// manager's DN, Code the approval token (see Links).
const Channel = "manager_approval"

// The manager's decisions.
const (
	Approve = "approve"
	Deny    = "deny"
)

// Defaults.
const (
	DefaultTTL              = 30 * time.Minute
	DefaultManagerAttribute = "manager"
)

// UsedSet makes tokens single-use: Use records id until it would expire
// anyway and reports whether it was new. With several sspr nodes it must
// be shared (the store); the default is this process's memory.
type UsedSet interface {
	Use(ctx context.Context, id string, until time.Time) (bool, error)
}

// Config configures the factor.
type Config struct {
	// Key signs tokens and decisions (at least 32 octets). Required.
	Key []byte
	// LinkBase is the page the manager's links open
	// ("https://sspr.example.com/approve"). Required.
	LinkBase string
	// ManagerAttribute holds the manager's DN ("manager").
	ManagerAttribute string
	// TTL bounds how long the manager may decide (30 minutes).
	TTL time.Duration
	// Used remembers spent tokens and decisions (in memory by default).
	Used UsedSet
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the manager approval factor. It is safe for concurrent use.
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
	if len(cfg.Key) < 32 {
		problems = append(problems, "the signing key must be at least 32 octets")
	}
	if u, err := url.Parse(cfg.LinkBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		problems = append(problems, fmt.Sprintf("link base %q is not an absolute http(s) URL without a query", cfg.LinkBase))
	}
	if cfg.ManagerAttribute == "" {
		cfg.ManagerAttribute = DefaultManagerAttribute
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < time.Minute || cfg.TTL > 7*24*time.Hour {
		problems = append(problems, "the approval window must be from 1 minute to 7 days")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Used == nil {
		cfg.Used = &memoryUsed{clock: cfg.Clock, seen: map[string]time.Time{}}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("manager approval: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg}, nil
}

// Kind returns Kind.
func (f *Factor) Kind() factor.Kind { return Kind }

// NeedsEnrollment returns false: the directory names the manager.
func (f *Factor) NeedsEnrollment() bool { return false }

// NotFirst returns true: a manager's approval counts only after the
// person proved another factor, and never alone (a manager could
// otherwise take over a report's account, and a stranger could make
// managers approve by mistake).
func (f *Factor) NotFirst() bool { return true }

// BeginEnroll is not supported: nothing to enroll.
func (f *Factor) BeginEnroll(context.Context, factor.Subject, factor.Response) (factor.Challenge, error) {
	return factor.Challenge{}, factor.ErrNotAvailable
}

// FinishEnroll is not supported: nothing to enroll.
func (f *Factor) FinishEnroll(context.Context, factor.Subject, []byte, factor.Response) (factor.Enrollment, error) {
	return factor.Enrollment{}, factor.ErrNotAvailable
}

// DecoyEnrollment returns an enrollment that challenges like a real one
// (no request goes out) and never verifies.
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
	Version   int       `json:"v"`
	ID        string    `json:"id"`
	SubjectDN string    `json:"s,omitempty"`
	Decoy     bool      `json:"decoy,omitempty"`
	Expires   time.Time `json:"exp"`
}

// token is what the manager's links carry, signed.
type token struct {
	ID        string `json:"c"`
	ManagerDN string `json:"m"`
	Expires   int64  `json:"e"`
}

// decision is what Decide returns, signed, for Verify.
type decision struct {
	ID        string `json:"c"`
	Decision  string `json:"d"`
	ManagerDN string `json:"m"`
	At        int64  `json:"t"`
}

const formatVersion = 1

func prompt() map[string]any {
	return map[string]any{"wait": true, "field": "decision",
		"message": "We asked your manager to approve this request. Once they have, continue here."}
}

// Challenge asks the person's manager (the directory's manager attribute)
// to approve: Deliver carries the manager's DN and the token for the
// approve and deny links (Links). The prompt is the same for everybody
// and names nobody; a person without a manager gets factor.ErrNotAvailable.
func (f *Factor) Challenge(_ context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	now := f.cfg.Clock()
	exp := now.Add(f.cfg.TTL)
	var idb [16]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return factor.Challenge{}, err
	}
	st := state{Version: formatVersion, ID: hex.EncodeToString(idb[:]), Expires: exp}
	var deliver *factor.Delivery
	if isDecoy(e) {
		st.Decoy = true
	} else {
		manager := firstAttr(s, f.cfg.ManagerAttribute)
		if manager == "" || strings.EqualFold(manager, s.DN) {
			return factor.Challenge{}, factor.ErrNotAvailable
		}
		st.SubjectDN = s.DN
		tok, err := f.sign("token", token{ID: st.ID, ManagerDN: manager, Expires: exp.Unix()})
		if err != nil {
			return factor.Challenge{}, err
		}
		deliver = &factor.Delivery{Channel: Channel, To: manager, Code: tok}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{Prompt: prompt(), Deliver: deliver, State: b, Expires: exp}, nil
}

func firstAttr(s factor.Subject, name string) string {
	for k, v := range s.Attributes {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

// Links are the manager's approve and deny links for a token.
func (f *Factor) Links(tok string) (approve, deny string) {
	q := func(d string) string {
		return f.cfg.LinkBase + "?" + url.Values{"token": {tok}, "decision": {d}}.Encode()
	}
	return q(Approve), q(Deny)
}

// Errors of decisions.
var (
	// ErrBadToken: not a token this factor signed (or altered).
	ErrBadToken = errors.New("manager approval: the link is not valid")
	// ErrDenied is wrapped with factor.ErrWrongResponse when the manager
	// denied.
	ErrDenied = errors.New("manager approval: the manager denied the request")
)

// Decide records the manager's decision on the token from their link:
// it checks the signature and expiry, spends the token (a second click,
// even with the other decision, is factor.ErrReplayed) and returns the
// signed decision, which the person's next Verify takes (resp
// "decision"), and the manager's DN for the audit record. The caller
// must make sure the manager is who opened the link (signed in to the
// portal as that DN) before calling it; the token only proves the link.
func (f *Factor) Decide(ctx context.Context, tok, choice string) (signed, managerDN string, err error) {
	if choice != Approve && choice != Deny {
		return "", "", fmt.Errorf("%w: decision %q", factor.ErrBadInput, choice)
	}
	var t token
	if err := f.open("token", tok, &t); err != nil {
		return "", "", err
	}
	now := f.cfg.Clock()
	exp := time.Unix(t.Expires, 0)
	if !now.Before(exp) {
		return "", "", factor.ErrExpired
	}
	fresh, err := f.cfg.Used.Use(ctx, "token:"+t.ID, exp)
	if err != nil {
		return "", "", err
	}
	if !fresh {
		return "", "", factor.ErrReplayed
	}
	d, err := f.sign("decision", decision{ID: t.ID, Decision: choice, ManagerDN: t.ManagerDN, At: now.Unix()})
	return d, t.ManagerDN, err
}

// Verify takes the signed decision (resp "decision") for this challenge:
// approved proves the factor; denied is factor.ErrWrongResponse wrapping
// ErrDenied; none yet is factor.ErrWrongResponse. A decision for another
// challenge, or one used before, never verifies.
func (f *Factor) Verify(ctx context.Context, _ factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	var s state
	if err := json.Unmarshal(st, &s); err != nil || s.Version != formatVersion || s.ID == "" {
		return factor.Enrollment{}, errors.New("manager approval: challenge state is malformed")
	}
	if !f.cfg.Clock().Before(s.Expires) {
		return factor.Enrollment{}, factor.ErrExpired
	}
	if s.Decoy || isDecoy(e) {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	var d decision
	if err := f.open("decision", resp.Values["decision"], &d); err != nil {
		return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrWrongResponse, err)
	}
	if !hmac.Equal([]byte(d.ID), []byte(s.ID)) {
		return factor.Enrollment{}, fmt.Errorf("%w: a decision about another request", factor.ErrWrongResponse)
	}
	fresh, err := f.cfg.Used.Use(ctx, "decision:"+d.ID, s.Expires)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if !fresh {
		return factor.Enrollment{}, factor.ErrReplayed
	}
	if d.Decision != Approve {
		return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrWrongResponse, ErrDenied)
	}
	e.LastUsedAt = f.cfg.Clock()
	return e, nil
}

// sign encodes v as base64url(JSON) "." base64url(HMAC-SHA256), the MAC
// over a purpose label and the payload, so a token is never a decision.
func (f *Factor) sign(purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(f.mac(purpose, p)), nil
}

func (f *Factor) mac(purpose, payload string) []byte {
	m := hmac.New(sha256.New, f.cfg.Key)
	m.Write([]byte("sspr manager approval v1 " + purpose + "\x00" + payload))
	return m.Sum(nil)
}

func (f *Factor) open(purpose, s string, v any) error {
	if len(s) > 2048 {
		return ErrBadToken
	}
	p, sig, ok := strings.Cut(s, ".")
	if !ok {
		return ErrBadToken
	}
	// The signature is compared in its canonical encoding, not decoded:
	// base64 decoding forgives non-zero trailing bits and line breaks, so a
	// decoded comparison would open other spellings of our token too.
	want := base64.RawURLEncoding.EncodeToString(f.mac(purpose, p))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(b, v) != nil {
		return ErrBadToken
	}
	return nil
}

// memoryUsed is the default UsedSet: this process's memory, pruned of
// entries past their expiry.
type memoryUsed struct {
	clock func() time.Time
	mu    sync.Mutex
	seen  map[string]time.Time
}

func (m *memoryUsed) Use(_ context.Context, id string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock()
	if len(m.seen) > 1024 {
		for k, t := range m.seen {
			if now.After(t) {
				delete(m.seen, k)
			}
		}
	}
	if _, ok := m.seen[id]; ok {
		return false, nil
	}
	m.seen[id] = until
	return true, nil
}
