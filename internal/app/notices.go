package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/forward"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// forwarder builds the delivery of audit events to the configured
// webhooks, syslog collector and file (notifications.webhooks,
// notifications.siem); nil when none is configured.
func forwarder(cfg *config.Config, st *store.Store, log *slog.Logger, now func() time.Time) (*forward.Forwarder, error) {
	n := cfg.Notifications
	var routes []forward.Route
	for _, w := range n.Webhooks {
		routes = append(routes, forward.Route{Sink: &forward.Webhook{ID: w.Name, URL: w.URL, Secret: []byte(w.Secret.Value), Now: now},
			Events: forward.Filter(w.Events)})
	}
	if s := n.SIEM.Syslog; s.Address != "" {
		tc, err := siemTLS(s)
		if err != nil {
			return nil, err
		}
		host, _ := os.Hostname()
		routes = append(routes, forward.Route{Sink: &forward.Syslog{ID: s.Address, Address: s.Address, TLS: tc,
			Facility: forward.Facilities[s.Facility], Hostname: host, AppName: s.AppName}, Events: forward.Filter(s.Events)})
	}
	if n.SIEM.File != "" {
		routes = append(routes, forward.Route{Sink: &forward.File{Path: n.SIEM.File}})
	}
	if len(routes) == 0 {
		return nil, nil
	}
	return &forward.Forwarder{Store: st, Routes: routes, Log: log, Now: now, InitialBackoff: cfg.Mail.Outbox.InitialBackoff,
		MaxBackoff: cfg.Mail.Outbox.MaxBackoff}, nil
}

// siemTLS is the TLS configuration for the syslog collector.
func siemTLS(s config.SIEMSyslog) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName}
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(s.Address)
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("notifications.siem.syslog.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("notifications.siem.syslog.ca_file: %s holds no PEM certificate", s.CAFile)
		}
		tc.RootCAs = pool
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("notifications.siem.syslog.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// composerOptions are the composer's template overrides
// (notifications.templates_dir).
func composerOptions(cfg *config.Config) []notify.Option {
	if d := cfg.Notifications.TemplatesDir; d != "" {
		return []notify.Option{notify.WithOverrides(os.DirFS(d), d)}
	}
	return nil
}

// flowNotices turns notifications.<action> into the flows' rules; a
// setting left unset (a configuration built in code, not validated) keeps
// flow.DefaultNotices'.
func flowNotices(cfg *config.Config) *flow.Notices {
	n := cfg.Notifications
	def := flow.DefaultNotices()
	out := &flow.Notices{Rules: map[flow.NoticeAction]flow.NoticeRule{}, FailureThreshold: n.FailureAlert.Threshold,
		FailureWindow: n.FailureAlert.Window, Language: cfg.Portal.DefaultLanguage}
	for a, r := range map[flow.NoticeAction]config.NoticeRule{
		flow.NoticeReset: n.Reset, flow.NoticeUnlock: n.Unlock, flow.NoticeChange: n.Change,
		flow.NoticeEnrollment: n.Enrollment, flow.NoticeBlock: n.Block, flow.NoticeFailures: n.Failures,
	} {
		rule := def.Rules[a]
		if r.Person != nil {
			rule.Person = *r.Person
		}
		if r.SMS != nil {
			rule.SMS = *r.SMS
		}
		rule.Manager, rule.Admins = r.Manager, r.Admins
		out.Rules[a] = rule
	}
	if out.FailureThreshold == 0 {
		out.FailureThreshold = 5
	}
	if out.FailureWindow == 0 {
		out.FailureWindow = def.FailureWindow
	}
	return out
}
