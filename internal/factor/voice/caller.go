package voice

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/sms"
)

// DefaultBaseURL is Twilio's API endpoint.
const DefaultBaseURL = "https://api.twilio.com"

// CallerConfig configures a Caller: Twilio's Voice Calls API (or any
// service that speaks it).
type CallerConfig struct {
	// BaseURL is the API's scheme and host; DefaultBaseURL when empty.
	BaseURL string
	// AccountSID ("AC…") names the account in the request path.
	AccountSID string
	// AuthToken, or APIKeySID and APIKeySecret, authenticate.
	AuthToken    string
	APIKeySID    string
	APIKeySecret string
	// From is the calling number (E.164), one the account owns.
	From string
	// Voice and Language are TwiML <Say>'s attributes ("alice", "en-US";
	// Twilio's defaults when empty).
	Voice    string
	Language string
	// Timeout bounds one request; 15 seconds when zero.
	Timeout    time.Duration
	HTTPClient *http.Client
}

// Caller places the calls that speak codes.
type Caller struct {
	cfg      CallerConfig
	endpoint string
	client   *http.Client
}

// NewCaller checks cfg and returns a Caller.
func NewCaller(cfg CallerConfig) (*Caller, error) {
	var errs []error
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("voice: base URL %q is not an http(s) URL", cfg.BaseURL))
	}
	if cfg.AccountSID == "" || strings.ContainsAny(cfg.AccountSID, "/?#% ") {
		errs = append(errs, errors.New("voice: an account SID is required"))
	}
	if cfg.APIKeySID == "" && cfg.AuthToken == "" {
		errs = append(errs, errors.New("voice: an auth token or an API key SID and secret is required"))
	}
	if cfg.APIKeySID != "" && cfg.APIKeySecret == "" {
		errs = append(errs, errors.New("voice: API key secret is required with an API key SID"))
	}
	if _, _, ok := sms.SplitCountryCode(cfg.From); !ok {
		errs = append(errs, fmt.Errorf("voice: the From number %q is not E.164", cfg.From))
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
	endpoint := strings.TrimRight(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Calls.json"
	return &Caller{cfg: cfg, endpoint: endpoint, client: client}, nil
}

// Call is the part of Twilio's call resource sspr keeps.
type Call struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
	To     string `json:"to"`
	From   string `json:"from"`
}

// APIError is Twilio's error document.
type APIError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("voice: Twilio HTTP %d, error %d: %s", e.Status, e.Code, e.Message)
}

// Unwrap lets errors.Is(err, sms.ErrUnauthorized) see refused
// credentials.
func (e *APIError) Unwrap() error {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Code == 20003 {
		return sms.ErrUnauthorized
	}
	return nil
}

// TwiML is the call's script: the code said digit by digit, twice, in
// the text's words. text has one %s for the digits, e.g. "Your
// verification code is %s.".
func TwiML(text, code, voice, language string) (string, error) {
	if strings.Count(text, "%s") != 1 {
		return "", errors.New("voice: the spoken text needs exactly one %s for the code")
	}
	digits := make([]string, 0, len(code))
	for _, r := range code {
		digits = append(digits, string(r))
	}
	// Commas make text-to-speech pause between digits.
	spoken := fmt.Sprintf(text, strings.Join(digits, ", "))
	var b strings.Builder
	b.WriteString(xml.Header + "<Response>")
	for i := 0; i < 2; i++ {
		if i > 0 {
			b.WriteString(`<Pause length="1"/>`)
		}
		b.WriteString("<Say")
		for _, a := range [][2]string{{"voice", voice}, {"language", language}} {
			if a[1] != "" {
				b.WriteString(" " + a[0] + `="`)
				if err := xml.EscapeText(&b, []byte(a[1])); err != nil {
					return "", err
				}
				b.WriteString(`"`)
			}
		}
		b.WriteString(">")
		if err := xml.EscapeText(&b, []byte(spoken)); err != nil {
			return "", err
		}
		b.WriteString("</Say>")
	}
	b.WriteString("</Response>")
	return b.String(), nil
}

// Call phones to and speaks code (text has one %s for it). The code and
// the TwiML never appear in errors.
func (c *Caller) Call(ctx context.Context, to, code, text string) (Call, error) {
	return c.CallIn(ctx, to, code, text, "")
}

// CallIn is Call with the text's language ("de-DE"), so the voice reads a
// translated text in its own language. A Language in the CallerConfig
// wins: an operator who set one wants every call in it.
func (c *Caller) CallIn(ctx context.Context, to, code, text, language string) (Call, error) {
	if c.cfg.Language != "" {
		language = c.cfg.Language
	}
	twiml, err := TwiML(text, code, c.cfg.Voice, language)
	if err != nil {
		return Call{}, err
	}
	form := url.Values{"To": {to}, "From": {c.cfg.From}, "Twiml": {twiml}}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Call{}, fmt.Errorf("voice: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKeySID != "" {
		req.SetBasicAuth(c.cfg.APIKeySID, c.cfg.APIKeySecret)
	} else {
		req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return Call{}, fmt.Errorf("voice: calling %s: %w", sms.Mask(to), err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return Call{}, fmt.Errorf("voice: reading the answer: %w", err)
	}
	if res.StatusCode == http.StatusCreated || res.StatusCode == http.StatusOK {
		var call Call
		if err := json.Unmarshal(data, &call); err != nil || call.SID == "" {
			return Call{}, fmt.Errorf("voice: HTTP %d without a call resource", res.StatusCode)
		}
		if call.Status == "failed" || call.Status == "canceled" {
			return call, sms.Permanent(sms.ReasonRejected, fmt.Errorf("voice: call %s is %s", call.SID, call.Status))
		}
		return call, nil
	}
	apiErr := &APIError{}
	if json.Unmarshal(data, apiErr) != nil {
		apiErr = &APIError{Message: http.StatusText(res.StatusCode)}
	}
	apiErr.Status = res.StatusCode
	if apiErr.Code == 21211 || apiErr.Code == 21217 || apiErr.Code == 21401 {
		return Call{}, sms.Permanent(sms.ReasonInvalidNumber, apiErr)
	}
	return Call{}, apiErr
}
