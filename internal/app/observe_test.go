package app

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/metrics"
)

// TestAccessLogNamesTheRouteNotThePath: the access log line of a request
// carries its ID (the same as X-Request-Id), the route pattern, the status
// and the duration, never the path's token nor the query string; with
// log.access off there is no line, and the request is counted either way.
func TestAccessLogNamesTheRouteNotThePath(t *testing.T) {
	for _, on := range []bool{true, false} {
		var buf bytes.Buffer
		cfg := config.Defaults()
		cfg.Log.Access = on
		a := &App{cfg: &cfg, log: slog.New(slog.NewTextHandler(&buf, nil)), metrics: metrics.New()}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /reset/{token}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
		rec := httptest.NewRecorder()
		a.observeRequests(mux).ServeHTTP(rec, httptest.NewRequest("GET", "/reset/SECRET-TOKEN?code=123456", nil))
		id := rec.Header().Get("X-Request-Id")
		line := buf.String()
		if !on {
			if line != "" {
				t.Errorf("log.access off, yet: %s", line)
			}
			continue
		}
		for _, want := range []string{"msg=request", "request_id=" + id, `route="GET /reset/{token}"`, "status=418", "duration_ms="} {
			if id == "" || !strings.Contains(line, want) {
				t.Errorf("access log %q lacks %q", line, want)
			}
		}
		for _, secret := range []string{"SECRET-TOKEN", "123456"} {
			if strings.Contains(line, secret) {
				t.Errorf("access log shows %q: %s", secret, line)
			}
		}
	}
}

// TestAuditMirror: a committed audit event becomes one "audit" log line
// with its fields (log.audit), and is counted by action, step, outcome
// and reason; with the mirror off it is only counted.
func TestAuditMirror(t *testing.T) {
	var buf bytes.Buffer
	m := metrics.New()
	ev := audit.Event{At: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Event: "reset.password", Flow: "f1a2", Actor: "alice",
		Subject: "uid=alice,ou=people", Directory: "corp", ClientIP: "10.1.2.3", Outcome: audit.Denied, Reason: "password_refused",
		Detail: map[string]any{"rule": "history"}}
	observeAudit(m, slog.New(slog.NewTextHandler(&buf, nil)), true)(ev)
	observeAudit(m, slog.New(slog.NewTextHandler(&buf, nil)), false)(ev)
	line := buf.String()
	if strings.Count(line, "msg=audit") != 1 {
		t.Fatalf("want one audit line: %s", line)
	}
	for _, want := range []string{"event=reset.password", "outcome=denied", "reason=password_refused", "flow=f1a2", "actor=alice",
		`subject="uid=alice,ou=people"`, "directory=corp", "client_ip=10.1.2.3", "detail=map[rule:history]"} {
		if !strings.Contains(line, want) {
			t.Errorf("audit line lacks %q: %s", want, line)
		}
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := `sspr_events_total{action="reset",outcome="denied",reason="password_refused",step="password"} 2`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
}

// TestReadyCacheAsksOncePerTTL: however often the portal's /readyz is asked,
// the store and directories are checked at most once per ttl, and a change
// shows once the ttl has passed.
func TestReadyCacheAsksOncePerTTL(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	checks := 0
	problems := map[string]string{}
	c := &readyCache{ttl: time.Second, now: func() time.Time { return now }, compute: func(context.Context) map[string]string {
		checks++
		out := map[string]string{}
		maps.Copy(out, problems)
		return out
	}}
	for range 100 {
		if p := c.get(context.Background()); len(p) != 0 {
			t.Fatalf("ready: %v", p)
		}
	}
	if checks != 1 {
		t.Fatalf("100 asks within the ttl made %d checks, want 1", checks)
	}
	problems["directory corp"] = "down"
	now = now.Add(999 * time.Millisecond)
	if p := c.get(context.Background()); len(p) != 0 || checks != 1 {
		t.Fatalf("within the ttl: %v after %d checks, want the remembered answer", p, checks)
	}
	now = now.Add(time.Millisecond)
	if p := c.get(context.Background()); p["directory corp"] != "down" || checks != 2 {
		t.Fatalf("after the ttl: %v after %d checks, want a fresh check naming the directory", p, checks)
	}
	// A clock that went back does not pin an old answer.
	delete(problems, "directory corp")
	now = now.Add(-time.Hour)
	if p := c.get(context.Background()); len(p) != 0 || checks != 3 {
		t.Fatalf("after the clock went back: %v after %d checks", p, checks)
	}
}
