package smstest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// Request is one request the webhook receiver got.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Webhook is a local HTTP server that records every request and answers
// with a configurable status and body (200 and {"status":"ok"} by default).
type Webhook struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []Request
	status   int
	body     string
	failures int
	failWith int
	notify   chan struct{}
}

// NewWebhook starts a receiver; it stops when the test ends.
func NewWebhook(t testing.TB) *Webhook {
	t.Helper()
	wh := &Webhook{status: http.StatusOK, body: `{"status":"ok"}`, notify: make(chan struct{})}
	wh.srv = httptest.NewServer(http.HandlerFunc(wh.serve))
	t.Cleanup(wh.srv.Close)
	return wh
}

// URL is the receiver's base URL; any path is accepted.
func (wh *Webhook) URL() string { return wh.srv.URL }

// Respond sets the answer to the following requests.
func (wh *Webhook) Respond(status int, body string) {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	wh.status, wh.body = status, body
}

// FailNext makes the next n requests answer status with an empty body,
// before the configured answer resumes.
func (wh *Webhook) FailNext(n, status int) {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	wh.failures, wh.failWith = n, status
}

// Requests returns the requests received so far, oldest first.
func (wh *Webhook) Requests() []Request {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	return append([]Request(nil), wh.requests...)
}

// WaitFor returns the first request (received or to come) for which match
// is true, or ctx's error.
func (wh *Webhook) WaitFor(ctx context.Context, match func(Request) bool) (Request, error) {
	for {
		wh.mu.Lock()
		for _, r := range wh.requests {
			if match(r) {
				wh.mu.Unlock()
				return r, nil
			}
		}
		ch := wh.notify
		wh.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Request{}, fmt.Errorf("smstest: no matching webhook request: %w", ctx.Err())
		}
	}
}

func (wh *Webhook) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	wh.mu.Lock()
	wh.requests = append(wh.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
	})
	close(wh.notify)
	wh.notify = make(chan struct{})
	status, answer := wh.status, wh.body
	if wh.failures > 0 {
		wh.failures--
		status, answer = wh.failWith, ""
	}
	wh.mu.Unlock()
	if answer != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}
