package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// ErrBeforeRetention is returned (wrapped) by CheckCheckpoint for a
// checkpoint whose row audit retention deleted: it is neither held nor a
// sign of tampering.
var ErrBeforeRetention = errors.New("audit: the checkpoint's row was deleted by audit retention")

func (c *Chain) retentionMAC(r store.AuditRetention) []byte {
	h := c.mac()
	h.Write([]byte("retention"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(r.LastID))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.Before.UnixMilli()))
	h.Write(n[:])
	h.Write(r.Hash)
	return h.Sum(nil)
}

// retention reads the retention marker in tx and checks its MAC.
func (c *Chain) retention(tx *store.Tx) (store.AuditRetention, bool, error) {
	r, ok, err := tx.GetAuditRetention()
	if err != nil || !ok {
		return r, ok, err
	}
	if !hmac.Equal(r.MAC, c.retentionMAC(r)) {
		return r, false, errors.New("audit: the retention marker (where old rows were deleted) was altered")
	}
	return r, true, nil
}

// Retention returns where audit retention last cut the log (ok false when
// it never did), after checking the marker's MAC.
func (c *Chain) Retention(ctx context.Context, s Reader) (r store.AuditRetention, ok bool, err error) {
	err = s.InTx(ctx, func(tx *store.Tx) error { r, ok, err = c.retention(tx); return err })
	return r, ok, err
}

// Prune deletes the rows written before before, batch rows per
// transaction, and moves the retention marker to the last row deleted, so
// Verify starts from there. It checks each row's MAC and link before
// deleting it — a log that does not verify is left as it is, with the
// error — and it always keeps the newest row, so the log is never empty.
// It returns how many rows it deleted.
func (c *Chain) Prune(ctx context.Context, s Reader, before time.Time, batch int) (int64, error) {
	var total int64
	for ctx.Err() == nil {
		var n int64
		err := s.InTx(ctx, func(tx *store.Tx) error {
			marker, ok, err := c.retention(tx)
			if err != nil {
				return err
			}
			head, haveHead, err := tx.GetAuditHead()
			if err != nil || !haveHead {
				return err
			}
			if !hmac.Equal(head.MAC, c.headMAC(head.LastID, head.Hash)) {
				return errors.New("audit: the record of the chain's end was altered")
			}
			rows, err := tx.AuditRecords(marker.LastID, batch)
			if err != nil {
				return err
			}
			prev := marker.Hash
			if !ok {
				prev = make([]byte, len(head.Hash))
			}
			cut := store.AuditRetention{LastID: marker.LastID, Hash: marker.Hash, Before: before.UTC().Truncate(time.Millisecond)}
			for _, r := range rows {
				if !r.At.Before(before) || r.ID >= head.LastID {
					break
				}
				if !bytes.Equal(r.PrevHash, prev) {
					return fmt.Errorf("audit: row %d does not follow the row before it: nothing deleted (run `sspr audit verify`)", r.ID)
				}
				if !hmac.Equal(c.rowHash(r), r.Hash) {
					return fmt.Errorf("audit: row %d was altered after it was written: nothing deleted (run `sspr audit verify`)", r.ID)
				}
				cut.LastID, cut.Hash, prev = r.ID, r.Hash, r.Hash
				n++
			}
			if n == 0 {
				return nil
			}
			cut.MAC = c.retentionMAC(cut)
			_, err = tx.DeleteAuditThrough(cut)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			break
		}
	}
	return total, ctx.Err()
}
