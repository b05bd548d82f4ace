package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// ChainCreated is the event of the record that starts every chain: a log
// without it (or without any row at all) was wiped.
const ChainCreated = "audit.chain_created"

// Reader is what Verify needs from the store.
type Reader interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// snapshotReader is a Reader that also offers read-only transactions on
// connections of their own (the store's reader pool).
type snapshotReader interface {
	ReadTx(ctx context.Context, fn func(*store.Tx) error) error
}

// read runs fn on a read-only snapshot when s offers one, so walking the
// chain never holds the writer up (nor waits for it); otherwise in InTx.
func read(ctx context.Context, s Reader, fn func(*store.Tx) error) error {
	if r, ok := s.(snapshotReader); ok {
		return r.ReadTx(ctx, fn)
	}
	return s.InTx(ctx, fn)
}

// Position is a row of the chain known to be good: verification can go on
// from there without walking the rows before it again.
type Position struct {
	LastID int64
	Hash   []byte
}

// Start writes the record that the chain was created when the store asks
// for it (a new database, or one just upgraded to keep that record). sspr
// calls it at start, before anything else is audited. It reports whether it
// wrote the record.
func (c *Chain) Start(ctx context.Context, s Reader, now time.Time) (bool, error) {
	wrote := false
	err := s.InTx(ctx, func(tx *store.Tx) error {
		pending, err := tx.AuditGenesisPending()
		if err != nil || !pending {
			return err
		}
		if err := c.Append(tx, Event{At: now, Event: ChainCreated, Outcome: Info}); err != nil {
			return err
		}
		wrote = true
		return tx.AuditGenesisWritten()
	})
	if err != nil {
		return false, fmt.Errorf("audit: writing the record that the log was created: %w", err)
	}
	return wrote, nil
}

// Verify walks the whole chain and returns the number of rows checked, or an
// error naming the first row that does not fit.
func (c *Chain) Verify(ctx context.Context, s Reader) (int, error) {
	_, n, err := c.VerifyFrom(ctx, s, Position{})
	return n, err
}

// VerifyFrom checks that the row at from is still there with the same hash,
// then walks the rows after it up to the recorded end of the chain. When
// audit retention deleted the rows up to and including from, it starts
// from the retention marker instead. It returns the new end and the number
// of rows walked. Rows appended while it runs are left for the next call,
// so it can run beside a busy server.
func (c *Chain) VerifyFrom(ctx context.Context, s Reader, from Position) (Position, int, error) {
	var (
		head              store.AuditHead
		haveHead, pending bool
	)
	if err := read(ctx, s, func(tx *store.Tx) error {
		var err error
		if head, haveHead, err = tx.GetAuditHead(); err != nil {
			return err
		}
		pending, err = tx.AuditGenesisPending()
		if err != nil {
			return err
		}
		// Rows up to the retention marker were deleted on purpose: the
		// chain is checked from the marker (whose MAC vouches for the
		// last deleted row's hash) when from is at or before it.
		marker, cut, err := c.retention(tx)
		if err != nil {
			return err
		}
		if cut && from.LastID <= marker.LastID {
			from = Position{LastID: marker.LastID, Hash: marker.Hash}
			return nil
		}
		if from.LastID == 0 {
			return nil
		}
		r, err := tx.AuditRecordByID(from.LastID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("audit: row %d, checked before, is gone (rows were removed or an older copy of the database was restored)", from.LastID)
		case err != nil:
			return err
		case !bytes.Equal(r.Hash, from.Hash):
			return fmt.Errorf("audit: row %d is not the row checked before (an older copy of the database was restored, or the row was rewritten)", from.LastID)
		}
		return nil
	}); err != nil {
		return from, 0, err
	}
	if haveHead && !hmac.Equal(head.MAC, c.headMAC(head.LastID, head.Hash)) {
		return from, 0, errors.New("audit: the record of the chain's end was altered")
	}
	prev, after := from.Hash, from.LastID
	if prev == nil {
		prev = make([]byte, sha256.Size)
	}
	count := 0
walk:
	for haveHead && after < head.LastID {
		var batch []*store.AuditRecord
		err := read(ctx, s, func(tx *store.Tx) error {
			var err error
			batch, err = tx.AuditRecords(after, 1000)
			return err
		})
		if err != nil {
			return from, count, err
		}
		if len(batch) == 0 {
			break
		}
		for _, r := range batch {
			if r.ID > head.LastID {
				break walk
			}
			if !bytes.Equal(r.PrevHash, prev) {
				return from, count, fmt.Errorf("audit: row %d does not follow the row before it (a row was removed or reordered)", r.ID)
			}
			if !hmac.Equal(c.rowHash(r), r.Hash) {
				return from, count, fmt.Errorf("audit: row %d was altered after it was written", r.ID)
			}
			prev, after = r.Hash, r.ID
			count++
		}
	}
	if haveHead && (head.LastID != after || !bytes.Equal(head.Hash, prev)) {
		return from, count, fmt.Errorf("audit: the chain ends at row %d but row %d was written last (rows were removed from the end)", after, head.LastID)
	}
	// Rows past the recorded end were not appended by sspr, which moves the
	// end in the same transaction as it adds a row (unless a row was added
	// since the end was read above: then the end has moved too).
	var newest int64
	var newHead store.AuditHead
	var haveNewHead bool
	if err := read(ctx, s, func(tx *store.Tx) error {
		recs, err := tx.NewestAuditID()
		if err != nil {
			return err
		}
		newest = recs
		newHead, haveNewHead, err = tx.GetAuditHead()
		return err
	}); err != nil {
		return from, count, err
	}
	switch {
	case !haveNewHead && newest > 0:
		return from, count, errors.New("audit: the record of the chain's end is missing")
	case haveNewHead && newest > newHead.LastID:
		return from, count, fmt.Errorf("audit: row %d comes after the recorded end of the chain (row %d): it was not written by sspr", newest, newHead.LastID)
	case !haveHead && !haveNewHead && !pending:
		// A new database holds the pending note until sspr writes the
		// creation record; without either the log was emptied.
		return from, count, errors.New("audit: the log is empty, yet it always keeps at least the record of its creation: it was wiped")
	}
	return Position{LastID: after, Hash: prev}, count, nil
}
