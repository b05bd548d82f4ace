package e2e

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/store/storetest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestResetOpenLDAPOnPostgres: complete resets (API and portal) against
// OpenLDAP with sspr's database on PostgreSQL: the code mails go out, the
// directory takes the new passwords, and the audit chain sspr wrote to
// PostgreSQL verifies.
func TestResetOpenLDAPOnPostgres(t *testing.T) {
	dsn := storetest.NewDatabase(t) // skips without SSPR_TEST_PG_DSN (fails when integration is required)
	cfg := dirtest.LDAPConfig(t)
	cfg.Name = "people"
	in := startWithDB(t, dsn, directoryYAML("openldap", cfg, ""), directoryRulesOnly)
	t.Run("api", func(t *testing.T) {
		u := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
		apiReset(t, in, u.Login, u.Mail, map[string]string{"short": "at least 8 characters"}, "Api-Reset-Pass-2")
		proveReset(t, cfg, u.Login, u.Password, "Api-Reset-Pass-2")
	})
	t.Run("portal", func(t *testing.T) {
		u := dirtest.CreateLDAPUser(t, "Initial-Pass-1")
		portalReset(t, in, u.Mail, u.Mail, map[string]string{"short": "at least 8 characters"}, "Form-Reset-Pass-3")
		proveReset(t, cfg, u.Login, u.Password, "Form-Reset-Pass-3")
	})
	in.stop()

	// The rows are in PostgreSQL: open the database again (as a second
	// node would) and verify the chain.
	st, err := store.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := base64.StdEncoding.DecodeString(e2eHMACKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := audit.NewChain(key).Verify(context.Background(), st)
	if err != nil || n < 6 {
		t.Fatalf("audit chain on PostgreSQL: %d records verified, %v", n, err)
	}
}
