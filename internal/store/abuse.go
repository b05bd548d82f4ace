package store

import (
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Abuse counters are windows over time buckets: a row of abuse_counters
// holds how many events of (kind, key) fell into the bucket starting at
// bucket_start, and a window is the sum of the few buckets it spans. The
// bucket width and the window are the caller's (internal/abuse): the store
// only adds, sums and lists. Keys are whatever the caller derived from a
// login, an IP address or an HMAC'd destination; the store never sees the
// raw contact data.

// AbuseBucket is the count of one time bucket of a counter.
type AbuseBucket struct {
	Start time.Time
	Count int
}

// AddAbuseCount adds one to the bucket of (kind, key) that starts at start,
// creating it if needed. keepUntil is when no window needs the bucket any
// more; DeleteExpiredAbuse removes it after that.
func (t *Tx) AddAbuseCount(kind, key string, start, keepUntil time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO abuse_counters (kind, key, bucket_start, count, keep_until) VALUES (?, ?, ?, 1, ?)
		ON CONFLICT (kind, key, bucket_start) DO UPDATE SET count = abuse_counters.count + 1, keep_until = CASE WHEN excluded.keep_until > abuse_counters.keep_until THEN excluded.keep_until ELSE abuse_counters.keep_until END`,
		kind, key, millis(start), millis(keepUntil))
	return err
}

// AbuseAdd is one count AddAbuseCounts adds: to the bucket of (Kind, Key)
// that starts at Start, kept until KeepUntil (see AddAbuseCount).
type AbuseAdd struct {
	Kind, Key        string
	Start, KeepUntil time.Time
}

// AddAbuseCounts adds one to each bucket of adds, in one statement: a
// limiter step counts all its windows at once (one round trip, which on
// PostgreSQL is made under the write lock). Buckets named twice are added
// one by one: one statement may not change a row twice.
func (t *Tx) AddAbuseCounts(adds []AbuseAdd) error {
	if repeatsBucket(adds) {
		return t.addAbuseCountsOneByOne(adds)
	}
	switch len(adds) {
	case 0:
		return nil
	case 1:
		return t.AddAbuseCount(adds[0].Kind, adds[0].Key, adds[0].Start, adds[0].KeepUntil)
	}
	args := make([]any, 0, 4*len(adds))
	for _, a := range adds {
		args = append(args, a.Kind, a.Key, millis(a.Start), millis(a.KeepUntil))
	}
	_, err := t.tx.ExecContext(t.ctx, addCountsText(len(adds)), args...)
	return err
}

// repeatsBucket reports whether adds names a bucket twice (one statement
// may not change a row twice).
func repeatsBucket(adds []AbuseAdd) bool {
	for i := range adds {
		for j := range i {
			if adds[i].Kind == adds[j].Kind && adds[i].Key == adds[j].Key && adds[i].Start.Equal(adds[j].Start) {
				return true
			}
		}
	}
	return false
}

// addCountsText is the INSERT that adds one to each of n buckets.
func addCountsText(n int) string {
	return `INSERT INTO abuse_counters (kind, key, bucket_start, count, keep_until) VALUES (?, ?, ?, 1, ?)` +
		strings.Repeat(`, (?, ?, ?, 1, ?)`, n-1) + `
		ON CONFLICT (kind, key, bucket_start) DO UPDATE SET count = abuse_counters.count + 1, keep_until = CASE WHEN excluded.keep_until > abuse_counters.keep_until THEN excluded.keep_until ELSE abuse_counters.keep_until END`
}

func (t *Tx) addAbuseCountsOneByOne(adds []AbuseAdd) error {
	for _, a := range adds {
		if err := t.AddAbuseCount(a.Kind, a.Key, a.Start, a.KeepUntil); err != nil {
			return err
		}
	}
	return nil
}

// AbuseWindow names the buckets of (Kind, Key) that start strictly after
// Since; CountAbuseAndRead sums them.
type AbuseWindow struct {
	Kind, Key string
	Since     time.Time
}

// SumAbuseCounts sums the buckets of (kind, key) that start strictly after
// since.
func (t *Tx) SumAbuseCounts(kind, key string, since time.Time) (int, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(SUM(count), 0) FROM abuse_counters WHERE kind = ? AND key = ? AND bucket_start > ?`,
		kind, key, millis(since)).Scan(&n)
	return n, err
}

// AbuseBuckets lists the non-empty buckets of (kind, key) that start
// strictly after since, oldest first. A limiter uses it to tell when a full
// window will have room again.
func (t *Tx) AbuseBuckets(kind, key string, since time.Time) ([]AbuseBucket, error) {
	var out []AbuseBucket
	err := t.tx.queryEach(t.ctx, `SELECT bucket_start, count FROM abuse_counters
		WHERE kind = ? AND key = ? AND bucket_start > ? AND count > 0 ORDER BY bucket_start`, []any{kind, key, millis(since)},
		func(rows *sql.Rows) error {
			var start int64
			var b AbuseBucket
			if err := rows.Scan(&start, &b.Count); err != nil {
				return err
			}
			b.Start = fromMillis(start)
			out = append(out, b)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TakeBackAbuseCount subtracts one from the newest non-empty bucket of
// (kind, key) that starts strictly after since, and reports whether there
// was one: an event counted in advance that did not happen after all.
func (t *Tx) TakeBackAbuseCount(kind, key string, since time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE abuse_counters SET count = count - 1
		WHERE kind = ? AND key = ? AND bucket_start = (SELECT MAX(bucket_start) FROM abuse_counters
			WHERE kind = ? AND key = ? AND bucket_start > ? AND count > 0)`,
		kind, key, kind, key, millis(since))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteAbuseCounts forgets every bucket of (kind, key), returning how many;
// a help-desk unblock uses it so the next failure does not block again.
func (t *Tx) DeleteAbuseCounts(kind, key string) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM abuse_counters WHERE kind = ? AND key = ?`, kind, key)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// UseAbuseNonce remembers nonce of kind until keepUntil, and reports whether
// it was new: the single-use check of a proof-of-work nonce. The check and
// the insert are one statement in the writer's transaction.
func (t *Tx) UseAbuseNonce(kind, nonce string, keepUntil time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO abuse_nonces (kind, nonce, keep_until) VALUES (?, ?, ?)
		ON CONFLICT (kind, nonce) DO NOTHING`, kind, nonce, millis(keepUntil))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AbuseBlock is a subject cut off until a time.
type AbuseBlock struct {
	Kind      string
	Key       string
	Until     time.Time
	Reason    string
	CreatedAt time.Time
}

// SetAbuseBlock stores b, replacing any block of the same (kind, key).
func (t *Tx) SetAbuseBlock(b *AbuseBlock) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO abuse_blocks (kind, key, until, reason, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET until = excluded.until, reason = excluded.reason, created_at = excluded.created_at`,
		b.Kind, b.Key, millis(b.Until), b.Reason, millis(b.CreatedAt))
	return err
}

// ActiveAbuseBlock returns the block of (kind, key) that still holds after
// now; ErrNotFound when there is none.
func (t *Tx) ActiveAbuseBlock(kind, key string, now time.Time) (*AbuseBlock, error) {
	var b AbuseBlock
	var until, created int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT kind, key, until, reason, created_at FROM abuse_blocks
		WHERE kind = ? AND key = ? AND until > ?`, kind, key, millis(now)).Scan(&b.Kind, &b.Key, &until, &b.Reason, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	b.Until, b.CreatedAt = fromMillis(until), fromMillis(created)
	return &b, nil
}

// AbuseSubject names a subject of abuse_blocks; a zero one matches nothing.
type AbuseSubject struct{ Kind, Key string }

// ActiveAbuseBlocksOf returns the blocks that still hold after now among
// up to three subjects, in one statement (a limiter step checks the client
// IP, the account and the destination). Unused subjects are zero.
func (t *Tx) ActiveAbuseBlocksOf(now time.Time, subjects [3]AbuseSubject) ([]*AbuseBlock, error) {
	var out []*AbuseBlock
	args := []any{millis(now)}
	for _, s := range subjects {
		args = append(args, s.Kind, s.Key)
	}
	err := t.tx.queryEach(t.ctx, `SELECT kind, key, until, reason, created_at FROM abuse_blocks
		WHERE until > ? AND ((kind = ? AND key = ?) OR (kind = ? AND key = ?) OR (kind = ? AND key = ?))`, args,
		func(rows *sql.Rows) error {
			var b AbuseBlock
			var until, created int64
			if err := rows.Scan(&b.Kind, &b.Key, &until, &b.Reason, &created); err != nil {
				return err
			}
			b.Until, b.CreatedAt = fromMillis(until), fromMillis(created)
			out = append(out, &b)
			return nil
		})
	return out, err
}

// CountAbuseAndRead is ActiveAbuseBlocksOf and the sum of each window of
// ws (into the same place of out) in one statement: a limiter step reads
// the blocks of its subjects and the counts of its windows in one round
// trip (on PostgreSQL, made under the write lock), not two. On PostgreSQL
// it also adds adds (as AddAbuseCounts) in that statement, and reports
// whether it did: the blocks and sums it returns are those from before
// the adds (a statement's WITH writes are not seen by the rest of it), so
// a limiter step reads and counts in one round trip, and takes the counts
// back (TakeBackAbuseAdds) in the rare case it refuses. On SQLite, or when
// adds names a bucket twice, nothing is added and counted is false.
func (t *Tx) CountAbuseAndRead(adds []AbuseAdd, now time.Time, subjects [3]AbuseSubject, ws []AbuseWindow, out []int) (blocks []*AbuseBlock, counted bool, err error) {
	counting := len(adds) > 0 && t.tx.d == postgresDialect && !repeatsBucket(adds)
	if len(ws) == 0 && !counting {
		blocks, err = t.ActiveAbuseBlocksOf(now, subjects)
		return blocks, false, err
	}
	args := make([]any, 0, 4*len(adds)+3*len(ws)+7)
	text := ""
	if counting {
		for _, a := range adds {
			args = append(args, a.Kind, a.Key, millis(a.Start), millis(a.KeepUntil))
		}
		text = `WITH added AS (` + addCountsText(len(adds)) + `) `
	}
	for _, w := range ws {
		args = append(args, w.Kind, w.Key, millis(w.Since))
	}
	text += blocksAndSumsText(len(ws))
	args = append(args, millis(now))
	for _, s := range subjects {
		args = append(args, s.Kind, s.Key)
	}
	// The first row (kind NULL) carries the sums; every other row is a
	// block, whose sum columns are 0.
	sums := make([]int64, len(ws))
	dest := make([]any, 5+len(ws))
	err = t.tx.queryEach(t.ctx, text, args, func(rows *sql.Rows) error {
		var kind, key, reason sql.NullString
		var until, created int64
		dest[0], dest[1], dest[2], dest[3], dest[4] = &kind, &key, &until, &reason, &created
		for i := range sums {
			dest[5+i] = &sums[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if !kind.Valid {
			for i, n := range sums {
				out[i] = int(n)
			}
			return nil
		}
		blocks = append(blocks, &AbuseBlock{Kind: kind.String, Key: key.String, Until: fromMillis(until), Reason: reason.String, CreatedAt: fromMillis(created)})
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return blocks, counting, nil
}

// TakeBackAbuseAdds subtracts what AddAbuseCounts (or CountAbuseAndRead)
// added for adds, in one statement: a limiter step that counted before it
// knew it would refuse gives the counts back in its own transaction.
func (t *Tx) TakeBackAbuseAdds(adds []AbuseAdd) error {
	if len(adds) == 0 {
		return nil
	}
	if repeatsBucket(adds) {
		for _, a := range adds {
			if err := t.TakeBackAbuseAdds([]AbuseAdd{a}); err != nil {
				return err
			}
		}
		return nil
	}
	const one = `(kind = ? AND key = ? AND bucket_start = ?)`
	args := make([]any, 0, 3*len(adds))
	for _, a := range adds {
		args = append(args, a.Kind, a.Key, millis(a.Start))
	}
	_, err := t.tx.ExecContext(t.ctx, `UPDATE abuse_counters SET count = count - 1 WHERE count > 0 AND (`+one+strings.Repeat(` OR `+one, len(adds)-1)+`)`, args...)
	return err
}

// blocksAndSumsTexts are CountAbuseAndRead's reading statements for 0 to 4
// windows, built once.
var blocksAndSumsTexts = func() (out [5]string) {
	for i := range out {
		out[i] = buildBlocksAndSumsText(i)
	}
	return out
}()

func blocksAndSumsText(n int) string {
	if n < len(blocksAndSumsTexts) {
		return blocksAndSumsTexts[n]
	}
	return buildBlocksAndSumsText(n)
}

func buildBlocksAndSumsText(n int) string {
	const one = `(SELECT COALESCE(SUM(count), 0) FROM abuse_counters WHERE kind = ? AND key = ? AND bucket_start > ?)`
	sums := ""
	if n > 0 {
		sums = `, ` + one + strings.Repeat(`, `+one, n-1)
	}
	return `SELECT NULL, NULL, 0, NULL, 0` + sums + `
		UNION ALL SELECT kind, key, until, reason, created_at` + strings.Repeat(`, 0`, n) + ` FROM abuse_blocks
		WHERE until > ? AND ((kind = ? AND key = ?) OR (kind = ? AND key = ?) OR (kind = ? AND key = ?))`
}

// AbuseLift is a block LiftAbuseBlocksUnder lifts when its window is back
// under its limit: the block of (Kind, Key) set for Reason, whose window
// is the buckets of the counter (Reason, Key) that start after Since.
type AbuseLift struct {
	Kind, Key, Reason string
	Since             time.Time
	Limit             int
}

// LiftAbuseBlocksUnder deletes, in one statement, each block of lifts that
// still holds after now, was set for its reason, and whose window now
// counts fewer than its limit: what a limiter refund gives back may bring
// a window under the limit that blocked.
func (t *Tx) LiftAbuseBlocksUnder(now time.Time, lifts []AbuseLift) error {
	if len(lifts) == 0 {
		return nil
	}
	const one = `(kind = ? AND key = ? AND reason = ? AND (SELECT COALESCE(SUM(count), 0) FROM abuse_counters WHERE kind = ? AND key = ? AND bucket_start > ?) < ?)`
	args := make([]any, 0, 1+7*len(lifts))
	args = append(args, millis(now))
	for _, l := range lifts {
		args = append(args, l.Kind, l.Key, l.Reason, l.Reason, l.Key, millis(l.Since), l.Limit)
	}
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM abuse_blocks WHERE until > ? AND (`+one+strings.Repeat(` OR `+one, len(lifts)-1)+`)`, args...)
	return err
}

// ActiveAbuseBlocks lists the blocks that still hold after now, those that
// end soonest first.
func (t *Tx) ActiveAbuseBlocks(now time.Time) ([]*AbuseBlock, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT kind, key, until, reason, created_at FROM abuse_blocks
		WHERE until > ? ORDER BY until, kind, key`, millis(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AbuseBlock
	for rows.Next() {
		var b AbuseBlock
		var until, created int64
		if err := rows.Scan(&b.Kind, &b.Key, &until, &b.Reason, &created); err != nil {
			return nil, err
		}
		b.Until, b.CreatedAt = fromMillis(until), fromMillis(created)
		out = append(out, &b)
	}
	return out, rows.Err()
}

// DeleteAbuseBlock lifts the block of (kind, key), reporting whether there
// was one (expired or not).
func (t *Tx) DeleteAbuseBlock(kind, key string) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM abuse_blocks WHERE kind = ? AND key = ?`, kind, key)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteExpiredAbuse removes counter buckets and nonces kept until now or
// earlier and blocks that ended by now, returning how many rows went.
func (t *Tx) DeleteExpiredAbuse(now time.Time) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM abuse_counters WHERE keep_until <= ?`,
		`DELETE FROM abuse_nonces WHERE keep_until <= ?`,
		`DELETE FROM abuse_blocks WHERE until <= ?`,
	} {
		res, err := t.tx.ExecContext(t.ctx, q, millis(now))
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
