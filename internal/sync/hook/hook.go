package hook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/sync/target"
)

// Phases of a hook.
const (
	Pre  = "pre"
	Post = "post"
)

// Payload is what a hook receives (on stdin, or as the webhook body).
type Payload struct {
	Phase    string          `json:"phase"`
	ID       string          `json:"id"`
	Time     time.Time       `json:"time"`
	Identity target.Identity `json:"identity"`
	Password string          `json:"password"`
}

func payload(phase string, id target.Identity, password string) ([]byte, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return json.Marshal(Payload{Phase: phase, ID: hex.EncodeToString(b), Time: time.Now().UTC(), Identity: id, Password: password})
}

// DefaultRefusal is shown when a pre-hook refuses without saying why.
const DefaultRefusal = "This password was refused by a check of your organisation. Please choose another one."

// maxMessage bounds what a hook may show the person.
const maxMessage = 300

// message cleans a hook's words for the person: the first non-empty line,
// valid UTF-8, bounded.
func message(b []byte) string {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.ToValidUTF8(line, ""))
		if line == "" {
			continue
		}
		if utf8.RuneCountInString(line) > maxMessage {
			line = string([]rune(line)[:maxMessage]) + "…"
		}
		return line
	}
	return DefaultRefusal
}

// Command runs a program.
type Command struct {
	HookName string
	Path     string
	Args     []string
	// Timeout bounds one run (default 10 s); the whole process group is
	// killed when it runs out.
	Timeout time.Duration
}

// Name is the configured name.
func (c *Command) Name() string { return c.HookName }

// exTempFail (sysexits.h EX_TEMPFAIL) asks for a retry.
const exTempFail = 75

func (c *Command) run(ctx context.Context, phase string, id target.Identity, password string) (stdout []byte, code int, err error) {
	in, err := payload(phase, id, password)
	if err != nil {
		return nil, 0, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Stdin = bytes.NewReader(in)
	// A clean environment: nothing of sspr's own (no secrets from the
	// environment) reaches the hook, and the password is only on stdin.
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SSPR_HOOK_PHASE=" + phase, "LANG=C.UTF-8"}
	var out, errOut limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return out.Bytes(), -1, fmt.Errorf("the hook %s did not finish in time (its timeout is %v)", c.HookName, timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if len(bytes.TrimSpace(out.Bytes())) == 0 {
			return errOut.Bytes(), ee.ExitCode(), nil
		}
		return out.Bytes(), ee.ExitCode(), nil
	}
	if err != nil {
		return nil, -1, fmt.Errorf("the hook %s could not be run: %w", c.HookName, err)
	}
	return out.Bytes(), 0, nil
}

// Check runs the command as a pre-hook.
func (c *Command) Check(ctx context.Context, id target.Identity, password string) error {
	out, code, err := c.run(ctx, Pre, id, password)
	switch {
	case err != nil:
		return err
	case code != 0:
		return &target.Refusal{Hook: c.HookName, Message: message(out)}
	}
	return nil
}

// SetPassword runs the command as a post-hook (a sync target).
func (c *Command) SetPassword(ctx context.Context, id target.Identity, password string) error {
	out, code, err := c.run(ctx, Post, id, password)
	switch {
	case err != nil:
		return &target.Error{Target: c.HookName, Reason: "the hook failed", Err: err}
	case code == exTempFail:
		return target.Retryf(c.HookName, 0, "the hook asked to be run again later: %s", message(out))
	case code != 0:
		return target.Permanentf(c.HookName, "the hook exited with %d: %s", code, message(out))
	}
	return nil
}

// limitedBuffer keeps the first 64 KiB a hook prints.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Webhook posts to a URL.
type Webhook struct {
	HookName string
	URL      string
	// Secret keys the HMAC-SHA256 signature of the body.
	Secret  []byte
	Timeout time.Duration
	HTTP    *http.Client
}

// defaultClient does not follow redirects: the body holds a password.
var defaultClient = &http.Client{CheckRedirect: target.NoRedirects}

// Name is the configured name.
func (w *Webhook) Name() string { return w.HookName }

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body.
const SignatureHeader = "X-Sspr-Signature"

// Sign returns the SignatureHeader value for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature is what a receiver does: compare in constant time.
// Receivers should also refuse a payload whose time is far off or whose
// id they have seen (replay).
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

func (w *Webhook) post(ctx context.Context, phase string, id target.Identity, password string) (*http.Response, []byte, error) {
	body, err := payload(phase, id, password)
	if err != nil {
		return nil, nil, err
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.Secret, body))
	hc := w.HTTP
	if hc == nil {
		hc = defaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("the webhook %s could not be reached: %w", w.HookName, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp, rb, nil
}

func answerMessage(b []byte) string {
	var a struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &a) == nil && a.Message != "" {
		return message([]byte(a.Message))
	}
	return DefaultRefusal
}

// Check posts as a pre-hook: 2xx allows, 4xx refuses with the answer's
// "message", anything else is a failure that stops the change too.
func (w *Webhook) Check(ctx context.Context, id target.Identity, password string) error {
	resp, body, err := w.post(ctx, Pre, id, password)
	switch {
	case err != nil:
		return err
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 4:
		return &target.Refusal{Hook: w.HookName, Message: answerMessage(body)}
	default:
		return fmt.Errorf("the webhook %s answered HTTP %d", w.HookName, resp.StatusCode)
	}
}

// SetPassword posts as a post-hook (a sync target).
func (w *Webhook) SetPassword(ctx context.Context, id target.Identity, password string) error {
	resp, _, err := w.post(ctx, Post, id, password)
	switch {
	case err != nil:
		return &target.Error{Target: w.HookName, Reason: "the webhook failed", Err: err}
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return target.Retryf(w.HookName, target.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			"the webhook answered HTTP %d", resp.StatusCode)
	default:
		return target.Permanentf(w.HookName, "the webhook answered HTTP %d", resp.StatusCode)
	}
}
