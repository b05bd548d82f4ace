package metrics

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds sspr's collectors in their own registry (not the global
// one, so tests and several apps in one process do not collide).
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	events      *prometheus.CounterVec
	dirFailures *prometheus.CounterVec
	failovers   *prometheus.CounterVec
	dirOps      *prometheus.HistogramVec
}

// New makes the collectors, with Go's runtime and the process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_http_requests_total", Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sspr_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern (padded steps included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .3, .4, .5, .75, 1, 2.5, 5, 10},
		}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_events_total",
			Help: "Audited events once committed, by action (reset, unlock, change, enroll, admin, ...), step, outcome and reason.",
		}, []string{"action", "step", "outcome", "reason"}),
		dirFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_directory_server_failures_total", Help: "Connections to a directory server that failed, by directory and server.",
		}, []string{"directory", "server"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sspr_directory_failovers_total", Help: "Connections that went to another server because the first one tried failed, by directory.",
		}, []string{"directory"}),
		dirOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sspr_directory_operation_duration_seconds",
			Help:    "Time a directory server took for an operation (find, bind, reset, unlock, ...), by directory, server, operation and result (ok or the kind of failure).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"directory", "server", "op", "result"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.events, m.dirFailures, m.failovers, m.dirOps,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gauge adds a gauge whose value is read at each scrape (outbox backlog,
// registered agents). fn must be quick and safe to call concurrently.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Request counts and times one answered request by its route pattern.
func (m *Metrics) Request(route string, code int, took time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
}

// Observe calls done after next answers each request, with the route
// pattern the mux matched ("other" when none did), the status code and the
// time taken. It must wrap the ServeMux itself: the pattern is read from
// r.Pattern, which the mux sets on the request it was given, so a path
// with a flow's token or a person's name never becomes a label or a log
// field.
func Observe(next http.Handler, done func(r *http.Request, route string, code int, took time.Duration)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "other"
		}
		done(r, route, rec.code, time.Since(began))
	})
}

// code is what may become a label value taken from an event: a short
// lower-case code, never free text.
var code = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

func label(s string) string {
	if s == "" {
		return ""
	}
	if !code.MatchString(s) {
		return "other"
	}
	return s
}

// Event counts one audited event ("reset.identify", success, reason).
func (m *Metrics) Event(event, outcome, reason string) {
	action, step, ok := strings.Cut(event, ".")
	if !ok {
		action, step = event, ""
	}
	m.events.WithLabelValues(label(action), label(step), label(outcome), label(reason)).Inc()
}

// DirectoryServer records the outcome of connecting to server of
// directory dir: a failure, or a fail-over to it after another failed.
func (m *Metrics) DirectoryServer(dir, server string, err error, failover bool) {
	if err != nil {
		m.dirFailures.WithLabelValues(dir, server).Inc()
		return
	}
	if failover {
		m.failovers.WithLabelValues(dir).Inc()
	}
}

// DirectoryOperation records one operation of directory dir on server: op
// names it (find, bind, reset, ...), result is "ok" or the kind of failure.
func (m *Metrics) DirectoryOperation(dir, server, op, result string, took time.Duration) {
	m.dirOps.WithLabelValues(dir, server, label(op), label(result)).Observe(took.Seconds())
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code    int
	written bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.written {
		s.code, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.written = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushing,
// deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
