package e2e

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	crewjam "github.com/crewjam/saml"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/oauth2"

	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// The OIDC, SAML and certificate factors driven through whole resets over
// HTTP, against real identity providers run in-process on loopback: the
// OpenID Provider is zitadel/oidc's example OP (a certified
// implementation; its user id1 is test-user@localhost, password
// verysecure), the SAML IdP crewjam/saml's IdentityProvider, and the
// certificates come from a PKI generated here with a CRL served over HTTP.

const (
	oidcClientID = "sspr"
	oidcSecret   = "sspr-client-secret"
	// redirectUser is the demo person the providers sign in: alice, whose
	// employeeNumber is the OP's subject and whose mail the IdP's NameID
	// and the certificates' e-mail SAN.
	redirectUser = "alice"
	redirectMail = "alice@demo.sspr.test"
)

// startRedirectDemo starts the demo directory with alice mapped to the
// providers' identities (employeeNumber id1 = the OP's subject).
func startRedirectDemo(t *testing.T) (string, *demo.Server) {
	t.Helper()
	users := demo.DefaultUsers()
	users[0].Extra = map[string][]string{"employeeNumber": {"id1"}}
	srv, err := demo.Start(context.Background(), demo.Options{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := ldapdir.Config{Name: "demo", URLs: []string{srv.URL()}, BindDN: srv.ServiceDN(), BindPassword: srv.ServicePassword(),
		BaseDN: srv.BaseDN(), AllowInsecurePasswordWrites: true}
	return directoryYAML("openldap", c, "    password_write: modify\n    password_policy_dn: "+demo.PolicyDN+"\n"), srv
}

// testOP is an OpenID Provider whose token answers a test may tamper with:
// swap, when set, replaces the ID token of the next answer (a provider
// that is misconfigured or impersonated).
type testOP struct {
	issuer string
	st     *storage.Storage
	mu     sync.Mutex
	swap   string
}

var opClients sync.Mutex

// startOP runs an OP with st (a new one when nil) as http://HOST:PORT/,
// with the clients sspr and another-app registered for redirectURL.
func startOP(t *testing.T, st *storage.Storage, host, redirectURL string) *testOP {
	t.Helper()
	opClients.Lock()
	storage.RegisterClients(storage.WebClient(oidcClientID, oidcSecret, redirectURL), storage.WebClient("another-app", oidcSecret, redirectURL))
	opClients.Unlock()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	op := &testOP{issuer: "http://" + host + ":" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/"}
	if st == nil {
		st = storage.NewStorage(storage.NewUserStore(op.issuer))
	}
	op.st = st
	router := exampleop.SetupServer(op.issuer, st, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		swap := op.swap
		op.swap = ""
		op.mu.Unlock()
		if swap == "" || !strings.HasSuffix(r.URL.Path, "/token") {
			router.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["id_token"] == nil {
			t.Errorf("the OP's token answer has no ID token to swap: %s", rec.Body)
		}
		body["id_token"] = swap
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return op
}

func (op *testOP) swapNext(idToken string) {
	op.mu.Lock()
	op.swap = idToken
	op.mu.Unlock()
}

// signInAtOP plays the person at the provider: opens authURL, signs in at
// its login form, and returns the URL the provider sends the browser back
// to (sspr's callback), without following it.
func signInAtOP(t *testing.T, authURL, callbackPrefix string) *url.URL {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var back *url.URL
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), callbackPrefix) {
			back = r.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if back != nil {
		return back
	}
	id := res.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("no login page at %s (%s)", res.Request.URL, res.Status)
	}
	login := *res.Request.URL
	login.RawQuery = ""
	res, err = c.PostForm(login.String(), url.Values{"id": {id}, "username": {"test-user@localhost"}, "password": {"verysecure"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if back == nil {
		t.Fatalf("the provider did not send the browser back (status %s at %s)", res.Status, res.Request.URL)
	}
	return back
}

// idTokenFor signs test-user@localhost in at op for client and returns
// the raw ID token the provider issues.
func idTokenFor(t *testing.T, op *testOP, client, redirectURL string) string {
	t.Helper()
	p, err := gooidc.NewProvider(context.Background(), op.issuer)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: client, ClientSecret: oidcSecret, RedirectURL: redirectURL, Scopes: []string{"openid"}, Endpoint: p.Endpoint()}
	verifier := oauth2.GenerateVerifier()
	back := signInAtOP(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n")), redirectURL)
	tok, err := cfg.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no ID token")
	}
	return raw
}

var (
	redirectHrefRE = regexp.MustCompile(`id="redirect-link" href="([^"]+)"`)
	hiddenRE       = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// redirectOf reads the "Continue with ..." link of a code page.
func redirectOf(t *testing.T, p page) string {
	t.Helper()
	m := redirectHrefRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no provider link on the page (%d):\n%s", p.Status, p.Body)
	}
	return html.UnescapeString(m[1])
}

// handBack reads the continue page's hidden fields (what the provider
// returned) and posts them to /reset/code as its form does.
func handBack(t *testing.T, b *browser, p page) page {
	t.Helper()
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="continue-form"`) {
		t.Fatalf("no continue page (%d):\n%s", p.Status, p.Body)
	}
	form := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.Body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	return b.post("/reset/code", form)
}

// emailFirst starts a reset for alice and answers the email code, leaving
// the flow at the choice of a second factor.
func emailFirst(t *testing.T, in *instance, b *browser) {
	t.Helper()
	before := in.codeMailsTo(redirectMail)
	if p := b.post("/reset/start", url.Values{"login": {redirectUser}}); p.Location != "/reset/code" {
		t.Fatalf("start: %d %q", p.Status, p.Location)
	}
	if p := b.post("/reset/code", url.Values{"code": {in.waitCode(t, redirectMail, before)}}); p.Location != "/reset/choose?more=1" {
		t.Fatalf("email code: %d %q\n%s", p.Status, p.Location, p.Body)
	}
}

// finishPortalReset sets a new password and checks the directory accepts it.
func finishPortalReset(t *testing.T, b *browser, srv *demo.Server, good string) {
	t.Helper()
	if p := b.post("/reset/password", url.Values{"password": {good}, "confirm": {good}}); p.Location != "/reset/done" {
		t.Fatalf("new password: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	if p := b.get("/reset/done"); !strings.Contains(p.Body, "Your password has been changed") {
		t.Fatalf("done page: %d", p.Status)
	}
	if err := bindAs(t, srv, redirectUser, good); err != nil {
		t.Fatalf("the directory refuses the new password: %v", err)
	}
}

// refused checks that a hand-back was a wrong answer: the code page again,
// and the flow not verified.
func refused(t *testing.T, b *browser, p page, what string) {
	t.Helper()
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("%s: %d %q, want 422\n%s", what, p.Status, p.Location, p.Body)
	}
	if q := b.get("/reset/password"); q.Location != "/reset/code" {
		t.Fatalf("%s: the password page answers %d %q: the flow went on", what, q.Status, q.Location)
	}
}

// TestOIDCStepUpReset: a reset with an email code then the company's
// OpenID Provider. ID tokens with a wrong audience (issued to another
// client), a wrong issuer (the same key under another issuer name) and a
// bad signature are refused in the same flow; then the real sign-in
// verifies and the new password binds to the directory.
func TestOIDCStepUpReset(t *testing.T) {
	dirYAML, srv := startRedirectDemo(t)
	lh := listenLocalhost(t)
	callback := lh.Origin + "/reset/oidc/callback"
	op := startOP(t, nil, "localhost", callback)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [email, oidc]
  first_factor: email
  required:
    reset: 2
    unlock: 1
  oidc:
    issuer: %q
    client_id: sspr
    client_secret: %q
    redirect_url: %q
    claim: sub
    attribute: employeeNumber
    label: Example SSO
`, op.issuer, oidcSecret, callback))
	lh.serve(t, in)
	b := newBrowser(t, lh.Origin)

	// The tokens a bad provider might hand over.
	wrongAud := idTokenFor(t, op, "another-app", callback)
	other := startOP(t, op.st, "127.0.0.1", callback) // the same signing key, another issuer
	wrongIss := idTokenFor(t, other, oidcClientID, callback)
	good := idTokenFor(t, op, oidcClientID, callback)
	parts := strings.Split(good, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[len(sig)/2] ^= 1
	badSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	emailFirst(t, in, b)
	p := b.follow(b.post("/reset/choose", url.Values{"factor": {"oidc"}}))
	if !strings.Contains(p.Body, "Continue with Example SSO") {
		t.Fatalf("the OIDC step has no button:\n%s", p.Body)
	}
	auth := redirectOf(t, p)
	u, _ := url.Parse(auth)
	if q := u.Query(); q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" || q.Get("redirect_uri") != callback {
		t.Fatalf("authorization URL without PKCE, nonce, state or the callback: %s", auth)
	}
	for _, c := range []struct{ name, token string }{{"wrong audience", wrongAud}, {"wrong issuer", wrongIss}, {"bad signature", badSig}} {
		back := signInAtOP(t, auth, callback)
		op.swapNext(c.token)
		refused(t, b, handBack(t, b, b.get(strings.TrimPrefix(back.String(), lh.Origin))), c.name)
	}
	if p := b.get("/reset/code"); p.Status != http.StatusOK {
		t.Fatalf("code page after the refusals: %d", p.Status)
	}
	// An answer for somebody else's sign-in (another state) — what a
	// third party's link to the return page brings — is refused without
	// costing an attempt, however often: three of them, then one wrong
	// sign-in still has its last attempt left.
	for range 3 {
		back := signInAtOP(t, auth, callback)
		q := back.Query()
		q.Set("state", "another-flows-state")
		p = handBack(t, b, b.get("/reset/oidc/callback?"+q.Encode()))
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "That sign-in was not started from this page, so it did not count against you.") {
			t.Fatalf("a foreign sign-in's answer: %d\n%s", p.Status, p.Body)
		}
	}
	back := signInAtOP(t, auth, callback)
	op.swapNext(wrongAud)
	p = handBack(t, b, b.get(strings.TrimPrefix(back.String(), lh.Origin)))
	if !strings.Contains(p.Body, "That sign-in could not be confirmed for this account. Attempts left: 1.") {
		t.Fatalf("a refused sign-in's message:\n%s", p.Body)
	}
	refused(t, b, p, "wrong audience after the foreign answers")

	back = signInAtOP(t, auth, callback)
	if p := handBack(t, b, b.get(strings.TrimPrefix(back.String(), lh.Origin))); p.Location != "/reset/password" {
		t.Fatalf("the real sign-in: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	finishPortalReset(t, b, srv, "Sunny-Day-2027!")
}

// testIdP is a SAML identity provider (crewjam/saml) that signs everybody
// in as NameID redirectMail.
type testIdP struct {
	idp *crewjam.IdentityProvider
	srv *httptest.Server
	mu  sync.Mutex
	sps map[string]*crewjam.EntityDescriptor
}

func (ti *testIdP) GetServiceProvider(_ *http.Request, id string) (*crewjam.EntityDescriptor, error) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if sp, ok := ti.sps[id]; ok {
		return sp, nil
	}
	return nil, os.ErrNotExist
}

func (ti *testIdP) GetSession(http.ResponseWriter, *http.Request, *crewjam.IdpAuthnRequest) *crewjam.Session {
	return &crewjam.Session{ID: "s1", CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "1",
		NameID: redirectMail, NameIDFormat: string(crewjam.EmailAddressNameIDFormat), UserName: redirectUser, UserEmail: redirectMail}
}

func rsaKeyPair(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test IdP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

// startIdP runs an IdP signing with key; entityID and ssoURL, when set,
// are the names it claims (an impostor copying a real IdP's).
func startIdP(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, entityID, ssoURL string, sps map[string]string) *testIdP {
	t.Helper()
	ti := &testIdP{sps: map[string]*crewjam.EntityDescriptor{}}
	mux := http.NewServeMux()
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	base, _ := url.Parse(ti.srv.URL)
	meta, sso := *base, *base
	meta.Path, sso.Path = "/metadata", "/sso"
	if entityID != "" {
		u, _ := url.Parse(entityID)
		meta = *u
	}
	if ssoURL != "" {
		u, _ := url.Parse(ssoURL)
		sso = *u
	}
	ti.idp = &crewjam.IdentityProvider{Key: key, Signer: key, Certificate: cert, MetadataURL: meta, SSOURL: sso,
		ServiceProviderProvider: ti, SessionProvider: ti}
	mux.HandleFunc("/sso", ti.idp.ServeSSO)
	for id, acs := range sps {
		a, _ := url.Parse(acs)
		sp := crewjam.ServiceProvider{EntityID: id, AcsURL: *a, MetadataURL: url.URL{Path: "/"}}
		ti.sps[id] = sp.Metadata()
	}
	return ti
}

var samlFieldRE = regexp.MustCompile(`name="(SAMLResponse|RelayState)" value="([^"]*)"`)

// signInAtIdP follows an authentication request (redirect binding) to the
// IdP at host (the one it names when host is empty) and posts the IdP's
// answer to sspr's ACS from the IdP's origin, as the IdP's page does; it
// returns sspr's continue page.
func signInAtIdP(t *testing.T, b *browser, redirect, host, acsPath string) page {
	t.Helper()
	u, _ := url.Parse(redirect)
	if host != "" {
		u.Host = host
	}
	res, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	form := url.Values{}
	for _, m := range samlFieldRE.FindAllStringSubmatch(string(body), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("SAMLResponse") == "" {
		t.Fatalf("the IdP did not answer with a response form (%s): %.300s", res.Status, body)
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+acsPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+u.Host)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	return b.do(req)
}

// reissued rewrites the Issuer of a redirect-binding AuthnRequest (a
// request relayed on behalf of another service provider).
func reissued(t *testing.T, redirect, from, to string) string {
	t.Helper()
	u, _ := url.Parse(redirect)
	q := u.Query()
	raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(doc), from, to, 1)
	if changed == string(doc) {
		t.Fatalf("no issuer %s in the request", from)
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = w.Write([]byte(changed))
	_ = w.Close()
	q.Set("SAMLRequest", base64.StdEncoding.EncodeToString(buf.Bytes()))
	u.RawQuery = q.Encode()
	return u.String()
}

// TestSAMLStepUpReset: a reset with an email code then the company's SAML
// IdP (AuthnRequest by redirect, the response posted cross-site to the
// ACS). Responses with a wrong audience (for another service provider), a
// wrong issuer (another IdP with the same key) and a bad signature
// (another key under the IdP's name) are refused in the same flow; then the
// real sign-in verifies and the new password binds to the directory.
func TestSAMLStepUpReset(t *testing.T) {
	dirYAML, srv := startRedirectDemo(t)
	lh := listenLocalhost(t)
	acs := lh.Origin + "/reset/saml/acs"
	const entity, another = "https://sspr.example.test/saml", "https://another-app.example.test/saml"
	sps := map[string]string{entity: acs, another: acs}
	key, cert := rsaKeyPair(t)
	idp := startIdP(t, key, cert, "", "", sps)
	realSSO := idp.idp.SSOURL.String()
	realEntity := idp.idp.MetadataURL.String()
	impostor := startIdP(t, key, cert, "https://impostor.example.test/idp", realSSO, sps)
	key2, cert2 := rsaKeyPair(t)
	forger := startIdP(t, key2, cert2, realEntity, realSSO, sps)
	md, err := xml.Marshal(idp.idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	mdFile := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(mdFile, md, 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [email, saml]
  first_factor: email
  required:
    reset: 2
    unlock: 1
  saml:
    entity_id: %q
    acs_url: %q
    idp_metadata_file: %q
    directory_attribute: mail
    label: Example SAML
`, entity, acs, mdFile))
	lh.serve(t, in)
	b := newBrowser(t, lh.Origin)

	emailFirst(t, in, b)
	p := b.follow(b.post("/reset/choose", url.Values{"factor": {"saml"}}))
	if !strings.Contains(p.Body, "Continue with Example SAML") {
		t.Fatalf("the SAML step has no button:\n%s", p.Body)
	}
	redirect := redirectOf(t, p)
	if !strings.HasPrefix(redirect, realSSO+"?") || !strings.Contains(redirect, "SAMLRequest=") || !strings.Contains(redirect, "RelayState=") {
		t.Fatalf("not a redirect-binding AuthnRequest to the IdP: %s", redirect)
	}
	host := func(ti *testIdP) string { u, _ := url.Parse(ti.srv.URL); return u.Host }
	refused(t, b, handBack(t, b, signInAtIdP(t, b, reissued(t, redirect, entity, another), "", "/reset/saml/acs")), "wrong audience")
	refused(t, b, handBack(t, b, signInAtIdP(t, b, redirect, host(impostor), "/reset/saml/acs")), "wrong issuer")
	refused(t, b, handBack(t, b, signInAtIdP(t, b, redirect, host(forger), "/reset/saml/acs")), "bad signature")
	if p := handBack(t, b, signInAtIdP(t, b, redirect, "", "/reset/saml/acs")); p.Location != "/reset/password" {
		t.Fatalf("the real sign-in: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	finishPortalReset(t, b, srv, "Sunny-Day-2027!")
}

// testCA is a generated PKI: a root CA that issues client certificates
// naming an e-mail address, and an HTTP server with its CRL.
type testCA struct {
	t       *testing.T
	cert    *x509.Certificate
	key     crypto.Signer
	crlURL  string
	mu      sync.Mutex
	revoked []x509.RevocationListEntry
	serial  int64
}

func ecKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	ca := &testCA{t: t, key: ecKey(t), serial: 10}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ca.mu.Lock()
		defer ca.mu.Unlock()
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(time.Now().UnixNano()),
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour), RevokedCertificateEntries: ca.revoked}, ca.cert, ca.key)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(der)
	}))
	t.Cleanup(srv.Close)
	ca.crlURL = srv.URL + "/ca.crl"
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Smart Card CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ca.key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	ca.cert, _ = x509.ParseCertificate(der)
	return ca
}

// card issues a client certificate for mail, valid from notBefore to
// notAfter, as a TLS client certificate.
func (ca *testCA) card(mail string, notBefore, notAfter time.Time) tls.Certificate {
	ca.t.Helper()
	ca.mu.Lock()
	ca.serial++
	serial := ca.serial
	ca.mu.Unlock()
	key := ecKey(ca.t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: mail}, EmailAddresses: []string{mail},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CRLDistributionPoints: []string{ca.crlURL}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func (ca *testCA) revoke(c tls.Certificate) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.revoked = append(ca.revoked, x509.RevocationListEntry{SerialNumber: c.Leaf.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)})
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// serverCert makes sspr's own TLS certificate for localhost and writes it
// and its key to dir; it returns a pool that trusts it.
func serverCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", kder)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// withCard is a browser on base sharing jar (the same flow cookie) whose
// TLS connections present card (none when card is nil).
func withCard(t *testing.T, base string, jar http.CookieJar, roots *x509.CertPool, card *tls.Certificate) *browser {
	tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if card != nil {
		tc.Certificates = []tls.Certificate{*card}
	}
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// startMutualTLS runs sspr over HTTPS, asking for client certificates
// (the certificate factor offered after an email code).
func startMutualTLS(t *testing.T, dirYAML string, ca *testCA, factors, first string, required int) (*instance, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", ca.cert.Raw)
	certFile, keyFile, pool := serverCert(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("https://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	in := startOn(t, ln, base, fmt.Sprintf("  tls_cert_file: %q\n  tls_key_file: %q", certFile, keyFile), filepath.Join(dir, "sspr.db"), dirYAML,
		fmt.Sprintf(`verification:
  factors: [%s]
  first_factor: %s
  required:
    reset: %d
    unlock: 1
  certificate:
    ca_files: [%q]
    map_by: email
    attribute: mail
`, factors, first, required, caFile), nil)
	return in, pool
}

// TestCertificateStepUpReset: a reset with an email code then a client
// certificate presented in the TLS handshake (mutual TLS on the portal's
// listener). A revoked certificate (in the CA's CRL), an expired one, and
// a good certificate typed into the form instead of presented are refused
// in the same flow; then the good card verifies and the new password binds
// to the directory.
func TestCertificateStepUpReset(t *testing.T) {
	dirYAML, srv := startRedirectDemo(t)
	ca := newTestCA(t)
	in, roots := startMutualTLS(t, dirYAML, ca, "email, certificate", "email", 2)
	now := time.Now()
	good := ca.card(redirectMail, now.Add(-time.Hour), now.Add(24*time.Hour))
	revoked := ca.card(redirectMail, now.Add(-time.Hour), now.Add(24*time.Hour))
	ca.revoke(revoked)
	expired := ca.card(redirectMail, now.Add(-48*time.Hour), now.Add(-24*time.Hour))

	jar, _ := cookiejar.New(nil)
	none := withCard(t, in.URL, jar, roots, nil)
	emailFirst(t, in, none)
	p := none.follow(none.post("/reset/choose", url.Values{"factor": {"certificate"}}))
	if !strings.Contains(p.Body, `id="certificate-form"`) || !strings.Contains(p.Body, "Use your smart card") {
		t.Fatalf("the certificate step:\n%s", p.Body)
	}
	typed := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good.Certificate[0]})
	refused(t, none, none.post("/reset/code", url.Values{"certificate": {string(typed)}}), "a certificate typed into the form")
	refused(t, none, withCard(t, in.URL, jar, roots, &revoked).post("/reset/code", nil), "revoked certificate")
	refused(t, none, withCard(t, in.URL, jar, roots, &expired).post("/reset/code", nil), "expired certificate")
	if p := withCard(t, in.URL, jar, roots, &good).post("/reset/code", nil); p.Location != "/reset/password" {
		t.Fatalf("the good card: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	finishPortalReset(t, none, srv, "Sunny-Day-2027!")
}

// perRequest are the values that differ between any two challenges (the
// OIDC state, nonce and PKCE challenge, the SAML request and RelayState).
var perRequest = regexp.MustCompile(`((?:state|nonce|code_challenge|SAMLRequest|RelayState)=)[^&"]*`)

// TestRedirectFactorsStrangersSeeTheSameSteps: before a first factor is
// verified, an unknown login and a person the provider cannot map (bob has
// no employeeNumber) get the same OIDC, SAML and certificate pages as
// alice — status and bytes identical apart from the per-request values in
// the provider links.
func TestRedirectFactorsStrangersSeeTheSameSteps(t *testing.T) {
	dirYAML, _ := startRedirectDemo(t)
	lh := listenLocalhost(t)
	callback, acs := lh.Origin+"/reset/oidc/callback", lh.Origin+"/reset/saml/acs"
	op := startOP(t, nil, "localhost", callback)
	key, cert := rsaKeyPair(t)
	idp := startIdP(t, key, cert, "", "", map[string]string{"https://sspr.example.test/saml": acs})
	md, _ := xml.Marshal(idp.idp.Metadata())
	mdFile := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(mdFile, md, 0o600); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", ca.cert.Raw)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [oidc, saml, certificate]
  first_factor: oidc
  required:
    reset: 1
    unlock: 1
  oidc:
    issuer: %q
    client_id: sspr
    client_secret: %q
    redirect_url: %q
    claim: sub
    attribute: employeeNumber
  saml:
    entity_id: https://sspr.example.test/saml
    acs_url: %q
    idp_metadata_file: %q
    directory_attribute: mail
  certificate:
    ca_files: [%q]
    map_by: email
    attribute: mail
`, op.issuer, oidcSecret, callback, acs, mdFile, caFile))
	lh.serve(t, in)

	steps := func(login string) []string {
		b := newBrowser(t, lh.Origin)
		if p := b.post("/reset/start", url.Values{"login": {login}}); p.Status != http.StatusSeeOther || p.Location != "/reset/code" {
			t.Fatalf("%s: start %d %q", login, p.Status, p.Location)
		}
		var out []string
		show := func() {
			p := b.get("/reset/code")
			out = append(out, fmt.Sprintf("%d\n%s", p.Status, perRequest.ReplaceAllString(p.Body, "${1}…")))
		}
		show()
		for _, k := range []string{"saml", "certificate"} {
			if p := b.post("/reset/choose", url.Values{"factor": {k}}); p.Status != http.StatusSeeOther || p.Location != "/reset/code" {
				t.Fatalf("%s: choosing %s: %d %q", login, k, p.Status, p.Location)
			}
			show()
		}
		return out
	}
	alice := steps(redirectUser)
	if !strings.Contains(alice[0], `id="redirect-link"`) || !strings.Contains(alice[1], "SAMLRequest=") || !strings.Contains(alice[2], `id="certificate-form"`) {
		t.Fatalf("alice's steps are not the OIDC, SAML and certificate pages:\n%s", strings.Join(alice, "\n----\n"))
	}
	for _, login := range []string{"nobody-at-all", "bob"} {
		for i, got := range steps(login) {
			if got != alice[i] {
				t.Errorf("%s's step %d differs from alice's:\n%s\n---- alice's:\n%s", login, i, got, alice[i])
			}
		}
	}
}

// TestOIDCResetOverAPI: the JSON API drives the same factor: the status's
// prompt carries the provider's URL, and the client posts the code and
// state the provider sent back to /api/v1/reset/verify.
func TestOIDCResetOverAPI(t *testing.T) {
	dirYAML, srv := startRedirectDemo(t)
	lh := listenLocalhost(t)
	callback := lh.Origin + "/reset/oidc/callback"
	op := startOP(t, nil, "localhost", callback)
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [oidc]
  first_factor: oidc
  required:
    reset: 1
    unlock: 1
  oidc:
    issuer: %q
    client_id: sspr
    client_secret: %q
    redirect_url: %q
    claim: sub
    attribute: employeeNumber
`, op.issuer, oidcSecret, callback))
	lh.serve(t, in)
	status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": redirectUser}, "")
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %s", status, raw)
	}
	flowID := body["flow_id"].(string)
	prompt, _ := body["prompt"].(map[string]any)
	auth, _ := prompt["redirect"].(string)
	if body["factor"] != "oidc" || auth == "" {
		t.Fatalf("the status names no provider URL: %s", raw)
	}
	back := signInAtOP(t, auth, callback).Query()
	// An answer for another challenge (what a third party's link to the
	// return page sends) counts no attempt, however often it comes — more
	// often than reset.max_code_attempts — and looks the same for a
	// stranger's flow.
	foreign := func(flowID string) (int, map[string]any) {
		wrong := map[string]any{"flow_id": flowID, "response": map[string]string{"code": back.Get("code"), "state": "not-this-flows"}}
		status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", wrong, "")
		if status != http.StatusConflict || errCode(body) != "answer_not_for_this_flow" || strings.Contains(string(raw), "attempts_left") {
			t.Fatalf("another state: %d %s", status, raw)
		}
		return status, body
	}
	for range 7 {
		foreign(flowID)
	}
	status, body, _, raw = apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": "nobody-has-this-login"}, "")
	if status != http.StatusAccepted {
		t.Fatalf("stranger's start: %d %s", status, raw)
	}
	_, strangers := foreign(body["flow_id"].(string))
	_, mine := foreign(flowID)
	if shape(strangers) != shape(mine) {
		t.Fatalf("a foreign answer differs for a stranger: %s / %s", shape(strangers), shape(mine))
	}
	back = signInAtOP(t, auth, callback).Query()
	right := map[string]any{"flow_id": flowID, "response": map[string]string{"code": back.Get("code"), "state": back.Get("state")}}
	if status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset/verify", right, ""); status != http.StatusOK || body["state"] != "verified" {
		t.Fatalf("verify: %d %s", status, raw)
	}
	const pw = "Sunny-Day-2027!"
	if status, body, _, raw := apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": pw}, ""); status != http.StatusOK || body["state"] != "done" {
		t.Fatalf("password: %d %s", status, raw)
	}
	if err := bindAs(t, srv, redirectUser, pw); err != nil {
		t.Fatalf("the directory refuses the new password: %v", err)
	}
}

// TestCertificateFromTrustedProxyReset: with TLS terminated by a proxy in
// server.trusted_proxies, the certificate comes from its header (nginx's
// URL-escaped PEM): a complete reset; a revoked card in the header is
// refused first.
func TestCertificateFromTrustedProxyReset(t *testing.T) {
	dirYAML, srv := startRedirectDemo(t)
	ca := newTestCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", ca.cert.Raw)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	in := startOn(t, ln, base, `  trusted_proxies: ["127.0.0.1/32"]`, filepath.Join(dir, "sspr.db"), dirYAML, fmt.Sprintf(`verification:
  factors: [email, certificate]
  first_factor: email
  required:
    reset: 2
    unlock: 1
  certificate:
    ca_files: [%q]
    map_by: email
    attribute: mail
    proxy_header: X-SSL-Client-Cert
`, caFile), nil)
	now := time.Now()
	good := ca.card(redirectMail, now.Add(-time.Hour), now.Add(24*time.Hour))
	revoked := ca.card(redirectMail, now.Add(-time.Hour), now.Add(24*time.Hour))
	ca.revoke(revoked)
	b := newBrowser(t, in.URL)
	emailFirst(t, in, b)
	b.follow(b.post("/reset/choose", url.Values{"factor": {"certificate"}}))
	asProxy := func(card tls.Certificate) page {
		req, _ := http.NewRequest(http.MethodPost, in.URL+"/reset/code", strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", in.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-SSL-Client-Cert", url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: card.Certificate[0]}))))
		return b.do(req)
	}
	refused(t, b, asProxy(revoked), "revoked certificate from the proxy")
	if p := asProxy(good); p.Location != "/reset/password" {
		t.Fatalf("the good card from the proxy: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	finishPortalReset(t, b, srv, "Sunny-Day-2027!")
}

// TestOIDCProviderDownLooksTheSameForEverybody: while the provider cannot
// be reached (discovery fails), choosing OIDC is refused alike for alice
// and for an unknown login: the same status and page.
func TestOIDCProviderDownLooksTheSameForEverybody(t *testing.T) {
	dirYAML, _ := startRedirectDemo(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/"
	ln.Close() // nothing listens there
	in := start(t, dirYAML, fmt.Sprintf(`verification:
  factors: [email, oidc]
  first_factor: email
  required:
    reset: 2
    unlock: 1
  oidc:
    issuer: %q
    client_id: sspr
    client_secret: %q
    redirect_url: "http://localhost:9/reset/oidc/callback"
    claim: sub
    attribute: employeeNumber
`, down, oidcSecret))
	choose := func(login string) string {
		b := newBrowser(t, in.URL)
		if p := b.post("/reset/start", url.Values{"login": {login}}); p.Location != "/reset/code" {
			t.Fatalf("%s: start %d %q", login, p.Status, p.Location)
		}
		p := b.post("/reset/choose", url.Values{"factor": {"oidc"}})
		return fmt.Sprintf("%d\n%s", p.Status, p.Body)
	}
	alice, stranger := choose(redirectUser), choose("nobody-at-all")
	if !strings.HasPrefix(alice, "422\n") || alice != stranger {
		t.Fatalf("alice:\n%s\n---- stranger:\n%s", alice, stranger)
	}
}
