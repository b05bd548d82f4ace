package app

import (
	"context"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/sync/entra/graphtest"
)

// A type entra directory built from the configuration, with a certificate,
// routes its UPN domain, passes its health check and resets a password.
func TestEntraDirectoryFromConfig(t *testing.T) {
	g := graphtest.New(t)
	certFile, keyFile, cert := writeCert(t)
	g.Certificate = cert
	id := g.AddDirectoryUser(graphtest.User{UserPrincipalName: "kim@cloud.example.test", AccountEnabled: true})
	cfg := &config.Config{Directories: []config.Directory{{Name: "cloud", Type: "entra", Domains: []string{"cloud.example.test"},
		Timeout: 10 * time.Second, Entra: config.DirectoryEntra{TenantID: g.TenantID, ClientID: g.ClientID,
			CertificateFile: certFile, CertificateKeyFile: keyFile, LoginURL: g.URL, GraphURL: g.URL}}}}
	set, err := Directories(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	ctx := context.Background()
	d, _ := set.Directory("cloud")
	if r := d.(directory.HealthChecker).Check(ctx); !r.OK() {
		t.Fatalf("check: %+v", r.Findings)
	}
	u, err := set.FindUser(ctx, "kim@cloud.example.test")
	if err != nil || u.Directory != "cloud" {
		t.Fatalf("find: %+v %v", u, err)
	}
	if err := d.(directory.PasswordResetter).ResetPassword(ctx, u, "Config-Built-Pw-31"); err != nil {
		t.Fatal(err)
	}
	if p, _ := g.Password(id); p != "Config-Built-Pw-31" {
		t.Fatalf("graph has %q", p)
	}
}
