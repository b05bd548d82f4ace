package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/jobs"
)

// jobsCmd is "sspr jobs": the scheduled jobs (docs/admin.md "Scheduled
// jobs").
func jobsCmd() *cobra.Command {
	var path string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List the scheduled jobs or run one now",
	}
	cmd.PersistentFlags().StringVarP(&path, "config", "c", "/etc/sspr/sspr.yaml", "configuration file")
	open := func(cmd *cobra.Command) (*app.App, *jobs.Runner, error) {
		cfg, err := config.Load(path)
		if err != nil {
			return nil, nil, err
		}
		a, err := app.New(cmd.Context(), cfg, newLogger(cmd.ErrOrStderr(), cfg.Log), app.Options{})
		if err != nil {
			return nil, nil, err
		}
		r, err := a.JobRunner()
		if err != nil {
			a.Close()
			return nil, nil, err
		}
		return a, r, nil
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the enabled jobs: schedule, next run, last run and its result, who runs one now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, r, err := open(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			st, err := r.List(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			if len(st) == 0 {
				fmt.Fprintln(out, "no scheduled job is enabled (see the jobs section of the configuration)")
				return nil
			}
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSCHEDULE\tNEXT\tLAST ENDED\tRUNNING ON\tLAST RESULT")
			when := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.Local().Format("2006-01-02 15:04")
			}
			for _, s := range st {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Schedule, when(s.Next), when(s.LastEnded), firstOr(s.Holder, "-"), firstOr(s.LastResult, "-"))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	run := &cobra.Command{
		Use:   "run NAME",
		Short: "Run an enabled job now (unless another process is running it), and print what it did",
		Long: `Runs the job at once, whatever its schedule, taking its lease like the
scheduler: if a running sspr holds it, nothing is done and the command
fails. What was already sent in the current period is not sent again. The
run is audited (job.run) like a scheduled one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, r, err := open(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			j, ok := r.Job(args[0])
			if !ok {
				var names []string
				for _, j := range r.Jobs {
					names = append(names, j.Name)
				}
				return fmt.Errorf("no enabled job is called %q (enabled: %v)", args[0], names)
			}
			out, err := r.RunJob(cmd.Context(), j, true)
			if err != nil {
				return err
			}
			if out == jobs.Busy {
				return fmt.Errorf("job %s is running in another process now", j.Name)
			}
			st, err := r.List(cmd.Context())
			if err != nil {
				return err
			}
			for _, s := range st {
				if s.Name == j.Name {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", j.Name, s.LastResult)
				}
			}
			return nil
		},
	}
	cmd.AddCommand(list, run)
	return cmd
}

func firstOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
