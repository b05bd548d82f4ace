package config

import "time"

// The settings of the factors enterprises already run (docs/factors.md).
// Each section is read only when its kind is in verification.factors.

// RadiusFactor configures the RADIUS factor (RSA SecurID, OTP servers).
type RadiusFactor struct {
	// Servers are host:port (UDP), asked in order.
	Servers []string `yaml:"servers"`
	// Secret is the shared secret (at least 16 characters).
	Secret Secret `yaml:"secret"`
	// NASIdentifier names sspr to the servers.
	NASIdentifier string `yaml:"nas_identifier"`
	// Timeout per try and Retries per server.
	Timeout time.Duration `yaml:"timeout"`
	Retries int           `yaml:"retries"`
	// Enroll: people enroll their RADIUS user name; otherwise it is
	// UsernameAttribute (or the login).
	Enroll            bool   `yaml:"enroll"`
	UsernameAttribute string `yaml:"username_attribute"`
}

// DuoFactor configures the Duo factor (Auth API v2).
type DuoFactor struct {
	APIHost        string `yaml:"api_host"`
	IntegrationKey string `yaml:"integration_key"`
	SecretKey      Secret `yaml:"secret_key"`
	// Methods: push, passcode (both by default).
	Methods           []string      `yaml:"methods"`
	Enroll            bool          `yaml:"enroll"`
	UsernameAttribute string        `yaml:"username_attribute"`
	PushTimeout       time.Duration `yaml:"push_timeout"`
	// CAFile is a PEM file of CAs trusted for api_host besides the
	// system's (a TLS-inspecting proxy; tests).
	CAFile string `yaml:"ca_file"`
}

// YubiKeyFactor configures the YubiKey OTP factor.
type YubiKeyFactor struct {
	// Servers are validation URLs (YubiCloud by default).
	Servers  []string `yaml:"servers"`
	ClientID string   `yaml:"client_id"`
	// APIKey is the base64 key Yubico issued with the client ID.
	APIKey Secret `yaml:"api_key"`
	// CAFile is a PEM file of CAs trusted for the servers besides the
	// system's (an own yubikey-val behind a private CA).
	CAFile string `yaml:"ca_file"`
}

// OIDCFactor configures an OpenID Connect provider as a factor.
type OIDCFactor struct {
	Issuer       string   `yaml:"issuer"`
	ClientID     string   `yaml:"client_id"`
	ClientSecret Secret   `yaml:"client_secret"`
	RedirectURL  string   `yaml:"redirect_url"`
	Scopes       []string `yaml:"scopes"`
	// Claim of the ID token compared with the directory Attribute (the
	// login when empty).
	Claim     string `yaml:"claim"`
	Attribute string `yaml:"attribute"`
	Label     string `yaml:"label"`
}

// CertificateFactor configures smart cards / client certificates.
type CertificateFactor struct {
	// CAFiles are PEM files of the CAs cards chain to; IntermediateFiles
	// complete chains clients send short.
	CAFiles           []string `yaml:"ca_files"`
	IntermediateFiles []string `yaml:"intermediate_files"`
	// MapBy: upn (default), email or sha256; Attribute the directory
	// attribute compared.
	MapBy     string `yaml:"map_by"`
	Attribute string `yaml:"attribute"`
	// RevocationOptional accepts cards whose status no OCSP responder or
	// CRL could tell.
	RevocationOptional bool `yaml:"revocation_optional"`
	// ProxyHeader is the header a trusted proxy (server.trusted_proxies)
	// passes the client certificate in; empty: mutual TLS to sspr only.
	ProxyHeader string `yaml:"proxy_header"`
}

// VoiceFactor configures voice calls that speak a code (Twilio Voice).
type VoiceFactor struct {
	BaseURL    string `yaml:"base_url"`
	AccountSID string `yaml:"account_sid"`
	AuthToken  Secret `yaml:"auth_token"`
	From       string `yaml:"from"`
	Voice      string `yaml:"voice"`
	Language   string `yaml:"language"`
}

// ManagerApprovalFactor configures approval by the person's manager.
type ManagerApprovalFactor struct {
	ManagerAttribute string        `yaml:"manager_attribute"`
	TTL              time.Duration `yaml:"ttl"`
}

// SAMLFactor configures a SAML 2.0 identity provider as a factor.
type SAMLFactor struct {
	// EntityID is sspr's entity ID as a service provider; ACSURL its
	// assertion consumer service, registered at the IdP.
	EntityID string `yaml:"entity_id"`
	ACSURL   string `yaml:"acs_url"`
	// IDPMetadataFile holds the IdP's metadata XML.
	IDPMetadataFile string `yaml:"idp_metadata_file"`
	// Attribute is the SAML attribute naming the person (the NameID when
	// empty); DirectoryAttribute what it must equal (the login when empty).
	Attribute          string `yaml:"attribute"`
	DirectoryAttribute string `yaml:"directory_attribute"`
	Label              string `yaml:"label"`
}
