package flow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/store"
)

// Role is what a console user may do; roles come from directory groups.
type Role string

// The console's roles.
const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleHelpdesk looks people up, verifies callers, unlocks and resets.
	RoleHelpdesk Role = "helpdesk"
	// RoleAuditor reads reports and the audit log.
	RoleAuditor Role = "auditor"
)

// AllRoles lists every role, so tests can walk each route for each one.
var AllRoles = []Role{RoleAdmin, RoleHelpdesk, RoleAuditor}

// Refusals of the console's sign-in.
const (
	// CodeSecondFactorRequired: the person has no authenticator app or
	// passkey enrolled, which the console demands.
	CodeSecondFactorRequired Code = "admin_second_factor_required"
	// CodeNoRole: the person is in none of the groups the console admits.
	CodeNoRole Code = "admin_no_role"
	// CodeForbidden: the session's roles do not open this page or action.
	CodeForbidden Code = "admin_forbidden"
)

// AdminFactors are the factors that may open the console: ones that prove
// a device the person holds, never a code sent to a mailbox or phone that
// someone else may read.
var AdminFactors = []factor.Kind{factor.TOTP, factor.Passkey}

// Admin runs the console's sign-in (directory password, then a mandatory
// second factor), its sessions (idle and absolute timeouts) and its audit
// trail. It borrows the enrollment flow's machinery: directories, factors,
// sealer, store, limiter, audit chain and clock.
type Admin struct {
	Enroll *Enroll
	// Groups maps each role to the group DNs whose members (nested
	// membership included) hold it.
	Groups map[Role][]string
	// IdleTimeout ends a session nobody used for this long.
	IdleTimeout time.Duration
	// SessionTTL ends a session this long after sign-in.
	SessionTTL time.Duration
	// Directories are every configured directory, for reports that walk
	// them all.
	Directories []directory.Directory

	// verified is where the audit viewer's last chain check ended.
	verifyMu     sync.Mutex
	verified     audit.Position
	verifiedRows int
}

// AdminStep says what a console session needs next.
type AdminStep string

// The steps of a console session.
const (
	// AdminStepFactor: the password was right; a second factor is due.
	AdminStepFactor AdminStep = "factor"
	// AdminStepReady: signed in.
	AdminStepReady AdminStep = "ready"
)

// AdminView is what the console shows about its own session.
type AdminView struct {
	Login       string           `json:"login"`
	DisplayName string           `json:"display_name"`
	Roles       []Role           `json:"roles"`
	Step        AdminStep        `json:"step"`
	Factors     []EnrolledFactor `json:"factors,omitempty"`
	// PendingID, PendingKind and PendingPrompt describe the factor being
	// verified (a passkey's WebAuthn options, say).
	PendingID     string         `json:"pending_id,omitempty"`
	PendingKind   factor.Kind    `json:"pending_kind,omitempty"`
	PendingPrompt map[string]any `json:"pending_prompt,omitempty"`
}

// Principal is a signed-in console user, as every console action sees it.
type Principal struct {
	Login       string
	DisplayName string
	Directory   string
	DN          string
	Roles       []Role
	ClientIP    string
	// Session is a short, non-secret reference to the session for the
	// audit log.
	Session string
}

// Has reports whether p holds any of roles.
func (p *Principal) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

func adminSessionAD(s *store.AdminSession) []byte {
	return append([]byte("admin-session:"), s.TokenHash...)
}

// SignIn checks the directory password, the person's roles and that they
// have a second factor; it opens a session that needs that factor next and
// challenges the first one. Wrong passwords and unknown logins answer the
// same and count against the abuse limits like any sign-in.
func (a *Admin) SignIn(ctx context.Context, login, password, clientIP string) (string, AdminView, error) {
	r := a.Enroll
	began := r.mono()
	defer r.padTo(ctx, began, r.SignInMinDuration, "identify_min_duration")
	user, base, err := r.checkPassword(ctx, "admin.signin", login, password, clientIP)
	if err != nil {
		return "", AdminView{}, err
	}
	d, _ := r.Directories.Directory(user.Directory)
	roles, err := a.rolesOf(ctx, d, user)
	if err != nil {
		r.log().Error("reading a console user's groups failed", "directory", user.Directory, "subject", user.DN, "err", err)
		return "", AdminView{}, &Error{Code: CodeDirectoryDown, Err: err}
	}
	if len(roles) == 0 {
		ev := base
		ev.At, ev.Outcome, ev.Reason = r.now(), audit.Denied, "no_role"
		r.appendAudit(ctx, ev)
		return "", AdminView{}, refuse(CodeNoRole)
	}
	factors, err := a.secondFactors(ctx, user.Directory, user.DN)
	if err != nil {
		return "", AdminView{}, &Error{Code: CodeInternal, Err: err}
	}
	if len(factors) == 0 {
		ev := base
		ev.At, ev.Outcome, ev.Reason = r.now(), audit.Denied, "no_second_factor"
		r.appendAudit(ctx, ev)
		return "", AdminView{}, refuse(CodeSecondFactorRequired)
	}
	tokenBytes := make([]byte, 32)
	if _, err := io.ReadFull(r.rand(), tokenBytes); err != nil {
		return "", AdminView{}, &Error{Code: CodeInternal, Err: err}
	}
	token := base64.RawURLEncoding.EncodeToString(tokenBytes)
	now := r.now()
	s := &store.AdminSession{TokenHash: hashToken(token), Directory: user.Directory, SubjectDN: user.DN, Login: user.Login,
		DisplayName: user.DisplayName, ClientIP: clientIP, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(a.SessionTTL)}
	for _, role := range roles {
		s.Roles = append(s.Roles, string(role))
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAdminSession(s); err != nil {
			return err
		}
		ev := base
		ev.At, ev.Event, ev.Outcome, ev.Flow = now, "admin.signin_password", audit.Success, flowRef(s.TokenHash)
		return r.Audit.Append(tx, ev)
	})
	if err != nil {
		return "", AdminView{}, &Error{Code: CodeInternal, Err: err}
	}
	v, err := a.challenge(ctx, s, factors[0].ID)
	return token, v, err
}

// rolesOf reads the person's groups (nested included) and maps them to
// roles.
func (a *Admin) rolesOf(ctx context.Context, d directory.Directory, u *directory.User) ([]Role, error) {
	gr, ok := d.(directory.GroupResolver)
	if !ok {
		return nil, errors.New("the directory cannot list groups")
	}
	groups, err := gr.Groups(ctx, u)
	if err != nil {
		return nil, err
	}
	member := map[string]bool{}
	for _, g := range groups {
		member[normDN(g)] = true
	}
	var out []Role
	for _, role := range AllRoles {
		for _, dn := range a.Groups[role] {
			if member[normDN(dn)] {
				out = append(out, role)
				break
			}
		}
	}
	return out, nil
}

// normDN compares DNs the way directories do for group membership: case
// and spaces around separators do not matter.
func normDN(dn string) string {
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		parts[i] = strings.ToLower(strings.TrimSpace(k)) + "=" + strings.ToLower(strings.TrimSpace(v))
	}
	return strings.Join(parts, ",")
}

// secondFactors lists the person's stored factors that may open the
// console.
func (a *Admin) secondFactors(ctx context.Context, dir, dn string) ([]*store.Enrollment, error) {
	r := a.Enroll
	var rows []*store.Enrollment
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		rows, err = tx.Enrollments(dir, dn)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*store.Enrollment
	for _, row := range rows {
		k := factor.Kind(row.Kind)
		if slices.Contains(AdminFactors, k) && r.Factors[k] != nil {
			out = append(out, row)
		}
	}
	return out, nil
}

// enrollSession is the enrollment flow's view of a console session, so
// the console reuses its factor lookups.
func enrollSession(s *store.AdminSession) *store.Session {
	return &store.Session{Directory: s.Directory, SubjectDN: s.SubjectDN, Login: s.Login, DisplayName: s.DisplayName, ClientIP: s.ClientIP}
}

// adminPending is a console session's challenge in progress, sealed.
type adminPending struct {
	Enrollment string         `json:"e"`
	Kind       string         `json:"k"`
	State      []byte         `json:"s,omitempty"`
	Prompt     map[string]any `json:"pr,omitempty"`
	Expires    time.Time      `json:"x"`
}

func (a *Admin) pending(s *store.AdminSession) *adminPending {
	if s.Pending == nil {
		return nil
	}
	plain, err := a.Enroll.Sealer.Open(s.Pending, adminSessionAD(s))
	if err != nil {
		return nil
	}
	var p adminPending
	if json.Unmarshal(plain, &p) != nil || a.Enroll.now().After(p.Expires) {
		return nil
	}
	return &p
}

// challenge starts verifying one of the person's console factors.
func (a *Admin) challenge(ctx context.Context, s *store.AdminSession, enrollmentID string) (AdminView, error) {
	r := a.Enroll
	subject, target, err := a.Enroll.method(ctx, enrollSession(s), enrollmentID)
	if err != nil {
		return AdminView{}, err
	}
	if !slices.Contains(AdminFactors, target.Kind) {
		return AdminView{}, refuse(CodeFactorNotAllowed)
	}
	ch, err := r.Factors[target.Kind].Challenge(ctx, subject, target.Enrollment)
	if err != nil {
		return AdminView{}, &Error{Code: CodeInternal, Err: err}
	}
	p := adminPending{Enrollment: target.ID, Kind: string(target.Kind), State: ch.State, Prompt: ch.Prompt, Expires: expiry(ch, r)}
	plain, err := json.Marshal(p)
	if err != nil {
		return AdminView{}, &Error{Code: CodeInternal, Err: err}
	}
	if s.Pending, err = r.Sealer.Seal(plain, adminSessionAD(s)); err != nil {
		return AdminView{}, &Error{Code: CodeInternal, Err: err}
	}
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateAdminSession(s) }); err != nil {
		return AdminView{}, r.wrap(err)
	}
	return a.view(ctx, s)
}

func (a *Admin) view(ctx context.Context, s *store.AdminSession) (AdminView, error) {
	v := AdminView{Login: s.Login, DisplayName: s.DisplayName, Step: AdminStepReady}
	for _, role := range s.Roles {
		v.Roles = append(v.Roles, Role(role))
	}
	if !s.VerifiedAt.IsZero() {
		return v, nil
	}
	v.Step = AdminStepFactor
	rows, err := a.secondFactors(ctx, s.Directory, s.SubjectDN)
	if err != nil {
		return AdminView{}, &Error{Code: CodeInternal, Err: err}
	}
	for _, row := range rows {
		v.Factors = append(v.Factors, EnrolledFactor{ID: row.ID, Kind: factor.Kind(row.Kind), Label: row.Label, Source: row.Source,
			CreatedAt: row.CreatedAt, LastUsedAt: row.LastUsedAt})
	}
	if p := a.pending(s); p != nil {
		v.PendingID, v.PendingKind, v.PendingPrompt = p.Enrollment, factor.Kind(p.Kind), p.Prompt
	}
	return v, nil
}

// load reads a live session: not expired, not idle. A session found idle
// or expired is deleted.
func (a *Admin) load(ctx context.Context, token string) (*store.AdminSession, error) {
	r := a.Enroll
	if len(token) != 43 {
		return nil, refuse(CodeSessionNotFound)
	}
	var s *store.AdminSession
	ended := false
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		ended = false
		var err error
		s, err = tx.AdminSessionByTokenHash(hashToken(token))
		if errors.Is(err, store.ErrNotFound) {
			return refuse(CodeSessionNotFound)
		}
		if err != nil {
			return err
		}
		now := r.now()
		if now.After(s.ExpiresAt) || now.Sub(s.LastSeenAt) > a.IdleTimeout {
			if err := tx.DeleteAdminSession(s.TokenHash); err != nil {
				return err
			}
			reason := "idle"
			if now.After(s.ExpiresAt) {
				reason = "expired"
			}
			if !s.VerifiedAt.IsZero() {
				if err := r.Audit.Append(tx, audit.Event{At: now, Event: "admin.signout", Flow: flowRef(s.TokenHash), Actor: s.Login,
					Subject: s.SubjectDN, Directory: s.Directory, ClientIP: s.ClientIP, Outcome: audit.Info, Reason: reason}); err != nil {
					return err
				}
			}
			// Committed, not returned as an error: the deletion and its
			// audit record must stay.
			ended = true
		}
		return nil
	})
	if err == nil && ended {
		return nil, refuse(CodeSessionNotFound)
	}
	var fe *Error
	if errors.As(err, &fe) {
		return nil, fe
	}
	return s, r.wrap(err)
}

// View shows the session's state (which factor is due, or ready).
func (a *Admin) View(ctx context.Context, token string) (AdminView, error) {
	s, err := a.load(ctx, token)
	if err != nil {
		return AdminView{}, err
	}
	return a.view(ctx, s)
}

// ChooseFactor switches the pending verification to another of the
// person's console factors.
func (a *Admin) ChooseFactor(ctx context.Context, token, enrollmentID string) (AdminView, error) {
	s, err := a.load(ctx, token)
	if err != nil {
		return AdminView{}, err
	}
	if !s.VerifiedAt.IsZero() {
		return AdminView{}, refuse(CodeWrongState)
	}
	return a.challenge(ctx, s, enrollmentID)
}

// VerifyFactor checks the second factor. Only then does the session open
// anything. A wrong response counts against the person's verification
// limit, like any factor.
func (a *Admin) VerifyFactor(ctx context.Context, token string, resp factor.Response) (AdminView, error) {
	r := a.Enroll
	s, err := a.load(ctx, token)
	if err != nil {
		return AdminView{}, err
	}
	p := a.pending(s)
	if p == nil || !s.VerifiedAt.IsZero() {
		return AdminView{}, refuse(CodeWrongState)
	}
	subject, target, err := a.Enroll.method(ctx, enrollSession(s), p.Enrollment)
	if err != nil {
		return AdminView{}, err
	}
	now := r.now()
	ev := audit.Event{At: now, Event: "admin.signin", Flow: flowRef(s.TokenHash), Actor: s.Login, Subject: s.SubjectDN, Directory: s.Directory,
		ClientIP: s.ClientIP, Outcome: audit.Success, Detail: map[string]any{"factor": string(target.Kind), "roles": strings.Join(s.Roles, ",")}}
	refund, fe := r.take(ctx, LimitVerify, s.Directory+"|"+s.SubjectDN, s.ClientIP, "")
	if fe != nil {
		r.recordLimited(ctx, ev, LimitVerify, fe, true)
		return AdminView{}, refuse(CodeCodeInvalid)
	}
	upd, err := r.Factors[target.Kind].Verify(ctx, subject, target.Enrollment, p.State, resp)
	ok := false
	switch {
	case err == nil:
		ok = true
		refund()
	case errors.Is(err, factor.ErrWrongResponse), errors.Is(err, factor.ErrReplayed), errors.Is(err, factor.ErrExpired):
		ev.Outcome, ev.Reason = audit.Failure, "wrong_response"
	default:
		refund()
		r.log().Error("a factor failed to verify at console sign-in", "factor", target.Kind, "err", err)
		return AdminView{}, &Error{Code: CodeInternal, Err: err}
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if ok {
			sealed, err := r.Sealer.Seal(upd.Secret, enrollmentAD(target.ID))
			if err != nil {
				return err
			}
			swapped, err := tx.SwapEnrollmentSecret(target.ID, target.sealed, sealed, upd.Label, now)
			if err != nil {
				return err
			}
			if !swapped {
				return errRace
			}
			s.VerifiedAt, s.LastSeenAt, s.Pending = now, now, nil
			if err := tx.UpdateAdminSession(s); err != nil {
				return err
			}
		}
		return r.Audit.Append(tx, ev)
	})
	if errors.Is(err, errRace) {
		ok, err = false, nil // the same one-time code was used concurrently
	}
	if err != nil {
		return AdminView{}, r.wrap(err)
	}
	if !ok {
		return AdminView{}, refuse(CodeCodeInvalid)
	}
	return a.view(ctx, s)
}

// Authorize returns the signed-in person behind token when their session
// is verified, live and holds one of roles (none given: any role); it
// counts as activity for the idle timeout. A refusal by role is audited.
func (a *Admin) Authorize(ctx context.Context, token, clientIP, what string, roles ...Role) (*Principal, error) {
	r := a.Enroll
	s, err := a.load(ctx, token)
	if err != nil {
		return nil, err
	}
	if s.VerifiedAt.IsZero() {
		return nil, refuse(CodeSessionNotFound)
	}
	p := &Principal{Login: s.Login, DisplayName: s.DisplayName, Directory: s.Directory, DN: s.SubjectDN, ClientIP: clientIP,
		Session: flowRef(s.TokenHash)}
	for _, role := range s.Roles {
		p.Roles = append(p.Roles, Role(role))
	}
	if len(roles) > 0 && !p.Has(roles...) {
		if err := a.Record(ctx, p, "admin.denied", audit.Denied, "role", map[string]any{"what": what}); err != nil {
			return nil, err
		}
		return nil, refuse(CodeForbidden)
	}
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error { return tx.TouchAdminSession(s.TokenHash, r.now()) }); err != nil {
		return nil, r.wrap(err)
	}
	return p, nil
}

// SignOut ends the session.
func (a *Admin) SignOut(ctx context.Context, token string) error {
	r := a.Enroll
	s, err := a.load(ctx, token)
	if err != nil {
		return nil // already gone
	}
	return r.wrap(r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteAdminSession(s.TokenHash); err != nil {
			return err
		}
		return r.Audit.Append(tx, audit.Event{At: r.now(), Event: "admin.signout", Flow: flowRef(s.TokenHash), Actor: s.Login,
			Subject: s.SubjectDN, Directory: s.Directory, ClientIP: s.ClientIP, Outcome: audit.Info, Reason: "signed_out"})
	}))
}

// Record audits one console action by p. Every page and export the console
// serves is recorded before it is served, so the log says who looked at
// what; when the record cannot be written the action must not happen, and
// the error says so.
func (a *Admin) Record(ctx context.Context, p *Principal, event string, outcome audit.Outcome, reason string, detail map[string]any) error {
	r := a.Enroll
	// Subject stays empty: it names an account acted on, and looking at a
	// report acts on none.
	ev := audit.Event{At: r.now(), Event: event, Flow: p.Session, Actor: p.Login, Directory: p.Directory,
		ClientIP: p.ClientIP, Outcome: outcome, Reason: reason, Detail: detail}
	err := r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return r.Audit.Append(tx, ev) })
	if err != nil {
		r.log().Error("writing an audit event failed", "event", ev.Event, "err", err)
		return &Error{Code: CodeInternal, Err: err}
	}
	return nil
}
