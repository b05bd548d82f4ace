package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/metrics"
	"github.com/sspr/sspr/internal/store"
)

// Observability (docs/operations.md, "Monitoring"): Prometheus metrics on
// the opt-in server.metrics_listen listener, /readyz, an access log with
// request IDs and the audit events mirrored into the log.

// observeAudit is the audit chain's Observe: every committed event is
// counted and, with log.audit, logged.
func observeAudit(m *metrics.Metrics, log *slog.Logger, mirror bool) func(audit.Event) {
	return func(e audit.Event) {
		m.Event(e.Event, string(e.Outcome), e.Reason)
		if !mirror || !log.Enabled(context.Background(), slog.LevelInfo) {
			return
		}
		attrs := []any{"event", e.Event, "outcome", string(e.Outcome), "at", e.At}
		for _, kv := range [][2]string{{"reason", e.Reason}, {"flow", e.Flow}, {"actor", e.Actor}, {"subject", e.Subject},
			{"directory", e.Directory}, {"client_ip", e.ClientIP}} {
			if kv[1] != "" {
				attrs = append(attrs, kv[0], kv[1])
			}
		}
		if len(e.Detail) > 0 {
			attrs = append(attrs, "detail", e.Detail)
		}
		log.Info("audit", attrs...)
	}
}

// observeDirectories has every LDAP directory report its servers'
// failures and fail-overs, and each operation's time and result, to m.
func observeDirectories(m *metrics.Metrics, dirs *directory.Set) {
	type observer interface {
		ObserveServers(func(server string, err error, failover bool))
		ObserveOperations(func(server, op string, took time.Duration, err error))
	}
	for _, d := range dirs.All() {
		if o, ok := d.(observer); ok {
			name := d.Name()
			o.ObserveServers(func(server string, err error, failover bool) { m.DirectoryServer(name, server, err, failover) })
			o.ObserveOperations(func(server, op string, took time.Duration, err error) {
				result := "ok"
				if err != nil {
					result = directory.KindOf(err).String()
				}
				m.DirectoryOperation(name, server, op, result, took)
			})
		}
	}
}

// storeGauges adds the gauges read from the store at each scrape.
func storeGauges(m *metrics.Metrics, st *store.Store, now func() time.Time, log *slog.Logger) {
	backlog := func() store.OutboxBacklog {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var b store.OutboxBacklog
		if err := st.ReadTx(ctx, func(tx *store.Tx) error {
			var err error
			b, err = tx.OutboxBacklog()
			return err
		}); err != nil {
			log.Warn("metrics: reading the outbox backlog failed", "err", err)
		}
		return b
	}
	m.Gauge("sspr_outbox_waiting_messages", "Messages in the outbox neither sent nor given up (codes, notices, sync).",
		func() float64 { return float64(backlog().Waiting) })
	m.Gauge("sspr_outbox_oldest_waiting_seconds", "Age of the oldest message waiting in the outbox (0 when none waits).",
		func() float64 {
			b := backlog()
			if b.Oldest.IsZero() {
				return 0
			}
			return now().Sub(b.Oldest).Seconds()
		})
	m.Gauge("sspr_agents_registered", "Login-screen agents registered and not revoked.", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n := 0
		_ = st.ReadTx(ctx, func(tx *store.Tx) error {
			as, err := tx.Agents()
			for _, a := range as {
				if a.RevokedAt.IsZero() {
					n++
				}
			}
			return err
		})
		return float64(n)
	})
}

// observeRequests wraps the mux: each request gets an ID (X-Request-Id),
// is counted and timed by route, and, with log.access, logged.
func (a *App) observeRequests(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestID()
		w.Header().Set("X-Request-Id", id)
		metrics.Observe(mux, func(r *http.Request, route string, code int, took time.Duration) {
			a.metrics.Request(route, code, took)
			if a.cfg.Log.Access && a.log.Enabled(r.Context(), slog.LevelInfo) {
				a.log.Info("request", "request_id", id, "method", r.Method, "route", route, "status", code,
					"duration_ms", float64(took.Microseconds())/1000)
			}
		}).ServeHTTP(w, r)
	})
}

func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readiness says what keeps this node from serving: the store, a directory
// no server of which answers, an unusable breach corpus. Empty when ready.
func (a *App) readiness(ctx context.Context) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	problems := map[string]string{}
	if err := a.store.Ping(ctx); err != nil {
		problems["store"] = err.Error()
	}
	for _, d := range a.dirs.All() {
		if p, ok := d.(directory.Pinger); ok {
			if err := p.Ping(ctx); err != nil {
				problems["directory "+d.Name()] = directory.Explain(err)
			}
		}
	}
	if a.corpus != nil {
		if _, err := a.corpus.CheckHash([20]byte{}); err != nil {
			problems["breach corpus"] = err.Error()
		}
	}
	return problems
}

// readyCache remembers a readiness answer for ttl: /readyz on the portal's
// listener is open to anyone, and each fresh answer pings the store and
// every directory, so however often it is asked, the directories hear of it
// at most once per ttl. One caller computes; the others wait for its answer.
type readyCache struct {
	ttl     time.Duration
	now     func() time.Time
	compute func(context.Context) map[string]string

	mu       sync.Mutex
	at       time.Time
	problems map[string]string
}

func (c *readyCache) get(ctx context.Context) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.at.IsZero() || now.Sub(c.at) >= c.ttl || now.Before(c.at) {
		c.problems, c.at = c.compute(ctx), now
	}
	return c.problems
}

// publicReadyTTL is how long the portal's /readyz answer is reused.
const publicReadyTTL = time.Second

// ready answers /readyz on the portal's listener: 200 when the node can
// serve, 503 when it cannot, without saying why (that is for the metrics
// listener, readyDetail: error texts are nobody's business outside). The
// answer may be up to publicReadyTTL old.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	a.answerReady(w, a.publicReady.get(r.Context()), false)
}

// readyDetail answers /readyz on server.metrics_listen, naming what cannot
// be used, always freshly checked.
func (a *App) readyDetail(w http.ResponseWriter, r *http.Request) {
	a.answerReady(w, a.readiness(r.Context()), true)
}

func (a *App) answerReady(w http.ResponseWriter, problems map[string]string, detail bool) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		body := map[string]any{"status": "not ready"}
		if detail {
			body["problems"] = problems
		}
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ready"})
}

// serveMetrics runs the metrics listener (/metrics, /readyz) until ctx
// ends: a's metrics (which reloads keep), and the readiness of the App
// serving now.
func serveMetrics(ctx context.Context, ln net.Listener, a *App, current func() *App) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { current().readyDetail(w, r) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	a.log.Info("metrics are served (server.metrics_listen)", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Warn("the metrics listener failed", "err", err)
	}
}

// listenMetrics opens server.metrics_listen; nil when it is not set.
func (a *App) listenMetrics() (net.Listener, error) {
	addr := a.cfg.Server.MetricsListen
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s (server.metrics_listen): %w", addr, err)
	}
	return ln, nil
}
