package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
)

// fakeDir knows a few logins and records what it was asked.
type fakeDir struct {
	name    string
	domains []string
	users   map[string]string // login (lower case) → DN
	down    bool
	asked   []string
}

func (f *fakeDir) Name() string      { return f.name }
func (f *fakeDir) Domains() []string { return f.domains }
func (f *fakeDir) Close() error      { return nil }
func (f *fakeDir) VerifyPassword(context.Context, *directory.User, string) error {
	return nil
}
func (f *fakeDir) FindUser(_ context.Context, login string) (*directory.User, error) {
	f.asked = append(f.asked, login)
	if f.down {
		return nil, &directory.Error{Kind: directory.KindUnavailable, Op: "dial"}
	}
	if dn, ok := f.users[strings.ToLower(login)]; ok {
		return &directory.User{DN: dn, Login: login}, nil
	}
	return nil, &directory.Error{Kind: directory.KindNotFound, Op: "search"}
}

func TestSetRouting(t *testing.T) {
	tests := []struct {
		login   string
		wantDir string // "" means not found
		wantDN  string
		asked   map[string][]string
	}{
		{"alice", "", "", nil}, // alice exists in both: ambiguous, handled below
		{`EXAMPLE\alice`, "ad", "cn=alice,ad", map[string][]string{"ad": {"alice"}, "ldap": nil}},
		{`example\alice`, "ad", "cn=alice,ad", nil},
		{`CORP\alice`, "ldap", "uid=alice,ldap", map[string][]string{"ad": nil, "ldap": {"alice"}}},
		{"alice@example.test", "ad", "cn=alice,ad", map[string][]string{"ad": {"alice@example.test"}, "ldap": nil}},
		{"bob@corp.test", "ldap", "uid=bob,ldap", map[string][]string{"ldap": {"bob@corp.test", "bob"}}},
		{"carol@elsewhere.org", "ldap", "uid=carol,ldap", map[string][]string{"ad": {"carol@elsewhere.org"}, "ldap": {"carol@elsewhere.org"}}},
		{`OTHER\alice`, "", "", map[string][]string{"ad": nil, "ldap": nil}},
		{"dave", "ad", "cn=dave,ad", nil},
	}
	for _, tt := range tests {
		t.Run(tt.login, func(t *testing.T) {
			ad := &fakeDir{name: "ad", domains: []string{"EXAMPLE", "example.test"},
				users: map[string]string{"alice": "cn=alice,ad", "alice@example.test": "cn=alice,ad", "dave": "cn=dave,ad"}}
			ldap := &fakeDir{name: "ldap", domains: []string{"CORP", "corp.test"},
				users: map[string]string{"alice": "uid=alice,ldap", "bob": "uid=bob,ldap", "carol@elsewhere.org": "uid=carol,ldap"}}
			s := directory.NewSet(ad, ldap)
			u, err := s.FindUser(context.Background(), tt.login)
			if tt.login == "alice" {
				if directory.KindOf(err) != directory.KindAmbiguous {
					t.Fatalf("plain login in two directories: %v, want ambiguous", err)
				}
				return
			}
			if tt.wantDir == "" {
				if !errors.Is(err, directory.ErrNotFound) {
					t.Fatalf("FindUser(%q) = %+v, %v; want not found", tt.login, u, err)
				}
			} else if err != nil || u.Directory != tt.wantDir || u.DN != tt.wantDN {
				t.Fatalf("FindUser(%q) = %+v, %v; want %s in %s", tt.login, u, err, tt.wantDN, tt.wantDir)
			}
			for name, want := range tt.asked {
				got := map[string][]string{"ad": ad.asked, "ldap": ldap.asked}[name]
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s was asked %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestSetFindUserIn(t *testing.T) {
	ad := &fakeDir{name: "ad", domains: []string{"EXAMPLE"}, users: map[string]string{"alice": "cn=alice,ad"}}
	ldap := &fakeDir{name: "ldap", users: map[string]string{"alice": "uid=alice,ldap"}}
	s := directory.NewSet(ad, ldap)
	for _, tt := range []struct {
		dir, login, wantDN string
	}{
		{"ad", "alice", "cn=alice,ad"},
		{"ldap", "alice", "uid=alice,ldap"},
		{"ad", `EXAMPLE\alice`, "cn=alice,ad"},
		{"ldap", `ANY\alice`, "uid=alice,ldap"}, // declares no domains
		{"ad", `OTHER\alice`, ""},
		{"nosuch", "alice", ""},
	} {
		u, err := s.FindUserIn(context.Background(), tt.dir, tt.login)
		if tt.wantDN == "" {
			if !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("FindUserIn(%s, %s) = %+v, %v; want not found", tt.dir, tt.login, u, err)
			}
			continue
		}
		if err != nil || u.DN != tt.wantDN {
			t.Errorf("FindUserIn(%s, %s) = %+v, %v; want %s", tt.dir, tt.login, u, err, tt.wantDN)
		}
	}
}

func TestSetUnavailableIsNotNotFound(t *testing.T) {
	s := directory.NewSet(&fakeDir{name: "a", down: true}, &fakeDir{name: "b"})
	if _, err := s.FindUser(context.Background(), "x"); directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
}

func TestParseLogin(t *testing.T) {
	tests := []struct {
		in           string
		form         directory.LoginForm
		user, domain string
	}{
		{"alice", directory.LoginPlain, "alice", ""},
		{"  alice ", directory.LoginPlain, "alice", ""},
		{`EXAMPLE\alice`, directory.LoginDownLevel, "alice", "EXAMPLE"},
		{"alice@example.test", directory.LoginUPN, "alice", "example.test"},
		{"a@b@example.test", directory.LoginUPN, "a@b", "example.test"},
		{`\alice`, directory.LoginPlain, `\alice`, ""},
		{`EXAMPLE\`, directory.LoginPlain, `EXAMPLE\`, ""},
		{"@example.test", directory.LoginPlain, "@example.test", ""},
		{"alice@", directory.LoginPlain, "alice@", ""},
		{`A\B\c`, directory.LoginPlain, `A\B\c`, ""},
		{`x@y\z`, directory.LoginPlain, `x@y\z`, ""},
	}
	for _, tt := range tests {
		got := directory.ParseLogin(tt.in)
		if got.Form != tt.form || got.User != tt.user || got.Domain != tt.domain {
			t.Errorf("ParseLogin(%q) = %+v, want form %v user %q domain %q", tt.in, got, tt.form, tt.user, tt.domain)
		}
	}
}
