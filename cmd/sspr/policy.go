package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/flow"
)

func policyCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{Use: "policy", Short: "Inspect the policies by population (docs/policies.md)"}
	configFlag(cmd.PersistentFlags(), &path)
	cmd.AddCommand(&cobra.Command{
		Use:   "explain LOGIN [FILE]",
		Short: "Print which policy applies to one account and why: every rule checked, which matched",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(cmd, path, args[1:])
			if err != nil {
				return err
			}
			cfg, err := mustLoadConfig(cmd, path)
			if err != nil {
				return err
			}
			return explainPolicy(cmd.Context(), cmd.OutOrStdout(), cfg, args[0])
		},
	})
	return cmd
}

// explainPolicy prints which policy of cfg applies to login, and why.
func explainPolicy(ctx context.Context, w io.Writer, cfg *config.Config, login string) error {
	set, err := app.Policies(cfg)
	if err != nil {
		return err
	}
	dirs, err := app.Directories(cfg)
	if err != nil {
		return err
	}
	defer dirs.Close()
	u, d, err := (&flow.Inspector{Directories: dirs}).ExplainPolicy(ctx, set, login)
	if u == nil && err != nil {
		return errors.New(explainLookup(login, err))
	}
	if err != nil {
		return fmt.Errorf("choosing the policy of %s failed: %w", u.Login, err)
	}
	fmt.Fprintf(w, "%s (%s)\n  DN: %s\n", u.Login, u.Directory, u.DN)
	return d.Explain(w)
}
