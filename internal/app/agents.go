package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/secrets"
)

func newAgents(cfg *config.Config, kit *flow.Kit) *flow.Agents {
	return &flow.Agents{Kit: kit, TokenKey: secrets.Derive(cfg.HMACKeyBytes(), "agent-token")}
}

// AgentAdmin opens the store for `sspr agents` (issue tokens, list, revoke)
// without starting a server; close releases it.
func AgentAdmin(ctx context.Context, cfg *config.Config, log *slog.Logger) (agents *flow.Agents, close func() error, err error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	kit := &flow.Kit{Store: st, Audit: audit.NewChain(cfg.HMACKeyBytes()), Log: log, Now: time.Now}
	return newAgents(cfg, kit), st.Close, nil
}
