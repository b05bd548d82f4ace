package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/passkey"
	"github.com/sspr/sspr/internal/testenv/browsertest"
)

// page is the smallest portal: it fetches options from the factor, calls
// the WebAuthn API and posts the result back, returning the server's
// answer. tamper flips a bit of the assertion's signature before posting.
const page = `<!doctype html><html><head><meta charset="utf-8"><title>passkey</title></head><body>
<script>
const dec = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4)), c => c.charCodeAt(0)).buffer;
const enc = b => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
async function post(url, body) {
  const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  return r.status + ' ' + await r.text();
}
async function enroll(name) {
  const o = await (await fetch('/enroll/begin?name=' + encodeURIComponent(name))).json();
  o.challenge = dec(o.challenge);
  o.user.id = dec(o.user.id);
  (o.excludeCredentials || []).forEach(c => c.id = dec(c.id));
  let cred;
  try { cred = await navigator.credentials.create({publicKey: o}); }
  catch (e) { return 'browser ' + e.name + ': ' + e.message; }
  return post('/enroll/finish', {
    id: cred.id, rawId: enc(cred.rawId), type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment,
    clientExtensionResults: cred.getClientExtensionResults(),
    response: {
      clientDataJSON: enc(cred.response.clientDataJSON),
      attestationObject: enc(cred.response.attestationObject),
      transports: cred.response.getTransports ? cred.response.getTransports() : [],
    },
  });
}
async function login(tamper, discoverable) {
  const o = await (await fetch('/login/begin' + (discoverable ? '?discoverable=1' : ''))).json();
  o.challenge = dec(o.challenge);
  (o.allowCredentials || []).forEach(c => c.id = dec(c.id));
  let cred;
  try { cred = await navigator.credentials.get({publicKey: o}); }
  catch (e) { return 'browser ' + e.name + ': ' + e.message; }
  const sig = new Uint8Array(cred.response.signature);
  if (tamper) sig[sig.length - 1] ^= 1;
  return post('/login/finish', {
    id: cred.id, rawId: enc(cred.rawId), type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment,
    clientExtensionResults: cred.getClientExtensionResults(),
    response: {
      clientDataJSON: enc(cred.response.clientDataJSON),
      authenticatorData: enc(cred.response.authenticatorData),
      signature: enc(sig),
      userHandle: cred.response.userHandle ? enc(cred.response.userHandle) : null,
    },
  });
}
</script></body></html>`

// rp is the relying party side: an HTTP server driving a passkey.Factor.
type rp struct {
	t       *testing.T
	url     string
	subject factor.Subject
	// residentKey is the factor's ResidentKey setting ("" for the default).
	residentKey string

	mu          sync.Mutex
	f           *passkey.Factor
	state       []byte
	enrollment  factor.Enrollment
	enrolled    bool
	lastJSON    []byte // the last response the browser posted
	lastState   []byte
	lastErr     error
	verifyCount int
}

func newRP(t *testing.T, uv string) *rp {
	t.Helper()
	r := &rp{t: t, subject: factor.Subject{Directory: "corp", DN: "uid=alice,ou=people,dc=example,dc=com", Login: "alice", DisplayName: "Alice Example"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	r.url = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	r.setFactor(uv)
	return r
}

func (r *rp) setFactor(uv string) {
	r.t.Helper()
	f, err := passkey.New(passkey.Config{
		RPID: "localhost", RPDisplayName: "sspr test", RPOrigins: []string{r.url},
		UserVerification: uv, UserHandleKey: bytes.Repeat([]byte{3}, 32), ResidentKey: r.residentKey,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.f = f
	r.mu.Unlock()
}

func (r *rp) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx := req.Context()
	writeOptions := func(ch factor.Challenge, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		r.state = ch.State
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ch.Prompt["options"].(json.RawMessage))
	}
	switch req.URL.Path {
	case "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	case "/enroll/begin":
		writeOptions(r.f.BeginEnroll(ctx, r.subject, factor.Response{Values: map[string]string{"name": req.URL.Query().Get("name")}}))
	case "/login/begin":
		if req.URL.Query().Get("discoverable") != "" {
			writeOptions(r.f.ChallengeAll(ctx, r.subject, nil))
			return
		}
		writeOptions(r.f.Challenge(ctx, r.subject, r.enrollment))
	case "/enroll/finish", "/login/finish":
		body, _ := io.ReadAll(req.Body)
		r.lastJSON, r.lastState = body, r.state
		var e factor.Enrollment
		var err error
		if req.URL.Path == "/enroll/finish" {
			e, err = r.f.FinishEnroll(ctx, r.subject, r.state, factor.Response{JSON: body})
		} else {
			r.verifyCount++
			e, err = r.f.Verify(ctx, r.subject, r.enrollment, r.state, factor.Response{JSON: body})
		}
		r.state, r.lastErr = nil, err // single use
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		r.enrollment, r.enrolled = e, true
		_, _ = io.WriteString(w, e.Label)
	default:
		http.NotFound(w, req)
	}
}

func (r *rp) credential() passkey.Credential {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := passkey.DecodeCredential(r.enrollment.Secret)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// call runs one of the page's async functions and returns its answer.
func call(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, func(p *runtime.EvaluateParams) {
		p.AwaitPromise = new(true)
		p.UserGesture = new(true)
	}))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return out
}

func TestBrowserPasskey(t *testing.T) {
	ctx := browsertest.New(t)
	r := newRP(t, "required")
	authID, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.Passkey())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url+"/")); err != nil {
		t.Fatal(err)
	}

	// The server itself refuses a registration without UV while UV is
	// required (the authenticator clears the UV flag).
	if err := browsertest.SetResponseOverride(ctx, authID, browsertest.Override{BadUV: true}); err != nil {
		t.Fatal(err)
	}
	if got := call(t, ctx, `enroll("x")`); !strings.HasPrefix(got, "403 ") || !errors.Is(r.err(), factor.ErrWrongResponse) {
		t.Fatalf("enroll without UV: %s (server: %v)", got, r.err())
	}
	t.Logf("enroll without the UV flag: %v", r.err())
	if err := browsertest.SetResponseOverride(ctx, authID, browsertest.Override{}); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.ClearCredentials(ctx, authID); err != nil {
		t.Fatal(err)
	}

	// Enroll.
	if got := call(t, ctx, `enroll("Work laptop")`); got != "200 Passkey (Work laptop)" {
		t.Fatalf("enroll: %s (server: %v)", got, r.err())
	}
	c := r.credential()
	if !c.UserVerified || len(c.ID) == 0 || !bytes.Equal(c.UserHandle, mustHandle(t, r)) || c.Name != "Work laptop" {
		t.Fatalf("credential %+v", c)
	}
	if len(c.Transports) == 0 || c.Transports[0] != "internal" {
		t.Errorf("transports %v", c.Transports)
	}
	creds, err := browsertest.Credentials(ctx, authID)
	if err != nil || len(creds) != 1 || !bytes.Equal(creds[0].CredentialID, c.ID) || !creds[0].IsResidentCredential {
		t.Fatalf("authenticator credentials %+v, %v", creds, err)
	}
	if !bytes.Equal(creds[0].UserHandle, c.UserHandle) || strings.Contains(string(creds[0].UserHandle), "alice") {
		t.Fatalf("user handle on the authenticator %q", creds[0].UserHandle)
	}

	// Verify, as a reset flow would.
	before := c.SignCount
	if got := call(t, ctx, `login(false)`); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("login: %s (server: %v)", got, r.err())
	}
	c = r.credential()
	if c.SignCount <= before {
		t.Errorf("sign count %d after %d", c.SignCount, before)
	}
	r.mu.Lock()
	if r.enrollment.LastUsedAt.IsZero() {
		t.Error("LastUsedAt not set")
	}
	goodJSON, goodState, enrollmentNow := r.lastJSON, r.lastState, r.enrollment
	r.mu.Unlock()

	// Replaying the same assertion against its own state: the counter has
	// moved on (clone warning), refused.
	if _, err := r.f.Verify(context.Background(), r.subject, enrollmentNow, goodState, factor.Response{JSON: goodJSON}); !errors.Is(err, factor.ErrWrongResponse) || !errors.Is(err, passkey.ErrCloneWarning) {
		t.Errorf("replayed assertion: %v", err)
	}

	// A tampered signature is refused.
	if got := call(t, ctx, `login(true)`); !strings.HasPrefix(got, "403 ") {
		t.Fatalf("tampered login: %s", got)
	}
	if err := r.err(); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("tampered login error %v", err)
	} else {
		t.Logf("tampered signature: %v", err)
	}
	// The replayed assertion against a fresh challenge is refused too.
	ch, err := r.f.Challenge(context.Background(), r.subject, enrollmentNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.f.Verify(context.Background(), r.subject, enrollmentNow, ch.State, factor.Response{JSON: goodJSON}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("assertion replayed on a new challenge: %v", err)
	}
	// Another person's subject cannot use alice's state and credential.
	bob := r.subject
	bob.DN = "uid=bob,ou=people,dc=example,dc=com"
	if _, err := r.f.FinishEnroll(context.Background(), bob, goodState, factor.Response{JSON: goodJSON}); !errors.Is(err, factor.ErrWrongResponse) {
		t.Errorf("verify state used to enroll: %v", err)
	}

	// An authenticator that lies about user verification is refused
	// while UV is required.
	if err := browsertest.SetResponseOverride(ctx, authID, browsertest.Override{BadUV: true}); err != nil {
		t.Fatal(err)
	}
	if got := call(t, ctx, `login(false)`); !strings.HasPrefix(got, "403 ") {
		t.Fatalf("login without UV: %s", got)
	}
	t.Logf("login without the UV flag: %v", r.err())
	if err := browsertest.SetResponseOverride(ctx, authID, browsertest.Override{}); err != nil {
		t.Fatal(err)
	}
	if got := call(t, ctx, `login(false)`); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("login after the override: %s (server: %v)", got, r.err())
	}
}

// TestBrowserSecurityKeyWithoutUV enrolls an authenticator that cannot
// verify the user: refused when UV is required, accepted when preferred.
func TestBrowserSecurityKeyWithoutUV(t *testing.T) {
	ctx := browsertest.New(t)
	r := newRP(t, "required")
	// A key without resident credentials can only enroll where they are
	// not required.
	r.residentKey = "discouraged"
	r.setFactor("required")
	if _, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.SecurityKey()); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url+"/")); err != nil {
		t.Fatal(err)
	}
	got := call(t, ctx, `enroll("")`)
	if strings.HasPrefix(got, "200 ") {
		t.Fatalf("a key without UV enrolled while UV is required: %s", got)
	}
	t.Logf("UV required, key without UV: %s", got)

	r.setFactor("preferred")
	if got := call(t, ctx, `enroll("YubiKey")`); got != "200 Passkey (YubiKey)" {
		t.Fatalf("enroll with UV preferred: %s (server: %v)", got, r.err())
	}
	if c := r.credential(); c.UserVerified {
		t.Errorf("credential claims UV: %+v", c)
	}
	if got := call(t, ctx, `login(false)`); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("login with UV preferred: %s (server: %v)", got, r.err())
	}
	// Policy tightened to "required": the same key no longer passes.
	r.setFactor("required")
	got = call(t, ctx, `login(false)`)
	if strings.HasPrefix(got, "200 ") {
		t.Fatalf("login without UV passed once UV is required: %s", got)
	}
	t.Logf("UV required at login, key without UV: %s", got)
}

func (r *rp) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func mustHandle(t *testing.T, r *rp) []byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.UserHandle(r.subject)
}

// TestBrowserDiscoverableLogin: a ceremony naming no credential (what a
// reset offers before its first factor) is answered by the person's
// passkey, and the assertion must name one of the enrollments it is checked
// against (credential ID and user handle): another person's list refuses
// it. A credential that is not discoverable cannot answer such a ceremony,
// only one that lists it.
func TestBrowserDiscoverableLogin(t *testing.T) {
	ctx := browsertest.New(t)
	r := newRP(t, "required")
	if _, err := browsertest.AddVirtualAuthenticator(ctx, browsertest.Passkey()); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url+"/")); err != nil {
		t.Fatal(err)
	}
	if got := call(t, ctx, `enroll("Phone")`); got != "200 Passkey (Phone)" {
		t.Fatalf("enroll: %s (server: %v)", got, r.err())
	}
	if got := call(t, ctx, `login(false, true)`); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("discoverable login: %s (server: %v)", got, r.err())
	}
	// The same kind of assertion checked against someone else's passkey.
	r.mu.Lock()
	alice := r.enrollment
	r.mu.Unlock()
	other := r.f.DecoyEnrollment(factor.Subject{Directory: "corp", DN: "uid=bob,ou=people,dc=example,dc=com"})
	ch, err := r.f.ChallengeAll(context.Background(), r.subject, nil)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		AllowCredentials []any `json:"allowCredentials"`
	}
	if err := json.Unmarshal(ch.Prompt["options"].(json.RawMessage), &o); err != nil || len(o.AllowCredentials) != 0 {
		t.Fatalf("a discoverable ceremony lists credentials: %s", ch.Prompt["options"])
	}
	r.mu.Lock()
	r.enrollment = other
	r.mu.Unlock()
	if got := call(t, ctx, `login(false, true)`); !strings.HasPrefix(got, "403 ") || !errors.Is(r.err(), passkey.ErrNotTheirs) {
		t.Fatalf("another person's passkey list accepted the assertion: %s (server: %v)", got, r.err())
	}
	r.mu.Lock()
	r.enrollment = alice
	r.mu.Unlock()

	// A security key without resident credentials.
	ctx2 := browsertest.New(t)
	k := newRP(t, "discouraged")
	k.residentKey = "discouraged"
	k.setFactor("discouraged")
	if _, err := browsertest.AddVirtualAuthenticator(ctx2, browsertest.SecurityKey()); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx2, chromedp.Navigate(k.url+"/")); err != nil {
		t.Fatal(err)
	}
	if got := call(t, ctx2, `enroll("Key")`); got != "200 Passkey (Key)" {
		t.Fatalf("enroll the key: %s (server: %v)", got, k.err())
	}
	if got := call(t, ctx2, `login(false, true)`); strings.HasPrefix(got, "200 ") {
		t.Fatalf("a non-discoverable credential answered a discoverable ceremony: %s", got)
	}
	if got := call(t, ctx2, `login(false, false)`); !strings.HasPrefix(got, "200 ") {
		t.Fatalf("the key, listed: %s (server: %v)", got, k.err())
	}
}
