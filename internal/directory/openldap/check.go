package openldap

import (
	"context"
	"errors"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

var errNoGlobalPolicy = errors.New("no krbPwdPolicy cn=global_policy under cn=kerberos")

// Check inspects the directory without changing anything: the transport
// (plain LDAP, certificates), the service account's bind, the RootDSE,
// whether the Password Modify operation is offered (when it is the write
// method) and the ppolicy control, and, when the server offers the
// get-effective-rights control (1.3.6.1.4.1.42.2.27.9.5.2; 389-DS does,
// stock OpenLDAP does not), whether the service account may write
// userPassword and the lockout attributes on a sample user. Without that
// control the rights cannot be checked without changing something, which
// the report says as a warning.
func (d *Directory) Check(ctx context.Context) *directory.Report {
	r := &directory.Report{}
	conn := d.client.CheckBasics(ctx, r, false)
	if conn == nil {
		return r
	}
	defer conn.Close()
	cfg := d.client.Config()
	dse, err := d.client.RootDSEOn(ctx, conn)
	if err != nil {
		return r
	}
	if d.opts.PasswordWrite == PasswordWriteExop {
		if dse.SupportsExtension(PasswordModifyOID) {
			ldapdir.Add(r, directory.SeverityOK, ldapdir.FindingPasswordModify, "the server offers the Password Modify operation")
		} else {
			ldapdir.Add(r, directory.SeverityError, ldapdir.FindingPasswordModify,
				"the server does not offer the Password Modify extended operation (%s): resets and changes will fail; use PasswordWrite \"modify\" or enable it", PasswordModifyOID)
		}
	}
	if !dse.SupportsControl(ldapdir.OIDPasswordPolicyControl) {
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingPPolicy,
			"the server does not offer the password policy control (%s): refused passwords will not say which rule they broke, and locked accounts look like wrong passwords", ldapdir.OIDPasswordPolicyControl)
	}
	if cfg.BindDN == "" {
		return r
	}
	if !dse.SupportsControl(ldapdir.OIDGetEffectiveRights) {
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingRightsUnchecked,
			"the server cannot tell a service account's rights (no get-effective-rights control), and they cannot be checked without changing something: make sure %s may write userPassword (not manage, so that the password policy applies) and the lockout attributes of users", cfg.BindDN)
		return r
	}
	d.checkRightsGER(ctx, conn, r)
	return r
}

// checkRightsGER asks for the service account's effective rights on a
// sample user with the get-effective-rights control.
func (d *Directory) checkRightsGER(ctx context.Context, conn *ldapdir.Conn, r *directory.Report) {
	cfg := d.client.Config()
	ger := ldap.NewControlString(ldapdir.OIDGetEffectiveRights, true, "dn: "+cfg.BindDN)
	sample, err := d.client.SampleUser(conn, "", []string{"*", "attributeLevelRights"}, ger)
	if err != nil || sample == nil {
		why := "there is none"
		if err != nil {
			why = ldapdir.MapError(ctx, "search", err).Error()
		}
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingSampleUser,
			"the service account's rights cannot be checked: no user under %s to check them on (%s)", cfg.BaseDN, why)
		return
	}
	rights := parseAttributeLevelRights(sample.GetAttributeValue("attributeLevelRights"))
	if strings.Contains(rights["userpassword"], "w") {
		ldapdir.Add(r, directory.SeverityOK, ldapdir.FindingRightsReset, "the service account may write userPassword (checked on %s)", sample.DN)
	} else {
		ldapdir.Add(r, directory.SeverityError, ldapdir.FindingRightsReset,
			"the service account %s may not write userPassword (checked on %s): resets will be refused; grant it write access to userPassword of users", cfg.BindDN, sample.DN)
	}
	unlockAttr := "pwdaccountlockedtime"
	switch cfg.Flavor {
	case ldapdir.Flavor389DS:
		unlockAttr = "accountunlocktime"
	case ldapdir.FlavorFreeIPA:
		unlockAttr = "krbloginfailedcount"
	}
	if strings.Contains(rights[unlockAttr], "w") {
		ldapdir.Add(r, directory.SeverityOK, ldapdir.FindingRightsUnlock, "the service account may unlock accounts (write %s)", unlockAttr)
	} else {
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingRightsUnlock,
			"the service account %s may not write %s (checked on %s): unlocking accounts will fail", cfg.BindDN, unlockAttr, sample.DN)
	}
}

// parseAttributeLevelRights reads "cn:rsc, userPassword:wo, ..." into
// lower-case attribute → rights letters.
func parseAttributeLevelRights(v string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		name, rights, ok := strings.Cut(strings.TrimSpace(part), ":")
		if ok {
			out[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(rights)
		}
	}
	return out
}
