package audit

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// Exported is one row as `sspr audit export` writes it: every field the
// row's hash covers, exactly as stored (Detail is the stored JSON text, not
// re-encoded), with the row's id, prev_hash and hash. An auditor can check
// the links (each prev_hash is the hash of the row before) without any key,
// and each hash with the installation's audit key.
type Exported struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Flow      string    `json:"flow,omitempty"`
	Actor     string    `json:"actor,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Directory string    `json:"directory,omitempty"`
	ClientIP  string    `json:"client_ip,omitempty"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	PrevHash  string    `json:"prev_hash"`
	Hash      string    `json:"hash"`
}

// Range limits an export to rows at or after Since and before Until (zero:
// no limit).
type Range struct {
	Since, Until time.Time
}

func (r Range) holds(t time.Time) bool {
	return (r.Since.IsZero() || !t.Before(r.Since)) && (r.Until.IsZero() || t.Before(r.Until))
}

// Export writes the rows in r to w as JSON lines, oldest first, and returns
// how many it wrote.
func Export(ctx context.Context, s Reader, w io.Writer, r Range) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var after int64
	n := 0
	for {
		var batch []*store.AuditRecord
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			batch, err = tx.AuditRecords(after, 1000)
			return err
		}); err != nil {
			return n, err
		}
		if len(batch) == 0 {
			break
		}
		for _, rec := range batch {
			after = rec.ID
			if !r.holds(rec.At) {
				continue
			}
			if err := enc.Encode(Exported{
				ID: rec.ID, At: rec.At, Event: rec.Event, Flow: rec.Flow, Actor: rec.Actor, Subject: rec.Subject,
				Directory: rec.Directory, ClientIP: rec.ClientIP, Outcome: rec.Outcome, Reason: rec.Reason, Detail: rec.Detail,
				PrevHash: hex.EncodeToString(rec.PrevHash), Hash: hex.EncodeToString(rec.Hash),
			}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, bw.Flush()
}

// VerifyExported checks an export written by Export: each row's hash (with
// this installation's key) and each link to the row before. A filtered
// export is a contiguous run of rows, so only its first row's link to rows
// outside it cannot be checked. It returns the number of rows checked.
func (c *Chain) VerifyExported(r io.Reader) (int, error) {
	dec := json.NewDecoder(r)
	var prev *Exported
	n := 0
	for {
		var e Exported
		if err := dec.Decode(&e); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, fmt.Errorf("audit: export line %d: %w", n+1, err)
		}
		ph, err1 := hex.DecodeString(e.PrevHash)
		h, err2 := hex.DecodeString(e.Hash)
		if err1 != nil || err2 != nil {
			return n, fmt.Errorf("audit: exported row %d has a malformed hash", e.ID)
		}
		rec := &store.AuditRecord{ID: e.ID, At: e.At, Event: e.Event, Flow: e.Flow, Actor: e.Actor, Subject: e.Subject,
			Directory: e.Directory, ClientIP: e.ClientIP, Outcome: e.Outcome, Reason: e.Reason, Detail: e.Detail, PrevHash: ph}
		if !hmac.Equal(c.rowHash(rec), h) {
			return n, fmt.Errorf("audit: exported row %d was altered", e.ID)
		}
		if prev != nil && (e.ID != prev.ID+1 || e.PrevHash != prev.Hash) {
			return n, fmt.Errorf("audit: exported row %d does not follow row %d (a row was removed or reordered)", e.ID, prev.ID)
		}
		if prev == nil && e.ID == 1 && e.PrevHash != hex.EncodeToString(make([]byte, sha256.Size)) {
			return n, errors.New("audit: exported row 1 does not start a chain")
		}
		prev = &e
		n++
	}
}
