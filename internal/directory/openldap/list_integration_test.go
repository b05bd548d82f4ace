package openldap_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestListUsersWalksEverySubtreeOnce builds a small tree in the real
// OpenLDAP — a person at the base's own level, people in OUs, a nested OU,
// a person with an entry below it, a non-person — and lists it: everyone
// exactly once (the walk is split by subtree and run in parallel), and a
// caller's error stops it and comes back as it is.
func TestListUsersWalksEverySubtreeOnce(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	admin := dirtest.LDAPAdmin(t)
	name := dirtest.UniqueName("list")
	base := "ou=" + name + "," + cfg.BaseDN
	var added []string
	add := func(dn string, attrs map[string][]string) {
		t.Helper()
		req := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		if err := admin.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
		added = append(added, dn)
	}
	t.Cleanup(func() {
		conn := dirtest.LDAPAdmin(t)
		for i := len(added) - 1; i >= 0; i-- {
			_ = conn.Del(ldap.NewDelRequest(added[i], nil))
		}
	})
	ou := func(dn string) {
		add(dn, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {strings.TrimPrefix(strings.Split(dn, ",")[0], "ou=")}})
	}
	person := func(uid, parent string) string {
		dn := "uid=" + uid + "," + parent
		add(dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {uid}, "sn": {uid}, "displayName": {"Person " + uid}})
		return dn
	}
	ou(base)
	want := []string{person("top1", base)}
	ou("ou=a," + base)
	ou("ou=b," + base)
	ou("ou=c,ou=b," + base)
	for i, parent := range []string{"ou=a," + base, "ou=a," + base, "ou=b," + base, "ou=c,ou=b," + base} {
		want = append(want, person("p"+string(rune('0'+i)), parent))
	}
	ou("ou=empty," + base)
	// A person with an entry below it (an account's sub-object).
	want = append(want, person("holder", "ou=a,"+base))
	add("cn=device,uid=holder,ou=a,"+base, map[string][]string{"objectClass": {"device"}, "cn": {"device"}})
	sort.Strings(want)

	cfg.BaseDN = base
	d, err := openldap.New(cfg, openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var got []string
	logins := map[string]string{}
	err = d.ListUsers(context.Background(), func(u *directory.User) error {
		got = append(got, u.DN)
		logins[u.DN] = u.Login + "|" + u.DisplayName + "|" + u.OU
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("listed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if l := logins["uid=p3,ou=c,ou=b,"+base]; l != "p3|Person p3|ou=c,ou=b,"+base {
		t.Fatalf("p3 read as %q", l)
	}

	stop := errors.New("enough")
	n := 0
	err = d.ListUsers(context.Background(), func(*directory.User) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("stopping after two: %v after %d", err, n)
	}
}
