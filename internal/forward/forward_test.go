package forward

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/testclock"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "sspr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// appendEvents commits audit events, as the flows do.
func appendEvents(t *testing.T, s *store.Store, at time.Time, events ...audit.Event) {
	t.Helper()
	chain := audit.NewChain([]byte("test key"))
	if err := s.InTx(context.Background(), func(tx *store.Tx) error {
		for _, e := range events {
			e.At = at
			if err := chain.Append(tx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// received is what a webhook receiver in a test got.
type received struct {
	mu       sync.Mutex
	events   []Event
	delivery []string
	bad      []error
	down     bool
}

func (r *received) handler(secret []byte, now func() time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(req.Body)
		// What a receiver does: verify over the raw body before reading it.
		if err := VerifySignature(secret, req.Header.Get(SignatureHeader), body, now(), 5*time.Minute); err != nil {
			r.bad = append(r.bad, err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var e Event
		if err := json.Unmarshal(body, &e); err != nil {
			r.bad = append(r.bad, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.events = append(r.events, e)
		r.delivery = append(r.delivery, req.Header.Get(DeliveryHeader))
		w.WriteHeader(http.StatusNoContent)
	}
}

// TestWebhookSignedRetriedDeliveredOnce: a real HTTP server receives the
// chosen events, each signed so that VerifySignature accepts it; while the
// receiver answers 503 nothing is lost, the events wait for the backoff,
// and once it is back each arrives exactly once.
func TestWebhookSignedRetriedDeliveredOnce(t *testing.T) {
	s := openStore(t)
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	secret := []byte("whsec-test-secret")
	rec := &received{down: true}
	srv := httptest.NewServer(rec.handler(secret, clock.Now))
	defer srv.Close()

	f := &Forwarder{Store: s, Now: clock.Now, InitialBackoff: time.Minute, MaxBackoff: time.Hour,
		Routes: []Route{{Sink: &Webhook{ID: "soc", URL: srv.URL, Secret: secret, Now: clock.Now}, Events: Filter{"reset.*", "unlock.done"}}}}
	ctx := context.Background()
	appendEvents(t, s, clock.Now(), audit.Event{Event: "before.configured", Outcome: audit.Info})
	if _, err := f.RunOnce(ctx); err != nil { // the sink's cursor starts here
		t.Fatal(err)
	}
	appendEvents(t, s, clock.Now(),
		audit.Event{Event: "reset.identify", Actor: "alice", Outcome: audit.Success},
		audit.Event{Event: "enroll.added", Actor: "alice", Outcome: audit.Success}, // not chosen
		audit.Event{Event: "unlock.done", Actor: "bob", Outcome: audit.Success},
	)

	if n, _ := f.RunOnce(ctx); n != 0 {
		t.Fatalf("delivered %d events to a receiver that is down", n)
	}
	rec.mu.Lock()
	rec.down = false
	rec.mu.Unlock()
	if n, _ := f.RunOnce(ctx); n != 0 {
		t.Fatalf("delivered %d events before the backoff ended", n)
	}
	clock.Advance(61 * time.Second)
	if n, err := f.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("after the backoff: delivered %d, %v; want 2", n, err)
	}
	clock.Advance(time.Hour)
	if n, err := f.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("a later round delivered %d, %v; want nothing again", n, err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bad) != 0 {
		t.Fatalf("receiver refused: %v", rec.bad)
	}
	if len(rec.events) != 2 || rec.events[0].Event != "reset.identify" || rec.events[1].Event != "unlock.done" {
		t.Fatalf("received %+v; want reset.identify then unlock.done, once each", rec.events)
	}
	if rec.events[0].Actor != "alice" || rec.events[0].Hash == "" || rec.delivery[0] != strconv.FormatInt(rec.events[0].ID, 10) {
		t.Fatalf("event %+v delivery %q: want the audit row's fields and id", rec.events[0], rec.delivery[0])
	}
}

// TestWebhookReceiverUnreachable: a URL nobody listens on counts as down.
func TestWebhookReceiverUnreachable(t *testing.T) {
	s := openStore(t)
	clock := testclock.New(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	f := &Forwarder{Store: s, Now: clock.Now, InitialBackoff: time.Minute,
		Routes: []Route{{Sink: &Webhook{ID: "x", URL: "http://" + addr + "/hook", Secret: []byte("k")}}}}
	if _, err := f.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, clock.Now(), audit.Event{Event: "reset.done", Outcome: audit.Success})
	if n, _ := f.RunOnce(context.Background()); n != 0 {
		t.Fatalf("delivered %d to nobody", n)
	}
	var cur []store.ForwardCursor
	_ = s.InTx(context.Background(), func(tx *store.Tx) (err error) { cur, err = tx.ForwardCursors(); return err })
	if len(cur) != 1 || cur[0].Attempts != 1 || cur[0].LastError == "" || !cur[0].NextAttemptAt.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("cursor %+v: want one failed attempt, retried in a minute", cur)
	}
}

func TestVerifySignature(t *testing.T) {
	secret := []byte("s3cret")
	at := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"reset.done"}`)
	h := Sign(secret, at, body)
	cases := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"good", secret, h, body, at.Add(time.Minute), nil},
		{"two signatures, one good", secret, h + ",v1=" + "00000000000000000000000000000000000000000000000000000000000000ff", body, at, nil},
		{"other secret", []byte("other"), h, body, at, ErrBadSignature},
		{"body changed", secret, h, []byte(`{"event":"reset.dome"}`), at, ErrBadSignature},
		{"replayed late", secret, h, body, at.Add(6 * time.Minute), ErrStale},
		{"from the future", secret, h, body, at.Add(-6 * time.Minute), ErrStale},
		{"no timestamp", secret, h[len("t=1800000000,"):], body, at, ErrBadSignature},
		{"empty", secret, "", body, at, ErrBadSignature},
		{"timestamp swapped", secret, "t=1800000001" + h[len("t=1800000000"):], body, at, ErrBadSignature},
	}
	for _, c := range cases {
		if err := VerifySignature(c.secret, c.header, c.body, c.now, 5*time.Minute); err != c.want {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add(Sign([]byte("k"), time.Unix(1, 0), []byte("b")))
	f.Add("t=1,v1=zz")
	f.Add("t=,v1=")
	f.Add(",,,=")
	f.Fuzz(func(t *testing.T, header string) {
		ts, sigs, err := ParseSignature(header)
		if err != nil {
			return
		}
		if _, perr := strconv.ParseUint(ts, 10, 64); perr != nil || len(sigs) == 0 {
			t.Fatalf("accepted %q: ts %q, %d signatures", header, ts, len(sigs))
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("accepted a %d-byte signature from %q", len(s), header)
			}
		}
	})
}

func TestFilter(t *testing.T) {
	f := Filter{"reset.*", "admin.login"}
	for ev, want := range map[string]bool{"reset.done": true, "reset": false, "admin.login": true, "admin.logout": false} {
		if f.Wants(ev) != want {
			t.Errorf("Wants(%q) = %v", ev, !want)
		}
	}
	if !(Filter{}).Wants("anything") {
		t.Error("an empty filter must choose every event")
	}
}

// TestFileSink: the events appended as JSON lines, once.
func TestFileSink(t *testing.T) {
	s := openStore(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f := &Forwarder{Store: s, Routes: []Route{{Sink: &File{Path: path}}}}
	ctx := context.Background()
	if _, err := f.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, time.Now(), audit.Event{Event: "reset.done", Outcome: audit.Success, Reason: "line\nbreak"},
		audit.Event{Event: "change.done", Outcome: audit.Success})
	for range 2 {
		if _, err := f.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	lines := readLines(t, path)
	if len(lines) != 2 {
		t.Fatalf("file has %d lines, want 2: %q", len(lines), lines)
	}
	var e Event
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Event != "reset.done" || e.Reason != "line\nbreak" {
		t.Fatalf("first line %q: %+v %v", lines[0], e, err)
	}
}

// TestStartPlacesNewSinks: a sink started before any step sees every event
// after that moment, even those written before its first delivery round.
func TestStartPlacesNewSinks(t *testing.T) {
	s := openStore(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	appendEvents(t, s, time.Now(), audit.Event{Event: "history", Outcome: audit.Info})
	f := &Forwarder{Store: s, Routes: []Route{{Sink: &File{Path: path}}}}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, time.Now(), audit.Event{Event: "reset.done", Outcome: audit.Success})
	if n, err := f.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("delivered %d, %v; want the one event after Start", n, err)
	}
	if lines := readLines(t, path); len(lines) != 1 || !strings.Contains(lines[0], `"reset.done"`) {
		t.Fatalf("file: %q", lines)
	}
}
