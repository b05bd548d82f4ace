package ldapdir

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// NestedGroups returns the DNs of every group dn is in, directly or through
// nested groups, at most Config.MaxGroupDepth levels deep. With
// Config.MemberOfAttribute set it follows memberOf upwards (each group's own
// memberOf included); otherwise it searches Config.GroupBaseDN for groups
// matching Config.GroupFilter that name the entry in one of
// Config.GroupMemberAttributes, level by level. Either way a group is visited
// once, so membership cycles end.
func (c *Client) NestedGroups(ctx context.Context, conn *Conn, dn string) ([]string, error) {
	seen := map[string]bool{NormDN(dn): true}
	var out []string
	level := []string{dn}
	for depth := 0; depth < c.cfg.MaxGroupDepth && len(level) > 0; depth++ {
		var next []string
		for _, member := range level {
			parents, err := c.directGroups(conn, member)
			if err != nil {
				return nil, MapError(ctx, "groups", err)
			}
			for _, g := range parents {
				k := NormDN(g)
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, g)
				next = append(next, g)
			}
		}
		level = next
	}
	return out, nil
}

// directGroups lists the groups that name dn as a member.
func (c *Client) directGroups(conn *Conn, dn string) ([]string, error) {
	if c.cfg.MemberOfAttribute != "" {
		e, err := conn.Read(dn, []string{c.cfg.MemberOfAttribute})
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return nil, nil // a group outside our view
			}
			return nil, err
		}
		return e.GetEqualFoldAttributeValues(c.cfg.MemberOfAttribute), nil
	}
	var terms strings.Builder
	for _, a := range c.cfg.GroupMemberAttributes {
		fmt.Fprintf(&terms, "(%s=%s)", a, ldap.EscapeFilter(dn))
	}
	filter := "(&" + wrapFilter(c.cfg.GroupFilter) + "(|" + terms.String() + "))"
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(c.cfg.GroupBaseDN, ldap.ScopeWholeSubtree,
		ldap.NeverDerefAliases, 0, int(c.cfg.Timeout/time.Second), false, filter, []string{"1.1"}, nil), 500)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		out = append(out, e.DN)
	}
	return out, nil
}

func wrapFilter(f string) string {
	if f == "" {
		return "(objectClass=*)"
	}
	if !strings.HasPrefix(f, "(") {
		return "(" + f + ")"
	}
	return f
}

// ProtectedBy returns the configured protected groups among groups (DNs
// compared as directories compare them).
func (c *Client) ProtectedBy(groups []string) []string {
	if len(c.cfg.ProtectedGroups) == 0 {
		return nil
	}
	have := make(map[string]bool, len(groups))
	for _, g := range groups {
		have[NormDN(g)] = true
	}
	var out []string
	for _, p := range c.cfg.ProtectedGroups {
		if have[NormDN(p)] {
			out = append(out, p)
		}
	}
	return out
}

// MarkProtected sets st.Protected from configured protected groups the user
// is in; reason, when not empty, is a further cause (AD adminCount=1).
func MarkProtected(st *directory.AccountStatus, inGroups []string, reason string) {
	var reasons []string
	if reason != "" {
		reasons = append(reasons, reason)
	}
	for _, g := range inGroups {
		reasons = append(reasons, "member of "+g)
	}
	st.ProtectedGroups = inGroups
	if len(reasons) > 0 {
		st.Protected = true
		st.ProtectedReason = strings.Join(reasons, "; ")
	}
}

// UserConn dials a fresh connection (never pooled) and binds it as dn with
// password, for a user's own password change. The caller closes it. The
// bind's response controls come back also on failure.
func (c *Client) UserConn(ctx context.Context, dn, password string, controls ...ldap.Control) (*Conn, []ldap.Control, error) {
	if password == "" {
		return nil, nil, &directory.Error{Kind: directory.KindInvalidCredentials, Op: "bind", Diagnostic: "empty password"}
	}
	conn, err := c.Dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	got, err := c.bindAs(conn, "bind", dn, password, controls)
	if err != nil {
		_ = conn.Close()
		return nil, got, MapError(ctx, "bind", err)
	}
	return conn, got, nil
}

// MatchesFilter reports whether the user's entry matches filter, asked of
// the directory with a base-scope search on the entry (policies scoped by
// an LDAP filter). The filter comes from the configuration, checked there;
// nothing a person typed goes into it.
func (c *Client) MatchesFilter(ctx context.Context, user *directory.User, filter string) (bool, error) {
	if user == nil {
		return false, NoUser("filter")
	}
	if _, err := ldap.CompileFilter(filter); err != nil {
		return false, fmt.Errorf("filter %q: %w", filter, err)
	}
	return WithServiceConnResult(ctx, c, "filter", func(conn *Conn) (bool, error) {
		ok, err := conn.Matches(user.DN, filter)
		if err != nil {
			return false, MapError(ctx, "filter", err)
		}
		return ok, nil
	})
}
