package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/flow"
)

func policyCmd() *cobra.Command {
	var path, from, at string
	cmd := &cobra.Command{Use: "policy", Short: "Inspect the policies by population (docs/policies.md)"}
	configFlag(cmd.PersistentFlags(), &path)
	explain := &cobra.Command{
		Use:   "explain LOGIN [FILE]",
		Short: "Print which policy applies to one account and why: every rule checked, which matched; and its conditional-access rules",
		Long: `Print which policy applies to one account and why: every rule checked and
whether it matched, what the chosen policy asks, and the conditional-access
rules (access:) that can decide for its people. With --from (and --at) it
also prints what the rules decide for a request from that address at that
time: at the first step (rules for everybody) and after the first factor.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(cmd, path, args[1:])
			if err != nil {
				return err
			}
			cfg, err := mustLoadConfig(cmd, path)
			if err != nil {
				return err
			}
			var req *access.Request
			if from != "" || at != "" {
				if req, err = accessRequest(from, at); err != nil {
					return err
				}
			}
			return explainPolicy(cmd.Context(), cmd.OutOrStdout(), cfg, args[0], req)
		},
	}
	explain.Flags().StringVar(&from, "from", "", "client address of a request to decide the access rules for (e.g. 203.0.113.9)")
	explain.Flags().StringVar(&at, "at", "", "time of that request, RFC 3339 (e.g. 2026-12-07T23:00:00+01:00); default now")
	cmd.AddCommand(explain)
	return cmd
}

// accessRequest is the request --from and --at describe.
func accessRequest(from, at string) (*access.Request, error) {
	req := &access.Request{ClientIP: from, At: time.Now()}
	if from != "" {
		if _, err := netip.ParseAddr(from); err != nil {
			return nil, fmt.Errorf("--from %q is not an IP address", from)
		}
	}
	if at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, fmt.Errorf("--at %q is not an RFC 3339 time like 2026-12-07T23:00:00+01:00", at)
		}
		req.At = t
	}
	return req, nil
}

// explainPolicy prints which policy of cfg applies to login, and why.
func explainPolicy(ctx context.Context, w io.Writer, cfg *config.Config, login string, req *access.Request) error {
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
	if err := d.Explain(w); err != nil {
		return err
	}
	return explainAccess(w, cfg, d.Policy.Name, req)
}

// explainAccess prints the conditional-access rules that can decide for
// people of policy and, for req, what they decide.
func explainAccess(w io.Writer, cfg *config.Config, policy string, req *access.Request) error {
	rules, geo, err := app.Access(cfg)
	if err != nil {
		return err
	}
	if geo != nil {
		defer geo.Close()
	}
	mine := rules.For(policy)
	if len(mine) == 0 {
		fmt.Fprintln(w, "access rules: none (the policy applies as it is)")
	} else {
		fmt.Fprintln(w, "access rules (in order; the first whose conditions hold decides):")
		for _, r := range mine {
			fmt.Fprintf(w, "  %s\n", r.Describe())
		}
	}
	if req == nil {
		return nil
	}
	fmt.Fprintf(w, "a request from %s at %s:\n", orNone(req.ClientIP), req.At.Format(time.RFC3339))
	for _, step := range []struct{ name, policy string }{{"first step (everybody)", ""}, {"after the first factor", policy}} {
		dec := rules.Decide(*req, step.policy)
		fmt.Fprintf(w, "  %-24s %s (%s)\n", step.name+":", dec.Effect, dec.Reason)
	}
	fmt.Fprintln(w, "  (a device condition is decided as for an unknown device)")
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no address"
	}
	return s
}
