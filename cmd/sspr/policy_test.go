package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/access/mmdbtest"
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
	geo := filepath.Join(t.TempDir(), "country.mmdb")
	if err := mmdbtest.Countries(geo, map[string]string{"198.51.100.0/24": "KP"}); err != nil {
		t.Fatal(err)
	}
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
geoip:
  database: %q
access:
  - name: denied-countries
    countries: [KP]
    effect: refuse
    message: "Not from your country."
  - name: office
    networks: [10.0.0.0/8]
    hours: "08:00-18:00"
    time_zone: Europe/Paris
    effect: allow
  - name: admins-unknown-device
    policies: [admins]
    device: unknown
    effect: require_kind
    kind: passkey
  - name: elsewhere
    effect: add_factor
`, outer, ou, geo)
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
			"applies: admins (configured)", "factors:   passkey, totp (reset needs 2, unlock needs 2)", "mandatory: passkey",
			"admins-unknown-device: unknown device → require_kind passkey [policies admins]"}},
		{finance.Login, []string{rdn + "," + ou, "group     no", `policy "finance"`, "directory yes", "ou        yes  entry is below " + ou,
			"applies: finance (configured)", "unlock off"}},
		{everyone.Login, []string{`policy "finance"`, "ou        no", `policy "everyone"`, "filter    yes  entry matches (department=Sales)",
			"applies: everyone (configured)", "actions:   reset on, unlock on, change on, enroll on",
			"access rules (in order; the first whose conditions hold decides):",
			`denied-countries: country KP → refuse ("Not from your country.") [everybody]`,
			"office: from 10.0.0.0/8; 08:00-18:00 Europe/Paris → allow [everybody]", "elsewhere: always → add_factor [everybody]"}},
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
	// Everyone's policy does not see the admins' rule.
	out, err := exec.Command(binary, "policy", "explain", "-c", path, everyone.Login).CombinedOutput()
	if err != nil || strings.Contains(string(out), "admins-unknown-device") {
		t.Errorf("policy explain %s shows the admins' access rule (%v):\n%s", everyone.Login, err, out)
	}
	// What the rules decide for one request: the office at 10:00 Paris
	// time, outside it at 23:00, from a denied country.
	for _, tc := range []struct{ from, at, first, after string }{
		{"10.1.2.3", "2026-12-07T10:00:00+01:00", "allow (rule office: address 10.1.2.3 in 10.0.0.0/8; 10:00 Europe/Paris within 08:00-18:00)", "allow (rule office"},
		{"203.0.113.9", "2026-12-07T23:00:00+01:00", "add_factor (rule elsewhere", "require_kind (rule admins-unknown-device: unknown device)"},
		{"198.51.100.9", "2026-12-07T10:00:00+01:00", "refuse (rule denied-countries: country KP)", "refuse (rule denied-countries"},
	} {
		out, err := exec.Command(binary, "policy", "explain", "-c", path, "--from", tc.from, "--at", tc.at, admin.Login).CombinedOutput()
		if err != nil {
			t.Fatalf("policy explain --from %s: %v\n%s", tc.from, err, out)
		}
		for _, want := range []string{"a request from " + tc.from, "first step (everybody):  " + tc.first, "after the first factor:  " + tc.after} {
			if !strings.Contains(string(out), want) {
				t.Errorf("policy explain --from %s --at %s lacks %q:\n%s", tc.from, tc.at, want, out)
			}
		}
	}
	if _, errOut, err := sspr(t, nil, "policy", "explain", "-c", path, "--at", "tomorrow", admin.Login); err == nil || !strings.Contains(errOut, `--at "tomorrow" is not an RFC 3339 time`) {
		t.Errorf("a bad --at: %v\n%s", err, errOut)
	}
	_, errOut, err := sspr(t, nil, "policy", "explain", "no-such-person-4711", "-c", path)
	if err == nil || !strings.Contains(errOut, "No account matches no-such-person-4711") {
		t.Errorf("unknown login: %v\n%s", err, errOut)
	}
}
