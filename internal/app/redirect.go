package app

import (
	"crypto/tls"
	"net/url"
	"slices"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/web/portal"
)

// redirects are the portal's routes for the factors that leave it and
// come back (the paths of verification.oidc.redirect_url and
// verification.saml.acs_url) and the certificate's proxy header, for the
// offered kinds only.
func redirects(cfg *config.Config) portal.Redirects {
	var r portal.Redirects
	offered := func(k string) bool { return slices.Contains(cfg.Verification.Factors, k) }
	if offered("oidc") {
		if u, err := url.Parse(cfg.Verification.OIDC.RedirectURL); err == nil && u.Path != "" {
			r.OIDCCallback = u.Path
		}
	}
	if offered("saml") {
		if u, err := url.Parse(cfg.Verification.SAML.ACSURL); err == nil && u.Path != "" {
			r.SAMLACS = u.Path
		}
	}
	if offered("certificate") {
		r.CertificateHeader = cfg.Verification.Certificate.ProxyHeader
	}
	return r
}

// factorAttributes are the directory attributes the offered OIDC, SAML and
// certificate factors map people by: read with every lookup, so the
// factor finds them in factor.Subject.Attributes.
func factorAttributes(cfg *config.Config) []string {
	var out []string
	v := cfg.Verification
	offered := func(k string) bool { return slices.Contains(v.Factors, k) }
	if offered("oidc") && v.OIDC.Attribute != "" {
		out = append(out, v.OIDC.Attribute)
	}
	if offered("saml") && v.SAML.DirectoryAttribute != "" {
		out = append(out, v.SAML.DirectoryAttribute)
	}
	if offered("certificate") {
		switch {
		case v.Certificate.Attribute != "":
			out = append(out, v.Certificate.Attribute)
		case v.Certificate.MapBy == "email":
			out = append(out, "mail")
		default:
			out = append(out, "userPrincipalName")
		}
	}
	return out
}

// clientCertTLS is the portal listener's TLS configuration when the
// certificate factor is offered and sspr terminates TLS itself: the
// handshake asks for a client certificate but lets the connection through
// without one (tls.RequestClientCert), and names the configured CAs so the
// browser offers only certificates they issued. The factor does every
// check (chain, key usage, expiry, revocation, mapping) when the person
// answers, so an expired or revoked card is refused in the flow with its
// reason audited rather than dropped at the handshake. Go's handshake
// still checks that the client holds the certificate's private key. nil:
// no client certificates asked for.
func clientCertTLS(cfg *config.Config) (*tls.Config, error) {
	if cfg.Server.TLSCertFile == "" || !slices.Contains(cfg.Verification.Factors, "certificate") {
		return nil, nil
	}
	roots, err := certPool(cfg.Verification.Certificate.CAFiles)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert, ClientCAs: roots}, nil
}

// samlACS is the SAML ACS route, which the IdP's page posts to from
// another origin: the cross-origin protection lets it through (it changes
// nothing; it only hands the answer to a same-origin form).
func samlACS(cfg *config.Config) []string {
	if p := redirects(cfg).SAMLACS; p != "" {
		return []string{"POST " + p}
	}
	return nil
}
