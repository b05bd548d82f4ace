package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
)

// enrollCmd is "sspr enroll": enrollment administration.
func enrollCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Pre-enroll people's mail addresses and mobile numbers in bulk",
	}
	cmd.PersistentFlags().StringVarP(&path, "config", "c", "/etc/sspr/sspr.yaml", "configuration file")
	var dryRun, asJSON bool
	imp := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import a CSV (login,kind,value[,directory]): every row checked, all or nothing",
		Long: `Reads a CSV whose first line names the columns login, kind (email or sms),
value (the address or the number in international form) and, optionally,
directory. Every row is checked — the person exists, the kind is offered,
the value is valid, no row repeats another — and then either every row is
imported in one transaction, sealed like any enrollment, or nothing is and
every problem is listed with its line number (exit status 1). People who
already have that kind enrolled are left as they are.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			a, err := app.New(cmd.Context(), cfg, newLogger(cmd.ErrOrStderr(), cfg.Log), app.Options{})
			if err != nil {
				return err
			}
			defer a.Close()
			res, err := a.AdminFlow().ImportEnrollments(cmd.Context(), f, "cli", "", dryRun)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				for _, p := range res.Problems {
					fmt.Fprintf(out, "%s:%d: %s\n", args[0], p.Line, p.Message)
				}
				if res.ProblemCount > len(res.Problems) {
					fmt.Fprintf(out, "... and %d more problems\n", res.ProblemCount-len(res.Problems))
				}
			}
			switch {
			case res.ProblemCount > 0:
				return fmt.Errorf("%d of %d rows have problems: nothing was imported", res.ProblemCount, res.Rows)
			case dryRun:
				fmt.Fprintf(cmd.ErrOrStderr(), "dry run: %d rows would be imported, %d are enrolled already\n", res.Rows-res.Unchanged, res.Unchanged)
			default:
				fmt.Fprintf(cmd.ErrOrStderr(), "imported %d enrollments; %d rows were enrolled already\n", res.Imported, res.Unchanged)
			}
			return nil
		},
	}
	imp.Flags().BoolVar(&dryRun, "dry-run", false, "check every row, import nothing")
	imp.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(imp)
	return cmd
}
