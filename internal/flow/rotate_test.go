package flow_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
)

// TestResealEnrollments: after a new key is added, rotation re-encrypts
// every enrollment with it, and the secrets still open.
func TestResealEnrollments(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "sspr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k1, _ := secrets.GenerateKey()
	ring1, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: k1})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"e1", "e2", "e3"}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			sealed, err := ring1.Seal([]byte("secret of "+id), []byte("enrollment:"+id))
			if err != nil {
				return err
			}
			if err := tx.InsertEnrollment(&store.Enrollment{ID: id, Directory: "d", SubjectDN: "cn=x", Kind: "totp", Label: "App",
				Secret: sealed, Source: "user", CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := secrets.GenerateKey()
	ring2, err := ring1.WithNewKey(k2)
	if err != nil {
		t.Fatal(err)
	}
	reseal := func(sealed, ad []byte) ([]byte, bool, error) { return secrets.Rotate(ring2, sealed, ad) }
	n, err := flow.ResealEnrollments(ctx, st, reseal)
	if err != nil || n != len(ids) {
		t.Fatalf("rotated %d, %v; want %d", n, err, len(ids))
	}
	for _, id := range ids {
		var e *store.Enrollment
		_ = st.InTx(ctx, func(tx *store.Tx) error { e, err = tx.EnrollmentByID(id); return err })
		if v, _ := secrets.Version(e.Secret); v != ring2.Current() {
			t.Errorf("%s sealed with version %d, want %d", id, v, ring2.Current())
		}
		if pt, err := ring2.Open(e.Secret, []byte("enrollment:"+id)); err != nil || string(pt) != "secret of "+id {
			t.Errorf("%s after rotation: %q %v", id, pt, err)
		}
	}
	// A second rotation has nothing left to do.
	if n, err := flow.ResealEnrollments(ctx, st, reseal); err != nil || n != 0 {
		t.Fatalf("second rotation changed %d, %v", n, err)
	}
}
