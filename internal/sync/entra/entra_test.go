package entra_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/sync/entra"
	"github.com/sspr/sspr/internal/sync/entra/graphtest"
	"github.com/sspr/sspr/internal/sync/target"
)

func selfSigned(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sspr"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// A certificate credential: the RFC 7523 assertion is accepted by the
// token endpoint and the password lands, with forceChange passed on.
func TestCertificateAssertion(t *testing.T) {
	g := graphtest.New(t)
	cert, key := selfSigned(t)
	g.Certificate = cert
	g.AddUser("bo@example.test")
	e, err := entra.New(entra.Config{Name: "entra", TenantID: g.TenantID, ClientID: g.ClientID, Certificate: cert, Key: key,
		ForceChange: true, LoginURL: g.URL, GraphURL: g.URL, HTTP: g.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetPassword(context.Background(), target.Identity{Key: "bo@example.test"}, "Cert-based-pw-123"); err != nil {
		t.Fatal(err)
	}
	if p, _ := g.Password("bo@example.test"); p != "Cert-based-pw-123" || !g.ForceChange("bo@example.test") {
		t.Fatalf("Entra holds %q (force %v)", p, g.ForceChange("bo@example.test"))
	}

	// A certificate Entra does not know is refused, permanently.
	other, otherKey := selfSigned(t)
	e2, _ := entra.New(entra.Config{Name: "entra", TenantID: g.TenantID, ClientID: g.ClientID, Certificate: other, Key: otherKey,
		LoginURL: g.URL, GraphURL: g.URL, HTTP: g.Client()})
	err = e2.SetPassword(context.Background(), target.Identity{Key: "bo@example.test"}, "Another-pw-456")
	var te *target.Error
	if !asTarget(err, &te) || !te.Permanent() {
		t.Fatalf("unknown certificate: %v, want a permanent error", err)
	}
}

// A revoked token is replaced once, without the caller seeing it.
func TestRevokedTokenRenewed(t *testing.T) {
	g := graphtest.New(t)
	g.AddUser("cy@example.test")
	e, err := entra.New(entra.Config{Name: "entra", TenantID: g.TenantID, ClientID: g.ClientID, ClientSecret: g.Secret,
		LoginURL: g.URL, GraphURL: g.URL, HTTP: g.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.SetPassword(ctx, target.Identity{Key: "cy@example.test"}, "First-password-1"); err != nil {
		t.Fatal(err)
	}
	g.RevokeTokens()
	if err := e.SetPassword(ctx, target.Identity{Key: "cy@example.test"}, "Second-password-2"); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if p, _ := g.Password("cy@example.test"); p != "Second-password-2" {
		t.Fatalf("Entra holds %q", p)
	}
	// A password Entra's policy refuses is permanent, and its words reach the error.
	err = e.SetPassword(ctx, target.Identity{Key: "cy@example.test"}, "short")
	var te *target.Error
	if !asTarget(err, &te) || !te.Permanent() {
		t.Fatalf("refused password: %v, want permanent", err)
	}
	// A wrong secret is permanent too.
	bad, _ := entra.New(entra.Config{Name: "entra", TenantID: g.TenantID, ClientID: g.ClientID, ClientSecret: "wrong",
		LoginURL: g.URL, GraphURL: g.URL, HTTP: g.Client()})
	if err := bad.SetPassword(ctx, target.Identity{Key: "cy@example.test"}, "Third-password-3"); !asTarget(err, &te) || !te.Permanent() {
		t.Fatalf("wrong secret: %v", err)
	}
}

func asTarget(err error, te **target.Error) bool {
	e, ok := err.(*target.Error)
	*te = e
	return ok
}
