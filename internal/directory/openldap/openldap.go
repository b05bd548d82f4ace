package openldap

import (
	"context"
	"fmt"
	"strconv"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// PasswordModifyOID is the Password Modify extended operation (RFC 3062).
const PasswordModifyOID = "1.3.6.1.4.1.4203.1.11.1"

// The ways a password can be written; see Options.PasswordWrite.
const (
	PasswordWriteExop   = "exop"
	PasswordWriteModify = "modify"
)

// Options are the OpenLDAP connector's own settings.
type Options struct {
	// PasswordWrite is "exop" (default): the Password Modify extended
	// operation, which lets the server hash the password; or "modify":
	// replace userPassword with an ordinary modify.
	PasswordWrite string
}

// Preset returns the OpenLDAP defaults applied to empty Config fields.
func Preset() ldapdir.Config {
	return ldapdir.Config{
		Name:                 "openldap",
		UserFilter:           "(objectClass=inetOrgPerson)",
		LoginAttributes:      []string{"uid", "mail"},
		LoginNameAttribute:   "uid",
		MailAttribute:        "mail",
		DisplayNameAttribute: "displayName",
	}
}

// Directory is an OpenLDAP connector. It implements directory.Directory and
// directory.PasswordResetter.
type Directory struct {
	client *ldapdir.Client
	opts   Options
}

var (
	_ directory.Directory        = (*Directory)(nil)
	_ directory.PasswordResetter = (*Directory)(nil)
)

// New returns a connector for cfg, with the OpenLDAP preset filling empty
// fields. It does not contact the server; configuration problems are
// KindMisconfigured.
func New(cfg ldapdir.Config, opts Options) (*Directory, error) {
	switch opts.PasswordWrite {
	case "":
		opts.PasswordWrite = PasswordWriteExop
	case PasswordWriteExop, PasswordWriteModify:
	default:
		return nil, &directory.Error{Kind: directory.KindMisconfigured, Op: "config",
			Diagnostic: fmt.Sprintf("PasswordWrite: %q is neither %q nor %q", opts.PasswordWrite, PasswordWriteExop, PasswordWriteModify)}
	}
	c, err := ldapdir.New(cfg.WithDefaults(Preset()))
	if err != nil {
		return nil, err
	}
	return &Directory{client: c, opts: opts}, nil
}

// Name returns the configured name.
func (d *Directory) Name() string { return d.client.Name() }

// Config returns the effective configuration.
func (d *Directory) Config() ldapdir.Config { return d.client.Config() }

// Close releases nothing yet: connections are opened per operation.
func (d *Directory) Close() error { return nil }

// FindUser looks login up by uid or mail (or the configured attributes).
func (d *Directory) FindUser(ctx context.Context, login string) (*directory.User, error) {
	u, err := d.client.FindUser(ctx, login)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// VerifyPassword binds as the user on a fresh connection, with the ppolicy
// request control: a locked account is KindLocked rather than a plain wrong
// password, and a correct password that must be changed first (pwdReset) is
// KindMustChange.
func (d *Directory) VerifyPassword(ctx context.Context, user *directory.User, password string) error {
	if user == nil {
		return &directory.Error{Kind: directory.KindNotFound, Op: "bind", Diagnostic: "no user"}
	}
	controls, err := d.client.VerifyPassword(ctx, user.DN, password, ldapdir.PasswordPolicyRequest())
	pp := ldapdir.PasswordPolicyResponse(controls)
	if err != nil {
		return ldapdir.ApplyPasswordPolicy(ldapdir.MapError(ctx, "bind", err), "bind", pp)
	}
	if pp != nil && (pp.Error == 0 || pp.Error == 1 || pp.Error == 2) {
		// The bind succeeded but the server says the account may not be
		// used as it stands.
		return ldapdir.ApplyPasswordPolicy(nil, "bind", pp)
	}
	return nil
}

// ResetPassword sets the user's password as the service account. It refuses
// plain LDAP unless AllowInsecurePasswordWrites. Refusals carry the rule the
// ppolicy overlay names, and MinLength when the policy entry is readable.
func (d *Directory) ResetPassword(ctx context.Context, user *directory.User, newPassword string) error {
	if user == nil {
		return &directory.Error{Kind: directory.KindNotFound, Op: "reset", Diagnostic: "no user"}
	}
	conn, err := d.client.ServiceConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := d.client.RequireConfidential(conn, "reset"); err != nil {
		return err
	}
	controls := []ldap.Control{ldapdir.PasswordPolicyRequest()}
	if d.opts.PasswordWrite == PasswordWriteModify {
		req := ldap.NewModifyRequest(user.DN, controls)
		req.Replace("userPassword", []string{newPassword})
		err = conn.Modify(req)
	} else {
		req := ldap.NewExtendedRequest(PasswordModifyOID, PasswordModifyValue(user.DN, "", newPassword))
		req.Controls = controls
		_, err = conn.Extended(req)
	}
	if err == nil {
		return nil
	}
	e := ldapdir.ApplyPasswordPolicy(ldapdir.MapError(ctx, "reset", err), "reset",
		ldapdir.PasswordPolicyResponse(ldapdir.ResponseControls(err)))
	if e.Kind == directory.KindPolicyViolation {
		if len(e.Reasons) == 0 {
			e.Reasons = []directory.Reason{directory.ReasonUnspecified}
		}
		e.MinLength = minLength(conn, user.DN, d.client.Config().BaseDN)
	}
	return e
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

// minLength reads pwdMinLength from the policy that applies to the user: the
// user's pwdPolicySubentry, else the only pwdPolicy entry under the base DN
// (a default policy is not discoverable otherwise). 0 when unknown.
func minLength(conn *ldapdir.Conn, userDN, baseDN string) int {
	search := func(base string, scope int, filter string, attrs ...string) []*ldap.Entry {
		res, err := conn.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases,
			2, 0, false, filter, attrs, nil))
		if err != nil {
			return nil
		}
		return res.Entries
	}
	policyDN := ""
	if es := search(userDN, ldap.ScopeBaseObject, "(objectClass=*)", "pwdPolicySubentry"); len(es) == 1 {
		policyDN = es[0].GetAttributeValue("pwdPolicySubentry")
	}
	var policy []*ldap.Entry
	if policyDN != "" {
		policy = search(policyDN, ldap.ScopeBaseObject, "(objectClass=pwdPolicy)", "pwdMinLength")
	} else {
		policy = search(baseDN, ldap.ScopeWholeSubtree, "(objectClass=pwdPolicy)", "pwdMinLength")
	}
	if len(policy) != 1 {
		return 0
	}
	n, err := strconv.Atoi(policy[0].GetAttributeValue("pwdMinLength"))
	if err != nil {
		return 0
	}
	return n
}
