package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/sspr/sspr/internal/factor"
)

// The identity provider is crewjam/saml's IdentityProvider, the same
// library's other half, run in-process on loopback. It signs everybody in
// as the session's NameID (alice@example.test unless a test says).

const acsURL = "http://127.0.0.1:9/sspr/saml/acs"

type testIdP struct {
	idp  *crewjam.IdentityProvider
	srv  *httptest.Server
	mu   sync.Mutex
	sps  map[string]*crewjam.EntityDescriptor
	user string
}

func (t *testIdP) GetServiceProvider(_ *http.Request, id string) (*crewjam.EntityDescriptor, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sp, ok := t.sps[id]; ok {
		return sp, nil
	}
	return nil, os.ErrNotExist
}

func (t *testIdP) GetSession(_ http.ResponseWriter, _ *http.Request, _ *crewjam.IdpAuthnRequest) *crewjam.Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &crewjam.Session{ID: "s1", CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "1",
		NameID: t.user, NameIDFormat: string(crewjam.EmailAddressNameIDFormat), UserName: strings.Split(t.user, "@")[0], UserEmail: t.user}
}

type keyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newKeyPair(t *testing.T) keyPair {
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
	return keyPair{key, cert}
}

// startIdP runs an IdP signing with kp; its entity ID is entityID, or
// its own metadata URL when empty.
func startIdP(t *testing.T, kp keyPair, entityID string) *testIdP {
	t.Helper()
	ti := &testIdP{sps: map[string]*crewjam.EntityDescriptor{}, user: "alice@example.test"}
	mux := http.NewServeMux()
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	base, _ := url.Parse(ti.srv.URL)
	meta := *base
	meta.Path = "/metadata"
	if entityID != "" {
		u, _ := url.Parse(entityID)
		meta = *u
	}
	sso := *base
	sso.Path = "/sso"
	ti.idp = &crewjam.IdentityProvider{Key: kp.key, Signer: kp.key, Certificate: kp.cert, MetadataURL: meta, SSOURL: sso,
		ServiceProviderProvider: ti, SessionProvider: ti}
	mux.HandleFunc("/sso", ti.idp.ServeSSO)
	return ti
}

func (ti *testIdP) metadata(t *testing.T) []byte {
	t.Helper()
	b, err := xml.Marshal(ti.idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (ti *testIdP) register(f *Factor) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.sps[f.cfg.EntityID] = f.sp.Metadata()
}

func newFactor(t *testing.T, ti *testIdP, entityID string) *Factor {
	t.Helper()
	f, err := New(Config{EntityID: entityID, ACSURL: acsURL, IDPMetadata: ti.metadata(t), DirectoryAttribute: "mail"})
	if err != nil {
		t.Fatal(err)
	}
	ti.register(f)
	return f
}

var alice = factor.Subject{Login: "alice", Attributes: map[string][]string{"mail": {"alice@example.test"}}}

var inputRE = regexp.MustCompile(`name="(SAMLResponse|RelayState)" value="([^"]*)"`)

// signIn plays the browser: follows the challenge's redirect to the IdP
// and returns the form it posts back to the ACS.
func signIn(t *testing.T, ch factor.Challenge) factor.Response {
	t.Helper()
	res, err := http.Get(ch.Prompt["redirect"].(string))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	vals := map[string]string{}
	for _, m := range inputRE.FindAllStringSubmatch(string(body), -1) {
		vals[m[1]] = html.UnescapeString(m[2])
	}
	if vals["SAMLResponse"] == "" {
		t.Fatalf("the IdP did not answer with a response form (%s): %.300s", res.Status, body)
	}
	return factor.Response{Values: vals}
}

func TestSignInSucceeds(t *testing.T) {
	idp := startIdP(t, newKeyPair(t), "")
	f := newFactor(t, idp, "https://sspr.example.test/saml")
	e := factor.Enrollment{ID: "directory", Kind: Kind}
	ch, err := f.Challenge(context.Background(), alice, e)
	if err != nil {
		t.Fatal(err)
	}
	resp := signIn(t, ch)
	if _, err := f.Verify(context.Background(), alice, e, ch.State, resp); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	// The same response does not answer another challenge.
	ch2, _ := f.Challenge(context.Background(), alice, e)
	resp.Values["RelayState"] = stateOf(t, ch2).RelayState
	if _, err := f.Verify(context.Background(), alice, e, ch2.State, resp); !errors.Is(err, ErrAssertion) {
		t.Fatalf("a response for another request: %v, want ErrAssertion", err)
	}
}

func stateOf(t *testing.T, ch factor.Challenge) state {
	t.Helper()
	var s state
	if err := json.Unmarshal(ch.State, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSomebodyElseAndRelayState(t *testing.T) {
	idp := startIdP(t, newKeyPair(t), "")
	f := newFactor(t, idp, "https://sspr.example.test/saml")
	e := factor.Enrollment{Kind: Kind}
	ch, _ := f.Challenge(context.Background(), alice, e)
	resp := signIn(t, ch)
	bob := factor.Subject{Login: "bob", Attributes: map[string][]string{"mail": {"bob@example.test"}}}
	if _, err := f.Verify(context.Background(), bob, e, ch.State, resp); !errors.Is(err, ErrNotThem) {
		t.Fatalf("alice's assertion for bob: %v, want ErrNotThem", err)
	}
	resp.Values["RelayState"] = "another"
	if _, err := f.Verify(context.Background(), alice, e, ch.State, resp); !errors.Is(err, ErrRelayState) || !errors.Is(err, factor.ErrForeignAnswer) || errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("wrong RelayState: %v, want a foreign answer and not a wrong one", err)
	}
}

// verifyAs checks, with f, a response obtained by other's challenge (the
// state is other's, so InResponseTo matches and only the check under
// test can refuse).
func verifyAs(t *testing.T, f, other *Factor) error {
	t.Helper()
	e := factor.Enrollment{Kind: Kind}
	ch, err := other.Challenge(context.Background(), alice, e)
	if err != nil {
		t.Fatal(err)
	}
	resp := signIn(t, ch)
	_, err = f.Verify(context.Background(), alice, e, ch.State, resp)
	return err
}

func TestWrongAudienceIssuerSignatureRefused(t *testing.T) {
	kp := newKeyPair(t)
	idp := startIdP(t, kp, "")
	f := newFactor(t, idp, "https://sspr.example.test/saml")
	entity := idp.idp.MetadataURL.String()
	for name, c := range map[string]struct {
		other func() *Factor
		want  string
	}{
		"wrong audience": {func() *Factor { return newFactor(t, idp, "https://another-app.example.test/saml") }, "audience"},
		"wrong issuer": {func() *Factor {
			// The same key under another entity ID.
			return newFactor(t, startIdP(t, kp, "https://impostor.example.test/idp"), "https://sspr.example.test/saml")
		}, "issuer"},
		"bad signature": {func() *Factor {
			// The same entity ID with another key.
			return newFactor(t, startIdP(t, newKeyPair(t), entity), "https://sspr.example.test/saml")
		}, "signature"},
	} {
		t.Run(name, func(t *testing.T) {
			err := verifyAs(t, f, c.other())
			if !errors.Is(err, ErrAssertion) || !errors.Is(err, factor.ErrWrongResponse) || !strings.Contains(strings.ToLower(err.Error()), c.want) {
				t.Fatalf("%v, want ErrAssertion about %s", err, c.want)
			}
		})
	}
}

func TestTamperedResponseRefused(t *testing.T) {
	idp := startIdP(t, newKeyPair(t), "")
	f := newFactor(t, idp, "https://sspr.example.test/saml")
	e := factor.Enrollment{Kind: Kind}
	idp.mu.Lock()
	idp.user = "mallory@example.test"
	idp.mu.Unlock()
	ch, _ := f.Challenge(context.Background(), alice, e)
	resp := signIn(t, ch)
	doc, _ := base64.StdEncoding.DecodeString(resp.Values["SAMLResponse"])
	forged := strings.ReplaceAll(string(doc), "mallory@example.test", "alice@example.test")
	resp.Values["SAMLResponse"] = base64.StdEncoding.EncodeToString([]byte(forged))
	if _, err := f.Verify(context.Background(), alice, e, ch.State, resp); !errors.Is(err, ErrAssertion) {
		t.Fatalf("tampered response: %v, want ErrAssertion", err)
	}
}

func TestDecoyAndNotAvailable(t *testing.T) {
	idp := startIdP(t, newKeyPair(t), "")
	f := newFactor(t, idp, "https://sspr.example.test/saml")
	real, err := f.Challenge(context.Background(), alice, factor.Enrollment{Kind: Kind})
	if err != nil {
		t.Fatal(err)
	}
	stranger := factor.Subject{Login: "nobody"}
	d := f.DecoyEnrollment(stranger)
	decoy, err := f.Challenge(context.Background(), stranger, d)
	if err != nil {
		t.Fatal(err)
	}
	ru, _ := url.Parse(real.Prompt["redirect"].(string))
	du, _ := url.Parse(decoy.Prompt["redirect"].(string))
	if ru.Host != du.Host || ru.Path != du.Path || !reflect.DeepEqual(keysOf(ru.Query()), keysOf(du.Query())) || real.Prompt["message"] != decoy.Prompt["message"] {
		t.Fatalf("decoy %v, real %v", decoy.Prompt, real.Prompt)
	}
	if _, err := f.Verify(context.Background(), alice, d, decoy.State, signIn(t, decoy)); !errors.Is(err, factor.ErrWrongResponse) {
		t.Fatalf("decoy verified: %v", err)
	}
	if _, err := f.Challenge(context.Background(), stranger, factor.Enrollment{Kind: Kind}); !errors.Is(err, factor.ErrNotAvailable) {
		t.Fatalf("no mail attribute: %v", err)
	}
}

func keysOf(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no metadata":  {EntityID: "x", ACSURL: "https://sspr.example.com/acs"},
		"http acs":     {EntityID: "x", ACSURL: "http://sspr.example.com/acs", IDPMetadata: []byte("<x/>")},
		"no entity id": {ACSURL: "https://sspr.example.com/acs"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
