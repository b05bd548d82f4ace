package ldapdir

import (
	"bytes"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

var filterCases = []struct {
	userFilter string
	attrs      []string
}{
	{"(&(objectCategory=person)(objectClass=user))", []string{"sAMAccountName", "userPrincipalName", "mail"}},
	{"(objectClass=inetOrgPerson)", []string{"uid", "mail"}},
	{"", []string{"uid"}},
}

func TestBuildLoginFilter(t *testing.T) {
	got := BuildLoginFilter("(objectClass=inetOrgPerson)", []string{"uid", "mail"}, "a*)(uid=*")
	want := `(&(objectClass=inetOrgPerson)(|(uid=a\2a\29\28uid=\2a)(mail=a\2a\29\28uid=\2a)))`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := BuildLoginFilter("", []string{"uid"}, "bob"); got != "(uid=bob)" {
		t.Fatalf("single attribute: %s", got)
	}
}

// FuzzFilterLoginEscaping proves that no login value, however crafted, can
// change the structure of the lookup filter: the compiled filter is always
// the user filter ANDed with one equality match per login attribute, each
// comparing exactly the typed bytes.
func FuzzFilterLoginEscaping(f *testing.F) {
	for _, seed := range []string{
		"alice", "*", "a*)(uid=*", ")(|(objectClass=*", `\`, "\x00", "admin)(&)", "é", "\xff\xfe",
		"(uid=*)", "*)(userPassword=*", "a\\2a", "))))))", "((((",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, login string) {
		for _, fc := range filterCases {
			filter := BuildLoginFilter(fc.userFilter, fc.attrs, login)
			pkt, err := ldap.CompileFilter(filter)
			if err != nil {
				t.Fatalf("escaped filter %q does not compile: %v", filter, err)
			}
			matches := pkt
			if fc.userFilter != "" {
				if pkt.Tag != ldap.FilterAnd || len(pkt.Children) != 2 {
					t.Fatalf("filter %q: top level is not an AND of two", filter)
				}
				wantUser, _ := ldap.CompileFilter(fc.userFilter)
				if !bytes.Equal(pkt.Children[0].Bytes(), wantUser.Bytes()) {
					t.Fatalf("filter %q: user filter altered", filter)
				}
				matches = pkt.Children[1]
			}
			var eqs []*ber.Packet
			if len(fc.attrs) > 1 {
				if matches.Tag != ldap.FilterOr || len(matches.Children) != len(fc.attrs) {
					t.Fatalf("filter %q: login part is not an OR of %d", filter, len(fc.attrs))
				}
				eqs = matches.Children
			} else {
				eqs = []*ber.Packet{matches}
			}
			for i, eq := range eqs {
				if eq.Tag != ldap.FilterEqualityMatch || len(eq.Children) != 2 {
					t.Fatalf("filter %q: term %d is not an equality match", filter, i)
				}
				if attr := eq.Children[0].Data.String(); attr != fc.attrs[i] {
					t.Fatalf("filter %q: term %d compares %q, want %q", filter, i, attr, fc.attrs[i])
				}
				if v := eq.Children[1].Data.Bytes(); !bytes.Equal(v, []byte(login)) {
					t.Fatalf("filter %q: term %d compares %q, want the login %q", filter, i, v, login)
				}
			}
		}
	})
}
