package duo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/sspr/sspr/internal/factor"
)

// Kind is the factor kind "duo".
const Kind factor.Kind = "duo"

// The methods sspr offers.
const (
	MethodPush     = "push"
	MethodPasscode = "passcode"
)

// Defaults.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultPollInterval = 2 * time.Second
	DefaultPushTimeout  = 60 * time.Second
	DefaultTTL          = 5 * time.Minute
	DefaultLabel        = "Duo"
)

// Config configures the factor.
type Config struct {
	// Host is the Auth API host name ("api-XXXXXXXX.duosecurity.com").
	Host string
	// IntegrationKey and SecretKey are the Auth API application's keys.
	IntegrationKey string
	SecretKey      string
	// Methods offered: push and passcode (both by default).
	Methods []string
	// Enroll makes people enroll their Duo user name (proved by one
	// approved authentication); otherwise it comes from the directory:
	// UsernameAttribute, or the login.
	Enroll            bool
	UsernameAttribute string
	// HTTPClient makes the requests (one with Timeout by default).
	HTTPClient *http.Client
	Timeout    time.Duration
	// PollInterval is the wait between /auth_status polls (2 s);
	// PushTimeout bounds the wait for an answer to a push (60 s, Duo's
	// own limit).
	PollInterval time.Duration
	PushTimeout  time.Duration
	// TTL bounds how long a challenge may be answered (5 minutes).
	TTL time.Duration
	// Label is the enrollment's label ("Duo").
	Label string
	// Clock returns the current time (time.Now by default).
	Clock func() time.Time
}

// Factor is the Duo factor. It is stateless and safe for concurrent use.
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
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, "/?# ") {
		problems = append(problems, "the API host name is required (api-XXXXXXXX.duosecurity.com)")
	}
	if len(cfg.IntegrationKey) < 10 || strings.Contains(cfg.IntegrationKey, ":") {
		problems = append(problems, "the integration key is required")
	}
	if len(cfg.SecretKey) < 16 {
		problems = append(problems, "the secret key is required (40 characters from the Duo Admin Panel)")
	}
	if len(cfg.Methods) == 0 {
		cfg.Methods = []string{MethodPush, MethodPasscode}
	}
	for _, m := range cfg.Methods {
		if m != MethodPush && m != MethodPasscode {
			problems = append(problems, fmt.Sprintf("method %q is not push or passcode", m))
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.PushTimeout == 0 {
		cfg.PushTimeout = DefaultPushTimeout
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
		return nil, fmt.Errorf("duo: %s", strings.Join(problems, "; "))
	}
	return &Factor{cfg: cfg}, nil
}

// Kind returns Kind.
func (f *Factor) Kind() factor.Kind { return Kind }

// NeedsEnrollment is Config.Enroll.
func (f *Factor) NeedsEnrollment() bool { return f.cfg.Enroll }

type record struct {
	Version int    `json:"v"`
	User    string `json:"user"`
	Decoy   bool   `json:"decoy,omitempty"`
}

type state struct {
	Version int       `json:"v"`
	User    string    `json:"user"`
	Decoy   bool      `json:"decoy,omitempty"`
	Enroll  bool      `json:"enroll,omitempty"`
	Expires time.Time `json:"exp"`
}

const formatVersion = 1

// prompt is the same for everybody: the methods offered.
func (f *Factor) prompt() map[string]any {
	return map[string]any{"methods": slices.Clone(f.cfg.Methods), "field": "passcode",
		"message": "Approve the request on your phone, or enter a passcode from Duo Mobile."}
}

func (f *Factor) challenge(s state) (factor.Challenge, error) {
	s.Version = formatVersion
	s.Expires = f.cfg.Clock().Add(f.cfg.TTL)
	b, err := json.Marshal(s)
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{Prompt: f.prompt(), State: b, Expires: s.Expires}, nil
}

func (f *Factor) open(st []byte, enroll bool) (state, error) {
	var s state
	if err := json.Unmarshal(st, &s); err != nil || s.Version != formatVersion || s.Enroll != enroll {
		return s, errors.New("duo: challenge state is malformed")
	}
	if !f.cfg.Clock().Before(s.Expires) {
		return s, factor.ErrExpired
	}
	return s, nil
}

func checkUsername(u string) error {
	if u == "" || len(u) > 256 || strings.IndexFunc(u, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: a Duo user name is 1 to 256 printable characters", factor.ErrBadInput)
	}
	return nil
}

// BeginEnroll takes the person's Duo user name (input "username") and
// checks with /preauth that Duo can authenticate it.
func (f *Factor) BeginEnroll(ctx context.Context, _ factor.Subject, input factor.Response) (factor.Challenge, error) {
	user := strings.TrimSpace(input.Values["username"])
	if err := checkUsername(user); err != nil {
		return factor.Challenge{}, err
	}
	res, err := f.preauth(ctx, user)
	if err != nil {
		return factor.Challenge{}, err
	}
	if res.Result != "auth" {
		return factor.Challenge{}, fmt.Errorf("%w: Duo cannot authenticate this user name", factor.ErrBadInput)
	}
	return f.challenge(state{User: user, Enroll: true})
}

// FinishEnroll authenticates the pending user name (a push approved, or a
// passcode accepted) and returns the enrollment.
func (f *Factor) FinishEnroll(ctx context.Context, _ factor.Subject, st []byte, resp factor.Response) (factor.Enrollment, error) {
	s, err := f.open(st, true)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if err := f.authenticate(ctx, s.User, resp); err != nil {
		return factor.Enrollment{}, err
	}
	secret, err := json.Marshal(record{Version: formatVersion, User: s.User})
	if err != nil {
		return factor.Enrollment{}, err
	}
	now := f.cfg.Clock()
	return factor.Enrollment{Kind: Kind, Label: f.cfg.Label, Secret: secret, CreatedAt: now, LastUsedAt: now}, nil
}

// DecoyEnrollment returns an enrollment that challenges like a real one
// and never verifies (Duo is never asked).
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	secret, _ := json.Marshal(record{Version: formatVersion, Decoy: true})
	return factor.Enrollment{ID: "decoy", Kind: Kind, Label: f.cfg.Label, Secret: secret}
}

func (f *Factor) username(s factor.Subject, e factor.Enrollment) (string, bool, error) {
	if len(e.Secret) > 0 {
		var r record
		if err := json.Unmarshal(e.Secret, &r); err != nil || r.Version != formatVersion {
			return "", false, errors.New("duo: enrollment is malformed")
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

// Challenge offers the methods; it sends nothing (the push goes out when
// the person asks for it, in Verify), so it looks the same for everybody.
func (f *Factor) Challenge(_ context.Context, s factor.Subject, e factor.Enrollment) (factor.Challenge, error) {
	user, decoy, err := f.username(s, e)
	if err != nil {
		return factor.Challenge{}, err
	}
	return f.challenge(state{User: user, Decoy: decoy})
}

// Verify authenticates with the method the person chose: resp "method"
// push (sends a push and waits for the answer, polling /auth_status) or
// passcode (resp "passcode"). Approved: the factor is proved; denied,
// timed out, a wrong passcode: factor.ErrWrongResponse.
func (f *Factor) Verify(ctx context.Context, _ factor.Subject, e factor.Enrollment, st []byte, resp factor.Response) (factor.Enrollment, error) {
	s, err := f.open(st, false)
	if err != nil {
		return factor.Enrollment{}, err
	}
	if s.Decoy || s.User == "" {
		return factor.Enrollment{}, factor.ErrWrongResponse
	}
	if err := f.authenticate(ctx, s.User, resp); err != nil {
		return factor.Enrollment{}, err
	}
	e.LastUsedAt = f.cfg.Clock()
	return e, nil
}

// ErrPushTimeout is wrapped (with factor.ErrWrongResponse) when nobody
// answered a push in time.
var ErrPushTimeout = errors.New("duo: the push was not answered in time")

// ErrPushDenied is wrapped (with factor.ErrWrongResponse) when the person
// denied the push on their phone.
var ErrPushDenied = errors.New("duo: the push was denied")

// DecoyWait is how long a real verification of resp may take at most
// when nobody answers: a push waits up to the push timeout, a passcode
// not at all. The flow makes a decoy's push take as long, so that a push
// for a stranger looks like one nobody answered.
func (f *Factor) DecoyWait(resp factor.Response) time.Duration {
	method := resp.Values["method"]
	if method == "" && resp.Values["passcode"] == "" {
		method = MethodPush
	}
	if method == MethodPush && slices.Contains(f.cfg.Methods, MethodPush) {
		return f.cfg.PushTimeout
	}
	return 0
}

func (f *Factor) authenticate(ctx context.Context, user string, resp factor.Response) error {
	method := resp.Values["method"]
	if method == "" {
		method = MethodPasscode
		if resp.Values["passcode"] == "" {
			method = MethodPush
		}
	}
	if !slices.Contains(f.cfg.Methods, method) {
		return factor.ErrWrongResponse
	}
	pre, err := f.preauth(ctx, user)
	if err != nil {
		return err
	}
	// "allow" is a bypass configured in Duo: it proves nothing here.
	if pre.Result != "auth" {
		return factor.ErrWrongResponse
	}
	switch method {
	case MethodPasscode:
		code := strings.TrimSpace(resp.Values["passcode"])
		if code == "" || len(code) > 32 {
			return factor.ErrWrongResponse
		}
		res, err := f.call(ctx, http.MethodPost, "/auth/v2/auth", url.Values{"username": {user}, "factor": {"passcode"}, "passcode": {code}}, "allow", "deny")
		if err != nil {
			return err
		}
		if res.Result != "allow" {
			return factor.ErrWrongResponse
		}
		return nil
	}
	res, err := f.call(ctx, http.MethodPost, "/auth/v2/auth", url.Values{"username": {user}, "factor": {"push"}, "device": {"auto"}, "async": {"1"}})
	if err != nil {
		return err
	}
	if res.TxID == "" {
		return fmt.Errorf("%w: an asynchronous auth without a txid", ErrAPI)
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.PushTimeout)
	defer cancel()
	for {
		st, err := f.call(ctx, http.MethodGet, "/auth/v2/auth_status", url.Values{"txid": {res.TxID}}, "waiting", "allow", "deny")
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %w", factor.ErrWrongResponse, ErrPushTimeout)
			}
			return err
		}
		switch st.Result {
		case "allow":
			return nil
		case "deny":
			if st.Status == "timeout" {
				return fmt.Errorf("%w: %w", factor.ErrWrongResponse, ErrPushTimeout)
			}
			return fmt.Errorf("%w: %w", factor.ErrWrongResponse, ErrPushDenied)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", factor.ErrWrongResponse, ErrPushTimeout)
		case <-time.After(f.cfg.PollInterval):
		}
	}
}

func (f *Factor) preauth(ctx context.Context, user string) (Result, error) {
	return f.call(ctx, http.MethodPost, "/auth/v2/preauth", url.Values{"username": {user}}, "auth", "allow", "deny", "enroll")
}

// call sends a signed request and parses the answer.
func (f *Factor) call(ctx context.Context, method, path string, params url.Values, allowed ...string) (Result, error) {
	date := f.cfg.Clock().UTC().Format(DateFormat)
	body := CanonParams(params)
	target := "https://" + f.cfg.Host + path
	var rd io.Reader
	if method == http.MethodGet {
		target += "?" + body
	} else {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", Authorization(f.cfg.IntegrationKey, f.cfg.SecretKey, date, method, f.cfg.Host, path, params))
	if rd != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		// Never the URL: a GET's query may hold a passcode.
		var ue *url.Error
		if errors.As(err, &ue) {
			return Result{}, fmt.Errorf("%s %s%s: %w", ue.Op, req.URL.Host, req.URL.Path, ue.Err)
		}
		return Result{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return Result{}, err
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return Result{}, fmt.Errorf("%w: %s answered HTTP %d with %q, not JSON", ErrAPI, path, res.StatusCode, printable(ct))
	}
	return ParseResult(b, allowed...)
}
