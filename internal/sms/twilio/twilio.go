package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/sms"
)

// DefaultBaseURL is Twilio's API endpoint.
const DefaultBaseURL = "https://api.twilio.com"

// Config configures a Sender.
type Config struct {
	// BaseURL is the API's scheme and host; DefaultBaseURL when empty.
	// Tests point it at smstest.Twilio.
	BaseURL string
	// AccountSID ("AC…") names the account in the request path.
	AccountSID string
	// AuthToken is the account's auth token, used unless APIKeySID is set.
	AuthToken string
	// APIKeySID ("SK…") and APIKeySecret authenticate with an API key
	// instead of the auth token.
	APIKeySID    string
	APIKeySecret string
	// From is the sending number (E.164) or alphanumeric sender ID.
	From string
	// MessagingServiceSID ("MG…") sends through a messaging service
	// instead of From; one of the two is required.
	MessagingServiceSID string
	// Timeout bounds one request; 15 seconds when zero.
	Timeout time.Duration
	// HTTPClient, when set, is used instead of a default client.
	HTTPClient *http.Client
}

// Sender sends messages through one Twilio account.
type Sender struct {
	cfg      Config
	endpoint string
	client   *http.Client
}

var _ sms.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender.
func New(cfg Config) (*Sender, error) {
	var errs []error
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		errs = append(errs, fmt.Errorf("twilio: base URL %q is not an http(s) URL", cfg.BaseURL))
	}
	if cfg.AccountSID == "" {
		errs = append(errs, errors.New("twilio: account SID is required"))
	} else if strings.ContainsAny(cfg.AccountSID, "/?#% ") {
		errs = append(errs, fmt.Errorf("twilio: account SID %q has characters a SID does not have", cfg.AccountSID))
	}
	if cfg.APIKeySID == "" && cfg.AuthToken == "" {
		errs = append(errs, errors.New("twilio: an auth token or an API key SID and secret is required"))
	}
	if cfg.APIKeySID != "" && cfg.APIKeySecret == "" {
		errs = append(errs, errors.New("twilio: API key secret is required with an API key SID"))
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		errs = append(errs, errors.New("twilio: a From number or a messaging service SID is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	endpoint := strings.TrimRight(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return &Sender{cfg: cfg, endpoint: endpoint, client: client}, nil
}

// Message is the part of Twilio's message resource sspr keeps.
type Message struct {
	SID         string `json:"sid"`
	Status      string `json:"status"`
	To          string `json:"to"`
	From        string `json:"from"`
	DateCreated string `json:"date_created"`
	NumSegments string `json:"num_segments"`
}

// APIError is Twilio's documented error document.
type APIError struct {
	// Code is Twilio's error code (21211, 20003, ...).
	Code int `json:"code"`
	// Message is Twilio's description.
	Message string `json:"message"`
	// MoreInfo links to Twilio's page on the code.
	MoreInfo string `json:"more_info"`
	// Status is the HTTP status.
	Status int `json:"status"`
}

func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("twilio: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("twilio: HTTP %d, error %d: %s", e.Status, e.Code, e.Message)
}

// Unwrap lets errors.Is(err, sms.ErrUnauthorized) see refused credentials.
func (e *APIError) Unwrap() error {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Code == 20003 {
		return sms.ErrUnauthorized
	}
	return nil
}

// permanentCodes are Twilio error codes that say the recipient can never
// get this message: retrying will not help.
var permanentCodes = map[int]string{
	21211: sms.ReasonInvalidNumber, // Invalid 'To' Phone Number
	21217: sms.ReasonInvalidNumber, // Phone number does not appear to be valid
	21401: sms.ReasonInvalidNumber, // Invalid Phone Number
	21614: sms.ReasonNotMobile,     // 'To' number is not a valid mobile number
	21610: sms.ReasonUnsubscribed,  // Attempt to send to unsubscribed recipient
	21612: sms.ReasonUnreachable,   // The 'To' phone number is not currently reachable
	21408: sms.ReasonUnreachable,   // Permission to send an SMS has not been enabled for the region
}

// Send sends body to the E.164 number to.
func (s *Sender) Send(ctx context.Context, to, body string) error {
	_, err := s.SendMessage(ctx, to, body)
	return err
}

// SendMessage sends body to to and returns Twilio's record of it (its SID
// is worth keeping in the audit log).
func (s *Sender) SendMessage(ctx context.Context, to, body string) (Message, error) {
	form := url.Values{"To": {to}, "Body": {body}}
	if s.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", s.cfg.MessagingServiceSID)
	}
	if s.cfg.From != "" {
		form.Set("From", s.cfg.From)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Message{}, fmt.Errorf("twilio: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sspr")
	if s.cfg.APIKeySID != "" {
		req.SetBasicAuth(s.cfg.APIKeySID, s.cfg.APIKeySecret)
	} else {
		req.SetBasicAuth(s.cfg.AccountSID, s.cfg.AuthToken)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// Timeouts, refused connections, resets: worth a retry.
		return Message{}, fmt.Errorf("twilio: sending to %s: %w", sms.Mask(to), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Message{}, fmt.Errorf("twilio: reading the answer: %w", err)
	}
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		var m Message
		if err := json.Unmarshal(data, &m); err != nil {
			return Message{}, fmt.Errorf("twilio: HTTP %d with an unreadable body: %w", resp.StatusCode, err)
		}
		if m.Status == "failed" || m.Status == "undelivered" {
			return m, sms.Permanent(sms.ReasonRejected, fmt.Errorf("twilio: message %s is %s", m.SID, m.Status))
		}
		return m, nil
	}
	return Message{}, classify(resp, data)
}

func classify(resp *http.Response, data []byte) error {
	apiErr := &APIError{}
	if json.Unmarshal(data, apiErr) != nil || (apiErr.Code == 0 && apiErr.Message == "") {
		apiErr = &APIError{Message: strings.TrimSpace(snippet(data))}
	}
	apiErr.Status = resp.StatusCode
	if apiErr.Message == "" {
		apiErr.Message = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		if reason := permanentCodes[apiErr.Code]; reason != "" {
			return sms.Permanent(reason, apiErr)
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, err := strconv.Atoi(s); err == nil {
				return &RetryAfterError{After: time.Duration(secs) * time.Second, Err: apiErr}
			}
		}
	}
	return apiErr
}

// RetryAfterError carries the delay a 429 answer asked for.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

// Unwrap returns the API error.
func (e *RetryAfterError) Unwrap() error { return e.Err }

func snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
