package audit

import (
	"bufio"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// Checkpoint is the end of the chain at one moment, MAC'd with the audit
// key and kept outside the database (the log and a checkpoint file). A
// database that no longer holds the checkpoint's row with that hash was
// cut short or replaced by an older copy, however consistent it is in
// itself.
type Checkpoint struct {
	LastID int64     `json:"last_id"`
	Hash   string    `json:"hash"` // hex
	At     time.Time `json:"at"`
	MAC    string    `json:"mac"` // hex
}

// NewCheckpoint MACs the position p as of at.
func (c *Chain) NewCheckpoint(p Position, at time.Time) Checkpoint {
	cp := Checkpoint{LastID: p.LastID, Hash: hex.EncodeToString(p.Hash), At: at.UTC().Truncate(time.Millisecond)}
	cp.MAC = hex.EncodeToString(c.checkpointMAC(cp))
	return cp
}

func (c *Chain) checkpointMAC(cp Checkpoint) []byte {
	h := c.mac()
	h.Write([]byte("checkpoint"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(cp.LastID))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(cp.At.UnixMilli()))
	h.Write(n[:])
	h.Write([]byte(cp.Hash))
	return h.Sum(nil)
}

// CheckCheckpoint says whether the database still holds the checkpoint's
// row with the checkpoint's hash. For a row audit retention deleted it
// returns an error wrapping ErrBeforeRetention: that proves nothing either
// way. A checkpoint whose MAC does not fit was not written by this
// installation (or was edited) and proves nothing.
func (c *Chain) CheckCheckpoint(ctx context.Context, s Reader, cp Checkpoint) error {
	mac, err := hex.DecodeString(cp.MAC)
	if err != nil || !hmac.Equal(mac, c.checkpointMAC(cp)) {
		return fmt.Errorf("audit: the checkpoint of %s (row %d) does not carry this installation's MAC: it was edited or comes from elsewhere", cp.At.Format(time.RFC3339), cp.LastID)
	}
	if cp.LastID == 0 {
		return nil // taken while the log was still empty
	}
	want, err := hex.DecodeString(cp.Hash)
	if err != nil {
		return fmt.Errorf("audit: the checkpoint of %s has a malformed hash", cp.At.Format(time.RFC3339))
	}
	return read(ctx, s, func(tx *store.Tx) error {
		marker, cut, err := c.retention(tx)
		if err != nil {
			return err
		}
		if cut && cp.LastID <= marker.LastID {
			return fmt.Errorf("%w (the checkpoint of %s, row %d; rows up to %d, written before %s, were deleted)", ErrBeforeRetention,
				cp.At.Format(time.RFC3339), cp.LastID, marker.LastID, marker.Before.Format(time.RFC3339))
		}
		r, err := tx.AuditRecordByID(cp.LastID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("audit: row %d, recorded by the checkpoint of %s, is not in the database: rows were removed from the end or an older copy of the database was restored", cp.LastID, cp.At.Format(time.RFC3339))
		case err != nil:
			return err
		case !hmac.Equal(r.Hash, want):
			return fmt.Errorf("audit: row %d differs from the checkpoint of %s: an older copy of the database was restored or the log was rewritten", cp.LastID, cp.At.Format(time.RFC3339))
		}
		return nil
	})
}

// ReadCheckpoints reads a checkpoint file: one JSON checkpoint per line,
// blank lines ignored.
func ReadCheckpoints(r io.Reader) ([]Checkpoint, error) {
	var out []Checkpoint
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var cp Checkpoint
		if err := json.Unmarshal(b, &cp); err != nil {
			return out, fmt.Errorf("checkpoint line %d is not a checkpoint: %w", line, err)
		}
		out = append(out, cp)
	}
	return out, sc.Err()
}

// Monitor checks the chain now and then as the server runs, each time from
// where it stopped the time before, and records every good end as a
// checkpoint: an INFO log line "audit checkpoint" and, when File is set, a
// line appended to that file (created 0600). Ship either somewhere the
// database's administrators cannot rewrite.
type Monitor struct {
	Chain    *Chain
	Store    Reader
	Log      *slog.Logger
	Interval time.Duration
	// File, when set, receives one JSON checkpoint per line.
	File string
	Now  func() time.Time

	pos     Position
	started bool
}

// Run checks at once and then every Interval (15 minutes if unset) until
// ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	interval := m.Interval
	if interval <= 0 {
		interval = 15 * time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = m.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check verifies the rows written since the last check and records the new
// end as a checkpoint. The first check starts from the newest checkpoint in
// File when there is one (after making sure the database still holds it),
// else from the first row. A failure is logged as an error and the next
// check starts from the same place, so it keeps being reported.
func (m *Monitor) Check(ctx context.Context) (Checkpoint, error) {
	cp, err := m.check(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.Log.Error("audit log check failed: the log was tampered with or damaged; run `sspr audit verify`", "err", err)
		}
		return Checkpoint{}, err
	}
	m.Log.Info("audit checkpoint", "last_id", cp.LastID, "hash", cp.Hash, "at", cp.At.Format(time.RFC3339Nano), "mac", cp.MAC)
	return cp, nil
}

func (m *Monitor) check(ctx context.Context) (Checkpoint, error) {
	if !m.started && m.File != "" {
		last, err := lastCheckpoint(m.File)
		if err != nil {
			return Checkpoint{}, err
		}
		if last != nil {
			switch err := m.Chain.CheckCheckpoint(ctx, m.Store, *last); {
			case errors.Is(err, ErrBeforeRetention):
				// Its row is gone by design: start from the marker.
			case err != nil:
				return Checkpoint{}, fmt.Errorf("%w (checkpoint file %s)", err, m.File)
			default:
				h, _ := hex.DecodeString(last.Hash)
				m.pos = Position{LastID: last.LastID, Hash: h}
			}
		}
	}
	m.started = true
	pos, _, err := m.Chain.VerifyFrom(ctx, m.Store, m.pos)
	if err != nil {
		return Checkpoint{}, err
	}
	m.pos = pos
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	cp := m.Chain.NewCheckpoint(pos, now())
	if m.File != "" {
		if err := appendCheckpoint(m.File, cp); err != nil {
			return cp, err
		}
	}
	return cp, nil
}

func lastCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: reading the checkpoint file: %w", err)
	}
	defer f.Close()
	cps, err := ReadCheckpoints(f)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	if len(cps) == 0 {
		return nil, nil
	}
	return &cps[len(cps)-1], nil
}

func appendCheckpoint(path string, cp Checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: writing the checkpoint file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("audit: writing the checkpoint file: %w", err)
	}
	return f.Close()
}
