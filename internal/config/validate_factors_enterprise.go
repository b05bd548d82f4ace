package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// enterpriseFactorKinds are the factors of docs/factors.md; they join
// factorKinds here so their rules stay in this file.
var enterpriseFactorKinds = []string{"radius", "duo", "yubikey", "oidc", "saml", "certificate", "voice", "manager_approval"}

func init() { factorKinds = append(factorKinds, enterpriseFactorKinds...) }

// inactiveEnterpriseFactor tells resolveSecrets to leave the secret files
// of factors not offered unread (the example keeps every section).
func (c *Config) inactiveEnterpriseFactor(path string) bool {
	kind, ok := strings.CutPrefix(path, "verification.")
	if !ok || !slices.Contains(enterpriseFactorKinds, kind) {
		return false
	}
	return !slices.Contains(c.Verification.Factors, kind)
}

// validateEnterpriseFactors checks the sections of the offered enterprise
// factors.
func (c *Config) validateEnterpriseFactors(p *Problems) {
	v := c.Verification
	on := func(k string) bool { return slices.Contains(v.Factors, k) }
	if on("radius") {
		r := v.Radius
		if len(r.Servers) == 0 {
			p.add("verification.radius.servers", "at least one host:port is required")
		}
		for i, s := range r.Servers {
			if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
				p.addf(fmt.Sprintf("verification.radius.servers[%d]", i), "%q is not host:port", s)
			}
		}
		if len(r.Secret.Value) < 16 {
			p.add("verification.radius.secret", "is required, at least 16 characters (or secret_file)")
		}
		if r.Timeout < 0 {
			p.add("verification.radius.timeout", "must not be negative")
		}
		if r.Retries > 5 {
			p.addf("verification.radius.retries", "%d is more than 5", r.Retries)
		}
		if r.UsernameAttribute != "" && !validAttributeName(r.UsernameAttribute) {
			p.addf("verification.radius.username_attribute", "%q is not an LDAP attribute name", r.UsernameAttribute)
		}
	}
	if on("duo") {
		d := v.Duo
		if d.APIHost == "" || strings.ContainsAny(d.APIHost, "/?# ") || !validHostPort(d.APIHost) {
			p.addf("verification.duo.api_host", "%q is not a host name like api-XXXXXXXX.duosecurity.com", d.APIHost)
		}
		checkFile(p, "verification.duo.ca_file", d.CAFile)
		if len(d.IntegrationKey) < 10 {
			p.add("verification.duo.integration_key", "is required (from the Duo Admin Panel)")
		}
		if len(d.SecretKey.Value) < 16 {
			p.add("verification.duo.secret_key", "is required (or secret_key_file)")
		}
		for i, m := range d.Methods {
			if m != "push" && m != "passcode" {
				p.addf(fmt.Sprintf("verification.duo.methods[%d]", i), "%q is not push or passcode", m)
			}
		}
		if d.PushTimeout < 0 {
			p.add("verification.duo.push_timeout", "must not be negative")
		}
		if d.UsernameAttribute != "" && !validAttributeName(d.UsernameAttribute) {
			p.addf("verification.duo.username_attribute", "%q is not an LDAP attribute name", d.UsernameAttribute)
		}
	}
	if on("yubikey") {
		y := v.YubiKey
		for i, s := range y.Servers {
			if u, err := url.Parse(s); err != nil || u.Scheme != "https" || u.Host == "" {
				p.addf(fmt.Sprintf("verification.yubikey.servers[%d]", i), "%q is not an https URL", s)
			}
		}
		checkFile(p, "verification.yubikey.ca_file", y.CAFile)
		if y.ClientID == "" {
			p.add("verification.yubikey.client_id", "is required (from upgrade.yubico.com/getapikey, or your own validation server)")
		}
		if k, err := base64.StdEncoding.DecodeString(y.APIKey.Value); err != nil || len(k) < 16 {
			p.add("verification.yubikey.api_key", "is required: the base64 API key issued with the client ID (or api_key_file)")
		}
	}
	if on("oidc") {
		o := v.OIDC
		if !httpsOrLoopback(o.Issuer) {
			p.addf("verification.oidc.issuer", "%q is not an https URL", o.Issuer)
		}
		if o.ClientID == "" {
			p.add("verification.oidc.client_id", "is required")
		}
		if !httpsOrLoopback(o.RedirectURL) {
			p.addf("verification.oidc.redirect_url", "%q is not an https URL (sspr's callback, registered at the provider)", o.RedirectURL)
		} else if msg := ownRoutePath(o.RedirectURL); msg != "" {
			p.addf("verification.oidc.redirect_url", "%q: %s", o.RedirectURL, msg)
		}
		if o.Attribute != "" && !validAttributeName(o.Attribute) {
			p.addf("verification.oidc.attribute", "%q is not an LDAP attribute name", o.Attribute)
		}
	}
	if on("saml") {
		sm := v.SAML
		if sm.EntityID == "" {
			p.add("verification.saml.entity_id", "is required (sspr's entity ID, registered at the IdP)")
		}
		if !httpsOrLoopback(sm.ACSURL) {
			p.addf("verification.saml.acs_url", "%q is not an https URL (sspr's assertion consumer service)", sm.ACSURL)
		} else if msg := ownRoutePath(sm.ACSURL); msg != "" {
			p.addf("verification.saml.acs_url", "%q: %s", sm.ACSURL, msg)
		}
		if sm.IDPMetadataFile == "" {
			p.add("verification.saml.idp_metadata_file", "is required (the IdP's metadata XML)")
		}
		checkFile(p, "verification.saml.idp_metadata_file", sm.IDPMetadataFile)
		if sm.DirectoryAttribute != "" && !validAttributeName(sm.DirectoryAttribute) {
			p.addf("verification.saml.directory_attribute", "%q is not an LDAP attribute name", sm.DirectoryAttribute)
		}
	}
	if on("certificate") {
		ct := v.Certificate
		if len(ct.CAFiles) == 0 {
			p.add("verification.certificate.ca_files", "at least one CA certificate file is required")
		}
		for i, f := range ct.CAFiles {
			checkFile(p, fmt.Sprintf("verification.certificate.ca_files[%d]", i), f)
		}
		for i, f := range ct.IntermediateFiles {
			checkFile(p, fmt.Sprintf("verification.certificate.intermediate_files[%d]", i), f)
		}
		switch ct.MapBy {
		case "", "upn", "email":
		case "sha256":
			if ct.Attribute == "" {
				p.add("verification.certificate.attribute", "is required with map_by: sha256 (the attribute holding fingerprints)")
			}
		default:
			p.addf("verification.certificate.map_by", "%q is not upn, email or sha256", ct.MapBy)
		}
		if ct.Attribute != "" && !validAttributeName(ct.Attribute) {
			p.addf("verification.certificate.attribute", "%q is not an LDAP attribute name", ct.Attribute)
		}
		if ct.ProxyHeader != "" && len(c.Server.TrustedProxies) == 0 {
			p.add("verification.certificate.proxy_header", "needs server.trusted_proxies: the header is believed only from them")
		}
	}
	if on("voice") {
		vc := v.Voice
		if vc.AccountSID == "" {
			p.add("verification.voice.account_sid", "is required")
		}
		if vc.AuthToken.Value == "" {
			p.add("verification.voice.auth_token", "is required (or auth_token_file)")
		}
		if !strings.HasPrefix(vc.From, "+") {
			p.addf("verification.voice.from", "%q is not an E.164 number like +15550100000", vc.From)
		}
		if vc.BaseURL != "" {
			if u, err := url.Parse(vc.BaseURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
				p.addf("verification.voice.base_url", "%q is not an http(s) URL", vc.BaseURL)
			}
		}
	}
	if on("manager_approval") {
		m := v.ManagerApproval
		if m.ManagerAttribute != "" && !validAttributeName(m.ManagerAttribute) {
			p.addf("verification.manager_approval.manager_attribute", "%q is not an LDAP attribute name", m.ManagerAttribute)
		}
		if m.TTL != 0 && (m.TTL.Minutes() < 1 || m.TTL.Hours() > 7*24) {
			p.add("verification.manager_approval.ttl", "must be from 1m to 168h")
		}
		if v.FirstFactor == "manager_approval" {
			p.add("verification.first_factor", "manager approval can never be the first factor")
		}
		if len(v.Factors) == 1 || min(v.Required.Reset, v.Required.Unlock) < 2 {
			p.add("verification.required", "with manager approval offered, require at least 2 factors: an approval is never the only proof")
		}
	}
}

// validHostPort accepts a host name, or host:port (a Duo API host is a
// plain name; a port serves proxies and test servers).
func validHostPort(s string) bool {
	if !strings.Contains(s, ":") {
		return true
	}
	h, port, err := net.SplitHostPort(s)
	return err == nil && h != "" && port != ""
}
