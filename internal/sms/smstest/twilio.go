package smstest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Twilio's magic test numbers, answered with the errors Twilio's test
// credentials give them.
const (
	NumberInvalid      = "+15005550001" // 21211 invalid 'To'
	NumberUnroutable   = "+15005550002" // 21612 not reachable
	NumberNoPermission = "+15005550003" // 21408 region not enabled
	NumberBlocked      = "+15005550004" // 21610 unsubscribed
	NumberNotMobile    = "+15005550009" // 21614 not a mobile
)

// Message is one message the fake Twilio accepted.
type Message struct {
	SID                 string
	AccountSID          string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	// AuthUser is the Basic auth user name that sent it (the account SID
	// or an API key SID).
	AuthUser string
	Created  time.Time
}

// Twilio is a local server speaking Twilio's Messages API:
//
//	POST /2010-04-01/Accounts/{AccountSID}/Messages.json
//
// It checks Basic auth (AccountSID:AuthToken, or APIKeySID:APIKeySecret),
// the account in the path, and the form fields To, From or
// MessagingServiceSid, and Body; answers 201 with a Twilio-shaped message
// resource, or Twilio-shaped errors: 401/20003, 404/20404, 400 with 21211
// for a To that is not E.164, 21602/21603/21617 for missing or long fields,
// and the documented codes of Twilio's magic test numbers (NumberInvalid,
// ...). FailNext makes it answer 503/20503 a number of times.
type Twilio struct {
	AccountSID   string
	AuthToken    string
	APIKeySID    string
	APIKeySecret string

	srv *httptest.Server

	mu       sync.Mutex
	messages []Message
	failures int
	failWith int
	requests int
	notify   chan struct{}
}

// NewTwilio starts a fake Twilio with fresh credentials; it stops when the
// test ends.
func NewTwilio(t testing.TB) *Twilio {
	t.Helper()
	tw := &Twilio{
		AccountSID:   "AC" + randomHex(16),
		AuthToken:    randomHex(16),
		APIKeySID:    "SK" + randomHex(16),
		APIKeySecret: randomHex(16),
		notify:       make(chan struct{}),
	}
	tw.srv = httptest.NewServer(http.HandlerFunc(tw.serve))
	t.Cleanup(tw.srv.Close)
	return tw
}

// URL is the base URL to configure as the Twilio API endpoint.
func (tw *Twilio) URL() string { return tw.srv.URL }

// Messages returns the messages accepted so far, oldest first.
func (tw *Twilio) Messages() []Message {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return append([]Message(nil), tw.messages...)
}

// Requests counts the requests received, failed or not.
func (tw *Twilio) Requests() int {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.requests
}

// FailNext makes the next n requests fail with 503 Service Unavailable.
func (tw *Twilio) FailNext(n int) { tw.FailNextWith(n, http.StatusServiceUnavailable) }

// FailNextWith makes the next n requests fail with status (429 or a 5xx).
func (tw *Twilio) FailNextWith(n, status int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.failures, tw.failWith = n, status
}

// WaitFor returns the first accepted message (already received or to come)
// for which match is true, or ctx's error.
func (tw *Twilio) WaitFor(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		tw.mu.Lock()
		for _, m := range tw.messages {
			if match(m) {
				tw.mu.Unlock()
				return m, nil
			}
		}
		ch := tw.notify
		tw.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("smstest: no matching message: %w", ctx.Err())
		}
	}
}

var pathRE = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)

// e164RE is the shape Twilio accepts in To.
var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

var magic = map[string]struct {
	code int
	msg  string
}{
	NumberInvalid:      {21211, "The 'To' number %s is not a valid phone number."},
	NumberUnroutable:   {21612, "The 'To' phone number: %s, is not currently reachable using the 'From' phone number via SMS."},
	NumberNoPermission: {21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s."},
	NumberBlocked:      {21610, "Attempt to send to unsubscribed recipient %s"},
	NumberNotMobile:    {21614, "'To' number %s is not a valid mobile number"},
}

func (tw *Twilio) serve(w http.ResponseWriter, r *http.Request) {
	tw.mu.Lock()
	tw.requests++
	if tw.failures > 0 {
		tw.failures--
		status := tw.failWith
		tw.mu.Unlock()
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			twilioError(w, status, 20429, "Too Many Requests")
			return
		}
		twilioError(w, status, 20500+status%100, http.StatusText(status))
		return
	}
	tw.mu.Unlock()

	user, pass, ok := r.BasicAuth()
	authorised := ok && ((secureEq(user, tw.AccountSID) && secureEq(pass, tw.AuthToken)) ||
		(secureEq(user, tw.APIKeySID) && secureEq(pass, tw.APIKeySecret)))
	if !authorised {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil || m[1] != tw.AccountSID {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	to, from, msid, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("MessagingServiceSid"), r.PostForm.Get("Body")
	switch {
	case to == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case from == "" && msid == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > 1600:
		twilioError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	case !e164RE.MatchString(to):
		twilioError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	}
	if e, ok := magic[to]; ok {
		twilioError(w, http.StatusBadRequest, e.code, fmt.Sprintf(e.msg, to))
		return
	}

	now := time.Now().UTC()
	msg := Message{
		SID: "SM" + randomHex(16), AccountSID: tw.AccountSID, To: to, From: from,
		MessagingServiceSID: msid, Body: body, AuthUser: user, Created: now,
	}
	tw.mu.Lock()
	tw.messages = append(tw.messages, msg)
	close(tw.notify)
	tw.notify = make(chan struct{})
	tw.mu.Unlock()

	uri := "/2010-04-01/Accounts/" + tw.AccountSID + "/Messages/" + msg.SID
	var fromValue any = from
	if from == "" {
		fromValue = nil
	}
	var msidValue any = msid
	if msid == "" {
		msidValue = nil
	}
	doc := map[string]any{
		"account_sid":           tw.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  body,
		"date_created":          now.Format(time.RFC1123Z),
		"date_sent":             nil,
		"date_updated":          now.Format(time.RFC1123Z),
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  fromValue,
		"messaging_service_sid": msidValue,
		"num_media":             "0",
		"num_segments":          strconv.Itoa(segments(body)),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   msg.SID,
		"status":                "queued",
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
		"to":                    to,
		"uri":                   uri + ".json",
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(doc)
}

// segments estimates the SMS segments of body (GSM-7 or UCS-2).
func segments(body string) int {
	ascii := true
	for _, r := range body {
		if r > 0x7e {
			ascii = false
			break
		}
	}
	n := utf8.RuneCountInString(body)
	single, multi := 160, 153
	if !ascii {
		single, multi = 70, 67
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code":      code,
		"message":   msg,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

func secureEq(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
