package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/mailsink"
)

// codeMail is a code that arrived for one recipient, and when.
type codeMail struct {
	code string
	at   time.Time
}

// catcher receives sspr's mails and hands each code to the flow waiting for
// that recipient. Mails nobody waits for (notices) are dropped.
type catcher struct {
	sink *mailsink.Sink

	mu      sync.Mutex
	waiting map[string]chan codeMail
	// notices counts mails that carried no code (password-changed notices).
	notices int
}

var codeInMail = regexp.MustCompile(`(?m)^\s+(\d{6,10})\s*$`)

func startCatcher(addr string) (*catcher, error) {
	c := &catcher{waiting: map[string]chan codeMail{}}
	sink, err := mailsink.Start(addr, mailsink.Options{Deliver: c.deliver, Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	c.sink = sink
	return c, nil
}

func (c *catcher) deliver(m mailsink.Message) {
	at := time.Now()
	match := codeInMail.FindStringSubmatch(m.TextBody)
	c.mu.Lock()
	defer c.mu.Unlock()
	if match == nil {
		c.notices++
		return
	}
	for _, to := range m.To {
		if ch, ok := c.waiting[strings.ToLower(to)]; ok {
			select {
			case ch <- codeMail{code: match[1], at: at}:
			default:
			}
		}
	}
}

// expect registers interest in the next code to rcpt; call before the step
// that sends it.
func (c *catcher) expect(rcpt string) chan codeMail {
	ch := make(chan codeMail, 4)
	c.mu.Lock()
	c.waiting[strings.ToLower(rcpt)] = ch
	c.mu.Unlock()
	return ch
}

func (c *catcher) forget(rcpt string) {
	c.mu.Lock()
	delete(c.waiting, strings.ToLower(rcpt))
	c.mu.Unlock()
}

// client talks to sspr's JSON API.
type client struct {
	base string
	http *http.Client
}

type apiStatus struct {
	FlowID  string   `json:"flow_id"`
	State   string   `json:"state"`
	Factor  string   `json:"factor"`
	Choices []string `json:"choices"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (c *client) post(ctx context.Context, path string, body any) (int, apiStatus, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, apiStatus{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, apiStatus{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, apiStatus{}, err
	}
	var st apiStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return resp.StatusCode, st, fmt.Errorf("%s: %d, not JSON: %.80q", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, st, nil
}

// stepError says which step of a flow failed and how.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }

func failed(step string, status int, st apiStatus, err error) error {
	if err == nil {
		code := "unexpected state " + st.State
		if st.Error != nil {
			code = st.Error.Code
		}
		err = fmt.Errorf("HTTP %d: %s", status, code)
	}
	return &stepError{step: step, err: err}
}

// runFlow drives one complete reset for the user login (whose mail is
// rcpt) and records each step's latency.
func runFlow(ctx context.Context, c *client, mail *catcher, lat, ids *latencies, login, rcpt string, codeWait time.Duration) error {
	codes := mail.expect(rcpt)
	defer mail.forget(rcpt)

	t0 := time.Now()
	status, st, err := c.post(ctx, "/api/v1/reset", map[string]string{"login": login})
	took := time.Since(t0)
	lat.add("identify", took)
	ids.add("known", took)
	if err != nil || status != http.StatusAccepted {
		return failed("identify", status, st, err)
	}
	flowID := st.FlowID
	// The code is sent while the step that asked for it runs (identify is
	// padded afterwards), so its delay counts from that step's start.
	sent := t0
	if st.State == "choose" {
		t := time.Now()
		status, st, err = c.post(ctx, "/api/v1/reset/choose", map[string]string{"flow_id": flowID, "factor": "email"})
		lat.add("choose", time.Since(t))
		if err != nil || status != http.StatusOK || st.State != "challenged" {
			return failed("choose", status, st, err)
		}
		sent = t
	}
	var got codeMail
	select {
	case got = <-codes:
		lat.add("code_mail", got.at.Sub(sent))
	case <-time.After(codeWait):
		return &stepError{step: "code_mail", err: errors.New("no code mail within " + codeWait.String())}
	case <-ctx.Done():
		return ctx.Err()
	}
	t := time.Now()
	status, st, err = c.post(ctx, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": got.code})
	lat.add("verify", time.Since(t))
	if err != nil || status != http.StatusOK || st.State != "verified" {
		return failed("verify", status, st, err)
	}
	t = time.Now()
	status, st, err = c.post(ctx, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": newPassword()})
	lat.add("password", time.Since(t))
	if err != nil || status != http.StatusOK || st.State != "done" {
		return failed("password", status, st, err)
	}
	lat.add("flow", time.Since(t0))
	return nil
}

// identifyOnly starts a reset for login and returns how long identify took;
// for logins nobody has, whose flow goes no further.
func identifyOnly(ctx context.Context, c *client, login string) (time.Duration, error) {
	t0 := time.Now()
	status, st, err := c.post(ctx, "/api/v1/reset", map[string]string{"login": login})
	d := time.Since(t0)
	if err != nil || status != http.StatusAccepted {
		return d, failed("identify_unknown", status, st, err)
	}
	return d, nil
}

// newPassword is a fresh password that any sensible policy accepts and that
// is never in a history.
func newPassword() string {
	const letters = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
	b := make([]byte, 14)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "Ld7-" + string(b) + "-42"
}
