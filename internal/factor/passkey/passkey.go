package passkey

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sspr/sspr/internal/factor"
)

// Config configures the factor.
type Config struct {
	// RPID is the relying party ID: the portal's host name or a parent
	// domain of it ("sspr.example.com", "example.com"). Passkeys are
	// bound to it; changing it orphans them.
	RPID string
	// RPDisplayName is shown by authenticators ("Example Corp password
	// reset").
	RPDisplayName string
	// RPOrigins are the origins the browser may report
	// ("https://sspr.example.com"); every one must be the RP ID or under
	// it.
	RPOrigins []string
	// UserVerification is "required" (the default: the authenticator
	// checks a PIN or biometric), "preferred" or "discouraged".
	UserVerification string
	// Attachment restricts new passkeys to "platform" authenticators
	// (built into the device) or "cross-platform" ones (security keys,
	// phones); empty allows both.
	Attachment string
	// ResidentKey is "required" (the default), "preferred" or
	// "discouraged": whether to ask for a discoverable credential. Only
	// discoverable credentials work as a first factor, where sspr names no
	// credential (so as not to tell strangers whether an account exists);
	// others work only after another factor.
	ResidentKey string
	// Timeout is how long the browser and the state wait for the person;
	// 5 minutes when zero.
	Timeout time.Duration
	// UserHandleKey is the HMAC key deriving user handles, at least 32
	// bytes, shared by every node and kept for the life of the passkeys.
	UserHandleKey []byte
	// AllowCloneWarning accepts an assertion whose signature counter did
	// not advance (a sign of a cloned authenticator); refused by default.
	AllowCloneWarning bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Factor is the passkey factor.
type Factor struct {
	cfg Config
	wa  *webauthn.WebAuthn
	uv  protocol.UserVerificationRequirement
}

var _ factor.Factor = (*Factor)(nil)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	var errs []error
	if cfg.RPID == "" {
		errs = append(errs, errors.New("passkey: RP ID is required"))
	}
	if cfg.RPDisplayName == "" {
		errs = append(errs, errors.New("passkey: RP display name is required"))
	}
	if len(cfg.RPOrigins) == 0 {
		errs = append(errs, errors.New("passkey: at least one RP origin is required"))
	}
	for _, o := range cfg.RPOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("passkey: origin %q is not scheme://host[:port]", o))
			continue
		}
		host := u.Hostname()
		if cfg.RPID != "" && host != cfg.RPID && !strings.HasSuffix(host, "."+cfg.RPID) {
			errs = append(errs, fmt.Errorf("passkey: origin %q is not on the RP ID %q or under it", o, cfg.RPID))
		}
		if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
			errs = append(errs, fmt.Errorf("passkey: origin %q: browsers allow WebAuthn over http only on localhost", o))
		}
	}
	var uv protocol.UserVerificationRequirement
	switch cfg.UserVerification {
	case "", "required":
		uv = protocol.VerificationRequired
	case "preferred":
		uv = protocol.VerificationPreferred
	case "discouraged":
		uv = protocol.VerificationDiscouraged
	default:
		errs = append(errs, fmt.Errorf("passkey: user verification %q is not required, preferred or discouraged", cfg.UserVerification))
	}
	var attachment protocol.AuthenticatorAttachment
	switch cfg.Attachment {
	case "", "any", "both":
	case "platform":
		attachment = protocol.Platform
	case "cross-platform":
		attachment = protocol.CrossPlatform
	default:
		errs = append(errs, fmt.Errorf("passkey: attachment %q is not platform or cross-platform", cfg.Attachment))
	}
	var rk protocol.ResidentKeyRequirement
	switch cfg.ResidentKey {
	case "", "required":
		rk = protocol.ResidentKeyRequirementRequired
	case "preferred":
		rk = protocol.ResidentKeyRequirementPreferred
	case "discouraged":
		rk = protocol.ResidentKeyRequirementDiscouraged
	default:
		errs = append(errs, fmt.Errorf("passkey: resident key %q is not preferred, required or discouraged", cfg.ResidentKey))
	}
	if len(cfg.UserHandleKey) < 32 {
		errs = append(errs, fmt.Errorf("passkey: the user handle key has %d bytes, want at least 32", len(cfg.UserHandleKey)))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("passkey: timeout %s is negative", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.UserHandleKey = bytes.Clone(cfg.UserHandleKey)
	requireRK := rk == protocol.ResidentKeyRequirementRequired
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     append([]string(nil), cfg.RPOrigins...),
		// No attestation: sspr trusts the person who enrolls (already
		// verified by the flow), not a vendor list of authenticators.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			AuthenticatorAttachment: attachment,
			RequireResidentKey:      &requireRK,
			ResidentKey:             rk,
			UserVerification:        uv,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Factor{cfg: cfg, wa: wa, uv: uv}, nil
}

// Kind is factor.Passkey.
func (f *Factor) Kind() factor.Kind { return factor.Passkey }

// NeedsEnrollment is true.
func (f *Factor) NeedsEnrollment() bool { return true }

// Credential is what an enrollment's Secret holds (as JSON): the public
// half of a passkey and what verification needs. The format is sspr's own,
// independent of the WebAuthn library's.
type Credential struct {
	V int `json:"v"`
	// ID is the credential ID.
	ID []byte `json:"id"`
	// PublicKey is the COSE public key.
	PublicKey []byte `json:"public_key"`
	// SignCount is the last signature counter seen.
	SignCount uint32 `json:"sign_count"`
	// Transports the browser reported ("internal", "usb", "hybrid", ...).
	Transports []string `json:"transports,omitempty"`
	// AAGUID names the authenticator model (zero for most passkeys
	// without attestation).
	AAGUID []byte `json:"aaguid,omitempty"`
	// Flags are the authenticator data flags of the latest ceremony.
	Flags byte `json:"flags"`
	// UserVerified is latched: the user was verified at registration.
	UserVerified   bool `json:"user_verified"`
	BackupEligible bool `json:"backup_eligible"`
	BackupState    bool `json:"backup_state"`
	// Attachment is "platform" or "cross-platform" when known.
	Attachment        string `json:"attachment,omitempty"`
	AttestationType   string `json:"attestation_type,omitempty"`
	AttestationFormat string `json:"attestation_format,omitempty"`
	// CloneWarning is set when a counter did not advance.
	CloneWarning bool `json:"clone_warning,omitempty"`
	// UserHandle is the WebAuthn user.id registered with the credential.
	UserHandle []byte `json:"user_handle"`
	// Name is what the person called it.
	Name string `json:"name,omitempty"`
}

// DecodeCredential reads an enrollment's Secret.
func DecodeCredential(secret []byte) (Credential, error) {
	var c Credential
	if err := json.Unmarshal(secret, &c); err != nil {
		return Credential{}, fmt.Errorf("passkey: unreadable credential: %w", err)
	}
	if c.V != 1 || len(c.ID) == 0 || len(c.PublicKey) == 0 || len(c.UserHandle) == 0 {
		return Credential{}, errors.New("passkey: incomplete credential")
	}
	return c, nil
}

func fromLibrary(wc *webauthn.Credential, handle []byte, name string) Credential {
	c := Credential{
		V: 1, ID: wc.ID, PublicKey: wc.PublicKey, SignCount: wc.Authenticator.SignCount,
		AAGUID: wc.Authenticator.AAGUID, Flags: byte(wc.Flags.ProtocolValue()),
		UserVerified: wc.Flags.UserVerified, BackupEligible: wc.Flags.BackupEligible, BackupState: wc.Flags.BackupState,
		Attachment: string(wc.Authenticator.Attachment), AttestationType: wc.AttestationType,
		AttestationFormat: wc.AttestationFormat, CloneWarning: wc.Authenticator.CloneWarning,
		UserHandle: handle, Name: name,
	}
	for _, t := range wc.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	return c
}

func (c Credential) library() webauthn.Credential {
	flags := protocol.AuthenticatorFlags(c.Flags)
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	} else {
		flags &^= protocol.FlagUserVerified
	}
	wc := webauthn.Credential{
		ID: c.ID, PublicKey: c.PublicKey, AttestationType: c.AttestationType, AttestationFormat: c.AttestationFormat,
		Flags: webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{
			AAGUID: c.AAGUID, SignCount: c.SignCount, CloneWarning: c.CloneWarning,
			Attachment: protocol.AuthenticatorAttachment(c.Attachment),
		},
	}
	// BE never changes; BS may. Keep the recorded booleans authoritative.
	wc.Flags.BackupEligible, wc.Flags.BackupState = c.BackupEligible, c.BackupState
	for _, t := range c.Transports {
		wc.Transport = append(wc.Transport, protocol.AuthenticatorTransport(t))
	}
	return wc
}

// user is the webauthn.User of one ceremony.
type user struct {
	handle      []byte
	name        string
	displayName string
	creds       []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.displayName }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// UserHandle returns the WebAuthn user handle of s: 32 bytes of HMAC over
// the directory and the DN, stable and opaque.
func (f *Factor) UserHandle(s factor.Subject) []byte {
	h := hmac.New(sha256.New, f.cfg.UserHandleKey)
	h.Write([]byte("sspr/passkey/user-handle/v1\x00"))
	h.Write([]byte(s.Directory))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(s.DN)))
	return h.Sum(nil)
}

func (f *Factor) newUser(s factor.Subject) *user {
	name := s.Login
	if name == "" {
		name = "user"
	}
	display := s.DisplayName
	if display == "" {
		display = name
	}
	return &user{handle: f.UserHandle(s), name: name, displayName: display}
}

// state is what a ceremony leaves with the caller.
type state struct {
	V       int                  `json:"v"`
	Purpose string               `json:"p"`
	Session webauthn.SessionData `json:"session"`
	Name    string               `json:"name,omitempty"`
	Expires int64                `json:"exp"`
}

func (f *Factor) readState(raw []byte, purpose string) (state, error) {
	var st state
	if err := json.Unmarshal(raw, &st); err != nil || st.V != 1 || st.Purpose != purpose {
		return state{}, fmt.Errorf("%w: unreadable state", factor.ErrWrongResponse)
	}
	if !f.cfg.Now().Before(time.Unix(st.Expires, 0)) {
		return state{}, factor.ErrExpired
	}
	return st, nil
}

// BeginEnroll starts a registration: Prompt["options"] is the
// PublicKeyCredentialCreationOptions as JSON (a json.RawMessage, binary
// members in base64url, the shape PublicKeyCredential.
// parseCreationOptionsFromJSON reads). input.Values["name"] optionally
// names the passkey.
func (f *Factor) BeginEnroll(_ context.Context, s factor.Subject, input factor.Response) (factor.Challenge, error) {
	creation, session, err := f.wa.BeginRegistration(f.newUser(s))
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("passkey: beginning a registration: %w", err)
	}
	options, err := json.Marshal(creation.Response)
	if err != nil {
		return factor.Challenge{}, err
	}
	expires := f.cfg.Now().Add(f.cfg.Timeout)
	raw, err := json.Marshal(state{V: 1, Purpose: "enroll", Session: *session, Name: cleanName(input.Values["name"]), Expires: expires.Unix()})
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{
		Prompt:  map[string]any{"options": json.RawMessage(options)},
		State:   raw,
		Expires: expires,
	}, nil
}

// FinishEnroll verifies the browser's attestation (resp.JSON: the
// PublicKeyCredential as JSON) and returns the enrollment. resp.Values
// ["name"], when set, names the passkey.
func (f *Factor) FinishEnroll(_ context.Context, s factor.Subject, raw []byte, resp factor.Response) (factor.Enrollment, error) {
	st, err := f.readState(raw, "enroll")
	if err != nil {
		return factor.Enrollment{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp.JSON)
	if err != nil {
		return factor.Enrollment{}, fmt.Errorf("%w: %s", factor.ErrWrongResponse, describe(err))
	}
	u := f.newUser(s)
	wc, err := f.wa.CreateCredential(u, st.Session, parsed)
	if err != nil {
		return factor.Enrollment{}, fmt.Errorf("%w: %s", factor.ErrWrongResponse, describe(err))
	}
	name := st.Name
	if n := cleanName(resp.Values["name"]); n != "" {
		name = n
	}
	secret, err := json.Marshal(fromLibrary(wc, u.handle, name))
	if err != nil {
		return factor.Enrollment{}, err
	}
	label := "Passkey"
	if name != "" {
		label += " (" + name + ")"
	}
	return factor.Enrollment{Kind: factor.Passkey, Label: label, Secret: secret, CreatedAt: f.cfg.Now()}, nil
}

var _ factor.Multi = (*Factor)(nil)

// Challenge starts an authentication with the enrolled credential:
// Prompt["options"] is the PublicKeyCredentialRequestOptions as JSON
// (allowCredentials holds that one credential).
func (f *Factor) Challenge(ctx context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	return f.ChallengeAll(ctx, s, []factor.Enrollment{e})
}

// ChallengeAll starts one authentication that any of the person's
// credentials es may answer: allowCredentials lists them all, so a passkey
// on any of their devices works. With es empty it starts a
// discoverable-credential ceremony instead: allowCredentials is empty and
// the options (apart from the random challenge) are the same for
// everybody, so they tell nothing about who asks or whether they exist;
// the authenticator offers the passkeys it holds for the RP and its answer
// names the credential and the user handle, which VerifyAny checks against
// the person's enrollments. Only discoverable (resident) credentials can
// answer such a ceremony.
func (f *Factor) ChallengeAll(_ context.Context, s factor.Subject, es []factor.Enrollment) (factor.Challenge, error) {
	var (
		assertion *protocol.CredentialAssertion
		session   *webauthn.SessionData
		err       error
	)
	if len(es) == 0 {
		assertion, session, err = f.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(f.uv))
	} else {
		u := f.newUser(s)
		u.creds = nil
		for i, e := range es {
			c, err := DecodeCredential(e.Secret)
			if err != nil {
				return factor.Challenge{}, fmt.Errorf("%w: %w", factor.ErrNotAvailable, err)
			}
			if i == 0 {
				// The session remembers one handle; VerifyAny accepts each
				// credential's own (a renamed entry keeps its passkeys).
				u.handle = c.UserHandle
			}
			u.creds = append(u.creds, c.library())
		}
		assertion, session, err = f.wa.BeginLogin(u, webauthn.WithUserVerification(f.uv))
	}
	if err != nil {
		return factor.Challenge{}, fmt.Errorf("passkey: beginning a login: %w", err)
	}
	options, err := json.Marshal(assertion.Response)
	if err != nil {
		return factor.Challenge{}, err
	}
	expires := f.cfg.Now().Add(f.cfg.Timeout)
	raw, err := json.Marshal(state{V: 1, Purpose: "verify", Session: *session, Expires: expires.Unix()})
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{
		Prompt:  map[string]any{"options": json.RawMessage(options)},
		State:   raw,
		Expires: expires,
	}, nil
}

// ErrCloneWarning is wrapped (with factor.ErrWrongResponse) when an
// assertion's signature counter did not advance past the stored one.
var ErrCloneWarning = errors.New("passkey: the signature counter went backwards (a cloned authenticator?)")

// Verify checks the assertion in resp.JSON and returns e with the
// signature counter and flags updated.
func (f *Factor) Verify(ctx context.Context, s factor.Subject, e factor.Enrollment, raw []byte, resp factor.Response) (factor.Enrollment, error) {
	return f.VerifyAny(ctx, s, []factor.Enrollment{e}, raw, resp)
}

// ErrNotTheirs is wrapped (with factor.ErrWrongResponse) when an assertion
// names a credential or a user handle that is not one of the enrollments
// it is checked against: somebody else's passkey.
var ErrNotTheirs = errors.New("passkey: the passkey used is not one of this person's")

// VerifyAny checks the assertion in resp.JSON against the credentials es
// and returns the one used, with its signature counter and flags updated.
// The credential ID the authenticator names must be one of es and, when it
// sends a user handle (always, in a discoverable ceremony), the handle must
// be the one recorded with that credential.
func (f *Factor) VerifyAny(_ context.Context, _ factor.Subject, es []factor.Enrollment, raw []byte, resp factor.Response) (factor.Enrollment, error) {
	st, err := f.readState(raw, "verify")
	if err != nil {
		return factor.Enrollment{}, err
	}
	creds := make([]Credential, 0, len(es))
	for _, e := range es {
		c, err := DecodeCredential(e.Secret)
		if err != nil {
			return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrNotAvailable, err)
		}
		creds = append(creds, c)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp.JSON)
	if err != nil {
		return factor.Enrollment{}, fmt.Errorf("%w: %s", factor.ErrWrongResponse, describe(err))
	}
	used := -1
	for i, c := range creds {
		if bytes.Equal(c.ID, parsed.RawID) {
			used = i
		}
	}
	handle := parsed.Response.UserHandle
	if used < 0 || (len(handle) > 0 && !bytes.Equal(handle, creds[used].UserHandle)) {
		return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrWrongResponse, ErrNotTheirs)
	}
	c := creds[used]
	var wc *webauthn.Credential
	if len(st.Session.UserID) == 0 {
		// Discoverable: the handle is required, and it and the ID were
		// checked above.
		wc, err = f.wa.ValidateDiscoverableLogin(func(_, userHandle []byte) (webauthn.User, error) {
			return &user{handle: userHandle, creds: []webauthn.Credential{c.library()}}, nil
		}, st.Session, parsed)
	} else {
		u := &user{handle: st.Session.UserID}
		for _, o := range creds {
			u.creds = append(u.creds, o.library())
		}
		if len(handle) > 0 {
			// Checked against the credential's own handle above; the
			// library compares it with the session's.
			parsed.Response.UserHandle = st.Session.UserID
		}
		wc, err = f.wa.ValidateLogin(u, st.Session, parsed)
	}
	if err != nil {
		return factor.Enrollment{}, fmt.Errorf("%w: %s", factor.ErrWrongResponse, describe(err))
	}
	// The library checks UV only when it is required; "preferred" and
	// "discouraged" accept either.
	if wc.Authenticator.CloneWarning && !f.cfg.AllowCloneWarning {
		return factor.Enrollment{}, fmt.Errorf("%w: %w", factor.ErrWrongResponse, ErrCloneWarning)
	}
	updated := fromLibrary(wc, c.UserHandle, c.Name)
	// Keep what the assertion does not carry.
	updated.Transports, updated.AAGUID, updated.Attachment = c.Transports, c.AAGUID, c.Attachment
	updated.Flags = byte(parsed.Response.AuthenticatorData.Flags)
	secret, err := json.Marshal(updated)
	if err != nil {
		return factor.Enrollment{}, err
	}
	e := es[used]
	e.Secret = secret
	e.LastUsedAt = f.cfg.Now()
	return e, nil
}

// describe renders a go-webauthn error with its details (its Error()
// alone is terse, e.g. "Error validating origin").
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		msg := pe.Details
		if pe.DevInfo != "" {
			msg += ": " + pe.DevInfo
		}
		if msg != "" {
			return msg
		}
	}
	return err.Error()
}

// cleanName keeps a passkey name printable and short.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 64 {
		s = string(r[:64])
	}
	return strings.TrimSpace(s)
}
