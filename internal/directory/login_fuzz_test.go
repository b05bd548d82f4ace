package directory_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// FuzzParseLogin checks that login parsing never loses or invents text and
// that every form a login is routed as (as typed, bare user) stays a single
// escaped value in the lookup filter: no typed login can change the
// filter's structure.
func FuzzParseLogin(f *testing.F) {
	for _, seed := range []string{
		"alice", `EXAMPLE\alice`, "alice@example.test", `EXAMPLE\*)(uid=*`, "*)(mail=*@example.test",
		`\`, "@", `a\b@c`, "a@b\\c", " \t", "é@ü.test", "\x00@\x00", `EXAMPLE\\`, "((((@))))",
	} {
		f.Add(seed)
	}
	attrs := []string{"sAMAccountName", "userPrincipalName", "mail"}
	userFilter := "(&(objectCategory=person)(objectClass=user))"
	wantUser, _ := ldap.CompileFilter(userFilter)
	f.Fuzz(func(t *testing.T, s string) {
		l := directory.ParseLogin(s)
		raw := strings.TrimSpace(s)
		if l.Raw != raw {
			t.Fatalf("Raw = %q, want %q", l.Raw, raw)
		}
		switch l.Form {
		case directory.LoginPlain:
			if l.User != raw || l.Domain != "" {
				t.Fatalf("plain %q: %+v", s, l)
			}
		case directory.LoginDownLevel:
			if l.Domain == "" || l.User == "" || l.Domain+`\`+l.User != raw || strings.Contains(l.User, `\`) {
				t.Fatalf("down-level %q: %+v", s, l)
			}
		case directory.LoginUPN:
			if l.Domain == "" || l.User == "" || l.User+"@"+l.Domain != raw || strings.Contains(l.Domain, "@") {
				t.Fatalf("UPN %q: %+v", s, l)
			}
		}
		for _, login := range []string{l.Raw, l.User} {
			filter := ldapdir.BuildLoginFilter(userFilter, attrs, login)
			pkt, err := ldap.CompileFilter(filter)
			if err != nil {
				t.Fatalf("filter %q does not compile: %v", filter, err)
			}
			if pkt.Tag != ldap.FilterAnd || len(pkt.Children) != 2 || !bytes.Equal(pkt.Children[0].Bytes(), wantUser.Bytes()) {
				t.Fatalf("filter %q: structure changed", filter)
			}
			or := pkt.Children[1]
			if or.Tag != ldap.FilterOr || len(or.Children) != len(attrs) {
				t.Fatalf("filter %q: login part is not an OR of %d", filter, len(attrs))
			}
			for i, eq := range or.Children {
				if eq.Tag != ldap.FilterEqualityMatch || eq.Children[0].Data.String() != attrs[i] ||
					eq.Children[1].Data.String() != login {
					t.Fatalf("filter %q: term %d does not compare %s with the login", filter, i, attrs[i])
				}
			}
		}
	})
}
