package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestPolicyExplain runs `sspr policy explain` against the test AD for a
// member of each of three populations — administrators by nested group,
// finance by OU, everyone else by an LDAP filter — and for a person whom
// no policy matches: each is told which policy applies and why, every
// rule checked with its outcome.
func TestPolicyExplain(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	admin := dirtest.CreateADUser(t, "Initial-Pass-1")
	inner := dirtest.CreateADGroup(t, admin.DN)
	outer := dirtest.CreateADGroup(t, inner)
	ou := dirtest.CreateADOU(t, 0)
	finance := dirtest.CreateADUserWith(t, "Initial-Pass-1", nil)
	rdn, _, _ := strings.Cut(finance.DN, ",")
	if err := dirtest.ADAdmin(t).ModifyDN(ldap.NewModifyDNRequest(finance.DN, rdn, true, ou)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dirtest.ADAdmin(t).Del(ldap.NewDelRequest(rdn+","+ou, nil)) })
	everyone := dirtest.CreateADUserWith(t, "Initial-Pass-1", map[string][]string{"department": {"Sales"}})
	nobody := dirtest.CreateADUser(t, "Initial-Pass-1")

	path := adConfigFile(t, cfg)
	extra := fmt.Sprintf(`verification:
  factors: [email, totp, backup_codes, passkey]
policies:
  - name: admins
    scope: {groups: [%q]}
    factors: [passkey, totp]
    required: {reset: 2, unlock: 2}
    mandatory: [passkey]
  - name: finance
    scope: {directories: [corp], ous: [%q]}
    factors: [email, backup_codes]
    actions: {unlock: false}
  - name: everyone
    scope: {filter: "(department=Sales)"}
    factors: [email, totp]
`, outer, ou)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, tc := range []struct {
		login string
		want  []string
	}{
		{admin.Login, []string{admin.DN, `policy "admins"`, "group     yes  member (directly or nested) of " + outer,
			"applies: admins (configured)", "factors:   passkey, totp (reset needs 2, unlock needs 2)", "mandatory: passkey"}},
		{finance.Login, []string{rdn + "," + ou, "group     no", `policy "finance"`, "directory yes", "ou        yes  entry is below " + ou,
			"applies: finance (configured)", "unlock off"}},
		{everyone.Login, []string{`policy "finance"`, "ou        no", `policy "everyone"`, "filter    yes  entry matches (department=Sales)",
			"applies: everyone (configured)", "actions:   reset on, unlock on, change on, enroll on"}},
		{nobody.Login, []string{"filter    no   entry does not match (department=Sales)", "default   yes", "applies: default/corp (default)",
			"factors:   email, totp, backup_codes, passkey"}},
	} {
		out, err := exec.Command(binary, "policy", "explain", "-c", path, tc.login).CombinedOutput()
		if err != nil {
			t.Fatalf("policy explain %s: %v\n%s", tc.login, err, out)
		}
		for _, want := range tc.want {
			if !strings.Contains(string(out), want) {
				t.Errorf("policy explain %s lacks %q:\n%s", tc.login, want, out)
			}
		}
	}
	_, errOut, err := sspr(t, nil, "policy", "explain", "no-such-person-4711", "-c", path)
	if err == nil || !strings.Contains(errOut, "No account matches no-such-person-4711") {
		t.Errorf("unknown login: %v\n%s", err, errOut)
	}
}
