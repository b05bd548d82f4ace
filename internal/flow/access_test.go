package flow_test

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/access/mmdbtest"
	"github.com/sspr/sspr/internal/access/when"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/totp"
	"github.com/sspr/sspr/internal/flow"
)

// The office, as the conditional-access tests configure it.
var (
	mon10Paris = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)  // Monday 10:00 in Paris
	mon23Paris = time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC) // Monday 23:00 in Paris
)

const helpDesk = "Help desk: +33 1 23 45 67 89, helpdesk@example.test"

// withAccess gives the harness conditional access: a denied country
// (from a MaxMind-format database the test writes), the office network
// in office hours allowed as is, one more factor anywhere else; and, for
// the "alice" policy only, an authenticator app from unknown devices.
func withAccess(t *testing.T, h *harness, extra ...*access.Rule) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "country.mmdb")
	if err := mmdbtest.Countries(db, map[string]string{"198.51.100.0/24": "KP", "203.0.113.0/24": "FR"}); err != nil {
		t.Fatal(err)
	}
	geo, err := access.OpenGeoIP(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = geo.Close() })
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	office, _ := when.ParseNetwork("10.0.0.0/8")
	hours, _ := when.ParseHours("08:00-18:00")
	rules := append(extra,
		&access.Rule{Name: "denied-countries", Countries: []string{"KP"}, Effect: access.Refuse, Message: "Password resets are not available from your country."},
		&access.Rule{Name: "office", Networks: []netip.Prefix{office}, Hours: &hours, Location: paris,
			Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, Effect: access.Allow},
		&access.Rule{Name: "elsewhere", Effect: access.AddFactor})
	set, err := access.New(rules, geo)
	if err != nil {
		t.Fatal(err)
	}
	h.reset.Access, h.reset.AccessContact = set, helpDesk
}

// withTOTP offers an authenticator app and enrolls one for alice; it
// returns a function giving the current code.
func withTOTP(t *testing.T, h *harness) func() string {
	t.Helper()
	fa, err := totp.New(totp.Config{Issuer: "Test", Digits: 6, Clock: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.offer(fa)
	seed := h.enrollTOTP(t, fa, time.Time{})
	return func() string { return totpCode(t, seed, 6, h.clock.Now()) }
}

func auditHas(t *testing.T, h *harness, event, outcome, reason, detail string) bool {
	t.Helper()
	for _, r := range h.auditRows(t) {
		if r.Event == event && r.Outcome == outcome && (reason == "" || r.Reason == reason) && strings.Contains(r.Detail, detail) {
			return true
		}
	}
	return false
}

// TestAccessOutsideAtNightNeedsOneMoreFactor is the Must show: alice from
// outside the office range at 23:00 needs one more factor than alice from
// the office range at 10:00 (the time from the harness's clock); both
// decisions are audited with their reason.
func TestAccessOutsideAtNightNeedsOneMoreFactor(t *testing.T) {
	h := newHarness(t)
	code := withTOTP(t, h)
	withAccess(t, h)
	ctx := context.Background()

	run := func(at time.Time, ip string) flow.Status {
		t.Helper()
		h.clock.Set(at)
		token, st, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: ip, Language: "en"})
		if err != nil {
			t.Fatalf("start from %s: %v", ip, err)
		}
		if st.FactorsRequired != 1 {
			t.Errorf("the first step from %s asks %d factors: it must be everybody's (1)", ip, st.FactorsRequired)
		}
		if st, err = h.reset.Choose(ctx, token, factor.Email, ip); err != nil {
			t.Fatalf("choose email: %v", err)
		}
		st, err = h.reset.VerifyCode(ctx, token, h.lastCode(t), ip)
		if err != nil {
			t.Fatalf("verify from %s: %v", ip, err)
		}
		if st.State == flow.StateChoose {
			// One more: the authenticator app.
			if _, err := h.reset.Choose(ctx, token, factor.TOTP, ip); err != nil {
				t.Fatalf("choose totp: %v", err)
			}
			h.clock.Advance(30 * time.Second)
			if st, err = h.reset.Verify(ctx, token, factor.Response{Values: map[string]string{"code": code()}}, ip); err != nil || st.State != flow.StateVerified {
				t.Fatalf("the second factor: %v %+v", err, st)
			}
		}
		return st
	}
	office := run(mon10Paris, "10.1.2.3")
	outside := run(mon23Paris, "192.0.2.7")
	if office.FactorsRequired != 1 || outside.FactorsRequired != office.FactorsRequired+1 {
		t.Errorf("factors required: office at 10:00 %d, outside at 23:00 %d; want 1 and 2", office.FactorsRequired, outside.FactorsRequired)
	}
	if office.State != flow.StateVerified || office.FactorsDone != 1 || outside.FactorsDone != 2 {
		t.Errorf("office %+v, outside %+v", office, outside)
	}
	// The office range at 23:00 is "elsewhere" too: the hours matter, not
	// only the network.
	if st := run(mon23Paris.Add(5*time.Minute), "10.1.2.3"); st.FactorsRequired != 2 {
		t.Errorf("the office range at 23:00 asks %d factors, want 2", st.FactorsRequired)
	}
	for _, want := range []struct{ reason, detail string }{
		{"", `"access_rule":"office"`},
		{"", `"access_rule":"elsewhere"`},
	} {
		if !auditHas(t, h, "reset.verify", "success", want.reason, want.detail) {
			t.Errorf("no audited verify with %s", want.detail)
		}
	}
	if !auditHas(t, h, "reset.identify", "success", "", `"access_reason":"rule office: address 10.1.2.3 in 10.0.0.0/8; 10:00 Europe/Paris within 08:00-18:00; Monday in Europe/Paris"`) {
		t.Error("the identify step's decision is not audited with its reason")
	}
}

// TestAccessDeniedCountryIsRefused is the Must show: a request from a
// denied country is refused at the first step with the rule's message and
// the help desk — the same for a known login and for a stranger — and
// audited with its reason.
func TestAccessDeniedCountryIsRefused(t *testing.T) {
	h := newHarness(t)
	withAccess(t, h)
	h.clock.Set(mon10Paris)
	ctx := context.Background()
	for _, login := range []string{"alice", "nobody-at-all"} {
		_, _, err := h.reset.Start(ctx, flow.StartInput{Login: login, ClientIP: "198.51.100.9", Language: "en"})
		var fe *flow.Error
		if !errors.As(err, &fe) || fe.Code != flow.CodeAccessRefused {
			t.Fatalf("%s from a denied country: %v, want access_refused", login, err)
		}
		if fe.Detail != "Password resets are not available from your country. "+helpDesk {
			t.Errorf("%s: the refusal says %q", login, fe.Detail)
		}
	}
	n := 0
	for _, r := range h.auditRows(t) {
		if r.Event == "reset.identify" && r.Outcome == "denied" && r.Reason == "access_refused" &&
			strings.Contains(r.Detail, `"access_reason":"rule denied-countries: country KP"`) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d audited refusals, want 2", n)
	}
	// No flow was started, and nobody was looked up: no code was mailed.
	if msgs := h.messages(t); len(msgs) != 0 {
		t.Errorf("%d messages queued for refused requests", len(msgs))
	}
	// Another country goes on.
	if _, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "203.0.113.5", Language: "en"}); err != nil {
		t.Errorf("from an allowed country: %v", err)
	}
}

// TestAccessRequiredKindAndDevice: a rule for one policy requires an
// authenticator app from unknown devices; a known device (a registered
// agent, through the context) is not asked for it; a rule whose effect the
// person cannot meet is refused as not_enrolled after the first factor.
func TestAccessRequiredKindAndDevice(t *testing.T) {
	h := newHarness(t)
	code := withTOTP(t, h)
	withPolicies(t, h)
	withAccess(t, h, &access.Rule{Name: "alice-unknown-device", Policies: []string{"alice"}, Device: access.DeviceUnknown,
		Effect: access.RequireKind, Kind: factor.TOTP})
	h.clock.Set(mon10Paris)
	ctx := context.Background()
	start := func(ctx context.Context) string {
		t.Helper()
		token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "10.1.2.3", Language: "en"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.reset.Choose(ctx, token, factor.Email, "10.1.2.3"); err != nil {
			t.Fatal(err)
		}
		return token
	}
	token := start(ctx)
	st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "10.1.2.3")
	if err != nil || st.State != flow.StateChoose || len(st.Choices) != 1 || st.Choices[0] != factor.TOTP {
		t.Fatalf("from an unknown device: %v %+v; want to choose totp only", err, st)
	}
	// The rule is recorded in the flow: a later step, loading it from the
	// store, still offers the app, which alice's policy alone does not.
	if st, err := h.reset.Status(ctx, token); err != nil || len(st.Choices) != 1 || st.Choices[0] != factor.TOTP {
		t.Fatalf("the stored flow: %v %+v; want to choose totp only", err, st)
	}
	if _, err := h.reset.Choose(ctx, token, factor.TOTP, "10.1.2.3"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(30 * time.Second)
	if st, err = h.reset.Verify(ctx, token, factor.Response{Values: map[string]string{"code": code()}}, "10.1.2.3"); err != nil || st.State != flow.StateVerified {
		t.Fatalf("after the app: %v %+v", err, st)
	}
	// From a registered agent: a known device.
	agentCtx := access.WithDevice(ctx, access.Device{Known: true, Via: "agent test"})
	token = start(agentCtx)
	if st, err = h.reset.VerifyCode(agentCtx, token, h.lastCode(t), "10.1.2.3"); err != nil || st.State != flow.StateVerified {
		t.Errorf("from a known device: %v %+v", err, st)
	}
	if !auditHas(t, h, "reset.verify", "success", "", `"access_rule":"alice-unknown-device"`) {
		t.Error("the required kind is not audited")
	}
	// carol has no authenticator app: one more factor is more than she has.
	h.clock.Set(mon23Paris)
	token, _, err = h.reset.Start(ctx, flow.StartInput{Login: "carol", ClientIP: "192.0.2.7", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = h.reset.Choose(ctx, token, factor.Email, "192.0.2.7")
	if _, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.7"); flowCode(err) != flow.CodeNotEnrolled {
		t.Errorf("carol outside at 23:00: %v, want not_enrolled", err)
	}
	if !auditHas(t, h, "reset.verify", "denied", "access_not_enrolled", `"access_rule":"elsewhere"`) {
		t.Error("the unmet effect is not audited")
	}
}

// TestAccessRefusesEnrollmentSignIn: a denied country cannot sign in to
// enrollment either (a stolen password must not enroll a factor from
// there), before the password is checked; audited.
func TestAccessRefusesEnrollmentSignIn(t *testing.T) {
	h := newHarness(t)
	withAccess(t, h)
	h.clock.Set(mon10Paris)
	e := h.enroll()
	ctx := context.Background()
	for _, pw := range []string{"Winter-2026", "Wrong-Old-1"} {
		if _, _, err := e.SignIn(ctx, "alice", pw, "198.51.100.9", "en"); flowCode(err) != flow.CodeAccessRefused {
			t.Errorf("sign-in from a denied country: %v, want access_refused", err)
		}
	}
	if !auditHas(t, h, "enroll.signin", "denied", "access_refused", `"access_rule":"denied-countries"`) {
		t.Error("the refused sign-in is not audited")
	}
	if _, _, err := e.SignIn(ctx, "alice", "Winter-2026", "10.1.2.3", "en"); err != nil {
		t.Errorf("sign-in from the office: %v", err)
	}
}

// TestAccessRefusesPasswordChange: the rules for everybody refuse a
// password change from a denied country, for a known login with its right
// password and an unknown one alike, before the directory is asked (the
// password stays as it was); the refusal is audited. From the office the
// change goes through.
func TestAccessRefusesPasswordChange(t *testing.T) {
	h := newHarness(t)
	withAccess(t, h)
	h.clock.Set(mon10Paris)
	c := h.change()
	c.Access, c.AccessContact = h.reset.Access, h.reset.AccessContact
	ctx := context.Background()
	for _, login := range []string{"alice", "nobody-here"} {
		err := c.Change(ctx, flow.ChangeInput{Login: login, OldPassword: "Winter-2026", NewPassword: "Spring-Time-2027!", Confirm: "Spring-Time-2027!", ClientIP: "198.51.100.9"})
		if flowCode(err) != flow.CodeAccessRefused {
			t.Fatalf("change for %s from a denied country: %v, want access_refused", login, err)
		}
		var fe *flow.Error
		if errors.As(err, &fe) && !strings.Contains(fe.Detail, helpDesk) {
			t.Errorf("the refusal does not give the help desk: %q", fe.Detail)
		}
	}
	if !auditHas(t, h, "change.password", "denied", "access_refused", `"access_rule":"denied-countries"`) {
		t.Error("the refused change is not audited")
	}
	if err := c.Change(ctx, flow.ChangeInput{Login: "alice", OldPassword: "Winter-2026", NewPassword: "Spring-Time-2027!", Confirm: "Spring-Time-2027!", ClientIP: "10.1.2.3"}); err != nil {
		t.Fatalf("change from the office: %v (the refused attempts must not have changed the password)", err)
	}
}
