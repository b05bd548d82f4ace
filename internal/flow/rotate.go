package flow

import (
	"context"

	"github.com/sspr/sspr/internal/store"
)

// Resealer re-encrypts a ciphertext with the current key when it was sealed
// with an older one (secrets.KeyRing via secrets.Rotate).
type Resealer func(sealed, associatedData []byte) (resealed []byte, changed bool, err error)

// ResealEnrollments re-encrypts every stored enrollment secret with the
// current key (after `sspr keys add`), in one transaction, and reports how
// many changed. Flows and sessions are short-lived and are not touched: they
// expire before an old key is removed.
func ResealEnrollments(ctx context.Context, st Store, reseal Resealer) (int, error) {
	var n int
	err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.AllEnrollmentSecrets(func(e *store.Enrollment) ([]byte, error) {
			out, changed, err := reseal(e.Secret, enrollmentAD(e.ID))
			if err != nil || !changed {
				return nil, err
			}
			return out, nil
		})
		return err
	})
	return n, err
}
