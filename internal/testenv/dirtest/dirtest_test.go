package dirtest

import (
	"testing"

	"github.com/sspr/sspr/internal/directory"
)

func TestDNSDomain(t *testing.T) {
	for in, want := range map[string]string{
		"DC=example,DC=test":             "example.test",
		"ou=x,dc=corp,dc=example,dc=com": "corp.example.com",
		"o=nothing":                      "example.test",
	} {
		if got := dnsDomain(in); got != want {
			t.Errorf("dnsDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUsersAndBind(t *testing.T) {
	t.Run("AD", func(t *testing.T) {
		login := NewADUser(t, "Helper-Pass1")
		cfg := ADConfig(t)
		if err := Bind(t, cfg, login, "Helper-Pass1"); err != nil {
			t.Fatalf("Bind: %v", err)
		}
		if err := Bind(t, cfg, login, "Wrong-Pass1"); directory.KindOf(err) != directory.KindInvalidCredentials {
			t.Fatalf("Bind with a wrong password: %v", err)
		}
	})
	t.Run("OpenLDAP", func(t *testing.T) {
		login := NewLDAPUser(t, "Helper-Pass1")
		cfg := LDAPConfig(t)
		if err := Bind(t, cfg, login, "Helper-Pass1"); err != nil {
			t.Fatalf("Bind: %v", err)
		}
		if err := Bind(t, cfg, "no-"+login, "Helper-Pass1"); directory.KindOf(err) != directory.KindNotFound {
			t.Fatalf("Bind as nobody: %v", err)
		}
	})
}
