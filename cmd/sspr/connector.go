package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
)

// connectorCmd is "sspr connector": the outbound-only connector that runs
// next to a directory and serves a remote sspr server (docs/connector.md).
func connectorCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "connector",
		Short: "Run an outbound-only connector next to a directory, serving a remote sspr server",
		Long: `sspr connector runs inside the network next to Active Directory or an LDAP
directory and dials out over https to an sspr server elsewhere (the cloud):
the server performs its directory operations through it, and no inbound
port is opened. Run two or more for failover. The connector's file names the
server, its key (from sspr connectors add on the server) and the local
directory (docs/connector.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cf, err := config.LoadConnector(path)
			if err != nil {
				return err
			}
			ctx, cancel := interruptible(cmd.Context())
			defer cancel()
			return app.RunConnector(ctx, cf, newLogger(cmd.ErrOrStderr(), cf.Log))
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/sspr/connector.yaml", "the connector's configuration file")
	return cmd
}

// connectorsCmd is "sspr connectors": add, list, revoke connectors on the
// server.
func connectorsCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "connectors",
		Short: "Add, list and revoke outbound-only directory connectors",
		Long: `Each connector (sspr connector, next to a directory) proves itself with an
Ed25519 key. add makes the key pair, keeps the public half and writes the
private half for the connector; revoke refuses the connector from now on and
drops its live connection.`,
	}
	cmd.PersistentFlags().StringVarP(&path, "config", "c", "/etc/sspr/sspr.yaml", "configuration file")

	var dir, keyOut string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a connector for a directory of type connector and write its private key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyOut == "" {
				return errors.New("--key-out FILE is required: where the connector's private key goes")
			}
			cs, closeStore, err := openConnectors(cmd, path)
			if err != nil {
				return err
			}
			defer closeStore()
			f, err := os.OpenFile(keyOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("--key-out: %w", err)
			}
			key, err := cs.Add(cmd.Context(), args[0], dir, "cli")
			if err == nil {
				_, err = f.Write(key)
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(keyOut)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added connector %s for directory %s; its key is in %s\n", args[0], dir, keyOut)
			fmt.Fprintln(cmd.ErrOrStderr(), "copy the key to the connector's host (key_file in its connector.yaml) and delete it here")
			return nil
		},
	}
	add.Flags().StringVar(&dir, "directory", "", "the directory of type connector it serves (required)")
	add.Flags().StringVar(&keyOut, "key-out", "", "file to write the private key to (created, mode 0600)")
	_ = add.MarkFlagRequired("directory")

	list := &cobra.Command{
		Use:   "list",
		Short: "List connectors: name, directory, last connected, state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, closeStore, err := openConnectors(cmd, path)
			if err != nil {
				return err
			}
			defer closeStore()
			all, err := cs.List(cmd.Context())
			if err != nil {
				return err
			}
			if len(all) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no connectors were added")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDIRECTORY\tLAST CONNECTED\tADDRESS\tSTATE")
			for _, c := range all {
				state, seen := "active", "never"
				if !c.RevokedAt.IsZero() {
					state = "revoked"
				}
				if !c.LastSeenAt.IsZero() {
					seen = c.LastSeenAt.Local().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.Directory, seen, c.LastIP, state)
			}
			return tw.Flush()
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a connector: refused from now on, its live connection dropped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, closeStore, err := openConnectors(cmd, path)
			if err != nil {
				return err
			}
			defer closeStore()
			ok, err := cs.Revoke(cmd.Context(), args[0], "cli")
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no active connector is named %q (see sspr connectors list)", args[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked connector %s\n", args[0])
			return nil
		},
	}

	pin := &cobra.Command{
		Use:   "pin CERT.pem",
		Short: "Print the server_pin of a certificate (the server's), for connector.yaml",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pin, err := app.CertificatePin(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), pin)
			return nil
		},
	}
	cmd.AddCommand(add, list, revoke, pin)
	return cmd
}

func openConnectors(cmd *cobra.Command, path string) (*app.Connectors, func() error, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	return app.ConnectorAdmin(cmd.Context(), cfg)
}
