package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// Outcome says how a step ended.
type Outcome string

// Outcomes of audited steps.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
	Denied  Outcome = "denied"
	Info    Outcome = "info"
)

// Event is one audited step.
type Event struct {
	At    time.Time
	Event string // e.g. "reset.identify", "reset.code_verified"
	// Flow is a short, non-secret reference to the flow (not its token).
	Flow      string
	Actor     string // the login as typed, or the admin acting
	Subject   string // the account acted on (DN)
	Directory string
	ClientIP  string
	Outcome   Outcome
	Reason    string
	// Detail carries further structured facts (never a password or code).
	Detail map[string]any
}

// Appender is the part of a store transaction the audit log needs.
type Appender interface {
	LastAuditHash() ([]byte, error)
	InsertAudit(*store.AuditRecord) error
	SetAuditHead(store.AuditHead) error
}

// Chain appends to and verifies the log. Its key (derived from the
// installation's secret) makes every row's hash an HMAC, so somebody who can
// write the database file but does not hold the key can neither rewrite a
// row and recompute the hashes after it, nor cut rows off the end: the
// chain's head is MAC'd too. A nil *Chain uses an empty key (tests only).
type Chain struct {
	key []byte
}

// NewChain derives the audit key from secret.
func NewChain(secret []byte) *Chain {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("sspr audit chain v1"))
	return &Chain{key: m.Sum(nil)}
}

func (c *Chain) mac() hash.Hash {
	if c == nil {
		return hmac.New(sha256.New, nil)
	}
	return hmac.New(sha256.New, c.key)
}

// Append adds e to the log within tx.
func (c *Chain) Append(tx Appender, e Event) error {
	prev, err := tx.LastAuditHash()
	if err != nil {
		return fmt.Errorf("audit: reading chain head: %w", err)
	}
	if prev == nil {
		prev = make([]byte, sha256.Size)
	}
	detail := ""
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("audit: encoding detail: %w", err)
		}
		detail = string(b)
	}
	r := &store.AuditRecord{
		At: e.At.UTC().Truncate(time.Millisecond), Event: e.Event, Flow: e.Flow, Actor: e.Actor, Subject: e.Subject,
		Directory: e.Directory, ClientIP: e.ClientIP, Outcome: string(e.Outcome), Reason: e.Reason, Detail: detail,
		PrevHash: prev,
	}
	r.Hash = c.rowHash(r)
	if err := tx.InsertAudit(r); err != nil {
		return err
	}
	return tx.SetAuditHead(store.AuditHead{LastID: r.ID, Hash: r.Hash, MAC: c.headMAC(r.ID, r.Hash)})
}

// rowHash covers every field with length prefixes so no two different rows
// can encode to the same bytes.
func (c *Chain) rowHash(r *store.AuditRecord) []byte {
	h := c.mac()
	h.Write(r.PrevHash)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(r.At.UnixMilli()))
	h.Write(n[:])
	for _, s := range []string{r.Event, r.Flow, r.Actor, r.Subject, r.Directory, r.ClientIP, r.Outcome, r.Reason, r.Detail} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

func (c *Chain) headMAC(id int64, rowHash []byte) []byte {
	h := c.mac()
	h.Write([]byte("head"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(id))
	h.Write(n[:])
	h.Write(rowHash)
	return h.Sum(nil)
}

// Reader is what Verify needs from the store.
type Reader interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Verify walks the whole chain and returns the number of rows checked, or an
// error naming the first row that does not fit.
func (c *Chain) Verify(ctx context.Context, s Reader) (int, error) {
	prev := make([]byte, sha256.Size)
	var after int64
	count := 0
	var head store.AuditHead
	var haveHead bool
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		var err error
		head, haveHead, err = tx.GetAuditHead()
		return err
	}); err != nil {
		return 0, err
	}
	if haveHead && !hmac.Equal(head.MAC, c.headMAC(head.LastID, head.Hash)) {
		return 0, errors.New("audit: the record of the chain's end was altered")
	}
	for {
		var batch []*store.AuditRecord
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			batch, err = tx.AuditRecords(after, 1000)
			return err
		})
		if err != nil {
			return count, err
		}
		if len(batch) == 0 {
			break
		}
		for _, r := range batch {
			if !bytes.Equal(r.PrevHash, prev) {
				return count, fmt.Errorf("audit: row %d does not follow the row before it (a row was removed or reordered)", r.ID)
			}
			if !hmac.Equal(c.rowHash(r), r.Hash) {
				return count, fmt.Errorf("audit: row %d was altered after it was written", r.ID)
			}
			prev, after = r.Hash, r.ID
			count++
		}
	}
	switch {
	case !haveHead && count > 0:
		return count, errors.New("audit: the record of the chain's end is missing")
	case haveHead && (head.LastID != after || !bytes.Equal(head.Hash, prev)):
		return count, fmt.Errorf("audit: the chain ends at row %d but row %d was written last (rows were removed from the end)", after, head.LastID)
	}
	return count, nil
}
