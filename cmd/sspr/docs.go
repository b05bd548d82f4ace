package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// docsCmd writes reference documentation generated from the command tree
// itself, so the man pages the packages ship can never describe flags the
// binary does not have. Hidden: it is a build step of scripts/package.sh,
// not something operators run.
func docsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "docs",
		Short:  "Generate reference documentation (used when building packages)",
		Hidden: true,
	}
	man := &cobra.Command{
		Use:   "man DIR",
		Short: "Write one man page (section 1) per command into DIR",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			// A fixed date keeps package builds reproducible: the page
			// otherwise carries the build time. SOURCE_DATE_EPOCH is the
			// reproducible-builds convention for it.
			date := time.Unix(0, 0).UTC()
			if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
				var epoch int64
				if _, err := fmt.Sscan(s, &epoch); err != nil {
					return fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
				}
				date = time.Unix(epoch, 0).UTC()
			}
			root.DisableAutoGenTag = true
			header := &doc.GenManHeader{
				Title:   "SSPR",
				Section: "1",
				Source:  "sspr " + versionString(),
				Manual:  "sspr manual",
				Date:    &date,
			}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("writing man pages to %s: %w", dir, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote man pages to %s\n", dir)
			return nil
		},
	}
	cmd.AddCommand(man)
	return cmd
}
