package forward

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>": the
	// HMAC, keyed with the webhook's secret, of the timestamp, a dot and
	// the body (as Stripe does), so a captured request cannot be replayed
	// later with a new timestamp.
	SignatureHeader = "Sspr-Signature"
	// DeliveryHeader is the event's audit id: the same on every retry, so
	// a receiver can drop a repeat.
	DeliveryHeader = "Sspr-Delivery"
	// EventHeader is the event type ("reset.password", ...).
	EventHeader = "Sspr-Event"
)

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrBadSignature is returned by VerifySignature for a request that was not
// signed with the secret, or whose header cannot be read.
var ErrBadSignature = errors.New("webhook signature does not verify")

// ErrStale is returned by VerifySignature for a signature made longer ago
// (or further ahead) than the tolerance allows.
var ErrStale = errors.New("webhook signature timestamp is outside the tolerance")

// ParseSignature reads a SignatureHeader value: its timestamp and its v1
// signatures (a header may carry several while a secret is rotated).
func ParseSignature(header string) (ts string, sigs [][]byte, err error) {
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, ErrBadSignature
		}
		switch k {
		case "t":
			if ts != "" || v == "" || len(v) > 19 {
				return "", nil, ErrBadSignature
			}
			for _, c := range v {
				if c < '0' || c > '9' {
					return "", nil, ErrBadSignature
				}
			}
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return "", nil, ErrBadSignature
			}
			sigs = append(sigs, b)
		}
		// Other keys are for later schemes: ignored.
	}
	if ts == "" || len(sigs) == 0 {
		return "", nil, ErrBadSignature
	}
	return ts, sigs, nil
}

// VerifySignature is what a receiver does with a request: check the
// signature (in constant time) over the timestamp and the raw body, then
// that the timestamp is within tolerance of now.
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs, err := ParseSignature(header)
	if err != nil {
		return err
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

// Webhook posts each event as JSON to URL, signed with Secret.
type Webhook struct {
	ID     string // names the webhook's cursor ("webhook:"+ID)
	URL    string
	Secret []byte
	Client *http.Client // nil: a client with a 10 s timeout
	Now    func() time.Time
}

// Name implements Sink.
func (w *Webhook) Name() string { return "webhook:" + w.ID }

// Deliver implements Sink: one request per event, in order; any answer but
// 2xx stops the round (the event is sent again later).
func (w *Webhook) Deliver(ctx context.Context, events []Event) (int, error) {
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	for i, e := range events {
		body, err := json.Marshal(e)
		if err != nil {
			return i, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			return i, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "sspr-webhook")
		req.Header.Set(SignatureHeader, Sign(w.Secret, now(), body))
		req.Header.Set(DeliveryHeader, strconv.FormatInt(e.ID, 10))
		req.Header.Set(EventHeader, e.Event)
		resp, err := c.Do(req)
		if err != nil {
			return i, fmt.Errorf("webhook %s: %w", w.ID, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return i, fmt.Errorf("webhook %s: the receiver answered %s", w.ID, resp.Status)
		}
	}
	return len(events), nil
}
