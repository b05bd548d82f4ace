package flow

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/policy"
	"github.com/sspr/sspr/internal/store"
)

// Kit is the equipment every flow is built from: the store, the
// directories, the messages and their outbox, the audit chain, the abuse
// limits, the clock and the padding. Reset, Change, Enroll and Agents each
// embed the one kit (by composition: none borrows another flow), so a rule
// of the plumbing — how a message is sealed, how a limit is taken, how a
// step is padded — is written once.
type Kit struct {
	Store       Store
	Directories Directories
	Composer    Composer
	// Sealer encrypts challenge state, enrollment secrets and queued
	// messages.
	Sealer Sealer
	// Limiter applies the abuse controls; nil applies none.
	Limiter Limiter
	// Audit is the keyed audit chain every step appends to.
	Audit *audit.Chain
	// MailFrom is used to build Message-IDs.
	MailFrom string
	Log      *slog.Logger
	// Now is the clock for expiries (injected in tests).
	Now func() time.Time
	// Rand is the source of tokens: crypto/rand unless a test injects
	// another.
	Rand io.Reader
	// Sleep pads steps; real time, so tests can observe padding.
	Sleep func(ctx context.Context, d time.Duration)
	// Monotonic is the clock padding measures a step's duration with:
	// time.Now unless a test injects one (a slow directory advancing it).
	Monotonic func() time.Time
	// roundHealth is what rounds.go remembers of factors' servers (made
	// on first use, under healthInit).
	roundHealth *health
	// Enqueued is called after a step committed a message, to wake the
	// outbox worker.
	Enqueued func()
	// LoginHashKey keys the hash that stands for a login matching no
	// account in the audit log and the log (derived from the installation
	// secret): what people type there may be a password.
	LoginHashKey []byte
	// Instance names this process in recorded write intents (default: host,
	// PID and a random part); see ResolveInterrupted.
	Instance string
	// Sync carries a new password to the other places a person signs in
	// to (pre-hooks before the write, one outbox message per target after
	// it); nil syncs nothing.
	Sync SyncPlanner
	// Notices chooses who hears of each action (notices.go); nil keeps
	// DefaultNotices.
	Notices *Notices
}

// Catalogue is what people can prove who they are with: the factor
// implementations, the kinds offered (in order; the same list for
// everyone, so it tells nobody anything), and which directory attributes
// count as enrollments. The recovery flow and enrollment share one.
type Catalogue struct {
	// Factors are the available factor implementations by kind.
	Factors map[factor.Kind]factor.Factor
	// Offered are the kinds people may verify with, in the order offered.
	Offered []factor.Kind
	// PreEnrollMail and PreEnrollMobile let the directory's mail and mobile
	// attributes serve as email and SMS factors for people who have not
	// enrolled one themselves.
	PreEnrollMail, PreEnrollMobile bool
	// Policies choose rules by population once a first factor is
	// verified (policy.go); nil applies the global settings to everyone.
	Policies *policy.Set
	// Access is conditional access (access.go); nil decides nothing.
	// AccessContact (the help desk) follows a refusal's message.
	Access        *access.Set
	AccessContact string
}

// The store keeps the flows' records: it must implement their persister.
var _ record.Persister = (*store.Tx)(nil)

// reader is a Store with read-only transactions beside the writer's
// (store.Store.ReadTx).
type reader interface {
	ReadTx(ctx context.Context, fn func(*store.Tx) error) error
}

// read runs fn, which only reads, in a read-only transaction when the store
// has them: it neither waits for nor holds up the one writer, and commits
// nothing (a step's loading of its flow was a writing transaction of its
// own, queued behind every other write; issue 10). What fn read may be
// stale by the time the step writes: UpdateFlow's version check refuses a
// flow changed meanwhile, as before.
func (k *Kit) read(ctx context.Context, fn func(*store.Tx) error) error {
	if rd, ok := k.Store.(reader); ok {
		return rd.ReadTx(ctx, fn)
	}
	return k.Store.InTx(ctx, fn)
}

// oneReader is a Store that runs a single read outside any transaction
// (store.Store.ReadOne).
type oneReader interface {
	ReadOne(ctx context.Context, fn func(*store.Tx) error) error
}

// readOne is read for a fn that runs exactly one statement (loading a
// flow, listing a person's enrollments): no transaction around it, which
// on PostgreSQL saves two round trips per read.
func (k *Kit) readOne(ctx context.Context, fn func(*store.Tx) error) error {
	if rd, ok := k.Store.(oneReader); ok {
		return rd.ReadOne(ctx, fn)
	}
	return k.read(ctx, fn)
}
