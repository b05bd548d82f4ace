package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
)

// Moving from SQLite to PostgreSQL (`sspr store copy`).
//
// The copy reads the SQLite file in one read transaction (a consistent
// snapshot, so it may run beside sspr serve, though rows written after it
// began are not copied: stop sspr first for a real move) and writes every
// table into the PostgreSQL database in one transaction under the write
// lock: either all of it arrives or nothing does. The target must be empty
// (it is migrated first, to the schema this binary knows, which the source
// must also be at), so a copy never mixes two databases' rows.

// CopyResult is what CopySQLiteToPostgres copied: rows per table.
type CopyResult struct {
	Tables map[string]int64
}

// skipTables are not copied: the target's own migrations wrote them.
var skipTables = map[string]bool{"schema_migrations": true}

// replaceTables hold one row a migration inserted (the audit chain's
// genesis note): the target's is replaced by the source's.
var replaceTables = map[string]bool{"audit_genesis": true}

// CopySQLiteToPostgres copies every table of the SQLite database at src into
// the empty PostgreSQL database dst, in one PostgreSQL transaction.
func CopySQLiteToPostgres(ctx context.Context, src, dst string, log *slog.Logger) (CopyResult, error) {
	res := CopyResult{Tables: map[string]int64{}}
	if log == nil {
		log = applyOptions(nil).log
	}
	sc, err := Inspect(ctx, src)
	if err != nil {
		return res, err
	}
	if len(sc.Unknown) > 0 {
		return res, &SchemaTooNewError{Schema: sc.Newest, Known: sc.Known}
	}
	if p := sc.Pending(); len(p) > 0 {
		return res, fmt.Errorf("the SQLite database %s lacks %d migration(s) this sspr knows (first: %s): run \"sspr store migrate\" on it first", src, len(p), p[0].Name)
	}
	from, err := openReadOnly(ctx, src)
	if err != nil {
		return res, err
	}
	defer from.Close()
	to, err := OpenPostgres(ctx, dst, WithLogger(log))
	if err != nil {
		return res, err
	}
	defer to.Close()

	rtx, err := from.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, fmt.Errorf("reading %s: %w", src, err)
	}
	defer rtx.Rollback()
	tables, err := sqliteTables(ctx, rtx)
	if err != nil {
		return res, fmt.Errorf("reading %s: %w", src, err)
	}
	err = to.InTx(ctx, func(tx *Tx) error {
		// Statements built here run once: not through the statement cache.
		w, err := tx.tx.rawTx(ctx)
		if err != nil {
			return err
		}
		order, err := postgresTableOrder(ctx, w)
		if err != nil {
			return err
		}
		for _, t := range order {
			if skipTables[t] || replaceTables[t] {
				continue
			}
			var one int
			switch err := w.QueryRowContext(ctx, `SELECT 1 FROM `+quoteIdent(t)+` LIMIT 1`).Scan(&one); {
			case err == nil:
				return fmt.Errorf("the PostgreSQL database %s is not empty (table %s has rows): copy only into a new database", RedactDSN(dst), t)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		for _, t := range order {
			if skipTables[t] {
				continue
			}
			if !tables[t] {
				return fmt.Errorf("the SQLite database %s has no table %s", src, t)
			}
			if replaceTables[t] {
				if _, err := w.ExecContext(ctx, `DELETE FROM `+quoteIdent(t)); err != nil {
					return err
				}
			}
			n, err := copyTable(ctx, rtx, w, t)
			if err != nil {
				return fmt.Errorf("copying %s: %w", t, err)
			}
			res.Tables[t] = n
			log.Info("copied table", "table", t, "rows", n)
		}
		return resetIdentities(ctx, rtx, w)
	})
	return res, err
}

// sqliteTables are the source's tables (but SQLite's own).
func sqliteTables(ctx context.Context, tx *sql.Tx) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// postgresTableOrder lists the target's tables with every table after the
// tables its foreign keys reference, so rows can go in table by table.
func postgresTableOrder(ctx context.Context, tx querier) ([]string, error) {
	names, err := queryStrings(ctx, tx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
		JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		deps[child] = append(deps[child], parent)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var order []string
	done := map[string]bool{}
	var visit func(string)
	visit = func(t string) {
		if done[t] {
			return
		}
		done[t] = true
		for _, p := range deps[t] {
			visit(p)
		}
		order = append(order, t)
	}
	for _, t := range names {
		visit(t)
	}
	return order, nil
}

func queryStrings(ctx context.Context, tx querier, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// copyBatch bounds the rows of one INSERT (PostgreSQL allows 65,535
// parameters a statement).
const copyBatch = 500

// copyTable copies table t's rows, column by column as the target has them.
func copyTable(ctx context.Context, from *sql.Tx, to querier, t string) (int64, error) {
	cols, err := queryStrings(ctx, to, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, t)
	if err != nil {
		return 0, err
	}
	types, err := queryStrings(ctx, to, `SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, t)
	if err != nil {
		return 0, err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	list := strings.Join(quoted, ", ")
	rows, err := from.QueryContext(ctx, `SELECT `+list+` FROM `+quoteIdent(t))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	batch := make([]any, 0, copyBatch*len(cols))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + quoteIdent(t) + ` (` + list + `) VALUES `)
		for r := 0; r < len(batch)/len(cols); r++ {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range cols {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(r*len(cols)+c+1))
			}
			b.WriteByte(')')
		}
		if _, err := to.ExecContext(ctx, b.String(), batch...); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			// SQLite's typing is per value: a text value in a blob
			// column (or the reverse) is made what the target column
			// holds.
			switch x := v.(type) {
			case string:
				if types[i] == "bytea" {
					vals[i] = []byte(x)
				}
			case []byte:
				if types[i] == "text" {
					vals[i] = string(x)
				}
			}
		}
		batch = append(batch, vals...)
		n++
		if len(batch) >= copyBatch*len(cols) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// resetIdentities moves each identity column's sequence past the ids
// copied (and past the ids SQLite's AUTOINCREMENT ever handed out, so an id
// is never reused).
func resetIdentities(ctx context.Context, from *sql.Tx, to querier) error {
	rows, err := to.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	type ident struct{ table, column string }
	var idents []ident
	for rows.Next() {
		var i ident
		if err := rows.Scan(&i.table, &i.column); err != nil {
			rows.Close()
			return err
		}
		idents = append(idents, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(idents, func(i, j int) bool { return idents[i].table < idents[j].table })
	for _, i := range idents {
		var next int64
		if err := to.QueryRowContext(ctx, `SELECT COALESCE(MAX(`+quoteIdent(i.column)+`), 0) FROM `+quoteIdent(i.table)).Scan(&next); err != nil {
			return err
		}
		var seq sql.NullInt64
		if err := from.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, i.table).Scan(&seq); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		next = max(next, seq.Int64) + 1
		if _, err := to.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), $3, false)`, i.table, i.column, next); err != nil {
			return err
		}
	}
	return nil
}

// quoteIdent quotes a table or column name read from a schema.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
