package ad

import (
	"context"
	"encoding/binary"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// The policy-hints controls: with one of them on an admin reset, AD applies
// password history as it does for a user's own change.
const (
	PolicyHintsOID           = "1.2.840.113556.1.4.2239" // LDAP_SERVER_POLICY_HINTS_OID (2012 R2+)
	PolicyHintsDeprecatedOID = "1.2.840.113556.1.4.2066" // LDAP_SERVER_POLICY_HINTS_DEPRECATED_OID
)

// Preset returns the Active Directory defaults applied to empty Config fields.
func Preset() ldapdir.Config {
	return ldapdir.Config{
		Name:                 "ad",
		UserFilter:           "(&(objectCategory=person)(objectClass=user))",
		LoginAttributes:      []string{"sAMAccountName", "userPrincipalName", "mail"},
		LoginNameAttribute:   "sAMAccountName",
		MailAttribute:        "mail",
		DisplayNameAttribute: "displayName",
	}
}

// Directory is an Active Directory connector. It implements
// directory.Directory and directory.PasswordResetter.
type Directory struct {
	client *ldapdir.Client

	mu         sync.Mutex
	discovered bool   // RootDSE read successfully once
	hintsOID   string // policy-hints control to send, "" when not advertised
	domainDN   string // defaultNamingContext, where minPwdLength lives
}

var (
	_ directory.Directory        = (*Directory)(nil)
	_ directory.PasswordResetter = (*Directory)(nil)
)

// New returns a connector for cfg, with the AD preset filling empty fields.
// It does not contact the server; configuration problems are
// KindMisconfigured.
func New(cfg ldapdir.Config) (*Directory, error) {
	c, err := ldapdir.New(cfg.WithDefaults(Preset()))
	if err != nil {
		return nil, err
	}
	return &Directory{client: c}, nil
}

// Name returns the configured name.
func (d *Directory) Name() string { return d.client.Name() }

// Config returns the effective configuration.
func (d *Directory) Config() ldapdir.Config { return d.client.Config() }

// Close releases nothing yet: connections are opened per operation.
func (d *Directory) Close() error { return nil }

// FindUser looks login up by sAMAccountName, userPrincipalName or mail (or
// the configured attributes).
func (d *Directory) FindUser(ctx context.Context, login string) (*directory.User, error) {
	u, err := d.client.FindUser(ctx, login)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// VerifyPassword binds as the user on a fresh connection. The data code of a
// failed bind tells wrong password, locked, disabled, expired and
// must-change apart.
func (d *Directory) VerifyPassword(ctx context.Context, user *directory.User, password string) error {
	if user == nil {
		return &directory.Error{Kind: directory.KindNotFound, Op: "bind", Diagnostic: "no user"}
	}
	if _, err := d.client.VerifyPassword(ctx, user.DN, password); err != nil {
		return err
	}
	return nil
}

// ResetPassword sets the user's password as the service account, which
// needs the Reset-Password right on the user. It refuses plain LDAP. An
// account that is locked stays locked: unlocking is a separate write.
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
	d.discover(conn)

	var controls []ldap.Control
	if oid := d.policyHints(); oid != "" {
		controls = append(controls, policyHints{oid: oid})
	}
	req := ldap.NewModifyRequest(user.DN, controls)
	req.Replace("unicodePwd", []string{EncodePassword(newPassword)})
	if err := conn.Modify(req); err != nil {
		e := ldapdir.MapError(ctx, "reset", err)
		if e.Kind == directory.KindPolicyViolation {
			e.Reasons = PolicyReasons(e.Diagnostic)
			e.MinLength = d.minLength(conn, user.DN, e.Diagnostic)
		}
		return e
	}
	return nil
}

// discover reads the RootDSE once: which policy-hints control the server
// offers and the domain's naming context. A failure is retried next time.
func (d *Directory) discover(conn *ldapdir.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.discovered {
		return
	}
	res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{"supportedControl", "defaultNamingContext"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return
	}
	e := res.Entries[0]
	supported := map[string]bool{}
	for _, oid := range e.GetAttributeValues("supportedControl") {
		supported[oid] = true
	}
	switch {
	case supported[PolicyHintsOID]:
		d.hintsOID = PolicyHintsOID
	case supported[PolicyHintsDeprecatedOID]:
		d.hintsOID = PolicyHintsDeprecatedOID
	}
	d.domainDN = e.GetAttributeValue("defaultNamingContext")
	d.discovered = true
}

func (d *Directory) policyHints() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hintsOID
}

var minLengthTextRE = regexp.MustCompile(`(?i)longer than (\d+) characters`)

// minLength finds the minimum password length that applies to the user:
// Samba states it in its refusal; otherwise the user's resultant
// fine-grained policy (msDS-ResultantPSO), else the domain's minPwdLength.
// 0 when it cannot be read.
func (d *Directory) minLength(conn *ldapdir.Conn, userDN, diagnostic string) int {
	if m := minLengthTextRE.FindStringSubmatch(diagnostic); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	read := func(dn, attr string) string {
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, 0, false, "(objectClass=*)", []string{attr}, nil))
		if err != nil || len(res.Entries) != 1 {
			return ""
		}
		return res.Entries[0].GetAttributeValue(attr)
	}
	if pso := read(userDN, "msDS-ResultantPSO"); pso != "" {
		if n, err := strconv.Atoi(read(pso, "msDS-MinimumPasswordLength")); err == nil {
			return n
		}
	}
	d.mu.Lock()
	domain := d.domainDN
	d.mu.Unlock()
	if domain == "" {
		domain = d.client.Config().BaseDN
	}
	if n, err := strconv.Atoi(read(domain, "minPwdLength")); err == nil {
		return n
	}
	return 0
}

// PolicyReasons reads the broken rules out of AD's refusal text. Samba names
// the failing check ("check_password_restrictions: the password is too
// short..."); Windows AD says only 0000052D, which yields ReasonUnspecified.
func PolicyReasons(diagnostic string) []directory.Reason {
	text := strings.ToLower(diagnostic)
	var reasons []directory.Reason
	add := func(r directory.Reason) {
		for _, have := range reasons {
			if have == r {
				return
			}
		}
		reasons = append(reasons, r)
	}
	switch {
	case strings.Contains(text, "too short"):
		add(directory.ReasonTooShort)
	case strings.Contains(text, "too long"):
		add(directory.ReasonQuality)
	}
	if strings.Contains(text, "complexity") {
		add(directory.ReasonComplexity)
	}
	if strings.Contains(text, "history") || strings.Contains(text, "already used") {
		add(directory.ReasonHistory)
	}
	if strings.Contains(text, "too young") {
		add(directory.ReasonTooYoung)
	}
	if strings.Contains(text, "check password script") || strings.Contains(text, "password filter") {
		add(directory.ReasonQuality)
	}
	if len(reasons) == 0 {
		reasons = append(reasons, directory.ReasonUnspecified)
	}
	return reasons
}

// EncodePassword returns the unicodePwd value for password: the password in
// double quotes, encoded as UTF-16LE.
func EncodePassword(password string) string {
	units := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return string(b)
}

// policyHints is the LDAP_SERVER_POLICY_HINTS control; its value is
// SEQUENCE { Flags INTEGER } with flag 1: enforce the policy.
type policyHints struct{ oid string }

func (c policyHints) GetControlType() string { return c.oid }

func (c policyHints) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, c.oid, "Control Type (policy hints)"))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	v := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Policy hints")
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "Flags"))
	value := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	value.AppendChild(v)
	p.AppendChild(value)
	return p
}

func (c policyHints) String() string { return "Policy hints (" + c.oid + ") critical, flags=1" }
