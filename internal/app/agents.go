package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
)

func newAgents(cfg *config.Config, st *store.Store, chain *audit.Chain, log *slog.Logger, now func() time.Time) *flow.Agents {
	return &flow.Agents{Store: st, Audit: chain, TokenKey: secrets.Derive(cfg.HMACKeyBytes(), "agent-token"), Log: log, Now: now}
}

// AgentAdmin opens the store for `sspr agents` (issue tokens, list, revoke)
// without starting a server; close releases it.
func AgentAdmin(ctx context.Context, cfg *config.Config, log *slog.Logger) (agents *flow.Agents, close func() error, err error) {
	st, err := store.OpenSQLite(ctx, cfg.Storage.Path)
	if err != nil {
		return nil, nil, err
	}
	return newAgents(cfg, st, audit.NewChain(cfg.HMACKeyBytes()), log, time.Now), st.Close, nil
}
