package remote

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/sspr/sspr/internal/directory"
)

// Config configures the server's side of a directory of type connector.
type Config struct {
	Name    string
	Domains []string
	// Timeout bounds one call, waiting for a connector included; default
	// 30s (longer than a connector's own directory timeout).
	Timeout time.Duration
	// Wait is how long a call waits for a connector when none is connected
	// (one is reconnecting after a restart or a failover); default 5s.
	// Past it the directory is down.
	Wait time.Duration
	Log  *slog.Logger
}

// Directory is the server's side of a directory reached through
// connectors: every call goes to one of the connectors connected for it.
type Directory struct {
	cfg Config

	// served is set when a Hub accepts connectors for the directory; a
	// process without one (a CLI command) answers at once that it cannot
	// reach it, instead of waiting for a connector that never comes.
	served atomic.Bool

	mu       sync.Mutex
	sessions []*session
	next     int
	joined   chan struct{} // closed (and replaced) when a connector joins
}

// The directory interfaces a Directory implements; a capability the far
// directory lacks answers KindUnsupported.
var (
	_ directory.Directory        = (*Directory)(nil)
	_ directory.PasswordResetter = (*Directory)(nil)
	_ directory.PasswordChanger  = (*Directory)(nil)
	_ directory.Unlocker         = (*Directory)(nil)
	_ directory.ForceChanger     = (*Directory)(nil)
	_ directory.StatusReader     = (*Directory)(nil)
	_ directory.PolicyReader     = (*Directory)(nil)
	_ directory.GroupResolver    = (*Directory)(nil)
	_ directory.HealthChecker    = (*Directory)(nil)
	_ directory.DomainOwner      = (*Directory)(nil)
)

// New builds the directory; it is reachable once a Hub it was added to
// has accepted a connector for it.
func New(cfg Config) *Directory {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Directory{cfg: cfg, joined: make(chan struct{})}
}

// SetLogger replaces the logger; call it before the directory is used.
func (d *Directory) SetLogger(l *slog.Logger) { d.cfg.Log = l }

// Name returns the configured name.
func (d *Directory) Name() string { return d.cfg.Name }

// Domains returns the domain names the directory answers for.
func (d *Directory) Domains() []string { return d.cfg.Domains }

// Close drops every connector.
func (d *Directory) Close() error {
	d.mu.Lock()
	ss := append([]*session(nil), d.sessions...)
	d.mu.Unlock()
	for _, s := range ss {
		s.close(websocket.StatusGoingAway, "server shutting down")
	}
	return nil
}

// Connected lists the names of the connectors connected now.
func (d *Directory) Connected() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.sessions))
	for _, s := range d.sessions {
		out = append(out, s.name)
	}
	return out
}

func (d *Directory) attach(s *session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sessions = append(d.sessions, s)
	close(d.joined)
	d.joined = make(chan struct{})
}

func (d *Directory) detach(s *session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, x := range d.sessions {
		if x == s {
			d.sessions = append(d.sessions[:i], d.sessions[i+1:]...)
			return
		}
	}
}

// pick returns a live connector not in tried, taking turns so that the
// load spreads, or waits until one joins, for at most until.
func (d *Directory) pick(ctx context.Context, tried map[*session]bool, until time.Time) *session {
	for {
		d.mu.Lock()
		n := len(d.sessions)
		for i := range n {
			s := d.sessions[(d.next+i)%n]
			if !tried[s] && s.err() == nil {
				d.next = (d.next + i + 1) % n
				d.mu.Unlock()
				return s
			}
		}
		joined := d.joined
		d.mu.Unlock()
		wait := time.Until(until)
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-joined:
			t.Stop()
		case <-t.C:
			return nil
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// retry says when a call that failed on one connector may go to another.
type retry int

const (
	// retryAlways: reads and idempotent writes (an unlock, a flag).
	retryAlways retry = iota
	// retryUnsent: a password write or a bind (each counts against the
	// account's lockout) goes again only if it provably was not sent.
	retryUnsent
)

// errOutcomeUnknown: the call was sent and its connector went away before
// answering; it may or may not have run.
type errOutcomeUnknown struct{ err error }

func (e *errOutcomeUnknown) Error() string {
	return "the connector went away before answering: " + e.err.Error()
}

func (d *Directory) unavailable(op, why string, err error) error {
	return &directory.Error{Kind: directory.KindUnavailable, Op: op, Diagnostic: why, Err: err}
}

// do runs one call on a connector, failing over as r allows.
func (d *Directory) do(ctx context.Context, m *message, r retry) (*message, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	if !d.served.Load() {
		return nil, d.unavailable(m.Op, "this process accepts no connectors: only the running server (sspr serve) reaches "+d.cfg.Name, nil)
	}
	tried := map[*session]bool{}
	var last error
	for {
		s := d.pick(ctx, tried, time.Now().Add(d.cfg.Wait))
		if s == nil {
			why := "no connector is connected for " + d.cfg.Name
			if last != nil {
				why = "no other connector is connected for " + d.cfg.Name
			}
			return nil, d.unavailable(m.Op, why, last)
		}
		reply, sent, err := s.call(ctx, m)
		if err == nil {
			if reply.Error != nil {
				return reply, reply.Error.fromWire()
			}
			return reply, nil
		}
		tried[s] = true
		last = err
		if ctx.Err() != nil && !sent {
			return nil, d.unavailable(m.Op, "no connector answered in time", err)
		}
		if sent && r != retryAlways {
			return nil, &errOutcomeUnknown{err: err}
		}
		d.cfg.Log.Warn("a connector failed a call; trying another", "directory", d.cfg.Name, "connector", s.name, "op", m.Op, "err", err)
	}
}

// FindUser looks the user up through a connector.
func (d *Directory) FindUser(ctx context.Context, login string) (*directory.User, error) {
	reply, err := d.do(ctx, &message{T: typeCall, Op: opFind, Login: login}, retryAlways)
	if err != nil {
		return nil, err
	}
	u := reply.User.user()
	if u == nil {
		return nil, d.unavailable(opFind, "the connector answered a lookup without a user", nil)
	}
	u.Directory = d.cfg.Name
	return u, nil
}

// VerifyPassword binds as the user through a connector. A bind is not
// repeated on another connector once sent: a wrong password would count
// twice against the account's lockout.
func (d *Directory) VerifyPassword(ctx context.Context, user *directory.User, password string) error {
	_, err := d.do(ctx, &message{T: typeCall, Op: opVerify, User: toWireUser(user), Password: password}, retryUnsent)
	var unknown *errOutcomeUnknown
	if errors.As(err, &unknown) {
		return d.unavailable(opVerify, unknown.Error(), unknown.err)
	}
	return err
}

// ResetPassword sets a new password through a connector.
func (d *Directory) ResetPassword(ctx context.Context, user *directory.User, newPassword string) error {
	return d.write(ctx, opReset, user, &message{T: typeCall, Op: opReset, User: toWireUser(user), Password: newPassword})
}

// ChangePassword changes the password with the old one, through a
// connector.
func (d *Directory) ChangePassword(ctx context.Context, user *directory.User, oldPassword, newPassword string) error {
	return d.write(ctx, opChange, user, &message{T: typeCall, Op: opChange, User: toWireUser(user), OldPassword: oldPassword, Password: newPassword})
}

// write runs a password write. Sent and then lost (its connector died
// before answering), the write may or may not have happened; it is not
// repeated (AD's history would refuse the same password the second time),
// but settled: the account's password-last-set time, read before the
// write and again afterwards through another connector, says whether it
// happened. When that cannot be read, the error's Op is
// directory.OpOutcomeUnknown: the reset flow keeps its recorded intent and
// settles it later by asking the directory (flow.ResolveInterrupted), as
// after a crash.
func (d *Directory) write(ctx context.Context, op string, user *directory.User, m *message) error {
	before, beforeErr := d.AccountStatus(ctx, user)
	_, err := d.do(ctx, m, retryUnsent)
	var unknown *errOutcomeUnknown
	if !errors.As(err, &unknown) {
		return err
	}
	// Only a password-last-set time that moved proves anything: an
	// unchanged one may be a write still running on the connector that
	// went away, or a directory that keeps no such time (OpenLDAP without
	// ppolicy). Anything else stays unknown, for the resolver to settle
	// later; answering "not done" would discard the notices and sync of a
	// write that happened.
	if beforeErr == nil && !before.PasswordLastSet.IsZero() {
		after, err := d.AccountStatus(ctx, freshUser(user))
		if err == nil && after.PasswordLastSet.After(before.PasswordLastSet) {
			d.cfg.Log.Info("a password write whose connector went away did happen", "directory", d.cfg.Name, "op", op, "subject", user.DN)
			return nil
		}
	}
	d.cfg.Log.Warn("a password write's outcome is unknown: its connector went away and no other could tell", "directory", d.cfg.Name, "op", op, "subject", user.DN, "err", unknown.err)
	return &directory.Error{Kind: directory.KindUnavailable, Op: directory.OpOutcomeUnknown, Diagnostic: op + ": " + unknown.Error(), Err: unknown.err}
}

// Unlock clears a lockout through a connector (retried on another: an
// unlock done twice is done once).
func (d *Directory) Unlock(ctx context.Context, user *directory.User) error {
	_, err := d.do(ctx, &message{T: typeCall, Op: opUnlock, User: toWireUser(user)}, retryAlways)
	return err
}

// SetMustChange sets or clears must-change through a connector.
func (d *Directory) SetMustChange(ctx context.Context, user *directory.User, mustChange bool) error {
	_, err := d.do(ctx, &message{T: typeCall, Op: opMustChange, User: toWireUser(user), MustChange: mustChange}, retryAlways)
	return err
}

// AccountStatus reads the account's state through a connector.
func (d *Directory) AccountStatus(ctx context.Context, user *directory.User) (*directory.AccountStatus, error) {
	reply, err := d.do(ctx, &message{T: typeCall, Op: opStatus, User: toWireUser(user)}, retryAlways)
	if err != nil {
		return nil, err
	}
	if reply.Status == nil {
		return nil, d.unavailable(opStatus, "the connector answered without a status", nil)
	}
	return reply.Status, nil
}

// EffectivePolicy reads the user's password policy through a connector.
func (d *Directory) EffectivePolicy(ctx context.Context, user *directory.User) (*directory.PasswordPolicy, error) {
	reply, err := d.do(ctx, &message{T: typeCall, Op: opPolicy, User: toWireUser(user)}, retryAlways)
	if err != nil {
		return nil, err
	}
	if reply.Policy == nil {
		return nil, d.unavailable(opPolicy, "the connector answered without a policy", nil)
	}
	return reply.Policy, nil
}

// Groups lists the user's groups through a connector.
func (d *Directory) Groups(ctx context.Context, user *directory.User) ([]string, error) {
	reply, err := d.do(ctx, &message{T: typeCall, Op: opGroups, User: toWireUser(user)}, retryAlways)
	if err != nil {
		return nil, err
	}
	return reply.Groups, nil
}

// Check asks a connector to check its directory, and says which
// connectors are connected.
func (d *Directory) Check(ctx context.Context) *directory.Report {
	if !d.served.Load() {
		return &directory.Report{Directory: d.cfg.Name, Findings: []directory.Finding{{Severity: directory.SeverityWarning, ID: "connector.elsewhere",
			Message: d.cfg.Name + " is reached through connectors, which only the running server accepts: see sspr connectors list for when each last connected"}}}
	}
	reply, err := d.do(ctx, &message{T: typeCall, Op: opCheck}, retryAlways)
	if err != nil || reply.Report == nil {
		return &directory.Report{Directory: d.cfg.Name, Findings: []directory.Finding{{Severity: directory.SeverityError, ID: "connector.none",
			Message: "no connector answered for " + d.cfg.Name + ": start `sspr connector` next to the directory (docs/connector.md)"}}}
	}
	r := reply.Report
	r.Directory = d.cfg.Name
	names := d.Connected()
	sev := directory.SeverityOK
	msg := "connectors connected: " + joinNames(names)
	if len(names) < 2 {
		sev = directory.SeverityWarning
		msg += " (a second connector keeps resets working while one is down)"
	}
	r.Findings = append(r.Findings, directory.Finding{Severity: sev, ID: "connector.count", Message: msg})
	return r
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
