package config

import "testing"

// TestHTTPSOrLoopback: provider and return URLs must be https, except
// plain http to this machine.
func TestHTTPSOrLoopback(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://idp.example.com/":            true,
		"http://127.0.0.1:8080/cb":            true,
		"http://localhost:9/cb":               true,
		"http://[::1]:9/cb":                   true,
		"http://idp.example.com/":             false,
		"http://localhost.example.com/":       false,
		"ftp://localhost/":                    false,
		"/reset/oidc/callback":                false,
		"https://":                            false,
		"http://127.0.0.1.nip.io/cb":          false,
		"https://password.example.com/cb?x=1": true,
	} {
		if got := httpsOrLoopback(raw); got != want {
			t.Errorf("%q: %v, want %v", raw, got, want)
		}
	}
}
