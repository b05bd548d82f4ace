package store

import (
	"database/sql"
	"errors"
	"time"
)

// ValueCount is how many times one value of an audit row's detail was
// recorded in one time bucket (a factor kind, a refused password rule).
type ValueCount struct {
	Bucket time.Time
	Value  string
	Count  int
}

// AuditValueQuery selects the detail values CountAuditValues counts.
type AuditValueQuery struct {
	AuditFilter
	// EventSuffix matches events that end with it (".verify" selects the
	// verifications of resets, unlocks and changes alike).
	EventSuffix string
	// Reason selects rows with this reason ("" for any).
	Reason string
	// Path is the JSON path of the value in the detail ("$.factor"); a
	// list there counts each of its items.
	Path string
}

// CountAuditValues counts the values at q.Path in the details of the rows
// q selects, per bucket of width step (from q.From). SQLite's JSON
// functions do the counting, so a year of rows is not read into Go. A
// detail that is not JSON counts nothing.
func (t *Tx) CountAuditValues(q AuditValueQuery, step time.Duration) ([]ValueCount, error) {
	f := q.AuditFilter
	f.BeforeID, f.Limit = 0, 0
	where, args := f.where()
	if q.EventSuffix != "" {
		if where == "" {
			where = " WHERE 1=1"
		}
		// substr, not LIKE, for the same reason as the prefix.
		where += ` AND length(event) >= ? AND substr(event, length(event) - ? + 1) = ?`
		args = append(args, len(q.EventSuffix), len(q.EventSuffix), q.EventSuffix)
	}
	if q.Reason != "" {
		if where == "" {
			where = " WHERE 1=1"
		}
		where += ` AND reason = ?`
		args = append(args, q.Reason)
	}
	ms := step.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	from := millis(f.From)
	query := `SELECT (audit.at - ?) / ? AS b, CAST(j.value AS TEXT) AS v, COUNT(*)
		FROM audit, json_each(CASE WHEN json_valid(audit.detail) THEN audit.detail ELSE '{}' END, ?) AS j` + where + `
		GROUP BY b, v ORDER BY b, v`
	path := q.Path
	if t.tx.d == postgresDialect {
		// jsonb_path_query in lax mode: "[*]" walks an array's elements
		// and takes a single value as it is, as SQLite's json_each does;
		// sspr writes every detail as a JSON object (or nothing).
		query = `SELECT (audit.at - ?) / ? AS b, j.v #>> '{}' AS v, COUNT(*)
		FROM audit, jsonb_path_query(CASE WHEN audit.detail LIKE '{%' THEN audit.detail::jsonb ELSE '{}'::jsonb END, CAST(? AS jsonpath)) AS j(v)` + where + `
		GROUP BY b, v ORDER BY b, v`
		path += "[*]"
	}
	rows, err := t.tx.QueryContext(t.ctx, query, append([]any{from, ms, path}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ValueCount
	for rows.Next() {
		var b int64
		var c ValueCount
		var v *string
		if err := rows.Scan(&b, &v, &c.Count); err != nil {
			return nil, err
		}
		if v != nil {
			c.Value = *v
		}
		c.Bucket = fromMillis(from + b*ms)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ActorCount is how many rows one actor has of one event and outcome.
type ActorCount struct {
	Actor   string
	Event   string
	Outcome string
	Count   int
}

// CountAuditByActor counts the rows f selects (Limit and BeforeID
// ignored) per actor, event and outcome, by actor and then event.
func (t *Tx) CountAuditByActor(f AuditFilter) ([]ActorCount, error) {
	f.BeforeID, f.Limit = 0, 0
	where, args := f.where()
	rows, err := t.tx.QueryContext(t.ctx, `SELECT actor, event, outcome, COUNT(*) FROM audit`+where+`
		GROUP BY actor, event, outcome ORDER BY actor, event, outcome`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ActorCount
	for rows.Next() {
		var c ActorCount
		if err := rows.Scan(&c.Actor, &c.Event, &c.Outcome, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ConfigSnapshot returns the stored configuration snapshot (JSON), if any.
func (t *Tx) ConfigSnapshot() (data string, ok bool, err error) {
	err = t.tx.QueryRowContext(t.ctx, `SELECT data FROM config_snapshot WHERE id = 1`).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return data, err == nil, err
}

// SetConfigSnapshot replaces the stored configuration snapshot.
func (t *Tx) SetConfigSnapshot(data string, at time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO config_snapshot (id, taken_at, data) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET taken_at = excluded.taken_at, data = excluded.data`, millis(at), data)
	return err
}
