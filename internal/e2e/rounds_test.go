package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/agent"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/factor/duo/duotest"
	"github.com/sspr/sspr/internal/factor/yubikey/yubikeytest"
)

// RADIUS, Duo and YubiKey driven through complete resets over the JSON
// API (issue 12; internal/flow/rounds.go).

const roundsOldPassword = "Old-Rounds-2026"

// startRoundsDirectory starts the embedded directory with the given
// logins (all with roundsOldPassword) and returns its YAML entry and the
// server, to bind against.
func startRoundsDirectory(t *testing.T, logins ...string) (string, *demo.Server) {
	t.Helper()
	var users []demo.User
	for _, l := range logins {
		users = append(users, demo.User{UID: l, GivenName: "Round", Surname: l, Password: roundsOldPassword})
	}
	srv, err := demo.Start(context.Background(), demo.Options{Users: users, Rules: &demo.Rules{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := ldapdir.Config{Name: "demo", URLs: []string{srv.URL()}, BindDN: srv.ServiceDN(), BindPassword: srv.ServicePassword(),
		BaseDN: srv.BaseDN(), AllowInsecurePasswordWrites: true}
	return directoryYAML("openldap", c, "    password_write: modify\n"), srv
}

// freeRADIUSEnv reads the test FreeRADIUS server's settings
// (scripts/testenv/freeradius.sh), skipping without them unless
// integration tests are required.
func freeRADIUSEnv(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, k := range []string{"ADDR", "SECRET", "STATIC_USER", "STATIC_PASSWORD", "CHALLENGE_USER", "CHALLENGE_PASSWORD", "CHALLENGE_CODE"} {
		env[k] = os.Getenv("SSPR_TEST_RADIUS_" + k)
		if env[k] == "" {
			if os.Getenv("SSPR_TEST_REQUIRE_INTEGRATION") != "" {
				t.Fatalf("SSPR_TEST_RADIUS_%s is not set: run scripts/testenv/freeradius.sh start DIR and source DIR/env.sh", k)
			}
			t.Skip("no test FreeRADIUS (SSPR_TEST_RADIUS_ADDR): run scripts/testenv/freeradius.sh start DIR")
		}
	}
	return env
}

func radiusYAML(addr, secret string) string {
	return fmt.Sprintf(`verification:
  factors: [radius]
  first_factor: ""
  required: {reset: 1, unlock: 1}
  radius:
    servers: [%q]
    secret: %q
    nas_identifier: sspr-e2e
    timeout: 1s
    retries: -1
`, addr, secret)
}

// chooseAPI starts a reset for login over the API and chooses kind.
func chooseAPI(t *testing.T, in *instance, login, kind string) *apiFlow {
	t.Helper()
	f, _ := startAPIReset(t, in, login)
	if status, _, raw := f.call("/api/v1/reset/choose", map[string]string{"factor": kind}); status != http.StatusOK {
		t.Fatalf("choose %s: %d %s", kind, status, raw)
	}
	return f
}

// finishReset sets newPassword on a verified flow and checks the
// directory accepts it (and no longer the old one).
func finishReset(t *testing.T, f *apiFlow, srv *demo.Server, login, newPassword string) {
	t.Helper()
	status, body, raw := f.call("/api/v1/reset/password", map[string]string{"password": newPassword})
	if status != http.StatusOK || body["state"] != "done" {
		t.Fatalf("password: %d %s", status, raw)
	}
	if err := bindAs(t, srv, login, newPassword); err != nil {
		t.Fatalf("the directory refuses the new password of %s: %v", login, err)
	}
	if err := bindAs(t, srv, login, roundsOldPassword); err == nil {
		t.Fatalf("the old password of %s still works", login)
	}
}

// TestRadiusResetWithAccessChallenge: a complete reset against the real
// FreeRADIUS, whose user answers the first passcode with an
// Access-Challenge: the server's message is the next prompt, no attempt
// is spent, and the second answer verifies.
func TestRadiusResetWithAccessChallenge(t *testing.T) {
	env := freeRADIUSEnv(t)
	user := env["CHALLENGE_USER"]
	dir, srv := startRoundsDirectory(t, user)
	in := start(t, dir, radiusYAML(env["ADDR"], env["SECRET"]))
	f := chooseAPI(t, in, user, "radius")
	status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": env["CHALLENGE_PASSWORD"]})
	if status != http.StatusOK || body["state"] != "challenged" || body["factor"] != "radius" {
		t.Fatalf("first round: %d %s", status, raw)
	}
	prompt, _ := body["prompt"].(map[string]any)
	if msg, _ := prompt["server_message"].(string); msg == "" {
		t.Fatalf("the Access-Challenge's Reply-Message is not the prompt: %s", raw)
	}
	if left := body["attempts_left"].(float64); left != 5 {
		t.Fatalf("a continued round spent an attempt: %v left (%s)", left, raw)
	}
	status, body, raw = f.call("/api/v1/reset/verify", map[string]string{"code": env["CHALLENGE_CODE"]})
	if status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("second round: %d %s", status, raw)
	}
	finishReset(t, f, srv, user, "Quartz-Lantern-7731")
}

// TestRadiusWrongSecretRefused: sspr configured with a wrong shared
// secret gets no answer it can trust: a plain "unavailable" message, no
// attempt spent, the flow not verified; and for a while a stranger's
// answer is refused the same way (decoys never ask the server).
func TestRadiusWrongSecretRefused(t *testing.T) {
	env := freeRADIUSEnv(t)
	user := env["STATIC_USER"]
	dir, _ := startRoundsDirectory(t, user)
	in := start(t, dir, radiusYAML(env["ADDR"], "not-the-shared-secret-"+env["SECRET"][:4]))
	f := chooseAPI(t, in, user, "radius")
	status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": env["STATIC_PASSWORD"]})
	if status != http.StatusServiceUnavailable {
		t.Fatalf("wrong secret: %d %s", status, raw)
	}
	e, _ := body["error"].(map[string]any)
	if e["code"] != "factor_unavailable" || !strings.Contains(e["message"].(string), "did not answer") {
		t.Fatalf("wrong secret: not a plain message: %s", raw)
	}
	_, st, raw := f.call("/api/v1/reset/status", nil)
	if st["state"] != "challenged" || st["attempts_left"].(float64) != 5 {
		t.Fatalf("after the refusal: %s", raw)
	}
	// A stranger now: the same refusal.
	g := chooseAPI(t, in, "nobody-"+user, "radius")
	status2, body2, raw2 := g.call("/api/v1/reset/verify", map[string]string{"code": "123456"})
	if status2 != status || mustJSON(t, body2) != mustJSON(t, body) {
		t.Fatalf("a stranger's answer after the outage: %d %s, want %d %s", status2, raw2, status, raw)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// duoYAML configures the Duo factor against srv.
func duoYAML(t *testing.T, srv *duotest.Server, extra string) string {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "duo-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`    api_host: %q
    integration_key: %q
    secret_key: %q
    ca_file: %q
    push_timeout: 3s
%s`, srv.Host(), srv.IntegrationKey, srv.SecretKey, ca, extra)
}

// TestDuoPushApproveDenyTimeout: complete resets with a Duo push the
// phone approves; one it denies and one nobody answers each cost an
// attempt and say so plainly. Duo is the first factor here, so a denied
// push ends like one nobody answered (push_timeout, after the same wait),
// as a stranger's does: "denied" would tell a stranger the login is real.
func TestDuoPushApproveDenyTimeout(t *testing.T) {
	duoSrv := duotest.NewServer()
	t.Cleanup(duoSrv.Close)
	dir, srv := startRoundsDirectory(t, "dana", "dirk", "doro", "dino")
	in := start(t, dir, "verification:\n  factors: [duo]\n  first_factor: \"\"\n  required: {reset: 1, unlock: 1}\n  duo:\n"+duoYAML(t, duoSrv, ""))
	duoSrv.SetUser("dana", &duotest.User{Push: duotest.Approve})
	duoSrv.SetUser("dirk", &duotest.User{Push: duotest.Deny})
	duoSrv.SetUser("doro", &duotest.User{Push: duotest.Timeout})
	duoSrv.SetUser("dino", &duotest.User{Push: duotest.Never})

	push := map[string]any{"method": "push"}
	verify := func(f *apiFlow) (int, map[string]any, string) {
		status, out, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", map[string]any{"flow_id": f.id, "response": push}, "")
		return status, out, string(raw)
	}
	// "nobody" is a stranger: the decoy's push waits as long as one nobody
	// answers, reaches no server, and says the same.
	for login, want := range map[string]string{"dirk": "push_timeout", "doro": "push_timeout", "dino": "push_timeout", "nobody": "push_timeout"} {
		f := chooseAPI(t, in, login, "duo")
		before := duoSrv.Pushes()
		status, body, raw := verify(f)
		e, _ := body["error"].(map[string]any)
		if status != http.StatusUnprocessableEntity || e["code"] != "code_invalid" || e["reason"] != want || e["attempts_left"].(float64) != 4 {
			t.Fatalf("%s: %d %s, want code_invalid %s with 4 attempts left", login, status, raw, want)
		}
		if sent := duoSrv.Pushes() - before; login == "nobody" && sent != 0 || login != "nobody" && sent != 1 {
			t.Fatalf("%s: %d pushes sent", login, sent)
		}
		if _, st, raw := f.call("/api/v1/reset/status", nil); st["state"] != "challenged" {
			t.Fatalf("%s: after %s: %s", login, want, raw)
		}
	}
	f := chooseAPI(t, in, "dana", "duo")
	if status, body, raw := verify(f); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("approved push: %d %s", status, raw)
	}
	finishReset(t, f, srv, "dana", "Approved-Push-2026x")
}

// TestYubiKeyReplayRefusedFreshAccepted: the key enrolled over the API
// (touched once: its public ID stored); in the reset, the OTP used to
// enroll is refused as replayed, with a plain message, and a fresh touch
// verifies.
func TestYubiKeyReplayRefusedFreshAccepted(t *testing.T) {
	yk := yubikeytest.NewServer()
	t.Cleanup(yk.Close)
	token := yubikeytest.NewToken()
	yk.Add(token)
	dir, srv := startRoundsDirectory(t, "yara")
	in := start(t, dir, "verification:\n  factors: [yubikey]\n  first_factor: \"\"\n  required: {reset: 1, unlock: 1}\n  yubikey:\n"+yubikeyYAML(t, yk))

	enrollOTP := token.OTP()
	enrollYubiKeyAPI(t, in, "yara", enrollOTP)

	f := chooseAPI(t, in, "yara", "yubikey")
	status, body, raw := f.call("/api/v1/reset/verify", map[string]string{"code": enrollOTP})
	e, _ := body["error"].(map[string]any)
	if status != http.StatusUnprocessableEntity || e["reason"] != "replayed" || !strings.Contains(e["message"].(string), "used before") {
		t.Fatalf("replayed OTP: %d %s", status, raw)
	}
	status, body, raw = f.call("/api/v1/reset/verify", map[string]string{"code": token.OTP()})
	if status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("fresh OTP: %d %s", status, raw)
	}
	finishReset(t, f, srv, "yara", "Fresh-Touch-2026x")
}

func yubikeyYAML(t *testing.T, yk *yubikeytest.Server) string {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "yubico-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: yk.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("    servers: [%q]\n    client_id: %q\n    api_key: %q\n    ca_file: %q\n", yk.URL(), yk.ClientID, base64.StdEncoding.EncodeToString(yk.APIKey), ca)
}

// enrollYubiKeyAPI enrolls a YubiKey for login over the enrollment API.
func enrollYubiKeyAPI(t *testing.T, in *instance, login, otp string) {
	t.Helper()
	status, out, _, raw := apiCall(t, in.URL, "/api/v1/enroll/signin", map[string]string{"login": login, "password": roundsOldPassword}, "")
	if status != http.StatusOK {
		t.Fatalf("enroll sign-in: %d %s", status, raw)
	}
	session := out["session_id"].(string)
	status, out, _, raw = apiCall(t, in.URL, "/api/v1/enroll/add", map[string]string{"session_id": session, "factor": "yubikey"}, "")
	if status != http.StatusOK || out["pending_kind"] != "yubikey" {
		t.Fatalf("enroll add yubikey: %d %s", status, raw)
	}
	status, out, _, raw = apiCall(t, in.URL, "/api/v1/enroll/add/finish", map[string]string{"session_id": session, "code": otp}, "")
	if status != http.StatusOK {
		t.Fatalf("enroll finish yubikey: %d %s", status, raw)
	}
	factors, _ := out["factors"].([]any)
	if len(factors) != 1 || factors[0].(map[string]any)["kind"] != "yubikey" {
		t.Fatalf("after enrolling: %s", raw)
	}
}

// TestRoundsStrangersSeeTheSameFirstChallenge: for RADIUS, Duo and
// YubiKey, the first challenge of a real person (enrolled) and of an
// unknown login are byte-identical apart from nonces and times.
func TestRoundsStrangersSeeTheSameFirstChallenge(t *testing.T) {
	duoSrv := duotest.NewServer()
	t.Cleanup(duoSrv.Close)
	yk := yubikeytest.NewServer()
	t.Cleanup(yk.Close)
	token := yubikeytest.NewToken()
	yk.Add(token)
	duoSrv.SetUser("sami", &duotest.User{Push: duotest.Approve})
	dir, _ := startRoundsDirectory(t, "sami")
	in := start(t, dir, `verification:
  factors: [radius, duo, yubikey]
  first_factor: ""
  required: {reset: 1, unlock: 1}
  radius:
    servers: ["127.0.0.1:9"]
    secret: "a-shared-secret-for-the-test"
  duo:
`+duoYAML(t, duoSrv, "")+"  yubikey:\n"+yubikeyYAML(t, yk))
	enrollYubiKeyAPI(t, in, "sami", token.OTP())
	requests, pushes := yk.RequestCount(), duoSrv.Pushes()
	for _, kind := range []string{"radius", "duo", "yubikey"} {
		var bodies []string
		for _, login := range []string{"sami", "stranger-sami"} {
			f, _ := startAPIReset(t, in, login)
			status, _, _, raw := apiCall(t, in.URL, "/api/v1/reset/choose", map[string]string{"flow_id": f.id, "factor": kind}, "")
			bodies = append(bodies, fmt.Sprintf("%d %s", status, normaliseBody(string(raw))))
		}
		if bodies[0] != bodies[1] {
			t.Errorf("%s: the first challenge differs:\nreal:     %s\nstranger: %s", kind, bodies[0], bodies[1])
		}
		if !strings.HasPrefix(bodies[0], "200 ") || !strings.Contains(bodies[0], `"prompt"`) {
			t.Errorf("%s: %s", kind, bodies[0])
		}
	}
	if yk.RequestCount() != requests || duoSrv.Pushes() != pushes {
		t.Fatal("a challenge reached a server")
	}
}

// TestRoundsAgentRadiusChallenge: the login-screen conversation resets a
// password with a RADIUS passcode, shows the server's Access-Challenge
// question and answers it (real FreeRADIUS).
func TestRoundsAgentRadiusChallenge(t *testing.T) {
	env := freeRADIUSEnv(t)
	user := env["CHALLENGE_USER"]
	dir, srv := startRoundsDirectory(t, user)
	in := start(t, dir, radiusYAML(env["ADDR"], env["SECRET"]))
	newPW := "Quartz-Agent-5521"
	passcodes := 0
	conv := &scripted{}
	conv.answer = func(prompt string) (string, error) {
		switch {
		case strings.HasPrefix(prompt, "Type 1 to choose a new password"), strings.HasPrefix(prompt, "Type the number of your choice"):
			return "1", nil
		case strings.HasPrefix(prompt, "Enter the passcode from your security token"):
			passcodes++
			if passcodes == 1 {
				return env["CHALLENGE_PASSWORD"], nil
			}
			return env["CHALLENGE_CODE"], nil
		case strings.HasPrefix(prompt, "New password"), strings.HasPrefix(prompt, "Type the new password again"):
			return newPW, nil
		}
		return "", fmt.Errorf("unexpected prompt %q", prompt)
	}
	rec := &agent.Recovery{Client: agentClient(t, in), Conv: conv, Texts: agent.TextsFor("en_US.UTF-8"), HelpDesk: "call 555-0100"}
	res := rec.Run(context.Background(), user, "")
	text := strings.Join(conv.transcript, "\n")
	if res.Outcome != agent.OutcomeOK || res.Password != newPW || passcodes != 2 {
		t.Fatalf("outcome %q after %d passcodes; transcript:\n%s", res.Outcome, passcodes, text)
	}
	if !strings.Contains(text, "SAY Your token server asks: ") {
		t.Errorf("the server's question was not shown:\n%s", text)
	}
	if err := bindAs(t, srv, user, newPW); err != nil {
		t.Fatalf("the directory refuses the new password: %v", err)
	}
}
