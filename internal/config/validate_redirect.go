package config

import (
	"net/url"
	"strings"
)

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

// ownRoutePath says what is wrong with the path of a callback URL sspr
// serves (the OIDC redirect_url, the SAML acs_url), or "": it must be a
// route of its own. The ACS route is exempt from the cross-origin check,
// so "/" or a path ending in "/" (a prefix of other routes) would take
// that protection away from every route below it, and a page's own path
// would take it from that page.
func ownRoutePath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a URL"
	}
	p := u.Path
	switch {
	case p == "" || p == "/":
		return "needs a path of its own, such as /sso/oidc/callback or /sso/saml/acs"
	case strings.HasSuffix(p, "/"):
		return "must not end in / (it would cover every path below it)"
	}
	for _, taken := range []string{"/reset", "/reset/code", "/reset/choose", "/reset/password", "/reset/done", "/unlock", "/change",
		"/enroll", "/approve", "/healthz", "/readyz", "/metrics"} {
		if p == taken {
			return "is the path of one of sspr's own pages; choose one such as /sso/saml/acs"
		}
	}
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/admin") || strings.HasPrefix(p, "/static/") {
		return "is below the API, the admin console or the static files; choose one such as /sso/saml/acs"
	}
	return ""
}
