package openldap

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// PasswordModifyOID is the Password Modify extended operation (RFC 3062).
const PasswordModifyOID = ldapdir.OIDPasswordModify

// The ways a password can be written; see Options.PasswordWrite.
const (
	PasswordWriteExop   = ldapdir.PasswordWriteExop
	PasswordWriteModify = ldapdir.PasswordWriteModify
)

// Options are the OpenLDAP connector's own settings.
type Options struct {
	// PasswordWrite is "exop": the Password Modify extended operation,
	// which lets the server hash the password; or "modify": replace
	// userPassword with an ordinary modify. Empty means Config.PasswordWrite,
	// else "exop".
	PasswordWrite string
}

// Preset returns the OpenLDAP defaults applied to empty Config fields
// (ldapdir.PresetOpenLDAP).
func Preset() ldapdir.Config { return ldapdir.PresetOpenLDAP() }

// Directory is the connector for OpenLDAP with ppolicy, and, with the
// matching Config.Flavor (presets ldapdir.Preset389DS, PresetFreeIPA), for
// 389 Directory Server and FreeIPA, which differ only in the attributes that
// hold an account's state. It implements directory.Directory and every
// capability interface: PasswordResetter, PasswordChanger, Unlocker,
// ForceChanger, StatusReader, PolicyReader, GroupResolver, HealthChecker and
// DomainOwner.
type Directory struct {
	client *ldapdir.Client
	opts   Options
	now    func() time.Time
}

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
	_ directory.Refresher        = (*Directory)(nil)
)

// New returns a connector for cfg, with the preset of cfg.Flavor (OpenLDAP
// when empty) filling empty fields. It does not contact the server;
// configuration problems are KindMisconfigured.
func New(cfg ldapdir.Config, opts Options) (*Directory, error) {
	flavor := cfg.Flavor
	if flavor == "" {
		flavor = ldapdir.FlavorOpenLDAP
	}
	preset, ok := ldapdir.Preset(flavor)
	if !ok || flavor == ldapdir.FlavorAD {
		return nil, &directory.Error{Kind: directory.KindMisconfigured, Op: "config",
			Diagnostic: fmt.Sprintf("Flavor: %q is not served by the OpenLDAP connector (openldap, 389ds, freeipa)", cfg.Flavor)}
	}
	cfg = cfg.WithDefaults(preset)
	switch opts.PasswordWrite {
	case "":
		opts.PasswordWrite = cfg.PasswordWrite
		if opts.PasswordWrite == "" || opts.PasswordWrite == ldapdir.PasswordWriteUnicodePwd {
			opts.PasswordWrite = PasswordWriteExop
		}
	case PasswordWriteExop, PasswordWriteModify:
	default:
		return nil, &directory.Error{Kind: directory.KindMisconfigured, Op: "config",
			Diagnostic: fmt.Sprintf("PasswordWrite: %q is neither %q nor %q", opts.PasswordWrite, PasswordWriteExop, PasswordWriteModify)}
	}
	cfg.PasswordWrite = opts.PasswordWrite
	c, err := ldapdir.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Directory{client: c, opts: opts, now: time.Now}, nil
}

// Name returns the configured name.
func (d *Directory) Name() string { return d.client.Name() }

// Config returns the effective configuration.
func (d *Directory) Config() ldapdir.Config { return d.client.Config() }

// Domains returns the configured domain names (Config.Domains).
func (d *Directory) Domains() []string { return d.client.Config().Domains }

// Close closes the pooled service connections.
func (d *Directory) Close() error { return d.client.Close() }

// RootDSE returns the discovered server capabilities (read at first use).
func (d *Directory) RootDSE(ctx context.Context) (*ldapdir.RootDSE, error) {
	return d.client.RootDSE(ctx)
}

func (d *Directory) flavor() string { return d.client.Config().Flavor }

// FindUser looks login up by uid or mail (or the configured attributes),
// reading the account's state in the same search.
func (d *Directory) FindUser(ctx context.Context, login string) (*directory.User, error) {
	return d.client.FindUserWithStatus(ctx, login, d.statusAttrs())
}

// Refresh reads the account user names again by its DN (one base read),
// with what FindUser reads.
func (d *Directory) Refresh(ctx context.Context, user *directory.User) (*directory.User, error) {
	if user == nil {
		return nil, ldapdir.NoUser("search")
	}
	return d.client.ReadUser(ctx, user.DN, d.statusAttrs())
}

// VerifyPassword binds as the user on a fresh connection, with the ppolicy
// request control: a locked account is KindLocked rather than a plain wrong
// password, and a correct password that must be changed first (pwdReset) is
// KindMustChange. 389-DS's password-expired control counts too.
func (d *Directory) VerifyPassword(ctx context.Context, user *directory.User, password string) error {
	if user == nil {
		return ldapdir.NoUser("bind")
	}
	// A bind changes the failure count (or the lockout) either way.
	defer ldapdir.ForgetStatus(user)
	controls, err := d.client.VerifyPassword(ctx, user.DN, password, ldapdir.PasswordPolicyRequest())
	return bindResult(ctx, controls, err)
}

// bindResult turns a bind's outcome and response controls into nil or the
// typed error.
func bindResult(ctx context.Context, controls []ldap.Control, err error) error {
	pp := ldapdir.PasswordPolicyResponse(controls)
	if err != nil {
		e := ldapdir.MapError(ctx, "bind", err)
		if e.Kind == directory.KindDisabled {
			// 389-DS adds "account locked" to an inactivated account's
			// refusal; disabled is the finer truth.
			return e
		}
		return ldapdir.ApplyPasswordPolicy(e, "bind", pp)
	}
	if pp != nil && (pp.Error == 0 || pp.Error == 1 || pp.Error == 2) {
		// The bind succeeded but the server says the account may not be
		// used as it stands.
		return ldapdir.ApplyPasswordPolicy(nil, "bind", pp)
	}
	if ldap.FindControl(controls, ldapdir.OIDNetscapePasswordExpired) != nil {
		// 389-DS: bound, but only to change the password.
		return &directory.Error{Kind: directory.KindMustChange, Op: "bind", Diagnostic: "password expired control (2.16.840.1.113730.3.4.4)"}
	}
	return nil
}

// ResetPassword sets the user's password as the service account. It refuses
// plain LDAP unless AllowInsecurePasswordWrites. Refusals carry the rule the
// ppolicy overlay names, and MinLength when the policy entry is readable.
// OpenLDAP unlocks an account on any password change; with UnlockOnReset
// (the 389-DS and FreeIPA default) the lockout is cleared afterwards, and if
// that fails the error has Op directory.OpUnlockAfterReset (the password IS
// set).
//
// It does not look at AccountStatus.Protected: the flow must (see
// directory.PasswordResetter).
func (d *Directory) ResetPassword(ctx context.Context, user *directory.User, newPassword string) error {
	if user == nil {
		return ldapdir.NoUser("reset")
	}
	defer ldapdir.ForgetStatus(user)
	return d.client.WithWriteConn(ctx, "reset", func(conn *ldapdir.Conn) error {
		if err := d.client.RequireConfidential(conn, "reset"); err != nil {
			return err
		}
		if err := d.writePassword(conn, user.DN, "", newPassword); err != nil {
			return d.passwordError(ctx, conn, "reset", user, newPassword, err)
		}
		if d.client.Config().UnlocksOnReset() && d.flavor() != ldapdir.FlavorOpenLDAP {
			if err := d.unlockOn(ctx, conn, user.DN); err != nil {
				return ldapdir.UnlockAfterResetError(ctx, err)
			}
		}
		return nil
	})
}

// writePassword sends the password write, with the ppolicy request control.
// oldPassword is empty for a reset.
func (d *Directory) writePassword(conn *ldapdir.Conn, dn, oldPassword, newPassword string) error {
	controls := []ldap.Control{ldapdir.PasswordPolicyRequest()}
	if d.opts.PasswordWrite == PasswordWriteModify {
		req := ldap.NewModifyRequest(dn, controls)
		if oldPassword != "" {
			req.Delete("userPassword", []string{oldPassword})
			req.Add("userPassword", []string{newPassword})
		} else {
			req.Replace("userPassword", []string{newPassword})
		}
		return conn.Modify(req)
	}
	req := ldap.NewExtendedRequest(PasswordModifyOID, PasswordModifyValue(dn, oldPassword, newPassword))
	req.Controls = controls
	_, err := conn.Extended(req)
	return err
}

// passwordError maps a refused password write with the ppolicy response
// control, and fills MinLength for a policy violation from the policy read
// on conn, or, when conn is nil, on a pooled service connection.
//
// 389-DS answers every syntax failure of a Password Modify with "fails
// quality checks"; when the policy is readable and the password is shorter
// than its minimum, the reason is made ReasonTooShort.
func (d *Directory) passwordError(ctx context.Context, conn *ldapdir.Conn, op string, user *directory.User, newPassword string, err error) error {
	e := ldapdir.ApplyPasswordPolicy(ldapdir.MapError(ctx, op, err), op,
		ldapdir.PasswordPolicyResponse(ldapdir.ResponseControls(err)))
	if e.Kind == directory.KindPolicyViolation && (len(e.Reasons) == 0 || (len(e.Reasons) == 1 && e.Reasons[0] == directory.ReasonQuality)) {
		// ppolicy's "insufficient quality" is all the control says; a
		// quality module's text may name the rule.
		if r := policyReasons(e.Diagnostic); len(e.Reasons) == 0 || (r[0] != directory.ReasonUnspecified && r[0] != directory.ReasonQuality) {
			e.Reasons = r
		}
	}
	d.client.RefinePolicyViolation(ctx, conn, e, func(conn *ldapdir.Conn) {
		if p, err := d.policyOn(ctx, conn, user); err == nil {
			refinePolicyError(e, p, newPassword)
		}
	})
	return e
}

// refinePolicyError fills MinLength from the policy and names the length
// rule when the server gave only a general reason.
func refinePolicyError(e *directory.Error, p *directory.PasswordPolicy, newPassword string) {
	e.MinLength = p.MinLength
	general := len(e.Reasons) == 1 && (e.Reasons[0] == directory.ReasonQuality || e.Reasons[0] == directory.ReasonUnspecified)
	if general && p.MinLength > 0 && utf8.RuneCountInString(newPassword) < p.MinLength {
		e.Reasons = []directory.Reason{directory.ReasonTooShort}
	}
}

// policyReasons reads the broken rule from a refusal's text when no ppolicy
// control named it (389-DS words its refusals; OpenLDAP sends the control).
func policyReasons(diag string) []directory.Reason {
	t := strings.ToLower(diag)
	switch {
	case strings.Contains(t, "at least") && strings.Contains(t, "characters long"),
		strings.Contains(t, "too short"):
		return []directory.Reason{directory.ReasonTooShort}
	case strings.Contains(t, "history"):
		return []directory.Reason{directory.ReasonHistory}
	case strings.Contains(t, "minimum age"), strings.Contains(t, "too young"), strings.Contains(t, "within minimum"):
		return []directory.Reason{directory.ReasonTooYoung}
	case strings.Contains(t, "dictionary"):
		return []directory.Reason{directory.ReasonDictionary}
	case strings.Contains(t, "digit"):
		return []directory.Reason{directory.ReasonDigit}
	case strings.Contains(t, "user entry"), strings.Contains(t, "user attribute"):
		return []directory.Reason{directory.ReasonContainsName}
	case strings.Contains(t, "must contain"), strings.Contains(t, "categories"):
		return []directory.Reason{directory.ReasonComplexity}
	case strings.Contains(t, "too long"):
		return []directory.Reason{directory.ReasonTooLong}
	case strings.Contains(t, "quality"):
		return []directory.Reason{directory.ReasonQuality}
	}
	return []directory.Reason{directory.ReasonUnspecified}
}

// ChangePassword changes the password of a user who knows the old one, on a
// fresh connection bound as the user (never pooled): the Password Modify
// operation with the old password (or, in "modify" mode, delete old + add new
// userPassword). A user whose password has expired cannot bind; then the same
// operation goes out on a fresh service connection with the old password,
// which the server verifies. A wrong old password is KindInvalidCredentials.
func (d *Directory) ChangePassword(ctx context.Context, user *directory.User, oldPassword, newPassword string) error {
	if user == nil {
		return ldapdir.NoUser("change")
	}
	defer ldapdir.ForgetStatus(user)
	conn, controls, err := d.client.UserConn(ctx, user.DN, oldPassword, ldapdir.PasswordPolicyRequest())
	if err != nil {
		e := ldapdir.ApplyPasswordPolicy(ldapdir.MapError(ctx, "change", err), "change", ldapdir.PasswordPolicyResponse(controls))
		if e.Kind != directory.KindPasswordExpired {
			return e
		}
		if conn, err = d.client.FreshServiceConn(ctx); err != nil {
			return err
		}
	}
	defer conn.Close()
	// The turn to write comes after the bind has shown the old password
	// right: a wrong one must be answered as such at once, whatever
	// writes are under way (a stranger cannot wait on, or hold, a turn).
	release, err := d.client.AcquireWrite(ctx, "change")
	if err != nil {
		return err
	}
	defer release()
	if err := d.client.RequireConfidential(conn, "change"); err != nil {
		return err
	}
	if err := d.writePassword(conn, user.DN, oldPassword, newPassword); err != nil {
		// The user's own connection may not read the policy: nil borrows
		// a service connection for it.
		return d.passwordError(ctx, nil, "change", user, newPassword, err)
	}
	return nil
}

// Unlock clears a lockout without touching the password: OpenLDAP deletes
// pwdAccountLockedTime (which also clears pwdFailureTime), 389-DS deletes
// accountUnlockTime and zeroes passwordRetryCount, FreeIPA zeroes
// krbLoginFailedCount. An account an administrator locked for good
// (OpenLDAP pwdAccountLockedTime 000001010000Z) is KindDisabled and left as
// it is: self-service must not undo that. Unlocking an account that is not
// locked succeeds.
func (d *Directory) Unlock(ctx context.Context, user *directory.User) error {
	if user == nil {
		return ldapdir.NoUser("unlock")
	}
	defer ldapdir.ForgetStatus(user)
	return d.client.WithWriteConn(ctx, "unlock", func(conn *ldapdir.Conn) error {
		return d.unlockOn(ctx, conn, user.DN)
	})
}

func (d *Directory) unlockOn(ctx context.Context, conn *ldapdir.Conn, dn string) error {
	switch d.flavor() {
	case ldapdir.Flavor389DS:
		e, err := conn.Read(dn, []string{"accountUnlockTime", "passwordRetryCount"})
		if err != nil {
			return err
		}
		req := ldap.NewModifyRequest(dn, nil)
		if e.GetAttributeValue("accountUnlockTime") != "" {
			req.Delete("accountUnlockTime", nil)
		}
		if ldapdir.Atoi(e.GetAttributeValue("passwordRetryCount")) != 0 {
			req.Replace("passwordRetryCount", []string{"0"})
		}
		if len(req.Changes) == 0 {
			return nil
		}
		return conn.Modify(req)
	case ldapdir.FlavorFreeIPA:
		req := ldap.NewModifyRequest(dn, nil)
		req.Replace("krbLoginFailedCount", []string{"0"})
		return conn.Modify(req)
	}
	e, err := conn.Read(dn, []string{"pwdAccountLockedTime"})
	if err != nil {
		return err
	}
	switch v := e.GetAttributeValue("pwdAccountLockedTime"); v {
	case "":
		return nil
	case permanentLock:
		return &directory.Error{Kind: directory.KindDisabled, Op: "unlock",
			Diagnostic: "pwdAccountLockedTime is 000001010000Z: an administrator locked the account for good"}
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Delete("pwdAccountLockedTime", nil)
	err = conn.Modify(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
		return nil // unlocked meanwhile
	}
	return err
}

// permanentLock is the pwdAccountLockedTime an administrator sets to lock an
// account until an administrator unlocks it (OpenLDAP slapo-ppolicy).
const permanentLock = "000001010000Z"

// ds389Epoch is 389-DS's "already": passwordExpirationTime for "must change
// now", accountUnlockTime for "locked until an administrator unlocks".
const ds389Epoch = "19700101000000Z"

// SetMustChange sets or clears "must change the password at next logon":
// OpenLDAP pwdReset TRUE / deleted, 389-DS passwordExpirationTime
// 19700101000000Z / deleted, FreeIPA krbPasswordExpiration now / deleted.
func (d *Directory) SetMustChange(ctx context.Context, user *directory.User, mustChange bool) error {
	if user == nil {
		return ldapdir.NoUser("must change")
	}
	attr, value := "pwdReset", "TRUE"
	switch d.flavor() {
	case ldapdir.Flavor389DS:
		attr, value = "passwordExpirationTime", ds389Epoch
	case ldapdir.FlavorFreeIPA:
		attr, value = "krbPasswordExpiration", ldapdir.FormatGeneralizedTime(d.now())
	}
	defer ldapdir.ForgetStatus(user)
	return d.client.WithWriteConn(ctx, "must change", func(conn *ldapdir.Conn) error {
		req := ldap.NewModifyRequest(user.DN, nil)
		if mustChange {
			req.Replace(attr, []string{value})
		} else {
			req.Delete(attr, nil)
		}
		err := conn.Modify(req)
		if !mustChange && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
			return nil // not set: nothing to clear
		}
		return err
	})
}

// MatchesFilter reports whether the user's entry matches an LDAP filter
// (policies scoped by filter).
func (d *Directory) MatchesFilter(ctx context.Context, user *directory.User, filter string) (bool, error) {
	return d.client.MatchesFilter(ctx, user, filter)
}

// Groups lists every group the user is in, nested membership included:
// memberOf when the preset or configuration names it, else a bounded,
// cycle-safe search over groupOfNames / groupOfUniqueNames.
func (d *Directory) Groups(ctx context.Context, user *directory.User) ([]string, error) {
	if user == nil {
		return nil, ldapdir.NoUser("groups")
	}
	return ldapdir.WithServiceConnResult(ctx, d.client, "groups", func(conn *ldapdir.Conn) ([]string, error) {
		return d.client.NestedGroups(ctx, conn, user.DN)
	})
}

// PasswordModifyValue encodes the request value of the Password Modify
// extended operation: PasswdModifyRequestValue ::= SEQUENCE {
// userIdentity [0] OPTIONAL, oldPasswd [1] OPTIONAL, newPasswd [2] OPTIONAL }.
// go-ldap's PasswordModify cannot carry controls, hence this.
func PasswordModifyValue(userDN, oldPassword, newPassword string) *ber.Packet {
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Password Modify Request")
	if userDN != "" {
		seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, userDN, "User Identity"))
	}
	if oldPassword != "" {
		seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, oldPassword, "Old Password"))
	}
	if newPassword != "" {
		seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 2, newPassword, "New Password"))
	}
	return seq
}

// Ping says whether the directory answers now (directory.Pinger).
func (d *Directory) Ping(ctx context.Context) error { return d.client.Ping(ctx) }

// ObserveServers passes fn to the LDAP client (ldapdir.Client.ObserveServers).
func (d *Directory) ObserveServers(fn func(server string, err error, failover bool)) {
	d.client.ObserveServers(fn)
}

// ObserveOperations passes fn to the LDAP client
// (ldapdir.Client.ObserveOperations).
func (d *Directory) ObserveOperations(fn func(server, op string, took time.Duration, err error)) {
	d.client.ObserveOperations(fn)
}

// MailOf reads the mail address of the entry dn (a manager's).
func (d *Directory) MailOf(ctx context.Context, dn string) (string, error) {
	return d.client.MailOf(ctx, dn)
}
