package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
)

func auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify and export the tamper-evident audit log"}
	cmd.AddCommand(auditVerifyCmd(), auditExportCmd())
	return cmd
}

// openAudit opens the database cfg names, which must exist: opening a
// missing one would create an empty database and hide the real problem.
func openAudit(ctx context.Context, cfg *config.Config) (auditLog, error) {
	if cfg.Storage.Driver == "postgres" {
		return app.OpenAuditLog(ctx, cfg)
	}
	if _, err := os.Stat(cfg.Storage.Path); err != nil {
		return nil, fmt.Errorf("storage.path: cannot read the database %s: %w", cfg.Storage.Path, errors.Unwrap(err))
	}
	return app.OpenAuditLog(ctx, cfg)
}

// auditLog is the database as `sspr audit` reads it.
type auditLog interface {
	audit.Reader
	Close() error
}

func auditVerifyCmd() *cobra.Command {
	var path, checkpointFile, head, export string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's chain, and that it still holds the given checkpoints (exit status 1 on any problem)",
		Long: `Walks the whole audit log and checks every row's MAC and its link to the row
before, the MAC'd record of the log's end, and the record of its creation.

--checkpoint FILE also checks every checkpoint in FILE (audit.checkpoint_file,
or lines collected from the "audit checkpoint" log lines): a database that no
longer holds a checkpoint's row with that hash had rows cut off the end or was
replaced by an older copy, however consistent it is in itself. --head takes one
checkpoint as JSON (a line of that file, or the JSON log line).

--export FILE checks a file written by "sspr audit export" instead of the
database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			chain := audit.NewChain(cfg.HMACKeyBytes())
			if export != "" {
				f, err := os.Open(export)
				if err != nil {
					return err
				}
				defer f.Close()
				n, err := chain.VerifyExported(f)
				if err != nil {
					fmt.Fprintf(out, "PROBLEM: %s\n", strings.TrimPrefix(err.Error(), "audit: "))
					return fmt.Errorf("the export %s failed verification after %d good row(s)", export, n)
				}
				fmt.Fprintf(out, "export %s: %d row(s), every hash and link intact\n", export, n)
				return nil
			}
			var cps []audit.Checkpoint
			if checkpointFile != "" {
				f, err := os.Open(checkpointFile)
				if err != nil {
					return err
				}
				cps, err = audit.ReadCheckpoints(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", checkpointFile, err)
				}
				if len(cps) == 0 {
					return fmt.Errorf("%s holds no checkpoint", checkpointFile)
				}
			}
			if head != "" {
				var cp audit.Checkpoint
				if err := json.Unmarshal([]byte(head), &cp); err != nil || cp.MAC == "" {
					return fmt.Errorf("--head: not a checkpoint (want the JSON of an \"audit checkpoint\" line): %v", err)
				}
				cps = append(cps, cp)
			}
			ctx := cmd.Context()
			st, err := openAudit(ctx, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			var problems []string
			n, err := chain.Verify(ctx, st)
			if err != nil {
				problems = append(problems, err.Error())
				fmt.Fprintf(out, "chain: %d row(s) good before the first problem\n", n)
			} else {
				fmt.Fprintf(out, "chain: %d row(s), every row and link intact\n", n)
			}
			if m, ok, err := chain.Retention(ctx, st); err == nil && ok {
				fmt.Fprintf(out, "retention: rows up to %d (written before %s) were deleted by audit.retention; the chain is checked from there\n",
					m.LastID, m.Before.Format(time.RFC3339))
			}
			held, before := 0, 0
			for _, cp := range cps {
				switch err := chain.CheckCheckpoint(ctx, st, cp); {
				case errors.Is(err, audit.ErrBeforeRetention):
					before++
				case err != nil:
					problems = append(problems, err.Error())
				default:
					held++
				}
			}
			if len(cps) > 0 {
				newest := cps[len(cps)-1]
				fmt.Fprintf(out, "checkpoints: %d of %d held by the database (newest: row %d of %s)", held, len(cps), newest.LastID, newest.At.Format(time.RFC3339))
				if before > 0 {
					fmt.Fprintf(out, "; %d before retention (their rows were deleted by audit.retention)", before)
				}
				fmt.Fprintln(out)
			}
			for _, p := range problems {
				fmt.Fprintf(out, "PROBLEM: %s\n", strings.TrimPrefix(p, "audit: "))
			}
			if len(problems) > 0 {
				return fmt.Errorf("the audit log failed verification (%d problem%s)", len(problems), plural(len(problems), "", "s"))
			}
			fmt.Fprintln(out, "the audit log is intact")
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/sspr/sspr.yaml", "configuration file")
	cmd.Flags().StringVar(&checkpointFile, "checkpoint", "", "file of checkpoints (audit.checkpoint_file) the database must still hold")
	cmd.Flags().StringVar(&head, "head", "", "one checkpoint as JSON that the database must still hold")
	cmd.Flags().StringVar(&export, "export", "", "check a file written by `sspr audit export` instead of the database")
	return cmd
}

func auditExportCmd() *cobra.Command {
	var path, since, until, output string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the audit log as JSON lines, one event per line, with each row's id and hashes",
		Long: `Writes audit events oldest first, one JSON object per line: id, at, event, flow,
actor, subject, directory, client_ip, outcome, reason, detail (the stored JSON
text), prev_hash and hash. Each prev_hash is the hash of the row before, so the
links can be checked without any key; "sspr audit verify --export FILE" checks
every hash too (it needs the installation's key).

--since and --until take a date (2026-01-31) or a time (2026-01-31T08:00:00Z);
--until is exclusive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r audit.Range
			var err error
			if r.Since, err = parseWhen("--since", since); err != nil {
				return err
			}
			if r.Until, err = parseWhen("--until", until); err != nil {
				return err
			}
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			st, err := openAudit(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			var w io.Writer = cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			n, err := audit.Export(cmd.Context(), st, w, r)
			if err != nil {
				return err
			}
			if f, ok := w.(*os.File); ok && output != "" {
				if err := f.Sync(); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d event(s)\n", n)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/sspr/sspr.yaml", "configuration file")
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this date or time")
	cmd.Flags().StringVar(&until, "until", "", "only events before this date or time")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this new file (created 0600) instead of standard output")
	return cmd
}

func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s: %q is neither a date (2026-01-31) nor a time (2026-01-31T08:00:00Z)", flag, s)
}
