package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
)

// RotateKeys re-encrypts every stored secret with the key ring's current
// key (`sspr keys rotate`, after `sspr keys add`). It returns how many
// secrets were re-encrypted and the key version they are now sealed with.
// Nothing is changed when any secret fails to open.
func RotateKeys(ctx context.Context, cfg *config.Config) (n int, version uint32, err error) {
	if cfg.Secrets.KeyringFile == "" {
		return 0, 0, errors.New("secrets.keyring_file is not set: there is no key ring to rotate to")
	}
	ring, err := secrets.LoadKeyRing(cfg.Secrets.KeyringFile)
	if err != nil {
		return 0, 0, fmt.Errorf("secrets.keyring_file: %w", err)
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	n, err = flow.ResealEnrollments(ctx, st, func(sealed, ad []byte) ([]byte, bool, error) {
		return secrets.Rotate(ring, sealed, ad)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("re-encrypting: %w (nothing was changed)", err)
	}
	return n, ring.Current(), nil
}

// OpenAuditLog opens the database for `sspr audit verify | export`: the
// CLI reads the audit chain through it and closes it when done.
func OpenAuditLog(ctx context.Context, cfg *config.Config) (interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
	Close() error
}, error) {
	return OpenStore(ctx, cfg)
}
