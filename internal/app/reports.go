package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/jobs"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/web/admin"
)

// reportOptions configure the console's further reports and its
// configuration page: the cost of a help-desk call, and this App's
// configuration with every secret hidden (a reload's App shows its own).
func (a *App) reportOptions() admin.ReportOptions {
	cost, _ := a.cfg.Admin.CostPerCall.Value() // validated at load
	cfg := a.cfg
	// The runner is built once, on the first visit of the jobs page.
	runner := sync.OnceValues(a.JobRunner)
	return admin.ReportOptions{CostPerCall: cost, Currency: a.cfg.Admin.CostPerCall.Currency,
		EffectiveConfig: func() []byte { return config.EffectiveYAML(cfg) },
		Jobs: func(ctx context.Context) ([]jobs.Status, error) {
			r, err := runner()
			if err != nil {
				return nil, err
			}
			return r.List(ctx)
		}}
}

// Config is the configuration a runs with. Callers must not change it:
// a reload builds a new App from a new one.
func (a *App) Config() *config.Config { return a.cfg }

// snapshotKey keys the HMACs the stored configuration snapshot keeps of
// secrets. It derives from secrets.hmac_key, so a changed hmac_key shows
// every secret as changed at the next start (docs/admin.md).
func snapshotKey(cfg *config.Config) []byte {
	return secrets.Derive(cfg.HMACKeyBytes(), "config:snapshot")
}

// configAuditDetail caps what one audit row lists, so a configuration
// rewritten from scratch does not make a row of megabytes.
const configAuditDetail = 500

func changesDetail(changes []config.Change) map[string]any {
	d := map[string]any{"changes": changes}
	if len(changes) > configAuditDetail {
		d["changes"], d["changes_left_out"] = changes[:configAuditDetail], len(changes)-configAuditDetail
	}
	return d
}

// recordConfigAtStart compares the configuration sspr starts with against
// the snapshot taken at the last start or reload and records the
// difference per key in the audit log ("config.start": old → new, secrets
// as "changed"), then stores the new snapshot, in one transaction. The
// first start records that there was nothing to compare with.
func (a *App) recordConfigAtStart(ctx context.Context) error {
	cur := config.TakeSnapshot(a.cfg, snapshotKey(a.cfg))
	data, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	return a.store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		prevJSON, ok, err := tx.ConfigSnapshot()
		if err != nil {
			return err
		}
		ev := audit.Event{At: a.now(), Event: "config.start", Actor: "sspr", Outcome: audit.Info}
		if !ok {
			ev.Detail = map[string]any{"first_start": true}
		} else {
			var prev config.Snapshot
			if err := json.Unmarshal([]byte(prevJSON), &prev); err != nil {
				return fmt.Errorf("reading the stored configuration snapshot: %w", err)
			}
			changes := config.DiffSnapshots(prev, cur)
			if len(changes) == 0 {
				return nil // nothing to record: same configuration as before
			}
			ev.Outcome, ev.Detail = audit.Success, changesDetail(changes)
		}
		if err := a.chain.Append(tx, ev); err != nil {
			return err
		}
		return tx.SetConfigSnapshot(string(data), a.now())
	})
}

// configChangeOnReload is what Reload records of cfg replacing old: the
// changes per key for the audit row, and the snapshot to store with it.
func configChangeOnReload(old, cfg *config.Config) ([]config.Change, string) {
	key := snapshotKey(cfg)
	cur := config.TakeSnapshot(cfg, key)
	data, _ := json.Marshal(cur) // a map of strings always marshals
	return config.DiffSnapshots(config.TakeSnapshot(old, key), cur), string(data)
}
