package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/flow"
)

// agentsCmd is "sspr agents": the login-screen agents (machine identity).
func agentsCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "Register, list and revoke login-screen agents",
		Long: `A login-screen agent (sspr-agent on a managed machine) registers once with a
one-time token issued here, then signs every request with its own key, so
sspr knows the request comes from that machine: limits per machine, audit
records naming it, and revocation.`,
	}
	cmd.PersistentFlags().StringVarP(&path, "config", "c", "/etc/sspr/sspr.yaml", "configuration file")

	var ttl time.Duration
	token := &cobra.Command{
		Use:   "token MACHINE-NAME",
		Short: "Issue a one-time registration token for a machine (sspr-agent register --token ...)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			agents, closeStore, err := openAgents(cmd, path)
			if err != nil {
				return err
			}
			defer closeStore()
			tok, expires, err := agents.IssueToken(cmd.Context(), args[0], ttl, "cli")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			fmt.Fprintf(cmd.ErrOrStderr(), "one-time token for %s, valid until %s: on the machine run\n  sspr-agent register --token TOKEN\n",
				args[0], expires.Local().Format("2006-01-02 15:04"))
			return nil
		},
	}
	token.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token may be used")

	list := &cobra.Command{
		Use:   "list",
		Short: "List registered agents: name, version, last seen, revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			agents, closeStore, err := openAgents(cmd, path)
			if err != nil {
				return err
			}
			defer closeStore()
			all, err := agents.List(cmd.Context())
			if err != nil {
				return err
			}
			if len(all) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no agents are registered")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tLAST SEEN\tADDRESS\tSTATE\tID")
			for _, a := range all {
				state, seen := "active", "never"
				if a.Revoked {
					state = "revoked"
				}
				if !a.LastSeenAt.IsZero() {
					seen = a.LastSeenAt.Local().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Version, seen, a.LastIP, state, a.ID)
			}
			return tw.Flush()
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke NAME-OR-ID",
		Short: "Revoke an agent: its signed requests are refused from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			agents, closeStore, err := openAgents(cmd, path)
			if err != nil {
				return err
			}
			defer closeStore()
			n, err := agents.Revoke(cmd.Context(), args[0], "cli")
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("no active agent is named or numbered %q (see sspr agents list)", args[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %d agent(s)\n", n)
			return nil
		},
	}
	cmd.AddCommand(token, list, revoke)
	return cmd
}

// openAgents loads the configuration and opens the agents' store for one
// `sspr agents` command.
func openAgents(cmd *cobra.Command, path string) (*flow.Agents, func() error, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	return app.AgentAdmin(cmd.Context(), cfg, newLogger(cmd.ErrOrStderr(), cfg.Log))
}
