package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/store"
)

// storeCmd is `sspr store`: the database file's schema, backups and
// restores (docs/operations.md, "Backups, restores and upgrades").
func storeCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{Use: "store", Short: "Inspect, migrate, back up and restore the database (storage.path)"}
	configFlag(cmd.PersistentFlags(), &path)
	load := func(cmd *cobra.Command) (*config.Config, error) {
		p, err := configPath(cmd, path, nil)
		if err != nil {
			return nil, err
		}
		return mustLoadConfig(cmd, p)
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Print the database's schema (applied and pending migrations), size and rows, changing nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			sc, err := app.InspectStore(cmd.Context(), cfg.Storage.Driver, cfg.Storage.Target())
			if err != nil {
				return err
			}
			printSchema(cmd.OutOrStdout(), sc)
			if len(sc.Unknown) > 0 {
				return &app.SchemaTooNewError{Schema: sc.Newest, Known: sc.Known}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Apply the schema changes this sspr carries now (serve does it at start), each logged",
		Long: `Apply the schema changes this sspr carries, each logged ("applied database
migration"), as sspr serve does at start. Take a backup first ("sspr store
backup FILE"). A database a newer sspr upgraded is refused: this binary
would not know its tables.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			db := cfg.Storage.Path
			if cfg.Storage.Driver == "postgres" {
				db = store.RedactDSN(cfg.Storage.Target())
			} else if _, err := os.Stat(db); err != nil {
				return fmt.Errorf("storage.path: cannot read the database %s: %w", db, errors.Unwrap(err))
			}
			before, err := app.InspectStore(cmd.Context(), cfg.Storage.Driver, cfg.Storage.Target())
			if err != nil {
				return err
			}
			if len(before.Unknown) > 0 {
				return &app.SchemaTooNewError{Schema: before.Newest, Known: before.Known}
			}
			if err := app.MigrateStore(cmd.Context(), cfg, slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d migration(s) applied; schema %d\n", db, len(before.Pending()), before.Known)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent, checked copy of the database to FILE (safe while sspr serve runs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			db := cfg.Storage.Path
			began := time.Now()
			if err := app.BackupStore(cmd.Context(), cfg, args[0]); err != nil {
				return err
			}
			sc, err := app.InspectStore(cmd.Context(), "sqlite", args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: backup of %s, schema %d, %s, integrity checked, in %s\n",
				args[0], db, sc.Newest, bytesText(sc.SizeBytes), time.Since(began).Round(time.Millisecond))
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "restore FILE",
		Short: "Put the backup FILE in place of the database (sspr serve must be stopped); the old file is kept",
		Long: `Put the backup FILE in place of the database. FILE is checked first (SQLite's
integrity check, and a schema this sspr knows); the database must not be
open in any process (stop sspr serve); the file it replaces is kept next to
it as <storage.path>.before-restore-<time>. Afterwards, "sspr audit verify
--checkpoint FILE" lists the audit checkpoints the backup no longer holds:
expected after a restore, and a record of what was lost.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			db := cfg.Storage.Path
			kept, err := app.RestoreStore(cmd.Context(), cfg, args[0], time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: restored from %s\n", db, args[0])
			if kept != "" {
				fmt.Fprintf(out, "the database it replaced is kept as %s\n", kept)
			}
			fmt.Fprintln(out, `next: "sspr audit verify --checkpoint FILE" shows which audit checkpoints the backup no longer holds`)
			return nil
		},
	})
	return cmd
}

func printSchema(w io.Writer, sc app.StoreSchema) {
	fmt.Fprintf(w, "database: %s (%s)\n", sc.Path, bytesText(sc.SizeBytes))
	fmt.Fprintf(w, "schema:   %d applied, this sspr knows up to %d\n", sc.Newest, sc.Known)
	for _, m := range sc.Migrations {
		state := "pending"
		if !m.AppliedAt.IsZero() {
			state = "applied " + m.AppliedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  %-32s %s\n", m.Name, state)
	}
	for _, v := range sc.Unknown {
		fmt.Fprintf(w, "  %04d (unknown: applied by a newer sspr)\n", v)
	}
	fmt.Fprintln(w, "rows:")
	for _, t := range []string{"flows", "enrollments", "outbox", "audit", "abuse_events", "agents", "sync_outcomes"} {
		if n, ok := sc.Rows[t]; ok {
			fmt.Fprintf(w, "  %-14s %d\n", t, n)
		}
	}
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
