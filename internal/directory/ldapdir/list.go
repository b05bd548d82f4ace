package ldapdir

import (
	"context"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// ListPageSize is how many entries one page of ListUsers asks for: small
// enough for any server's size limit (AD's MaxPageSize is 1000), large
// enough that 100,000 people take a hundred-odd round trips.
const ListPageSize = 500

// ListUsers calls fn for every user under BaseDN that UserFilter selects,
// one paged-results page at a time, so memory does not grow with the
// directory. Only the DN, login and display name are read (reports need no
// more). When fn returns an error the paged search is ended on the server
// and that error is returned.
func (c *Client) ListUsers(ctx context.Context, fn func(u *directory.User) error) error {
	return c.ListUsersMatching(ctx, "", fn)
}

// ListUsersMatching is ListUsers for the users that also match filter (a
// connector's "locked now" filter, say); empty matches all.
func (c *Client) ListUsersMatching(ctx context.Context, filter string, fn func(u *directory.User) error) error {
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	attrs := []string{c.cfg.LoginNameAttribute, c.cfg.DisplayNameAttribute}
	paging := ldap.NewControlPaging(ListPageSize)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		req := ldap.NewSearchRequest(c.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0,
			int(c.cfg.Timeout/time.Second), false, "(&"+wrapFilter(c.cfg.UserFilter)+wrapFilter(filter)+")", attrs, []ldap.Control{paging})
		res, err := conn.Search(req)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			// Paging does not lift a server's total cap: OpenLDAP applies
			// its size limit (size.prtotal) across all pages.
			return &directory.Error{Kind: directory.KindMisconfigured, Op: "list users", Err: err,
				Diagnostic: "the directory stops the service account after a fixed number of entries, even with paging; " +
					"allow it to read every user (OpenLDAP: limits dn.exact=\"" + c.cfg.BindDN + "\" size.prtotal=unlimited; " +
					"AD has no such cap with paging)"}
		}
		if err != nil {
			return MapError(ctx, "list users", err)
		}
		for _, e := range res.Entries {
			u := &directory.User{Directory: c.cfg.Name, DN: e.DN, Login: e.GetEqualFoldAttributeValue(c.cfg.LoginNameAttribute),
				DisplayName: e.GetEqualFoldAttributeValue(c.cfg.DisplayNameAttribute), OU: ParentDN(e.DN)}
			if ferr := fn(u); ferr != nil {
				stopPaging(conn, req, res)
				return ferr
			}
		}
		pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(pc.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(pc.Cookie)
	}
}

// stopPaging tells the server to drop the paged search's state (a page
// size of 0 with the last cookie), as RFC 2696 asks of a client that
// stops early.
func stopPaging(conn *Conn, req *ldap.SearchRequest, res *ldap.SearchResult) {
	pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
	if !ok || len(pc.Cookie) == 0 {
		return
	}
	stop := ldap.NewControlPaging(0)
	stop.SetCookie(pc.Cookie)
	req.Controls = []ldap.Control{stop}
	_, _ = conn.Search(req)
}
