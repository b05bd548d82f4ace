package ad

import (
	"context"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// sdFlagsDACL asks only for the DACL of nTSecurityDescriptor
// (DACL_SECURITY_INFORMATION), which an account may read without the
// privilege the SACL needs.
const sdFlagsDACL = 0x4

// Check inspects the directory without changing anything: the transport
// (plain LDAP, the global catalog port, certificates), the service account's
// bind, the RootDSE, the policy-hints control, and the service account's
// rights on a sample user under BaseDN (one that is not protected by
// adminCount): the Reset-Password extended right read from the user's
// security descriptor (DACL, with the SD flags control) against the service
// account's tokenGroups, and write access to lockoutTime (unlock) and
// pwdLastSet (must change) from allowedAttributesEffective.
func (d *Directory) Check(ctx context.Context) *directory.Report {
	r := &directory.Report{}
	conn := d.client.CheckBasics(ctx, r, true)
	if conn == nil {
		return r
	}
	defer conn.Close()
	cfg := d.client.Config()
	dse, _ := d.client.RootDSEOn(ctx, conn)
	if dse != nil && !dse.ActiveDirectory {
		ldapdir.Add(r, directory.SeverityError, "ad.not_ad",
			"the server does not say it is Active Directory (vendor %q): use the connector for its product", dse.Vendor)
	}
	if d.policyHints(ctx, conn) == "" {
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingPolicyHints,
			"the server does not offer the policy-hints control (%s): password history is not enforced on resets made by sspr (Samba never enforces it; Windows needs 2008 R2 with an update, or 2012 R2 and later)", PolicyHintsOID)
	}
	if cfg.BindDN == "" {
		return r
	}
	d.checkRights(ctx, conn, r)
	d.checkPolicyReadable(ctx, conn, r)
	return r
}

func (d *Directory) checkRights(ctx context.Context, conn *ldapdir.Conn, r *directory.Report) {
	cfg := d.client.Config()
	sample, err := d.client.SampleUser(conn, "(!(adminCount=1))",
		[]string{"allowedAttributesEffective", "nTSecurityDescriptor"},
		&ldap.ControlMicrosoftSDFlags{Criticality: true, ControlValue: sdFlagsDACL})
	if err != nil || sample == nil {
		why := "there is none"
		if err != nil {
			why = ldapdir.MapError(ctx, "search", err).Error()
		}
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingSampleUser,
			"the service account's rights cannot be checked: no ordinary user under %s to check them on (%s)", cfg.BaseDN, why)
		return
	}
	writable := map[string]bool{}
	for _, a := range sample.GetEqualFoldAttributeValues("allowedAttributesEffective") {
		writable[strings.ToLower(a)] = true
	}

	sids, sidErr := d.serviceSIDs(ctx, conn)
	raw := sample.GetRawAttributeValue("nTSecurityDescriptor")
	switch {
	case sidErr != nil:
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingRightsUnchecked,
			"the Reset-Password right cannot be checked: the service account's groups are not readable (%v)", sidErr)
	case len(raw) == 0:
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingRightsUnchecked,
			"the Reset-Password right cannot be checked: the security descriptor of %s is not readable by the service account", sample.DN)
	default:
		sd, err := parseSecurityDescriptor(raw)
		switch {
		case err != nil:
			ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingRightsUnchecked,
				"the Reset-Password right cannot be checked: the security descriptor of %s cannot be read (%v)", sample.DN, err)
		case sd.grants(sids, rightDSControlAccess, &ResetPasswordRight):
			ldapdir.Add(r, directory.SeverityOK, ldapdir.FindingRightsReset,
				"the service account may reset passwords (checked on %s)", sample.DN)
		default:
			ldapdir.Add(r, directory.SeverityError, ldapdir.FindingRightsReset,
				"the service account %s lacks the Reset Password right on users (checked on %s): resets will be refused; delegate \"Reset password\" on the users' OU to it", cfg.BindDN, sample.DN)
		}
	}

	unlockSev := directory.SeverityWarning
	if cfg.UnlocksOnReset() {
		unlockSev = directory.SeverityError
	}
	if writable["lockouttime"] {
		ldapdir.Add(r, directory.SeverityOK, ldapdir.FindingRightsUnlock, "the service account may unlock accounts (write lockoutTime)")
	} else {
		ldapdir.Add(r, unlockSev, ldapdir.FindingRightsUnlock,
			"the service account %s may not write lockoutTime (checked on %s): unlocking accounts, and unlock on reset, will fail; delegate \"Read and write lockoutTime\" on the users' OU to it", cfg.BindDN, sample.DN)
	}
	if writable["pwdlastset"] {
		ldapdir.Add(r, directory.SeverityOK, ldapdir.FindingRightsMustChg, "the service account may set \"must change password\" (write pwdLastSet)")
	} else {
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingRightsMustChg,
			"the service account %s may not write pwdLastSet (checked on %s): \"must change the password at next logon\" cannot be set or cleared; delegate \"Read and write pwdLastSet\" on the users' OU to it", cfg.BindDN, sample.DN)
	}
}

// serviceSIDs returns the SIDs the service account acts with: its tokenGroups
// (which include nested and primary groups) and objectSid, plus Everyone and
// Authenticated Users.
func (d *Directory) serviceSIDs(ctx context.Context, conn *ldapdir.Conn) (map[string]bool, error) {
	e, err := conn.Read(d.client.Config().BindDN, []string{"objectSid", "tokenGroups"})
	if err != nil {
		return nil, ldapdir.MapError(ctx, "read", err)
	}
	sids := map[string]bool{"S-1-1-0": true, "S-1-5-11": true}
	for _, attr := range []string{"objectSid", "tokenGroups"} {
		for _, raw := range e.GetRawAttributeValues(attr) {
			if s, err := parseSID(raw); err == nil {
				sids[s] = true
			}
		}
	}
	if len(e.GetRawAttributeValues("tokenGroups")) == 0 {
		return nil, &directory.Error{Kind: directory.KindAccessDenied, Op: "read", Diagnostic: "tokenGroups of the service account is empty or not readable"}
	}
	return sids, nil
}

// checkPolicyReadable warns when fine-grained password policies exist that
// the service account cannot read: the rules shown to users would be
// missing.
func (d *Directory) checkPolicyReadable(ctx context.Context, conn *ldapdir.Conn, r *directory.Report) {
	container := "CN=Password Settings Container,CN=System," + d.domainDN(ctx, conn)
	res, err := conn.Search(ldap.NewSearchRequest(container, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=msDS-PasswordSettings)", []string{"msDS-MinimumPasswordLength"}, nil))
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return // no fine-grained policies (or the container is hidden: nothing to say)
		}
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingPolicyReadable,
			"fine-grained password policies cannot be listed (%v): the rules shown to users may be incomplete", err)
		return
	}
	hidden := 0
	for _, e := range res.Entries {
		if e.GetAttributeValue("msDS-MinimumPasswordLength") == "" {
			hidden++
		}
	}
	if hidden > 0 {
		ldapdir.Add(r, directory.SeverityWarning, ldapdir.FindingPolicyReadable,
			"%d fine-grained password policies are not readable by the service account: users they apply to will not see their rules; grant it read access to %s", hidden, container)
	}
}
