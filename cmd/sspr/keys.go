package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/secrets"
)

// keysCmd is "sspr keys": create and extend the keyring that encrypts data
// at rest (see package secrets for the file format).
func keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keyring that encrypts stored secrets",
		Long: `sspr encrypts the secrets it stores (authenticator seeds, phone numbers,
hashed backup codes, passkey credentials) with AES-256-GCM under a keyring:
a file of versioned keys, one line "VERSION:BASE64KEY" each, the highest
version current. Rotate a key in two steps: "sspr keys add" makes a new
current version (old data still opens), then "sspr keys rotate" re-encrypts
stored data with it. Keep the keyring file secret and backed up: data
encrypted under a lost key is lost.`,
	}

	var out string
	var force bool
	generate := &cobra.Command{
		Use:   "generate --out FILE",
		Short: "Write a new keyring file with one random key (version 1)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := secrets.GenerateKey()
			if err != nil {
				return err
			}
			ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: key})
			if err != nil {
				return err
			}
			if err := secrets.WriteKeyRingFile(out, ring, force); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote keyring %s (mode 0600) with key version 1\n", out)
			return nil
		},
	}
	generate.Flags().StringVar(&out, "out", "", "keyring file to create (refused if it exists)")
	generate.Flags().BoolVar(&force, "force", false, "replace an existing file (data sealed with its keys becomes unreadable)")
	_ = generate.MarkFlagRequired("out")

	var addPath string
	add := &cobra.Command{
		Use:   "add --keyring FILE",
		Short: "Add a new random key that becomes current, keeping the old ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ring, err := secrets.LoadKeyRing(addPath)
			if err != nil {
				return err
			}
			key, err := secrets.GenerateKey()
			if err != nil {
				return err
			}
			next, err := ring.WithNewKey(key)
			if err != nil {
				return err
			}
			if err := secrets.WriteKeyRingFile(addPath, next, true); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added key version %d (current); keyring %s holds versions %s\n",
				next.Current(), addPath, keysVersionList(next.Versions()))
			fmt.Fprintln(cmd.OutOrStdout(), `run "sspr keys rotate" to re-encrypt stored data with the new key`)
			return nil
		},
	}
	add.Flags().StringVar(&addPath, "keyring", "", "keyring file to extend")
	_ = add.MarkFlagRequired("keyring")

	var listPath string
	list := &cobra.Command{
		Use:   "list --keyring FILE",
		Short: "Show the versions a keyring holds and which is current (never the keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ring, err := secrets.LoadKeyRing(listPath)
			if err != nil {
				return err
			}
			for _, v := range ring.Versions() {
				mark := ""
				if v == ring.Current() {
					mark = " (current)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "version %d%s\n", v, mark)
			}
			return nil
		},
	}
	list.Flags().StringVar(&listPath, "keyring", "", "keyring file to read")
	_ = list.MarkFlagRequired("keyring")

	cmd.AddCommand(generate, add, list, keysRotateCmd())
	return cmd
}

// keysVersionList formats versions as "1, 2, 3".
func keysVersionList(vs []uint32) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// keysRotateCmd re-encrypts stored secrets with the key ring's current key.
func keysRotateCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "rotate [FILE]",
		Short: "Re-encrypt every stored secret with the key ring's current key (run after `sspr keys add`)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(cmd, path, args)
			if err != nil {
				return err
			}
			cfg, err := mustLoadConfig(cmd, path)
			if err != nil {
				return err
			}
			n, version, err := app.RotateKeys(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "re-encrypted %d secret(s) with key version %d\n", n, version)
			return nil
		},
	}
	configFlag(cmd.Flags(), &path)
	return cmd
}
