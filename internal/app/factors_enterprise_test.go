package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/factor"
)

// enterpriseYAML offers every enterprise factor with settings that build
// without the network.
func enterpriseYAML(caFile, mdFile string) string {
	return `
server:
  base_url: https://sspr.example.com
storage:
  path: /nonexistent/sspr.db
secrets:
  hmac_key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
directories:
  - name: corp
    type: ad
    urls: [ldaps://dc1.example.com:636]
    bind_dn: CN=svc,DC=example,DC=com
    bind_password: pw
    base_dn: DC=example,DC=com
mail:
  from: noreply@example.com
  smtp:
    host: smtp.example.com
verification:
  factors: [email, radius, duo, yubikey, oidc, saml, certificate, voice, manager_approval]
  first_factor: email
  required: {reset: 2, unlock: 2}
  radius:
    servers: ["radius.example.com:1812"]
    secret: 0123456789abcdef0123
  duo:
    api_host: api-1234abcd.duosecurity.com
    integration_key: DIXXXXXXXXXXXXXXXXXX
    secret_key: 0123456789abcdef0123456789abcdef01234567
  yubikey:
    client_id: "1"
    api_key: MDEyMzQ1Njc4OWFiY2RlZjAxMjM=
  oidc:
    issuer: https://login.example.com
    client_id: sspr
    client_secret: s3cret
    redirect_url: https://sspr.example.com/verify/oidc/callback
  saml:
    entity_id: https://sspr.example.com/saml
    acs_url: https://sspr.example.com/verify/saml/acs
    idp_metadata_file: ` + mdFile + `
  certificate:
    ca_files: [` + caFile + `]
  voice:
    account_sid: ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    auth_token: token
    from: "+15550100000"
`
}

// idpMetadata writes a minimal IdP metadata document.
func idpMetadata(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "idp.xml")
	md := `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/metadata">
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
</IDPSSODescriptor></EntityDescriptor>`
	if err := os.WriteFile(path, []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testCA writes a self-signed CA certificate in PEM.
func testCA(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root CA"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnterpriseFactorsBuilt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	testCA(t, ca)
	cfg, err := config.Parse([]byte(enterpriseYAML(ca, idpMetadata(t, dir))), nil)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := factors(cfg, time.Now)
	if err != nil {
		t.Fatalf("factors: %v", err)
	}
	for _, k := range cfg.Verification.Factors {
		if fs[factor.Kind(k)] == nil {
			t.Errorf("%s was not built", k)
		}
	}
	nf := withNotFirst(fs, map[factor.Kind]bool{})
	if !nf["manager_approval"] || len(nf) != 1 {
		t.Fatalf("NotFirst = %v, want manager_approval only", nf)
	}
}

func TestEnterpriseFactorBadCAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(enterpriseYAML(ca, idpMetadata(t, dir))), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := factors(cfg, time.Now); err == nil {
		t.Fatal("a CA file without a certificate was accepted")
	}
}
