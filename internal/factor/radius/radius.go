package radius

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/factor"
)

// Kind is the factor kind "radius".
const Kind factor.Kind = "radius"

// Defaults.
const (
	DefaultTimeout   = 3 * time.Second
	DefaultRetries   = 1
	DefaultTTL       = 5 * time.Minute
	DefaultLabel     = "Security token"
	DefaultMaxRounds = 5
)

// Config configures the factor.
type Config struct {
	// Servers are host:port addresses (UDP), asked in order. Required.
	Servers []string
	// Secret is the shared secret with the servers. Required; at least 16
	// octets, as RFC 6614's advice and every BlastRADIUS advisory say.
	Secret []byte
	// NASIdentifier identifies sspr to the servers (NAS-Identifier).
	NASIdentifier string
	// Timeout is how long each try waits for an answer (3 s by default);
	// Retries how often a request is sent again before the next server is
	// asked (1 by default; negative: none).
	Timeout time.Duration
	Retries int
	// Enroll makes people enroll their RADIUS user name (proved by one
	// accepted authentication). Otherwise the name comes from the
	// directory: UsernameAttribute, or the login.
	Enroll            bool
	UsernameAttribute string
	// TTL bounds how long a challenge may be answered (5 minutes).
	TTL time.Duration
	// MaxRounds bounds Access-Challenge rounds in one verification (5).
	MaxRounds int
	// Label is the enrollment's label ("Security token").
	Label string
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the RADIUS factor. It is stateless and safe for concurrent use.
type Factor struct {
	cfg    Config
	client *client
}

var (
	_ factor.Factor  = (*Factor)(nil)
	_ factor.Decoyer = (*Factor)(nil)
)

// New checks cfg and returns the factor.
func New(cfg Config) (*Factor, error) {
	var problems []string
	if len(cfg.Servers) == 0 {
		problems = append(problems, "at least one server is required")
	}
	for _, s := range cfg.Servers {
		if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
			problems = append(problems, fmt.Sprintf("server %q is not host:port", s))
		}
	}
	if len(cfg.Secret) < 16 {
		problems = append(problems, "the shared secret must be at least 16 octets")
	}
	if len(cfg.NASIdentifier) > maxAttrValue {
		problems = append(problems, "the NAS identifier is too long")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		problems = append(problems, "the timeout is negative")
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	case cfg.Retries > 5:
		problems = append(problems, "at most 5 retries")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxRounds == 0 {
		cfg.MaxRounds = DefaultMaxRounds
	}
	if cfg.Label == "" {
		cfg.Label = DefaultLabel
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("radius: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg, client: &client{servers: cfg.Servers, secret: cfg.Secret, timeout: cfg.Timeout,
		retries: cfg.Retries, nasIdentifier: cfg.NASIdentifier}}, nil
}

// Kind returns Kind.
func (f *Factor) Kind() factor.Kind { return Kind }

// NeedsEnrollment is Config.Enroll.
func (f *Factor) NeedsEnrollment() bool { return f.cfg.Enroll }

// record is Enrollment.Secret.
type record struct {
	Version int    `json:"v"`
	User    string `json:"user"`
	Decoy   bool   `json:"decoy,omitempty"`
}

// state is Challenge.State between rounds.
type state struct {
	Version int       `json:"v"`
	User    string    `json:"user"`
	Decoy   bool      `json:"decoy,omitempty"`
	Enroll  bool      `json:"enroll,omitempty"`
	Radius  []byte    `json:"rs,omitempty"` // the server's State attribute
	Round   int       `json:"round"`
	Expires time.Time `json:"exp"`
}

const formatVersion = 1

// ErrContinue is wrapped by *ContinueError.
var ErrContinue = errors.New("radius: the server asks for another response")

// ContinueError is what Verify and FinishEnroll return when the server
// answered with an Access-Challenge: not a failure and not yet a success.
// The caller shows Challenge (its prompt carries the server's message) and
// passes its State with the next response. errors.Is(err, ErrContinue).
type ContinueError struct {
	Challenge factor.Challenge
}

func (e *ContinueError) Error() string { return ErrContinue.Error() }

// Next is the challenge to show next. Callers that must not import this
// package find it with errors.As(err, &interface{ Next() factor.Challenge }).
func (e *ContinueError) Next() factor.Challenge { return e.Challenge }

// Unwrap makes errors.Is(err, ErrContinue) true.
func (e *ContinueError) Unwrap() error { return ErrContinue }

// prompt is the same for every person, real or decoy: a stranger learns
// nothing from it.
//
// After an Access-Challenge the prompt also carries server_message: the
// server's own words, which faces show as they are (a first prompt never
// has one, for anybody).
func prompt(message string) map[string]any {
	p := map[string]any{"field": "code", "input": "password", "message": message}
	if message == "" {
		p["message"] = "Enter the passcode from your security token."
	} else {
		p["server_message"] = message
	}
	return p
}

// BeginEnroll takes the person's RADIUS user name (input "username") and
// asks for a passcode that proves it.
func (f *Factor) BeginEnroll(_ context.Context, _ factor.Subject, input factor.Response) (factor.Challenge, error) {
	user := strings.TrimSpace(input.Values["username"])
	if err := checkUsername(user); err != nil {
		return factor.Challenge{}, err
	}
	return f.challenge(state{Version: formatVersion, User: user, Enroll: true}, "")
}

func checkUsername(user string) error {
	if user == "" || len(user) > maxAttrValue || !utf8.ValidString(user) {
		return fmt.Errorf("%w: the user name must be 1 to %d characters", factor.ErrBadInput, maxAttrValue)
	}
	for _, r := range user {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: the user name contains a control character", factor.ErrBadInput)
		}
	}
	return nil
}

// FinishEnroll authenticates the pending user name with the passcode
// (resp "code"); an Access-Accept makes the enrollment. An
// Access-Challenge comes back as *ContinueError.
func (f *Factor) FinishEnroll(ctx context.Context, _ factor.Subject, st []byte, resp factor.Response) (factor.Enrollment, error) {
	s, err := f.open(st)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if !s.Enroll {
		return factor.Enrollment{}, errors.New("radius: not an enrollment state")
	}
	if err := f.authenticate(ctx, s, resp); err != nil {
		return factor.Enrollment{}, err
	}
	secret, err := json.Marshal(record{Version: formatVersion, User: s.User})
	if err != nil {
		return factor.Enrollment{}, err
	}
	return factor.Enrollment{Kind: Kind, Label: f.cfg.Label, Secret: secret, CreatedAt: f.cfg.Clock()}, nil
}

// DecoyEnrollment returns an enrollment that challenges like a real one
// and never verifies (Verify refuses it without asking a server).
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	secret, _ := json.Marshal(record{Version: formatVersion, Decoy: true})
	return factor.Enrollment{ID: "decoy", Kind: Kind, Label: f.cfg.Label, Secret: secret}
}

// username is the RADIUS user name of s with enrollment e.
func (f *Factor) username(s factor.Subject, e factor.Enrollment) (string, bool, error) {
	if len(e.Secret) > 0 {
		var r record
		if err := json.Unmarshal(e.Secret, &r); err != nil || r.Version != formatVersion {
			return "", false, errors.New("radius: enrollment is malformed")
		}
		return r.User, r.Decoy, nil
	}
	if f.cfg.Enroll {
		return "", false, factor.ErrNotAvailable
	}
	user := s.Login
	if a := f.cfg.UsernameAttribute; a != "" {
		user = ""
		for k, v := range s.Attributes {
			if strings.EqualFold(k, a) && len(v) > 0 {
				user = v[0]
			}
		}
	}
	if checkUsername(user) != nil {
		return "", false, factor.ErrNotAvailable
	}
	return user, false, nil
}

// Challenge asks for a passcode. It sends nothing: the first
// Access-Request carries the person's response, so a challenge costs the
// RADIUS servers nothing and looks the same for everybody.
func (f *Factor) Challenge(_ context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	user, decoy, err := f.username(s, e)
	if err != nil {
		return factor.Challenge{}, err
	}
	return f.challenge(state{Version: formatVersion, User: user, Decoy: decoy}, "")
}

func (f *Factor) challenge(s state, message string) (factor.Challenge, error) {
	s.Expires = f.cfg.Clock().Add(f.cfg.TTL)
	b, err := json.Marshal(s)
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{Prompt: prompt(message), State: b, Expires: s.Expires}, nil
}

func (f *Factor) open(st []byte) (state, error) {
	var s state
	if err := json.Unmarshal(st, &s); err != nil || s.Version != formatVersion {
		return s, errors.New("radius: challenge state is malformed")
	}
	if !f.cfg.Clock().Before(s.Expires) {
		return s, factor.ErrExpired
	}
	return s, nil
}

// Verify sends the passcode (resp "code") in an Access-Request, with the
// server's State when this answers an Access-Challenge. Access-Accept: the
// factor is proved and e comes back unchanged; Access-Reject:
// factor.ErrWrongResponse; Access-Challenge: *ContinueError.
func (f *Factor) Verify(ctx context.Context, _ factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	s, err := f.open(st)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if s.Enroll {
		return factor.Enrollment{}, errors.New("radius: an enrollment state cannot verify")
	}
	if err := f.authenticate(ctx, s, resp); err != nil {
		return factor.Enrollment{}, err
	}
	return e, nil
}

func (f *Factor) authenticate(ctx context.Context, s state, resp factor.Response) error {
	code := resp.Values["code"]
	if s.Decoy || s.User == "" || code == "" || len(code) > maxPassword {
		return factor.ErrWrongResponse
	}
	reply, err := f.client.exchange(ctx, request{user: s.User, password: code, state: s.Radius})
	if err != nil {
		return err
	}
	switch reply.Code {
	case AccessAccept:
		return nil
	case AccessChallenge:
		if s.Round+1 >= f.cfg.MaxRounds {
			return factor.ErrWrongResponse
		}
		rs, _ := reply.Get(AttrState)
		next := state{Version: formatVersion, User: s.User, Enroll: s.Enroll, Radius: rs, Round: s.Round + 1}
		ch, err := f.challenge(next, replyMessage(reply))
		if err != nil {
			return err
		}
		return &ContinueError{Challenge: ch}
	}
	return factor.ErrWrongResponse
}

// replyMessage joins the Reply-Message attributes, printable text only.
func replyMessage(p *Packet) string {
	var b strings.Builder
	for _, a := range p.Attributes {
		if a.Type == AttrReplyMessage {
			b.Write(a.Value)
		}
	}
	msg := strings.Map(func(r rune) rune {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\n') {
			return -1
		}
		return r
	}, b.String())
	return strings.TrimSpace(msg)
}
