package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
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
	// Observe, when set, hears of every event once its transaction is
	// committed (never of one rolled back): the structured log's mirror
	// of the audit log and the metrics (internal/app). Set it before the
	// chain is used.
	Observe func(Event)
}

// committer is a transaction that can run code once it is committed
// (store.Tx).
type committer interface{ AfterCommit(func()) }

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
	if c != nil && c.Observe != nil {
		if ct, ok := tx.(committer); ok {
			e.At = r.At
			ct.AfterCommit(func() { c.Observe(e) })
		}
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
