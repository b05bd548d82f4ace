package ldapdir

import (
	"context"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// ListPageSize is how many entries one page of ListUsers asks for: small
// enough for any server's size limit (AD's MaxPageSize is 1000), large
// enough that 100,000 people take a hundred-odd round trips.
const ListPageSize = 1000

// ListParallel is how many subtrees ListUsers walks at once (each on its
// own pooled connection, at most PoolSize): a directory server answers
// several searches on several cores, where one paged search waits for each
// page in turn.
const ListParallel = 4

// ListUsers calls fn for every user under BaseDN that UserFilter selects,
// one paged-results page at a time, so memory does not grow with the
// directory. Only the DN, login and display name are read (reports need no
// more). fn is never called concurrently, but the order of the users is
// not defined. When fn returns an error the searches are ended on the
// server and that error is returned.
func (c *Client) ListUsers(ctx context.Context, fn func(u *directory.User) error) error {
	return c.ListUsersMatching(ctx, "", fn)
}

// ListUsersMatching is ListUsers for the users that also match filter (a
// connector's "locked now" filter, say); empty matches all.
//
// It splits the walk: one search of BaseDN's own level, then a subtree
// search under each child of BaseDN (OUs, containers), ListParallel at a
// time. A child that is itself a user was found by the first search and is
// skipped in its subtree's.
func (c *Client) ListUsersMatching(ctx context.Context, filter string, fn func(u *directory.User) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := "(&" + wrapFilter(c.cfg.UserFilter) + wrapFilter(filter) + ")"
	var (
		mu       sync.Mutex
		firstErr error
	)
	deliver := func(u *directory.User) error {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil {
			return firstErr
		}
		if err := fn(u); err != nil {
			firstErr = err
			cancel()
			return err
		}
		return nil
	}
	var children []string
	err := c.pagedSearch(ctx, c.cfg.BaseDN, ldap.ScopeSingleLevel, "(objectClass=*)", []string{"1.1"}, func(e *ldap.Entry) error {
		children = append(children, e.DN)
		return nil
	})
	if err != nil {
		return err
	}
	err = c.listUnder(ctx, c.cfg.BaseDN, ldap.ScopeBaseObject, full, deliver)
	if err == nil {
		err = c.listUnder(ctx, c.cfg.BaseDN, ldap.ScopeSingleLevel, full, deliver)
	}
	if err != nil {
		return c.listErr(firstErr, err)
	}
	work := make(chan string)
	errs := make(chan error, len(children))
	var wg sync.WaitGroup
	for range min(ListParallel, max(c.cfg.PoolSize, 1), max(len(children), 1)) {
		wg.Go(func() {
			for dn := range work {
				err := c.listUnder(ctx, dn, ldap.ScopeWholeSubtree, full, func(u *directory.User) error {
					if u.DN == dn {
						return nil // the child itself: found on the base's level
					}
					return deliver(u)
				})
				if err != nil {
					errs <- err
					cancel()
				}
			}
		})
	}
	for _, dn := range children {
		if ctx.Err() != nil {
			break
		}
		work <- dn
	}
	close(work)
	wg.Wait()
	close(errs)
	return c.listErr(firstErr, <-errs)
}

// listErr prefers the caller's own error (which stopped the walk) over
// the cancellations it caused.
func (c *Client) listErr(callers, err error) error {
	if callers != nil {
		return callers
	}
	return err
}

// listUnder walks one scope under base with filter, page by page, on a
// pooled service connection of its own.
func (c *Client) listUnder(ctx context.Context, base string, scope int, filter string, fn func(u *directory.User) error) error {
	attrs := []string{c.cfg.LoginNameAttribute, c.cfg.DisplayNameAttribute}
	return c.pagedSearch(ctx, base, scope, filter, attrs, func(e *ldap.Entry) error {
		return fn(&directory.User{Directory: c.cfg.Name, DN: e.DN, Login: e.GetEqualFoldAttributeValue(c.cfg.LoginNameAttribute),
			DisplayName: e.GetEqualFoldAttributeValue(c.cfg.DisplayNameAttribute), OU: ParentDN(e.DN)})
	})
}

// pagedSearch runs one paged search and calls fn for each entry; when fn
// fails the server is told to drop the search (RFC 2696) and fn's error is
// returned as it is.
func (c *Client) pagedSearch(ctx context.Context, base string, scope int, filter string, attrs []string, fn func(e *ldap.Entry) error) error {
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	paging := ldap.NewControlPaging(ListPageSize)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, int(c.cfg.Timeout/time.Second), false, filter, attrs,
			[]ldap.Control{paging})
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
			if ferr := fn(e); ferr != nil {
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
