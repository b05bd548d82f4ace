package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// moveToOU moves a test user into ou (keeping its name) and deletes it
// there when the test ends, before ou itself goes.
func moveToOU(t *testing.T, u dirtest.User, ou string) dirtest.User {
	t.Helper()
	rdn, _, _ := strings.Cut(u.DN, ",")
	if err := dirtest.ADAdmin(t).ModifyDN(ldap.NewModifyDNRequest(u.DN, rdn, true, ou)); err != nil {
		t.Fatalf("moving %s into %s: %v", u.DN, ou, err)
	}
	u.DN = rdn + "," + ou
	t.Cleanup(func() {
		if err := dirtest.ADAdmin(t).Del(ldap.NewDelRequest(u.DN, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("deleting %s: %v", u.DN, err)
		}
	})
	return u
}

// policiesYAML gives three populations of the test AD three policies:
// administrators by nested group, finance by OU, everyone else by an LDAP
// filter. Everybody's first step is the email code.
func policiesYAML(adminsGroup, financeOU string) string {
	return fmt.Sprintf(`verification:
  factors: [email, totp, backup_codes, passkey]
  first_factor: email
  pre_enroll_mail: true
  required: {reset: 1, unlock: 1}
abuse:
  ip_failures: {limit: 1000, window: 1h, block: 1h}
  user_failures: {limit: 100, window: 1h, block: 1h}
  sends_per_destination: {limit: 100, window: 1h}
policies:
  - name: admins
    scope: {groups: [%q]}
    factors: [totp, backup_codes, passkey]
    required: {reset: 2, unlock: 2}
    mandatory: [backup_codes]
    notices: ["Administrators: keep your backup codes ready."]
  - name: finance
    scope: {ous: [%q]}
    factors: [email, backup_codes]
    required: {reset: 2, unlock: 2}
    actions: {unlock: false}
  - name: everyone
    scope: {filter: "(objectClass=user)"}
    factors: [email, totp]
    required: {reset: 2, unlock: 2}
    enrollment: {required: [totp], minimum: 2}
`, adminsGroup, financeOU)
}

// population is one person of a population with what they enrolled.
type population struct {
	name     string
	user     dirtest.User
	totp     string
	backup   []string
	choices  []any // offered after the first factor
	required float64
	notices  []string
	outside  string // a kind outside the policy
}

// strs reads a JSON array of strings (nil when absent).
func strs(v any) []string {
	var out []string
	for _, s := range asSlice(v) {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestPoliciesByPopulation: a directory with three populations (admins,
// finance, everyone) and three policies. Strangers and members of every
// population see the same first step, byte for byte apart from tokens,
// times and passkey challenges, through the JSON API and the HTML pages;
// after the first factor each person is offered exactly their policy's
// factors, with its count and notices, and completes a reset under it; an
// action a policy switches off (unlock, for finance) is refused plainly
// after the first factor and only for that population.
func TestPoliciesByPopulation(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	cfg.Name = "corp"
	const pw = "Initial-Pass-1"
	admin := dirtest.CreateADUser(t, pw)
	inner := dirtest.CreateADGroup(t, admin.DN)
	outer := dirtest.CreateADGroup(t, inner) // the admin is in it through nesting
	ou := dirtest.CreateADOU(t, 0)
	financeUser := moveToOU(t, dirtest.CreateADUser(t, pw), ou)
	everyoneUser := dirtest.CreateADUser(t, pw)
	in := start(t, directoryYAML("ad", cfg, ""), directoryRulesOnly+policiesYAML(outer, ou))

	// Each code mail is taken once, in the order they arrive.
	taken := map[string]int{}
	code := func(mail string) string {
		t.Helper()
		c := in.waitCode(t, mail, taken[mail])
		taken[mail]++
		return c
	}
	enrollAll := func(u dirtest.User, totp, backup bool) (string, []string) {
		var secret string
		var codes []string
		if totp {
			secret = enrollTOTP(t, in, u)
		}
		if backup {
			codes = enrollBackupCodes(t, in, u.Login, u.Password)
		}
		taken[u.Mail] = in.codeMailsTo(u.Mail) // the enrollment's step-up codes
		return secret, codes
	}
	people := []*population{
		{name: "admins", user: admin, choices: []any{"totp", "backup_codes", "passkey"}, required: 3, outside: "email",
			notices: []string{"Administrators: keep your backup codes ready."}},
		{name: "finance", user: financeUser, choices: []any{"backup_codes"}, required: 2, outside: "passkey"},
		{name: "everyone", user: everyoneUser, choices: []any{"totp"}, required: 2, outside: "passkey"},
	}
	people[0].totp, people[0].backup = enrollAll(admin, true, true)
	_, people[1].backup = enrollAll(financeUser, false, true)
	people[2].totp, _ = enrollAll(everyoneUser, true, false)

	t.Run("first step is everybody's", func(t *testing.T) {
		api := func(login string) []answer {
			var out []answer
			rec := func(status int, h http.Header, raw []byte) {
				out = append(out, answer{status, normaliseHeader(h), normaliseBody(string(raw))})
			}
			status, body, h, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
			rec(status, h, raw)
			id, _ := body["flow_id"].(string)
			for _, step := range []struct {
				path string
				body map[string]string
			}{
				{"/api/v1/reset/status", nil},
				{"/api/v1/reset/verify", map[string]string{"code": "00000000"}},
				{"/api/v1/reset/choose", map[string]string{"factor": "totp"}},
				{"/api/v1/reset/verify", map[string]string{"code": "000000"}},
				{"/api/v1/reset/choose", map[string]string{"factor": "backup_codes"}},
				{"/api/v1/reset/verify", map[string]string{"code": "AAAAA-BBBBB"}},
				{"/api/v1/reset/choose", map[string]string{"factor": "passkey"}},
				{"/api/v1/reset/password", map[string]string{"password": "Whatever-123"}},
			} {
				b := map[string]string{"flow_id": id}
				for k, v := range step.body {
					b[k] = v
				}
				status, _, h, raw := apiCall(t, in.URL, step.path, b, "")
				rec(status, h, raw)
			}
			return out
		}
		portal := func(login string) []answer {
			b := newBrowser(t, in.URL)
			var out []answer
			rec := func(p page) { out = append(out, answer{p.Status, normaliseHeader(p.Header), p.Body}) }
			rec(b.post("/reset/start", url.Values{"login": {login}}))
			rec(b.get("/reset/code"))
			rec(b.post("/reset/code", url.Values{"code": {"00000000"}}))
			rec(b.get("/reset/choose"))
			rec(b.post("/reset/choose", url.Values{"factor": {"totp"}}))
			rec(b.get("/reset/code"))
			rec(b.post("/reset/code", url.Values{"code": {"000000"}}))
			rec(b.get("/reset/password"))
			return out
		}
		apiSteps := []string{"start", "status", "wrong email code", "choose totp", "wrong totp", "choose backup codes", "wrong backup code",
			"choose passkey (options)", "password before verification"}
		portalSteps := []string{"start", "code page", "wrong code", "choose page", "choose totp", "totp page", "wrong totp", "password page"}
		stranger := "no-such-" + admin.Login
		wantAPI, wantPortal := api(stranger), portal(stranger)
		if len(wantAPI) != len(apiSteps) || len(wantPortal) != len(portalSteps) {
			t.Fatalf("%d/%d answers for %d/%d steps", len(wantAPI), len(wantPortal), len(apiSteps), len(portalSteps))
		}
		for _, p := range people {
			t.Run(p.name, func(t *testing.T) {
				gotAPI, gotPortal := api(p.user.Login), portal(p.user.Login)
				for i := range apiSteps {
					same(t, "api: "+apiSteps[i], gotAPI[i], wantAPI[i])
				}
				for i := range portalSteps {
					same(t, "portal: "+portalSteps[i], gotPortal[i], wantPortal[i])
				}
			})
			// Both starts mailed this person a real code.
			code(p.user.Mail)
			code(p.user.Mail)
		}
	})

	t.Run("after the first factor, the policy's factors", func(t *testing.T) {
		for _, p := range people {
			f, _ := startAPIReset(t, in, p.user.Login)
			status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": code(p.user.Mail)})
			if status != http.StatusOK || body["state"] != "choose" {
				t.Fatalf("%s after the email code: %d %s", p.name, status, raw)
			}
			if !reflect.DeepEqual(body["choices"], p.choices) || body["factors_required"] != p.required || !slices.Equal(strs(body["notices"]), p.notices) {
				t.Errorf("%s after the first factor: choices %v, required %v, notices %v; want %v, %v, %v (%s)",
					p.name, body["choices"], body["factors_required"], body["notices"], p.choices, p.required, p.notices, raw)
			}
			// A kind outside the policy is refused now.
			if status, _, raw := f.call("/api/v1/reset/choose", map[string]string{"factor": p.outside}); status != http.StatusUnprocessableEntity {
				t.Errorf("%s chose %s, outside the policy: %d %s", p.name, p.outside, status, raw)
			}
			switch p.name {
			case "admins":
				// Two more of the app, backup codes and a passkey: after the
				// app, only the mandatory backup code is left to choose.
				f.call("/api/v1/reset/choose", map[string]string{"factor": "totp"})
				status, body, raw = f.call("/api/v1/reset/verify", map[string]string{"code": totpCode(p.totp, time.Now().Add(30*time.Second))})
				if status != http.StatusOK || body["state"] != "choose" || !reflect.DeepEqual(body["choices"], []any{"backup_codes"}) {
					t.Fatalf("admin after the app: %d %s (want choose, only backup codes left)", status, raw)
				}
				f.call("/api/v1/reset/choose", map[string]string{"factor": "backup_codes"})
				status, body, raw = f.call("/api/v1/reset/verify", map[string]string{"code": p.backup[0]})
			case "finance":
				f.call("/api/v1/reset/choose", map[string]string{"factor": "backup_codes"})
				status, body, raw = f.call("/api/v1/reset/verify", map[string]string{"code": p.backup[0]})
			case "everyone":
				f.call("/api/v1/reset/choose", map[string]string{"factor": "totp"})
				status, body, raw = f.call("/api/v1/reset/verify", map[string]string{"code": totpCode(p.totp, time.Now().Add(30*time.Second))})
			}
			if status != http.StatusOK || body["state"] != "verified" {
				t.Fatalf("%s: not verified after the policy's factors: %d %s", p.name, status, raw)
			}
			newPw := "Policy-New-Pass-7"
			if status, _, raw := f.call("/api/v1/reset/password", map[string]string{"password": newPw}); status != http.StatusOK {
				t.Fatalf("%s: reset: %d %s", p.name, status, raw)
			}
			proveReset(t, cfg, p.user.Login, p.user.Password, newPw)
			p.user.Password = newPw
		}
	})

	t.Run("the portal shows the policy after the first factor", func(t *testing.T) {
		p := people[0]
		b := newBrowser(t, in.URL)
		b.post("/reset/start", url.Values{"login": {p.user.Login}})
		pg := b.post("/reset/code", url.Values{"code": {code(p.user.Mail)}})
		if pg.Status == http.StatusSeeOther {
			pg = b.get(pg.Location)
		}
		for _, want := range []string{`value="totp"`, `value="backup_codes"`, `value="passkey"`, "Administrators: keep your backup codes ready."} {
			if !strings.Contains(pg.Body, want) {
				t.Errorf("the page after the first factor lacks %q:\n%s", want, pg.Body)
			}
		}
		if strings.Contains(pg.Body, `value="email"`) {
			t.Errorf("the page offers kinds outside the admins policy:\n%s", pg.Body)
		}
	})

	t.Run("enrollment shows what the policy asks", func(t *testing.T) {
		u := dirtest.CreateADUser(t, pw) // in the everyone population, nothing enrolled
		b := newBrowser(t, in.URL)
		if p := b.post("/enroll/signin", url.Values{"login": {u.Login}, "password": {u.Password}}); p.Status != http.StatusSeeOther {
			t.Fatalf("enrollment sign-in: %d\n%s", p.Status, p.Body)
		}
		p := stepUpForm(t, in, b, u.Mail)
		if !strings.Contains(p.Body, `id="policy-needs"`) || !strings.Contains(p.Body, "at least 2 ways") || !strings.Contains(p.Body, "Still missing: Authenticator app") {
			t.Errorf("the enrollment page does not say what the policy asks:\n%s", p.Body)
		}
		// Once the app is enrolled, nothing is missing.
		enrollTOTP(t, in, u)
		_, v, err := in.App.Enroll.SignIn(bg, u.Login, u.Password, "127.0.0.1", "en")
		if err != nil {
			t.Fatal(err)
		}
		if r := v.Requirements; r == nil || !r.Met || len(r.Missing) != 0 {
			t.Errorf("requirements after enrolling the app: %+v", r)
		}
	})

	t.Run("an action switched off, for one population only", func(t *testing.T) {
		unlock := func(p *population) (int, map[string]any, string) {
			status, body, _, raw := apiCall(t, in.URL, "/api/v1/unlock", map[string]string{"login": p.user.Login}, "")
			if status != http.StatusAccepted {
				t.Fatalf("%s: start unlock: %d %s", p.name, status, raw)
			}
			f := &apiFlow{t: t, in: in, id: body["flow_id"].(string)}
			return f.call("/api/v1/reset/verify", map[string]string{"code": code(p.user.Mail)})
		}
		status, body, raw := unlock(people[1])
		e, _ := body["error"].(map[string]any)
		if status != http.StatusForbidden || e["code"] != "action_not_allowed" || !strings.Contains(fmt.Sprint(e["message"]), "help desk") {
			t.Errorf("finance unlock after the first factor: %d %s (want 403 action_not_allowed with a plain message)", status, raw)
		}
		status, body, raw = unlock(people[2])
		if status != http.StatusOK || body["state"] != "choose" {
			t.Errorf("everyone's unlock after the first factor: %d %s (want choose)", status, raw)
		}
	})
}
