package ldapdir

import (
	"context"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// MailOf reads the mail attribute of the entry dn with a base-scope
// search. The DN comes from the directory itself (a manager attribute);
// it must lie under the configured base DN, so a value pointing elsewhere
// reads nothing.
func (c *Client) MailOf(ctx context.Context, dn string) (string, error) {
	parsed, err := ldap.ParseDN(dn)
	base, berr := ldap.ParseDN(c.cfg.BaseDN)
	if err != nil || berr != nil || !base.AncestorOfFold(parsed) {
		return "", &directory.Error{Kind: directory.KindNotFound, Op: "mail", Diagnostic: "the entry is not under " + c.cfg.BaseDN}
	}
	return WithServiceConnResult(ctx, c, "mail", func(conn *Conn) (string, error) {
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, int(c.cfg.Timeout.Seconds()), false, "(objectClass=*)", []string{c.cfg.MailAttribute}, nil))
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return "", &directory.Error{Kind: directory.KindNotFound, Op: "mail", Diagnostic: "no such entry"}
			}
			return "", MapError(ctx, "mail", err)
		}
		if len(res.Entries) != 1 {
			return "", &directory.Error{Kind: directory.KindNotFound, Op: "mail", Diagnostic: "no such entry"}
		}
		mail := strings.TrimSpace(res.Entries[0].GetEqualFoldAttributeValue(c.cfg.MailAttribute))
		if mail == "" {
			return "", &directory.Error{Kind: directory.KindNotFound, Op: "mail", Diagnostic: "the entry has no " + c.cfg.MailAttribute}
		}
		return mail, nil
	})
}
