package config

import "net/url"

// httpsOrLoopback reports whether raw is an https URL, or plain http to
// this machine (a provider or sspr itself on loopback, as in tests or
// behind a local TLS proxy) — the same rule the oidc and saml factor
// packages apply.
func httpsOrLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	h := u.Hostname()
	return u.Scheme == "http" && (h == "127.0.0.1" || h == "::1" || h == "localhost")
}
