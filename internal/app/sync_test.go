package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/secrets"
	pwsync "github.com/sspr/sspr/internal/sync"
	"github.com/sspr/sspr/internal/sync/entra/graphtest"
	"github.com/sspr/sspr/internal/sync/google/googletest"
	"github.com/sspr/sspr/internal/sync/target"
)

// writeCert writes a self-signed RSA certificate and its PKCS #1 key.
func writeCert(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "sspr-sync"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	return certFile, keyFile, cert
}

// Every sync setting reaches its target: a certificate-authenticated
// Entra target and a Google target built from the configuration take a
// password from the local servers; the mappings become planner links and
// the attributes the primary must read.
func TestSyncFromConfig(t *testing.T) {
	g := graphtest.New(t)
	g.AddUser("ada@example.test")
	certFile, keyFile, cert := writeCert(t)
	g.Certificate = cert
	ws := googletest.New(t)
	ws.AddUser("ada@example.test")
	cfg := &config.Config{Sync: config.Sync{AlertTo: []string{"admins@example.test"}, Targets: []config.SyncTarget{
		{Name: "m365", Type: "entra", Map: "immutableid", Entra: config.SyncEntra{TenantID: g.TenantID, ClientID: g.ClientID,
			CertificateFile: certFile, CertificateKeyFile: keyFile, LoginURL: g.URL, GraphURL: g.URL}},
		{Name: "ws", Type: "google", Map: "mail", Google: config.SyncGoogle{Credentials: config.Secret{Value: string(ws.KeyFile())},
			Subject: "admin@example.test", APIURL: ws.URL}},
		{Name: "hr", Type: "hook", Map: "login", Hook: config.SyncHook{Command: []string{"/bin/true"}}},
	}, PreHooks: []config.SyncHook{{Name: "check", Command: []string{"/bin/false"}}}}}
	planner, sender, err := newSync(cfg, directory.NewSet(), keyRingForTest(t), nil, nil, 5, time.Minute, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []pwsync.Link{{Target: "m365", Attribute: "immutableid", Label: "Microsoft Entra ID"},
		{Target: "ws", Attribute: "mail", Label: "Google Workspace"}, {Target: "hr", Attribute: "login", Label: "hr"}}; !slices.Equal(planner.Links, want) {
		t.Fatalf("links = %v", planner.Links)
	}
	if got := syncExtraAttributes(cfg); !slices.Equal(got, []string{"objectGUID"}) {
		t.Fatalf("extra attributes = %v", got)
	}
	ctx := context.Background()
	// The test servers are plain HTTP on loopback: the default clients of
	// the targets reach them.
	for _, name := range []string{"m365", "ws"} {
		if err := sender.Targets[name].SetPassword(ctx, target.Identity{Key: "ada@example.test"}, "From-config-pw-42"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if p, _ := g.Password("ada@example.test"); p != "From-config-pw-42" || !ws.SignIn("ada@example.test", "From-config-pw-42") {
		t.Fatal("a target built from the configuration did not take the password")
	}
	if err := planner.PreHook(ctx, &directory.User{Login: "ada"}, "x"); err == nil {
		t.Fatal("the /bin/false pre-hook did not refuse")
	}
	// An ldap target naming a directory that is not there is refused.
	cfg.Sync.Targets = []config.SyncTarget{{Name: "l", Type: "ldap", Directory: "missing"}}
	if _, _, err := newSync(cfg, directory.NewSet(), keyRingForTest(t), nil, nil, 5, time.Minute, time.Now); err == nil {
		t.Fatal("a missing directory was accepted")
	}
}

func keyRingForTest(t *testing.T) *secrets.KeyRing {
	t.Helper()
	k, err := secrets.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: k})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
