package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

func offer(c *config.Config, kinds ...string) {
	c.Verification.Factors = append(c.Verification.Factors, kinds...)
	c.Verification.Required.Reset, c.Verification.Required.Unlock = 2, 2
}

// TestEnterpriseFactorRules: each offered enterprise factor's section is
// checked; sections of factors not offered are not.
func TestEnterpriseFactorRules(t *testing.T) {
	t.Parallel()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkRules(t, []rule{
		{"not offered, not checked", func(c *config.Config) { c.Verification.Radius.Servers = []string{"no port"} }, nil},
		{"unknown kind", func(c *config.Config) { c.Verification.Factors = []string{"email", "carrier_pigeon"} }, []string{"verification.factors[1]"}},
		{"radius empty", func(c *config.Config) { offer(c, "radius") }, []string{"verification.radius.secret", "verification.radius.servers"}},
		{"radius good", func(c *config.Config) {
			offer(c, "radius")
			c.Verification.Radius = config.RadiusFactor{Servers: []string{"radius.example.com:1812", "[::1]:18120"}, Secret: config.Secret{Value: "0123456789abcdef"}}
		}, nil},
		{"radius bad", func(c *config.Config) {
			offer(c, "radius")
			c.Verification.Radius = config.RadiusFactor{Servers: []string{"radius.example.com"}, Secret: config.Secret{Value: "short"}, Retries: 9, UsernameAttribute: "bad attr"}
		}, []string{"verification.radius.retries", "verification.radius.secret", "verification.radius.servers[0]", "verification.radius.username_attribute"}},
		{"duo empty", func(c *config.Config) { offer(c, "duo") }, []string{"verification.duo.api_host", "verification.duo.integration_key", "verification.duo.secret_key"}},
		{"duo good", func(c *config.Config) {
			offer(c, "duo")
			c.Verification.Duo = config.DuoFactor{APIHost: "api-1234abcd.duosecurity.com", IntegrationKey: "DIXXXXXXXXXXXXXXXXXX", SecretKey: config.Secret{Value: "0123456789abcdef0123456789abcdef01234567"}, Methods: []string{"push"}}
		}, nil},
		{"duo bad method", func(c *config.Config) {
			offer(c, "duo")
			c.Verification.Duo = config.DuoFactor{APIHost: "https://api.duosecurity.com", IntegrationKey: "DIXXXXXXXXXXXXXXXXXX", SecretKey: config.Secret{Value: "0123456789abcdef0123456789abcdef01234567"}, Methods: []string{"sms"}}
		}, []string{"verification.duo.api_host", "verification.duo.methods[0]"}},
		{"yubikey", func(c *config.Config) {
			offer(c, "yubikey")
			c.Verification.YubiKey = config.YubiKeyFactor{Servers: []string{"http://val.example.com/verify"}, APIKey: config.Secret{Value: "not base64!"}}
		}, []string{"verification.yubikey.api_key", "verification.yubikey.client_id", "verification.yubikey.servers[0]"}},
		{"yubikey good", func(c *config.Config) {
			offer(c, "yubikey")
			c.Verification.YubiKey = config.YubiKeyFactor{ClientID: "1", APIKey: config.Secret{Value: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM="}}
		}, nil},
		{"oidc", func(c *config.Config) {
			offer(c, "oidc")
			c.Verification.OIDC = config.OIDCFactor{Issuer: "http://idp.example.com", RedirectURL: "/cb"}
		}, []string{"verification.oidc.client_id", "verification.oidc.issuer", "verification.oidc.redirect_url"}},
		{"saml", func(c *config.Config) {
			offer(c, "saml")
			c.Verification.SAML = config.SAMLFactor{ACSURL: "http://sspr.example.com/acs", IDPMetadataFile: ca + ".missing"}
		}, []string{"verification.saml.acs_url", "verification.saml.entity_id", "verification.saml.idp_metadata_file"}},
		{"saml good", func(c *config.Config) {
			offer(c, "saml")
			c.Verification.SAML = config.SAMLFactor{EntityID: "https://sspr.example.com/saml", ACSURL: "https://sspr.example.com/saml/acs", IDPMetadataFile: ca}
		}, nil},
		{"certificate", func(c *config.Config) {
			offer(c, "certificate")
			c.Server.TrustedProxies = nil
			c.Verification.Certificate = config.CertificateFactor{MapBy: "sha256", ProxyHeader: "X-Client-Cert"}
		}, []string{"verification.certificate.attribute", "verification.certificate.ca_files", "verification.certificate.proxy_header"}},
		{"certificate good", func(c *config.Config) {
			offer(c, "certificate")
			c.Verification.Certificate = config.CertificateFactor{CAFiles: []string{ca}}
		}, nil},
		{"certificate missing file", func(c *config.Config) {
			offer(c, "certificate")
			c.Verification.Certificate = config.CertificateFactor{CAFiles: []string{ca + ".missing"}, MapBy: "cn"}
		}, []string{"verification.certificate.ca_files[0]", "verification.certificate.map_by"}},
		{"voice", func(c *config.Config) { offer(c, "voice") }, []string{"verification.voice.account_sid", "verification.voice.auth_token", "verification.voice.from"}},
		{"manager approval alone", func(c *config.Config) {
			c.Verification.Factors = []string{"manager_approval"}
			c.Verification.FirstFactor = "manager_approval"
			c.Verification.Required.Reset, c.Verification.Required.Unlock = 1, 1
		}, []string{"verification.first_factor", "verification.required"}},
		{"manager approval with one required", func(c *config.Config) {
			c.Verification.Factors = append(c.Verification.Factors, "manager_approval")
		}, []string{"verification.required"}},
		{"manager approval good", func(c *config.Config) {
			offer(c, "manager_approval")
			c.Verification.ManagerApproval.TTL = time.Hour
		}, nil},
		{"manager approval ttl", func(c *config.Config) {
			offer(c, "manager_approval")
			c.Verification.ManagerApproval.TTL = time.Second
		}, []string{"verification.manager_approval.ttl"}},
	})
}

// The secret files of factors not offered are not read.
func TestEnterpriseSecretFilesReadOnlyWhenOffered(t *testing.T) {
	t.Parallel()
	if strings.Contains(validYAML, "\nverification:") {
		t.Fatal("validYAML has a verification section now: add the radius key to it")
	}
	yaml := validYAML + "\nverification:\n  radius:\n    secret_file: /nonexistent/radius\n"
	if _, err := config.Parse([]byte(yaml), env{}.lookup); err != nil {
		t.Fatalf("a secret file of a factor not offered was read: %v", err)
	}
	_, err := config.Parse([]byte(yaml), env{"SSPR_VERIFICATION_FACTORS": "email,radius"}.lookup)
	if _, ok := find(problemsOf(t, err), "verification.radius.secret_file"); !ok {
		t.Fatalf("no problem at verification.radius.secret_file: %v", err)
	}
}
