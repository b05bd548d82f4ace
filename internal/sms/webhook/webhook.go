package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/sspr/sspr/internal/sms"
)

// Config describes a gateway.
type Config struct {
	// URL is a template for the request URL (see the package doc).
	URL string
	// Method is the HTTP method; POST when empty.
	Method string
	// Headers are sent with every request (an Authorization header, an
	// API key); their values never appear in errors.
	Headers map[string]string
	// Body is a template for the request body; empty sends no body.
	Body string
	// ContentType of the body; application/json when empty and Body is
	// set.
	ContentType string
	// SuccessStatus lists the status codes that mean "accepted"; any 2xx
	// when empty.
	SuccessStatus []int
	// SuccessField, when set, names a field of the JSON answer (dotted for
	// nested objects: "result.status") whose value must match
	// SuccessMatch (or be true / non-empty when SuccessMatch is empty).
	SuccessField string
	// SuccessMatch is a regular expression the answer must match: the
	// value of SuccessField when set, else the whole body.
	SuccessMatch string
	// PermanentStatus lists status codes that mean the number can never
	// receive the message (a gateway answering 400 or 422 for an invalid
	// number): they become *sms.PermanentError. Other failures are
	// retried.
	PermanentStatus []int
	// PermanentMatch is a regular expression which, when it matches a
	// failed answer's body, makes the failure permanent ("invalid
	// number").
	PermanentMatch string
	// Timeout bounds one request; 15 seconds when zero.
	Timeout time.Duration
	// HTTPClient, when set, is used instead of a default client.
	HTTPClient *http.Client
}

// Data is what the templates see.
type Data struct {
	// To is the E.164 number, "+14155550142".
	To string
	// Digits is To without the "+", "14155550142".
	Digits string
	// CountryCode and National split To: "1", "4155550142".
	CountryCode string
	National    string
	// Body is the message text.
	Body string
}

// Sender sends messages to one gateway.
type Sender struct {
	cfg       Config
	url, body *template.Template
	success   *regexp.Regexp
	permanent *regexp.Regexp
	client    *http.Client
}

var _ sms.Sender = (*Sender)(nil)

// Funcs are the template helpers: json, query, path.
var Funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"query": url.QueryEscape,
	"path":  url.PathEscape,
}

// New checks cfg (templates parse, expressions compile, the URL renders to
// an http(s) URL) and returns a Sender.
func New(cfg Config) (*Sender, error) {
	var errs []error
	s := &Sender{cfg: cfg}
	if cfg.URL == "" {
		errs = append(errs, errors.New("webhook: url is required"))
	} else if t, err := template.New("url").Funcs(Funcs).Option("missingkey=error").Parse(cfg.URL); err != nil {
		errs = append(errs, fmt.Errorf("webhook: url template: %w", err))
	} else {
		s.url = t
		if u, err := s.render(t, Data{To: "+14155550142", Digits: "14155550142", CountryCode: "1", National: "4155550142", Body: "test"}); err != nil {
			errs = append(errs, fmt.Errorf("webhook: url template: %w", err))
		} else if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("webhook: url %q does not render to an http(s) URL", cfg.URL))
		}
	}
	if cfg.Body != "" {
		t, err := template.New("body").Funcs(Funcs).Option("missingkey=error").Parse(cfg.Body)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook: body template: %w", err))
		}
		s.body = t
	}
	if cfg.Method == "" {
		s.cfg.Method = http.MethodPost
	}
	s.cfg.Method = strings.ToUpper(s.cfg.Method)
	switch s.cfg.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		errs = append(errs, fmt.Errorf("webhook: method %q is not GET, POST, PUT or PATCH", cfg.Method))
	}
	if cfg.Body != "" && s.cfg.ContentType == "" {
		s.cfg.ContentType = "application/json"
	}
	for name, value := range cfg.Headers {
		if name == "" || strings.ContainsAny(name, " :\r\n") || strings.ContainsAny(value, "\r\n") {
			errs = append(errs, fmt.Errorf("webhook: header %q is not a valid header", name))
		}
	}
	for _, code := range append(slices.Clone(cfg.SuccessStatus), cfg.PermanentStatus...) {
		if code < 100 || code > 599 {
			errs = append(errs, fmt.Errorf("webhook: %d is not an HTTP status code", code))
		}
	}
	if cfg.SuccessMatch != "" {
		re, err := regexp.Compile(cfg.SuccessMatch)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook: success_match: %w", err))
		}
		s.success = re
	}
	if cfg.PermanentMatch != "" {
		re, err := regexp.Compile(cfg.PermanentMatch)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook: permanent_match: %w", err))
		}
		s.permanent = re
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if s.cfg.Timeout <= 0 {
		s.cfg.Timeout = 15 * time.Second
	}
	s.client = cfg.HTTPClient
	if s.client == nil {
		s.client = &http.Client{}
	}
	return s, nil
}

func (s *Sender) render(t *template.Template, d Data) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Render returns the URL and body the gateway would receive for a message,
// for `sspr config check` and tests.
func (s *Sender) Render(to, body string) (u, reqBody string, err error) {
	d, err := data(to, body)
	if err != nil {
		return "", "", err
	}
	if u, err = s.render(s.url, d); err != nil {
		return "", "", fmt.Errorf("webhook: url template: %w", err)
	}
	if s.body != nil {
		if reqBody, err = s.render(s.body, d); err != nil {
			return "", "", fmt.Errorf("webhook: body template: %w", err)
		}
	}
	return u, reqBody, nil
}

func data(to, body string) (Data, error) {
	cc, national, ok := sms.SplitCountryCode(to)
	if !ok {
		return Data{}, sms.Permanent(sms.ReasonInvalidNumber, fmt.Errorf("webhook: %q is not an E.164 number", to))
	}
	return Data{To: to, Digits: to[1:], CountryCode: cc, National: national, Body: body}, nil
}

// Send sends body to the E.164 number to.
func (s *Sender) Send(ctx context.Context, to, body string) error {
	u, reqBody, err := s.Render(to, body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if s.body != nil {
		rd = strings.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, s.cfg.Method, u, rd)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	if s.body != nil {
		req.Header.Set("Content-Type", s.cfg.ContentType)
	}
	req.Header.Set("User-Agent", "sspr")
	for name, value := range s.cfg.Headers {
		req.Header.Set(name, value)
	}
	where := req.URL.Scheme + "://" + req.URL.Host
	resp, err := s.client.Do(req)
	if err != nil {
		// Not err itself: a *url.Error would print the rendered URL,
		// which may carry the number, the code or a key.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: sending to %s through %s: %w", sms.Mask(to), where, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("webhook: reading the answer of %s: %w", where, err)
	}
	statusOK := false
	if len(s.cfg.SuccessStatus) == 0 {
		statusOK = resp.StatusCode >= 200 && resp.StatusCode < 300
	} else {
		statusOK = slices.Contains(s.cfg.SuccessStatus, resp.StatusCode)
	}
	fail := &StatusError{URL: where, Status: resp.StatusCode, Body: snippet(answer)}
	if statusOK {
		why, ok := s.accepted(answer)
		if ok {
			return nil
		}
		fail.Reason = why
	}
	if slices.Contains(s.cfg.PermanentStatus, resp.StatusCode) ||
		(s.permanent != nil && s.permanent.Match(answer)) {
		return sms.Permanent(sms.ReasonRejected, fail)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("%w: %w", sms.ErrUnauthorized, fail)
	}
	return fail
}

// accepted applies the body part of the success rule.
func (s *Sender) accepted(answer []byte) (string, bool) {
	if s.cfg.SuccessField == "" {
		if s.success == nil || s.success.Match(answer) {
			return "", true
		}
		return "the answer does not match success_match", false
	}
	var doc any
	if err := json.Unmarshal(answer, &doc); err != nil {
		return "the answer is not JSON", false
	}
	v, ok := lookup(doc, s.cfg.SuccessField)
	if !ok {
		return fmt.Sprintf("the answer has no field %q", s.cfg.SuccessField), false
	}
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case nil:
		text = ""
	default:
		b, _ := json.Marshal(x)
		text = string(b)
	}
	if s.success != nil {
		if s.success.MatchString(text) {
			return "", true
		}
		return fmt.Sprintf("field %q is %q, which does not match success_match", s.cfg.SuccessField, text), false
	}
	if text != "" && text != "false" && text != "0" {
		return "", true
	}
	return fmt.Sprintf("field %q is %q", s.cfg.SuccessField, text), false
}

func lookup(doc any, path string) (any, bool) {
	for part := range strings.SplitSeq(path, ".") {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, false
		}
		if doc, ok = m[part]; !ok {
			return nil, false
		}
	}
	return doc, true
}

// StatusError is a gateway answer that does not meet the success rule.
type StatusError struct {
	// URL is the gateway's scheme and host (not the path or query, which
	// may carry secrets).
	URL    string
	Status int
	// Reason says why a success status was not enough.
	Reason string
	// Body is the start of the answer.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("webhook: %s answered HTTP %d", e.URL, e.Status)
	if e.Reason != "" {
		msg += " but " + e.Reason
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
