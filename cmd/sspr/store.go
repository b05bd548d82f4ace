package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
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
				db = app.RedactDSN(cfg.Storage.Target())
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
		Short: "Write a consistent, checked copy of the database to FILE (safe while sspr serve runs; pg_dump on PostgreSQL)",
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
			if cfg.Storage.Driver == "postgres" {
				var size int64
				if fi, err := os.Stat(args[0]); err == nil {
					size = fi.Size()
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: backup of %s (pg_dump custom format), %s, read back, in %s\n",
					args[0], app.RedactDSN(cfg.Storage.Target()), bytesText(size), time.Since(began).Round(time.Millisecond))
				return nil
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
		Short: "Put the backup FILE in place of the database (sspr serve must be stopped); the old file is kept (PostgreSQL: into a new, empty database)",
		Long: `Put the backup FILE in place of the database. FILE is checked first (SQLite's
integrity check, and a schema this sspr knows); the database must not be
open in any process (stop sspr serve); the file it replaces is kept next to
it as <storage.path>.before-restore-<time>. Afterwards, "sspr audit verify
--checkpoint FILE" lists the audit checkpoints the backup no longer holds:
expected after a restore, and a record of what was lost.

With storage.driver postgres, FILE is a "sspr store backup" (pg_dump custom
format) and storage.dsn must name a new, empty database (createdb): it is
restored there in one transaction (pg_restore); then start sspr on it.`,
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
			if cfg.Storage.Driver == "postgres" {
				db = app.RedactDSN(cfg.Storage.Target())
			}
			fmt.Fprintf(out, "%s: restored from %s\n", db, args[0])
			if kept != "" {
				fmt.Fprintf(out, "the database it replaced is kept as %s\n", kept)
			}
			fmt.Fprintln(out, `next: "sspr audit verify --checkpoint FILE" shows which audit checkpoints the backup no longer holds`)
			return nil
		},
	})
	cmd.AddCommand(storeCopyCmd())
	return cmd
}

// storeCopyCmd is `sspr store copy --from sqlite:PATH --to postgres:DSN`:
// the move from SQLite to PostgreSQL (docs/operations.md, "PostgreSQL").
func storeCopyCmd() *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "copy --from sqlite:PATH --to postgres:DSN",
		Short: "Copy every table of a SQLite database into a new, empty PostgreSQL database, in one transaction",
		Long: `Copy every table of a SQLite database into a PostgreSQL database, in one
PostgreSQL transaction: all rows arrive or none. The PostgreSQL database is
migrated to this sspr's schema first and must hold no rows (a copy never
mixes two databases); the SQLite file must be at this sspr's schema ("sspr
store migrate" first). Stop sspr serve before copying: rows written during
the copy are not copied. Then set storage.driver: postgres and storage.dsn.
DSN may also be read from the environment variable SSPR_STORE_COPY_DSN
(--to postgres:env), so the password stays off the command line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, ok := strings.CutPrefix(from, "sqlite:")
			if !ok || src == "" {
				return errors.New("--from must be sqlite:PATH (the SQLite database file)")
			}
			dst, ok := strings.CutPrefix(to, "postgres:")
			if !ok || dst == "" {
				return errors.New("--to must be postgres:DSN (e.g. postgres:postgres://sspr@db.example.com/sspr?sslmode=verify-full) or postgres:env")
			}
			if dst == "env" {
				if dst = os.Getenv("SSPR_STORE_COPY_DSN"); dst == "" {
					return errors.New("--to postgres:env: SSPR_STORE_COPY_DSN is not set")
				}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			began := time.Now()
			res, err := app.CopyStore(cmd.Context(), src, dst, log)
			if err != nil {
				return err
			}
			var rows int64
			for _, n := range res.Tables {
				rows += n
			}
			fmt.Fprintf(cmd.OutOrStdout(), "copied %d rows in %d tables from %s to %s in %s\n",
				rows, len(res.Tables), src, app.RedactDSN(dst), time.Since(began).Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "the source: sqlite:PATH")
	c.Flags().StringVar(&to, "to", "", "the target: postgres:DSN, or postgres:env to read SSPR_STORE_COPY_DSN")
	return c
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
