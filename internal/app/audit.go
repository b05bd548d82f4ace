package app

import (
	"log/slog"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
)

// auditMonitor builds the running self-check of the audit log.
func auditMonitor(cfg config.Audit, chain *audit.Chain, st *store.Store, log *slog.Logger, now func() time.Time) *audit.Monitor {
	interval := cfg.CheckInterval
	if interval <= 0 {
		interval = config.Defaults().Audit.CheckInterval
	}
	return &audit.Monitor{Chain: chain, Store: st, Log: log, Interval: interval, File: cfg.CheckpointFile, Now: now}
}

// warnKeyFileModes warns when a key file can be read by others than its
// owner: anyone who can read the HMAC key can forge the audit chain and
// one-time codes; anyone who can read the key ring can decrypt enrolled
// factors. sspr still starts (some secret stores mount files
// group-readable), but says so at every start.
func warnKeyFileModes(cfg *config.Config, log *slog.Logger) {
	for _, f := range []struct{ key, path, what string }{
		{"secrets.hmac_key_file", cfg.Secrets.HMACKey.File, "HMAC key file"},
		{"secrets.keyring_file", cfg.Secrets.KeyringFile, "keyring"},
	} {
		if f.path == "" {
			continue
		}
		if err := secrets.CheckPrivateFile(f.path, f.what); err != nil {
			log.Warn("a key file is readable by others: "+err.Error()+"; run chmod 600 on it", "key", f.key)
		}
	}
}
