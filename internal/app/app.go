package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/api"
	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/directory/remote"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/forward"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/mail"
	"github.com/sspr/sspr/internal/metrics"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/password/breach"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/web"
	"github.com/sspr/sspr/internal/web/portal"
)

// Options are what the embedding command adds to the configuration.
type Options struct {
	// Mailbox turns on the demo mailbox pages (sspr demo).
	Mailbox portal.Mailbox
	// Now overrides the clock (tests).
	Now func() time.Time
	// Store and Metrics, when set, are the running App's, for the App a
	// reload builds (Serve): the new one uses them and does not close the
	// store.
	Store   *store.Store
	Metrics *metrics.Metrics
}

// App is a wired sspr instance.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *store.Store
	dirs    *directory.Set
	worker  *notify.Worker
	handler http.Handler
	corpus  *breach.Checker
	geo     *access.GeoIP
	metrics *metrics.Metrics
	// publicReady is /readyz on the portal's listener (readyCache).
	publicReady *readyCache
	// ownsStore: Close closes the store (the App a reload builds uses the
	// running one's).
	ownsStore bool
	closeOnce sync.Once
	closeErr  error
	devices   *access.Devices
	limiter   *limiter
	audit     *audit.Monitor
	chain     *audit.Chain
	now       func() time.Time
	// Reset is the reset and unlock flow, exposed for the CLI and tests.
	Reset *flow.Reset
	// Change is the change-password flow.
	Change *flow.Change
	// Enroll is the enrollment portal's flow.
	Enroll *flow.Enroll
	// Agents registers login-screen agents and checks their signatures.
	Agents *flow.Agents
	// Admin is the admin console's flow (nil unless admin.enabled).
	Admin *flow.Admin
	// Approvals serves managers' approval links (nil unless manager
	// approval is offered).
	Approvals *flow.Approvals
	// connectors accepts outbound-only connectors (nil without a
	// directory of type connector).
	connectors *remote.Hub
	// forward delivers audit events to webhooks and the SIEM (nil when
	// none is configured; notices.go).
	forward *forward.Forwarder
}

// New builds every component from cfg. Nothing is listening yet.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*App, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	cat, err := catalogue(cfg, log)
	if err != nil {
		return nil, err
	}
	rules, corpus, err := passwordRules(cfg.Password, log)
	if err != nil {
		return nil, err
	}
	dirs, err := Directories(cfg)
	if err != nil {
		return nil, err
	}
	warnKeyFileModes(cfg, log)
	// A reload (Serve) builds the new App on the running one's store.
	st, closeStore := opts.Store, func() error { return nil }
	if st == nil {
		if st, err = OpenStore(ctx, cfg, store.WithLogger(log)); err != nil {
			return nil, err
		}
		closeStore = st.Close
	}
	base := strings.TrimRight(cfg.Server.BaseURL, "/")
	composer, err := notify.NewComposer(cat, branding(cfg), composerOptions(cfg)...)
	if err != nil {
		closeStore()
		return nil, err
	}
	sender, err := mailSender(cfg)
	if err != nil {
		closeStore()
		return nil, err
	}
	worker := &notify.Worker{
		Store: st, Sender: sender, Log: log, Now: now, PollInterval: cfg.Mail.Outbox.PollInterval,
		MaxAttempts: cfg.Mail.Outbox.MaxAttempts, InitialBackoff: cfg.Mail.Outbox.InitialBackoff, MaxBackoff: cfg.Mail.Outbox.MaxBackoff,
		// A claimed message stays hidden from other workers for longer than
		// any send can take, so two nodes never both deliver it.
		Lease: 2*cfg.Mail.SMTP.Timeout + 30*time.Second,
		// At start-up the worker takes back what an earlier process of
		// this node left claimed when it died (see docs/operations.md).
		Workers: cfg.Mail.Outbox.Workers, Node: cfg.Mail.Outbox.NodeID,
		SentRetention: cfg.Mail.Outbox.SentRetention, FailedRetention: cfg.Mail.Outbox.FailedRetention,
	}
	if worker.SMS, err = smsSender(cfg.SMS, sender); err != nil {
		closeStore()
		return nil, err
	}
	if worker.Voice, err = voiceSender(cfg); err != nil {
		closeStore()
		return nil, err
	}
	ring, err := keyRing(cfg)
	if err != nil {
		closeStore()
		return nil, err
	}
	worker.Prepare()
	chain := audit.NewChain(cfg.HMACKeyBytes())
	// A reload keeps the running App's metrics, so counters carry on.
	meters := opts.Metrics
	if meters == nil {
		meters = metrics.New()
		storeGauges(meters, st, now, log)
	}
	chain.Observe = observeAudit(meters, log, cfg.Log.Audit)
	observeDirectories(meters, dirs)
	if _, err := chain.Start(ctx, st, now()); err != nil {
		closeStore()
		return nil, err
	}
	worker.Sealer = ring
	fs, err := factors(cfg, now)
	if err != nil {
		closeStore()
		return nil, err
	}
	lim, err := newLimiter(cfg.Abuse, cfg.HMACKeyBytes(), now, st)
	if err != nil {
		closeStore()
		return nil, err
	}
	offered := make([]factor.Kind, 0, len(cfg.Verification.Factors))
	for _, k := range cfg.Verification.Factors {
		offered = append(offered, factor.Kind(k))
	}
	allowProtected := map[string]bool{}
	if cfg.Verification.AllowProtectedAccounts {
		for _, d := range cfg.Directories {
			allowProtected[d.Name] = true
		}
	}
	// One kit serves every flow (store, directories, messages, audit,
	// limits, clock), one catalogue the recovery flow and enrollment.
	kit := &flow.Kit{Store: st, Directories: dirs, Composer: composer, MailFrom: cfg.Mail.From, Sealer: ring, Limiter: lim,
		Log: log, Now: now, Enqueued: worker.Kick, Audit: chain, LoginHashKey: loginHashKey(cfg), Notices: flowNotices(cfg)}
	// Password sync: pre-hooks and one outbox message per target for each
	// new password, delivered by the outbox worker's sync sender.
	planner, syncSender, err := newSync(cfg, dirs, ring, st, chain, worker.MaxAttempts, worker.Lease, now)
	if err != nil {
		closeStore()
		return nil, err
	}
	if syncSender != nil {
		worker.Sync = syncSender
	}
	if planner != nil {
		kit.Sync = planner
	}
	pols, err := Policies(cfg)
	if err != nil {
		closeStore()
		return nil, err
	}
	presets, err := presetRules(cfg, corpus)
	if err != nil {
		closeStore()
		return nil, err
	}
	rulesAccess, geo, err := Access(cfg)
	if err != nil {
		closeStore()
		return nil, err
	}
	catalogue := &flow.Catalogue{Factors: fs, Offered: offered,
		PreEnrollMail: cfg.Verification.PreEnrollMail, PreEnrollMobile: cfg.Verification.PreEnrollMobile, Policies: pols,
		Access: rulesAccess, AccessContact: helpDeskContact(cfg.Portal.HelpDesk)}
	reset := &flow.Reset{
		Kit: kit, Catalogue: catalogue, Rules: rules, PresetRules: presets,
		Settings: flow.Settings{
			CodeLength: cfg.Reset.CodeLength, CodeTTL: cfg.Reset.CodeTTL, MaxCodeAttempts: cfg.Reset.MaxCodeAttempts,
			MaxCodesSent: cfg.MaxCodesSent(), FlowTTL: cfg.Reset.FlowTTL, IdentifyMinDuration: cfg.Reset.IdentifyMinDuration,
			StepMinDuration:     cfg.Reset.StepMinDuration,
			MaxPasswordAttempts: cfg.Reset.MaxPasswordAttempts, ContinueURL: base + "/reset/code",
			AllowProtected: allowProtected, FirstFactor: factor.Kind(cfg.Verification.FirstFactor),
			Required: map[flow.Action]int{flow.ActionReset: cfg.Verification.Required.Reset, flow.ActionUnlock: cfg.Verification.Required.Unlock},
			// Questions never come first (NIST SP 800-63B-4); attribute
			// questions only ask what the person's entry holds, which would
			// tell a stranger about the account.
			NotFirst: withNotFirst(fs, map[factor.Kind]bool{factor.Questions: true, factor.Attributes: true}),
			// Off by default: it tells strangers who has not enrolled.
			RedirectUnenrolled: cfg.Enrollment.RedirectUnenrolled,
		},
	}
	if bits := cfg.Abuse.ProofOfWorkBits; bits > 0 {
		reset.PoW = proofOfWork{p: &abuse.PoW{Key: secrets.Derive(cfg.HMACKeyBytes(), "abuse:pow"), Bits: bits, TTL: cfg.Abuse.ProofOfWorkTTL, Now: now}, store: st}
	}
	enroll := &flow.Enroll{Kit: kit, Catalogue: catalogue, SessionTTL: cfg.Enrollment.SessionTTL, StepUpWindow: cfg.Enrollment.StepUpWindow,
		CodeTTL: cfg.Reset.CodeTTL, ContinueURL: base + "/reset/code", SignInMinDuration: cfg.Reset.IdentifyMinDuration}
	change := &flow.Change{Kit: kit, MinDuration: cfg.Reset.IdentifyMinDuration, Rules: rules, Policies: pols,
		Access: rulesAccess, AccessContact: helpDeskContact(cfg.Portal.HelpDesk)}
	a := &App{cfg: cfg, log: log, store: st, dirs: dirs, worker: worker, Reset: reset, Change: change, Enroll: enroll, corpus: corpus, limiter: lim,
		geo: geo, devices: &access.Devices{Ring: ring, TTL: cfg.Portal.KnownDeviceTTL},
		Agents: newAgents(cfg, kit), audit: auditMonitor(cfg.Audit, chain, st, log, now), chain: chain, now: now,
		connectors: newConnectorHub(cfg, dirs, st, chain, log, now), metrics: meters,
		ownsStore: opts.Store == nil}
	a.publicReady = &readyCache{ttl: publicReadyTTL, now: time.Now, compute: a.readiness}
	// Manager approval: the store's UsedSet, the page for the managers'
	// links, and the sender that reads their addresses when mailing.
	a.Approvals = wireApproval(fs, kit, st, now)
	worker.Approval = approvalOutbox{dirs: dirs, mail: sender}
	if a.forward, err = forwarder(cfg, st, log, now); err == nil && a.forward != nil {
		err = a.forward.Start(ctx)
	}
	if err != nil {
		closeStore()
		return nil, err
	}
	if err := a.buildHandler(cat, opts); err != nil {
		closeStore()
		return nil, err
	}
	return a, nil
}

// branding is what mails say about the instance.
func branding(cfg *config.Config) notify.Branding {
	b := notify.Branding{
		Title: cfg.Portal.Title, PortalURL: strings.TrimRight(cfg.Server.BaseURL, "/") + "/", HelpDeskText: cfg.Portal.HelpDesk.Text,
		HelpDeskURL: cfg.Portal.HelpDesk.URL, HelpDesk: firstNonEmpty(cfg.Portal.HelpDesk.Email, cfg.Portal.HelpDesk.Phone),
	}
	brandMail(&b, cfg)
	return b
}

// mailSender builds the SMTP sender (it does not connect).
func mailSender(cfg *config.Config) (*mail.SMTPSender, error) {
	return mail.NewSMTPSender(mail.Config{
		Host: cfg.Mail.SMTP.Host, Port: cfg.Mail.SMTP.Port, Security: mail.Security(cfg.Mail.SMTP.Security),
		Username: cfg.Mail.SMTP.Username, Password: cfg.Mail.SMTP.Password.Value, CAFile: cfg.Mail.SMTP.CAFile,
		InsecureSkipVerify: cfg.Mail.SMTP.InsecureSkipVerify, HeloName: cfg.Mail.SMTP.HeloName,
		Timeout: cfg.Mail.SMTP.Timeout, From: cfg.Mail.From,
	})
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Directories builds the configured directory connectors.
func Directories(cfg *config.Config) (*directory.Set, error) {
	var dirs []directory.Directory
	for i, d := range cfg.Directories {
		dir, err := newDirectory(d, cfg.Verification.Attributes, append(append(syncExtraAttributes(cfg), approvalAttributes(cfg)...), factorAttributes(cfg)...)...)
		if err != nil {
			for _, built := range dirs {
				_ = built.Close()
			}
			return nil, fmt.Errorf("directories[%d] (%s): %w", i, d.Name, err)
		}
		dirs = append(dirs, dir)
	}
	return directory.NewSet(dirs...), nil
}

// newDirectory builds one connector from its configuration entry.
func newDirectory(d config.Directory, questions []config.AttributeQuestion, extra ...string) (directory.Directory, error) {
	switch d.Type {
	case "entra":
		return newEntraDirectory(d)
	case "connector":
		return newConnectorDirectory(d), nil
	}
	lc := ldapConfig(d, questions, extra...)
	switch d.Type {
	case "ad":
		return ad.New(lc)
	case "openldap", "389ds", "freeipa":
		return openldap.New(lc, openldap.Options{PasswordWrite: d.PasswordWrite})
	}
	return nil, fmt.Errorf("unknown type %q", d.Type)
}

// ldapConfig is the one translation of a directory's YAML settings
// (config.Directory, validated there with their key paths) into the
// connector's configuration. It lives here, not in config, because config
// is the platform layer and may not know the adapters; it adds nothing the
// file does not say except what the connector needs from elsewhere (the
// attributes questions read, and those password sync maps people by).
func ldapConfig(d config.Directory, questions []config.AttributeQuestion, extra ...string) ldapdir.Config {
	lc := ldapdir.Config{
		Name: d.Name, URLs: d.URLs, StartTLS: d.StartTLS, CAFile: d.CAFile, InsecureSkipVerify: d.InsecureSkipVerify,
		AllowInsecureBinds: d.AllowInsecureBinds,
		BindDN:             d.BindDN, BindPassword: d.BindPassword.Value,
		BaseDN: d.BaseDN, UserFilter: d.UserFilter, LoginAttributes: d.LoginAttributes, LoginNameAttribute: d.LoginNameAttribute,
		MailAttribute: d.MailAttribute, DisplayNameAttribute: d.DisplayNameAttribute, Timeout: d.Timeout,
		Domains: d.Domains, MobileAttribute: d.MobileAttribute, ManagerAttribute: d.ManagerAttribute,
		ProtectedGroups: d.ProtectedGroups, UnlockOnReset: d.UnlockOnReset, PasswordPolicyDN: d.PasswordPolicyDN,
		DisabledFilter: d.DisabledFilter, GroupBaseDN: d.GroupBaseDN, PoolSize: d.PoolSize,
		WriteConcurrency: d.WriteConcurrency,
	}
	for _, a := range questions {
		lc.ExtraAttributes = append(lc.ExtraAttributes, a.Attribute)
	}
	// ... and the attributes password sync maps people by (upn, immutableId).
	lc.ExtraAttributes = append(lc.ExtraAttributes, extra...)
	if d.Type != "ad" {
		lc.Flavor = d.Type
	}
	return lc
}

func (a *App) buildHandler(cat *i18n.Catalogue, opts Options) error {
	base, _ := url.Parse(a.cfg.Server.BaseURL)
	secure := base.Scheme == "https"
	ips := web.ClientIPs{Trusted: web.ParseTrusted(a.cfg.Server.TrustedProxies)}
	known := &web.KnownDevices{Devices: a.devices, Secure: secure, Now: a.now}
	look, err := portalBranding(a.cfg)
	if err != nil {
		return err
	}
	p, err := portal.New(a.Reset, a.Change, a.Enroll, cat, ips, a.log, portal.Options{KnownDevices: known, Branding: look,
		Approvals: approvalsFace(a.Approvals), Title: a.cfg.Portal.Title, Secure: secure, CodeTTL: a.cfg.Reset.CodeTTL, FlowTTL: a.cfg.Reset.FlowTTL, Directories: directoryNames(a.cfg), Mailbox: opts.Mailbox,
		Redirects: redirects(a.cfg),
		HelpDesk: portal.HelpDesk{Text: a.cfg.Portal.HelpDesk.Text, URL: a.cfg.Portal.HelpDesk.URL,
			Email: a.cfg.Portal.HelpDesk.Email, Phone: a.cfg.Portal.HelpDesk.Phone},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	p.Register(mux)
	jsonAPI := api.New(a.Reset, a.Change, a.Enroll, cat, ips, a.log)
	jsonAPI.KnownDevices = known
	jsonAPI.CertificateHeader = redirects(a.cfg).CertificateHeader
	jsonAPI.Register(mux)
	api.RegisterAgents(mux, a.Agents, ips, cat)
	mux.HandleFunc("GET /healthz", a.health)
	mux.HandleFunc("GET /readyz", a.ready)
	if a.connectors != nil {
		mux.Handle("GET "+remote.Path, a.connectors)
	}
	if err := a.registerAdmin(mux, ips, secure); err != nil {
		return err
	}
	// Directly around the mux, which sets the route pattern it reads.
	h := a.observeRequests(mux)
	h = api.AgentIdentity(h, a.Agents, ips, cat, a.log)
	// Outside the agents' check, so a registered agent's identity wins.
	h = known.Middleware(h)
	// A cross-origin refusal answers in the shape of what was asked: the
	// API's JSON error under /api/, the portal's page elsewhere.
	portalDeny, apiDeny := p.Forbidden(), jsonAPI.Forbidden()
	h = web.CrossOrigin(h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			apiDeny.ServeHTTP(w, r)
			return
		}
		portalDeny.ServeHTTP(w, r)
	}), samlACS(a.cfg)...)
	h = web.SecurityHeaders(h, a.cfg.Server.TLSCertFile != "" || secure)
	h = http.MaxBytesHandler(h, 64<<10)
	a.handler = h
	return nil
}

func (a *App) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "database unavailable"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}

// StartupChecks runs every directory's health check and logs what it finds
// in plain words. It does not stop the server: a directory that is down now
// may be back in a minute, and the flows say so to users meanwhile.
func (a *App) StartupChecks(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, r := range (&flow.Inspector{Directories: a.dirs}).CheckDirectories(ctx) {
		for _, f := range r.Findings {
			attrs := []any{"directory", r.Directory, "check", f.ID}
			switch f.Severity {
			case directory.SeverityError:
				a.log.Error("directory check: "+f.Message, attrs...)
			case directory.SeverityWarning:
				a.log.Warn("directory check: "+f.Message, attrs...)
			default:
				a.log.Info("directory check: "+f.Message, attrs...)
			}
		}
	}
	CheckLockoutThresholds(ctx, a.dirs, a.limiter.l.Policy(), a.log)
}

// ErrNoBreachCorpus is what ReloadBreachCorpus returns when no corpus is
// configured: nothing to reload, which is not a failure.
var ErrNoBreachCorpus = errors.New("no breached-password corpus is configured (password.breach.corpus)")

// ReloadBreachCorpus swaps in a newly built breached-password corpus while
// lookups continue (sspr serve does it on SIGHUP).
func (a *App) ReloadBreachCorpus() error {
	if a.corpus == nil {
		return ErrNoBreachCorpus
	}
	return a.corpus.Reload()
}

// Handler is the HTTP handler of every face.
func (a *App) Handler() http.Handler { return a.handler }

// Store exposes the store (CLI maintenance, tests).
func (a *App) Store() *store.Store { return a.store }

// Worker exposes the outbox worker (tests drive it).
func (a *App) Worker() *notify.Worker { return a.worker }

// Close releases the store and directories.
func (a *App) Close() error {
	err := a.closeResources()
	if a.ownsStore {
		err = errors.Join(err, a.store.Close())
	}
	return err
}

// closeResources closes what this App alone holds (directory connections,
// the breach corpus, the country database), once.
func (a *App) closeResources() error {
	a.closeOnce.Do(func() {
		var corpusErr error
		if a.corpus != nil {
			corpusErr = a.corpus.Close()
		}
		var geoErr error
		if a.geo != nil {
			geoErr = a.geo.Close()
		}
		a.closeErr = errors.Join(a.dirs.Close(), corpusErr, geoErr)
	})
	return a.closeErr
}

// Run serves on ln (or on the configured address when ln is nil) and runs
// the outbox worker, the flow janitor and the audit log's self-check until
// ctx ends, then shuts down gracefully within the configured timeout. It
// is Serve without reloads.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	return Serve(ctx, a, ln, nil, nil)
}

// janitorInterval is how often the janitor runs: often enough that ended
// flows go within a minute of reset.finished_retention, and cheap because
// every deletion finds its rows through an index.
const janitorInterval = time.Minute

// janitorBatch bounds the rows one janitor transaction deletes, so it never
// holds the writer for long under load.
const janitorBatch = 500

// expiredFlowGrace keeps an expired flow an hour longer, so a person who
// comes back is told it expired rather than that it does not exist.
const expiredFlowGrace = time.Hour

// janitor runs Tidy every janitorInterval until ctx ends (any node may run
// it).
func (a *App) janitor(ctx context.Context) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		if _, err := a.Tidy(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("removing old rows failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// TidyResult counts the rows one Tidy pass removed.
type TidyResult struct {
	// Finished flows ended (done or failed) more than
	// reset.finished_retention ago; Expired flows expired more than an hour
	// ago.
	Finished, Expired int64
	Sessions          int64
	AdminSessions     int64
	AbuseCounters     int64
	// Audit rows older than audit.retention (when set).
	Audit  int64
	Outbox notify.TidyResult
	// NoticeWindows whose window ended (notifications.failure_alert).
	NoticeWindows int64
}

// Tidy removes what no one needs any more: ended flows after
// reset.finished_retention, expired flows and sessions, abuse counters past
// their windows and old outbox messages — in batches of janitorBatch rows,
// each in a transaction of its own, so the database stays the size of the
// traffic of the retention periods rather than of every day served. Audit
// rows go only with audit.retention set, behind a MAC'd marker.
func (a *App) Tidy(ctx context.Context) (TidyResult, error) {
	var r TidyResult
	now := a.now()
	batched := []struct {
		n   *int64
		run func(tx *store.Tx) (int64, error)
	}{
		{&r.Finished, func(tx *store.Tx) (int64, error) {
			return tx.DeleteFinishedFlows(now.Add(-a.cfg.Reset.FinishedRetention), janitorBatch)
		}},
		{&r.Expired, func(tx *store.Tx) (int64, error) {
			return tx.DeleteExpiredFlows(now.Add(-expiredFlowGrace), janitorBatch)
		}},
		{&r.NoticeWindows, func(tx *store.Tx) (int64, error) { return tx.DeleteEndedNoticeWindows(now, janitorBatch) }},
	}
	for _, s := range batched {
		for ctx.Err() == nil {
			var n int64
			if err := a.store.InTx(ctx, func(tx *store.Tx) (err error) { n, err = s.run(tx); return err }); err != nil {
				return r, err
			}
			*s.n += n
			if n < janitorBatch {
				break
			}
		}
	}
	err := a.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if r.Sessions, err = tx.DeleteExpiredSessions(now.Add(-expiredFlowGrace)); err != nil {
			return err
		}
		if r.AdminSessions, err = tx.DeleteExpiredAdminSessions(now, now.Add(-a.cfg.Admin.IdleTimeout)); err != nil {
			return err
		}
		r.AbuseCounters, err = a.limiter.l.Cleanup(tx)
		return err
	})
	if err != nil {
		return r, err
	}
	if r.Outbox, err = a.worker.Tidy(ctx); err != nil {
		return r, err
	}
	if ret := a.cfg.Audit.Retention; ret > 0 {
		if r.Audit, err = a.chain.Prune(ctx, a.store, now.Add(-ret), janitorBatch); err != nil {
			return r, err
		}
	}
	if r != (TidyResult{}) {
		a.log.Debug("removed old rows", "finished_flows", r.Finished, "expired_flows", r.Expired, "sessions", r.Sessions,
			"admin_sessions", r.AdminSessions, "abuse_counters", r.AbuseCounters, "outbox_sent", r.Outbox.Sent, "outbox_failed_purged", r.Outbox.Purged,
			"outbox_failed_deleted", r.Outbox.Failed, "audit", r.Audit)
	}
	return r, ctx.Err()
}

func directoryNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Directories))
	for i, d := range cfg.Directories {
		out[i] = d.Name
	}
	return out
}
