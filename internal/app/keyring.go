package app

import (
	"fmt"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/secrets"
)

// keyRing loads the encryption keys for data at rest, or derives one from
// the HMAC secret when no key ring is configured (Check warns about that;
// serve logs it).
func keyRing(cfg *config.Config) (*secrets.KeyRing, error) {
	if cfg.Secrets.KeyringFile != "" {
		ring, err := secrets.LoadKeyRing(cfg.Secrets.KeyringFile)
		if err != nil {
			return nil, fmt.Errorf("secrets.keyring_file: %w", err)
		}
		return ring, nil
	}
	return secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: secrets.Derive(cfg.HMACKeyBytes(), "encryption:derived")})
}
