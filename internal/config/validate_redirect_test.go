package config

import "testing"

// TestCallbackPathsOfTheirOwn: the OIDC callback and the SAML ACS (exempt
// from the cross-origin check) need a route of their own: not "/", not a
// prefix, not a page of sspr's.
func TestCallbackPathsOfTheirOwn(t *testing.T) {
	for path, bad := range map[string]bool{"/": true, "": true, "/sso/": true, "/reset/code": true, "/api/v1/x": true, "/admin/acs": true,
		"/reset/saml/acs": false, "/sso/saml/acs": false} {
		msg := ownRoutePath("https://password.example.com" + path)
		if (msg != "") != bad {
			t.Errorf("%q: %q, want refused %v", path, msg, bad)
		}
	}
}
