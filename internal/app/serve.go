package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/store"
)

// Reloader builds the App that replaces the running one (old) when the
// configuration is reloaded (SIGHUP): from the configuration as it is now,
// on old's store and metrics (Options.Store, Options.Metrics). An error —
// the new configuration's problems, a setting that needs a restart — keeps
// old running.
type Reloader func(ctx context.Context, old *App) (*App, error)

// generation is one App while it serves: the requests it is answering
// (readers of mu) and its background work.
type generation struct {
	app    *App
	mu     sync.RWMutex
	closed bool
	stopBG func()
	// tls is the TLS configuration of this generation's handshakes: its
	// certificate and, with the certificate factor, the client CAs.
	tls *tls.Config
}

// Serve serves first on ln (or on its configured address when ln is nil),
// with its background work (outbox, janitor, resolver, audit self-check)
// and the profiler and metrics listeners it configures, until ctx ends;
// then shuts down gracefully within server.shutdown_timeout.
//
// Each value on reloads asks reload for a new App. If it builds, it
// replaces the running one atomically: the old one's background work stops
// first (its outbox worker hands back what it claimed, so no message goes
// twice), the new one's starts, new requests go to the new App, and the old
// one is closed once the requests it was answering are done (at most
// server.shutdown_timeout later). If it does not, the running App stays and
// the error is logged. The listeners (server.listen, profile_listen,
// metrics_listen) and the store stay those of first: a reload that changes
// them is refused by reload. The TLS certificate is read again at each
// reload.
func Serve(ctx context.Context, first *App, ln net.Listener, reloads <-chan struct{}, reload Reloader) error {
	cfg := first.cfg
	log := first.log
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.Server.Listen, err)
		}
	}
	g, err := newGeneration(first)
	if err != nil {
		ln.Close()
		return err
	}
	var cur atomic.Pointer[generation]
	cur.Store(g)
	if err := first.recordConfigAtStart(ctx); err != nil { // what changed since the last run (reports.go)
		log.Error("recording the configuration's changes in the audit log failed", "err", err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveCurrent(&cur, w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout(cfg), // a Duo push may wait longer
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if g.tls != nil {
		// Each handshake takes the configuration of the generation
		// serving now, so a reload's certificate and client CAs apply to
		// the next connection.
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12,
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return cur.Load().tls, nil }}
	}
	var profLn net.Listener
	if addr := cfg.Server.ProfileListen; addr != "" {
		if profLn, err = net.Listen("tcp", addr); err != nil {
			ln.Close()
			return fmt.Errorf("listening on %s (server.profile_listen): %w", addr, err)
		}
	}
	metricsLn, err := first.listenMetrics()
	if err != nil {
		ln.Close()
		if profLn != nil {
			profLn.Close()
		}
		return err
	}
	bg, stopListeners := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if profLn != nil {
		wg.Go(func() { first.serveProfiler(bg, profLn) })
	}
	if metricsLn != nil {
		wg.Go(func() { serveMetrics(bg, metricsLn, first, func() *App { return cur.Load().app }) })
	}
	g.stopBG = g.app.startBackground(ctx)

	errc := make(chan error, 1)
	go func() {
		if g.tls != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info("sspr is listening", "addr", ln.Addr().String(), "base_url", cfg.Server.BaseURL)
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case serveErr = <-errc:
			break loop
		case <-reloads:
			old := cur.Load()
			next, err := reload(ctx, old.app)
			if err == nil {
				var ng *generation
				if ng, err = newGeneration(next); err == nil {
					old.stopBG()
					ng.stopBG = next.startBackground(ctx)
					cur.Store(ng)
					wg.Go(func() { old.retire(cfg.Server.ShutdownTimeout) })
					log.Info("reload: the new configuration is in use")
					continue
				}
				_ = next.closeResources()
			}
			log.Error("reload: the new configuration was not taken; the running one stays", "err", err)
		}
	}
	log.Info("sspr is shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(shutCtx)
	last := cur.Load()
	last.stopBG()
	stopListeners()
	wg.Wait()
	if last.app != first {
		// The first App is its caller's to close (with the store).
		_ = last.app.closeResources()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return shutErr
}

// newGeneration readies a to serve: its TLS certificate read, and the
// client certificate request of the certificate factor (mutual TLS).
func newGeneration(a *App) (*generation, error) {
	g := &generation{app: a, stopBG: func() {}}
	if c := a.cfg.Server; c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("server.tls_cert_file: %w", err)
		}
		tc, err := clientCertTLS(a.cfg)
		if err != nil {
			return nil, fmt.Errorf("verification.certificate.ca_files: %w", err)
		}
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tc.Certificates = []tls.Certificate{cert}
		tc.NextProtos = []string{"h2", "http/1.1"}
		g.tls = tc
	}
	return g, nil
}

// serveCurrent hands the request to the App serving now. A request that
// caught a generation just retired goes to the next one.
func serveCurrent(cur *atomic.Pointer[generation], w http.ResponseWriter, r *http.Request) {
	for {
		g := cur.Load()
		g.mu.RLock()
		if g.closed {
			g.mu.RUnlock()
			continue
		}
		func() {
			defer g.mu.RUnlock()
			g.app.handler.ServeHTTP(w, r)
		}()
		return
	}
}

// retire closes a replaced generation's resources once the requests it is
// answering are done, or after wait (long-lived ones, such as a
// connector's stream, are then cut: their directory connections close).
// The store stays: the next generation uses it, and the first App's caller
// closes it.
func (g *generation) retire(wait time.Duration) {
	drained := make(chan struct{})
	go func() {
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		close(drained)
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		g.app.log.Warn("reload: requests of the previous configuration still running are cut", "after", wait)
	}
	_ = g.app.closeResources()
}

// startBackground starts a's background work and returns what stops it
// (waiting until it has).
func (a *App) startBackground(ctx context.Context) (stop func()) {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.worker.Run(bg) })
	wg.Go(func() { a.janitor(bg) })
	wg.Go(func() { a.resolveLoop(bg) })
	wg.Go(func() { a.audit.Run(bg) })
	if a.forward != nil {
		wg.Go(func() { a.forward.Run(bg) })
	}
	wg.Go(func() { a.runJobs(bg) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// restartOnly are the settings a reload cannot change: the listeners and
// the store are the running process's.
func restartOnly(old, cur *config.Config) []string {
	var keys []string
	for _, c := range []struct {
		key      string
		old, cur string
	}{
		{"server.listen", old.Server.Listen, cur.Server.Listen},
		{"server.profile_listen", old.Server.ProfileListen, cur.Server.ProfileListen},
		{"server.metrics_listen", old.Server.MetricsListen, cur.Server.MetricsListen},
		{"storage.path", old.Storage.Path, cur.Storage.Path},
		{"storage.driver", old.Storage.Driver, cur.Storage.Driver},
		{"storage.dsn", old.Storage.DSN.Value, cur.Storage.DSN.Value},
	} {
		if c.old != c.cur {
			keys = append(keys, c.key)
		}
	}
	if (old.Server.TLSCertFile == "") != (cur.Server.TLSCertFile == "") {
		keys = append(keys, "server.tls_cert_file")
	}
	return keys
}

// Reload builds the App that replaces a with cfg (already validated, as
// serve validates at start), on a's store and metrics; for Serve's
// Reloader. Settings only a restart can change are refused, naming them.
// The change is audited ("config.reload", with the sections that changed
// and each setting's old → new value, secrets as "changed").
func (a *App) Reload(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	if keys := restartOnly(a.cfg, cfg); len(keys) > 0 {
		return nil, fmt.Errorf("%s changed, which only a restart applies", strings.Join(keys, ", "))
	}
	next, err := New(ctx, cfg, log, Options{Store: a.store, Metrics: a.metrics})
	if err != nil {
		return nil, err
	}
	changed := changedSections(a.cfg, cfg)
	changes, snapshot := configChangeOnReload(a.cfg, cfg) // per key, old → new (reports.go)
	detail := changesDetail(changes)
	detail["changed"] = changed
	ev := audit.Event{At: next.now(), Event: "config.reload", Actor: "sspr", Outcome: audit.Success, Detail: detail}
	if err := a.store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := next.chain.Append(tx, ev); err != nil {
			return err
		}
		return tx.SetConfigSnapshot(snapshot, next.now())
	}); err != nil {
		_ = next.closeResources()
		return nil, err
	}
	return next, nil
}

// changedSections names the top-level configuration sections whose
// effective values differ (secrets compared, never shown).
func changedSections(old, cur *config.Config) []string {
	ov, cv := reflect.ValueOf(*old), reflect.ValueOf(*cur)
	var out []string
	for i := range ov.NumField() {
		if !ov.Type().Field(i).IsExported() {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), cv.Field(i).Interface()) {
			name := ov.Type().Field(i).Tag.Get("yaml")
			if name == "" || name == "-" {
				name = ov.Type().Field(i).Name
			}
			out = append(out, strings.Split(name, ",")[0])
		}
	}
	return out
}
