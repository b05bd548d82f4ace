package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Client speaks sspr's JSON API (internal/api/openapi.yaml).
type Client struct {
	// BaseURL is the server, e.g. https://sspr.example.com.
	BaseURL string
	// Language is sent as Accept-Language, so the server's messages come
	// in the person's language.
	Language string
	HTTP     *http.Client
}

// NewClient builds a client with a timeout for every call and, when caFile
// is set, trust in that CA only.
func NewClient(baseURL, caFile, lang string, timeout time.Duration) (*Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading the server's CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Language: lang, HTTP: &http.Client{Timeout: timeout, Transport: tr}}, nil
}

// Status is a flow as the API shows it.
type Status struct {
	FlowID          string         `json:"flow_id"`
	Action          string         `json:"action"`
	State           string         `json:"state"`
	Factor          string         `json:"factor"`
	Prompt          map[string]any `json:"prompt"`
	Choices         []string       `json:"choices"`
	FactorsDone     int            `json:"factors_done"`
	FactorsRequired int            `json:"factors_required"`
	CodeLength      int            `json:"code_length"`
	AttemptsLeft    int            `json:"attempts_left"`
	// Sync is each sync target's outcome once the reset is done, worded
	// by the server in the person's language.
	Sync []SyncOutcome `json:"sync"`
}

// SyncOutcome is how far the new password got to one other system.
type SyncOutcome struct {
	Label   string `json:"label"`
	State   string `json:"state"` // delivered, pending or failed
	Message string `json:"message"`
}

// Rule is one password rule as the API words it.
type Rule struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Passed  bool   `json:"passed"`
	Hidden  bool   `json:"hidden"`
	// Optional rules are informative and never make a password fail.
	Optional bool `json:"optional"`
}

// APIError is a refusal the server explained.
type APIError struct {
	Status       int
	Code         string `json:"code"`
	Message      string `json:"message"`
	AttemptsLeft int    `json:"attempts_left"`
	Rules        []Rule `json:"rules"`
}

func (e *APIError) Error() string { return fmt.Sprintf("sspr: %d %s: %s", e.Status, e.Code, e.Message) }

// ErrUnreachable wraps failures to talk to the server at all (network,
// TLS, timeouts, a 5xx without an explanation).
var ErrUnreachable = errors.New("the sspr server cannot be reached")

// post sends body to path and decodes a 2xx answer into out; a refusal
// becomes *APIError.
func (c *Client) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.Language != "" {
		req.Header.Set("Accept-Language", c.Language)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%w: the answer to %s is not JSON", ErrUnreachable, path)
		}
		return nil
	}
	var wrapped struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(raw, &wrapped) != nil || wrapped.Error == nil {
		return fmt.Errorf("%w: %s answered %d", ErrUnreachable, path, resp.StatusCode)
	}
	wrapped.Error.Status = resp.StatusCode
	return wrapped.Error
}

// Start begins a reset ("reset") or unlock ("unlock") flow for login.
func (c *Client) Start(ctx context.Context, action, login string) (Status, error) {
	var st Status
	path := "/api/v1/reset"
	if action == "unlock" {
		path = "/api/v1/unlock"
	}
	err := c.post(ctx, path, map[string]string{"login": login}, &st)
	return st, err
}

// step posts to a flow's step; the server names the flow only when it
// starts it, so the answer is stamped with flowID here.
func (c *Client) step(ctx context.Context, path, flowID string, body map[string]any) (Status, error) {
	body["flow_id"] = flowID
	var st Status
	err := c.post(ctx, path, body, &st)
	st.FlowID = flowID
	return st, err
}

// Choose asks for a challenge of another factor kind.
func (c *Client) Choose(ctx context.Context, flowID, kind string) (Status, error) {
	return c.step(ctx, "/api/v1/reset/choose", flowID, map[string]any{"factor": kind})
}

// Resend issues the current challenge again.
func (c *Client) Resend(ctx context.Context, flowID string) (Status, error) {
	return c.step(ctx, "/api/v1/reset/resend", flowID, map[string]any{})
}

// VerifyCode answers a code challenge.
func (c *Client) VerifyCode(ctx context.Context, flowID, code string) (Status, error) {
	return c.step(ctx, "/api/v1/reset/verify", flowID, map[string]any{"code": code})
}

// PushWait bounds a Duo push call: the server answers only once the phone
// did (or verification.duo.push_timeout passed), longer than other calls.
const PushWait = 2 * time.Minute

// VerifyPush asks for a Duo push and waits for the phone's answer.
func (c *Client) VerifyPush(ctx context.Context, flowID string) (Status, error) {
	long := *c
	if c.HTTP != nil && c.HTTP.Timeout > 0 && c.HTTP.Timeout < PushWait {
		h := *c.HTTP
		h.Timeout = PushWait
		long.HTTP = &h
	}
	return long.step(ctx, "/api/v1/reset/verify", flowID, map[string]any{"response": map[string]string{"method": "push"}})
}

// VerifyAnswers answers questions ("answer.<id>" → answer).
func (c *Client) VerifyAnswers(ctx context.Context, flowID string, answers map[string]string) (Status, error) {
	return c.step(ctx, "/api/v1/reset/verify", flowID, map[string]any{"response": answers})
}

// Rules lists the password rules of a verified reset flow.
func (c *Client) Rules(ctx context.Context, flowID string) ([]Rule, error) {
	var out struct {
		Rules []Rule `json:"rules"`
	}
	err := c.post(ctx, "/api/v1/password/rules", map[string]string{"flow_id": flowID}, &out)
	return out.Rules, err
}

// SetPassword writes the new password of a verified reset flow.
func (c *Client) SetPassword(ctx context.Context, flowID, password string) (Status, error) {
	return c.step(ctx, "/api/v1/reset/password", flowID, map[string]any{"password": password})
}

// Unlock clears the lockout of a verified unlock flow.
func (c *Client) Unlock(ctx context.Context, flowID string) (Status, error) {
	return c.step(ctx, "/api/v1/unlock/confirm", flowID, map[string]any{})
}

// CheckResult is the server's verdict on a candidate password.
type CheckResult struct {
	OK     bool   `json:"ok"`
	Checks []Rule `json:"checks"`
}

// CheckPassword runs the rules that hold for everyone (and the breached-
// password corpus) against a candidate, with login as context.
func (c *Client) CheckPassword(ctx context.Context, login, password string) (CheckResult, error) {
	var out CheckResult
	err := c.post(ctx, "/api/v1/password/check", map[string]string{"login": login, "password": password}, &out)
	return out, err
}
