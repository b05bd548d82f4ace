package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// Sender delivers one message; an error means "not delivered, try again",
// unless it is permanent (see IsPermanent). Implementations are safe for
// concurrent use: several workers call Send at once.
type Sender interface {
	Send(ctx context.Context, m *store.Message) error
}

// IsPermanent reports whether err (or an error it wraps) says retrying
// cannot help: it has a Permanent() bool method returning true. Adapters
// (mail, sms) declare their own error types with that method, so they need
// nothing from this package.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// permanentError is the outbox's own "give up": a message that cannot be
// opened, or no sender for its channel.
type permanentError struct{ error }

func (permanentError) Permanent() bool { return true }

// OutboxStore is the part of the store the worker needs.
type OutboxStore interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Worker delivers due outbox messages, several at a time.
//
// Delivery is at least once, with a stable Message-ID: a message is marked
// sent in a transaction of its own begun right after the relay's final
// reply (while the worker goes on with the next message), so only a crash
// between that reply and that commit sends it again.
type Worker struct {
	Store OutboxStore
	// Sender delivers mail; SMS delivers text messages (nil: SMS messages
	// are given up with a clear error).
	Sender Sender
	SMS    Sender
	// Sync delivers new passwords to sync targets (channel "sync"; nil:
	// such messages are given up with a clear error).
	Sync Sender
	// Voice places the calls that speak codes (channel "voice"), and
	// Approval mails a manager their approval request (channel
	// "manager_approval": the recipient is the manager's DN, resolved to
	// an address only when sending). nil: such messages are given up with
	// a clear error.
	Voice    Sender
	Approval Sender
	// Sealer opens sealed outbox fields (SealMessage) before sending.
	Sealer         Sealer
	Log            *slog.Logger
	Now            func() time.Time
	PollInterval   time.Duration
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Lease is how long a claimed message is hidden from other workers while
	// it is being sent; longer than any SMTP timeout.
	Lease time.Duration
	// Workers is how many messages Run delivers at once (default 1). Each
	// claims a different message; with a connection-keeping Sender each
	// keeps its own connection to the relay.
	Workers int
	// ClaimBatch is how many due messages a worker claims at once (default
	// 8): the most one message waits behind others its worker claimed.
	ClaimBatch int
	// Node names this node (default: the host name) and Instance this
	// process (default: random). Claims carry both, so a restarted node
	// takes back at once what its previous process left claimed when it
	// died (see Run); claims of other nodes wait for their lease. Two
	// processes running at once must not share a node name.
	Node, Instance string
	// SentRetention is how long a sent message's row stays (its subject and
	// bodies are erased at once); zero deletes the row as it is marked
	// sent. Tidy deletes the older ones.
	SentRetention time.Duration
	// FailedRetention is how long a given-up message keeps its recipient,
	// subject and bodies; Tidy then erases them and deletes the remaining
	// row FailedMetadataRetention later.
	FailedRetention time.Duration

	kick     chan struct{} // wakes an idle worker when a step enqueued something
	initOnce sync.Once
}

// FailedMetadataRetention is how long the row of a given-up message stays
// after its contents were erased: long enough to look into a failure,
// bounded so a relay that refused everything for a while does not fill
// the database.
const FailedMetadataRetention = 30 * 24 * time.Hour

// tidyBatch bounds how many rows one janitor transaction touches, so it
// never holds the database for long.
const tidyBatch = 500

// Kick asks the worker to look at the outbox now instead of at its next poll.
func (w *Worker) Kick() {
	if w.kick == nil {
		return
	}
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Worker) init() {
	w.initOnce.Do(func() {
		if w.Now == nil {
			w.Now = time.Now
		}
		if w.Log == nil {
			w.Log = slog.Default()
		}
		if w.Lease == 0 {
			w.Lease = 2 * time.Minute
		}
		if w.Workers < 1 {
			w.Workers = 1
		}
		if w.ClaimBatch < 1 {
			w.ClaimBatch = 8
		}
		if w.Node == "" {
			w.Node, _ = os.Hostname()
			if w.Node == "" {
				w.Node = "sspr"
			}
		}
		if w.Instance == "" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			w.Instance = hex.EncodeToString(b)
		}
		if w.kick == nil {
			w.kick = make(chan struct{}, 1)
		}
	})
}

// Prepare makes Kick usable before Run starts; Run calls it too.
func (w *Worker) Prepare() { w.init() }

// Run delivers until ctx ends. It first takes back the claims an earlier
// process of this node left behind (a crash mid-send), then runs Workers
// delivery loops.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	if n, err := w.ReleaseEarlierClaims(ctx); err != nil && ctx.Err() == nil {
		w.Log.Error("outbox: taking back the claims of an earlier process failed; they wait for their lease", "node", w.Node, "err", err)
	} else if n > 0 {
		w.Log.Warn("outbox: an earlier process of this node stopped while delivering; its messages are due again", "node", w.Node, "messages", n)
	}
	var wg sync.WaitGroup
	for range w.Workers {
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
	if c, ok := w.Sender.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// ReleaseEarlierClaims makes due at once the messages claimed by another
// instance of this node, and reports how many.
func (w *Worker) ReleaseEarlierClaims(ctx context.Context) (int64, error) {
	w.init()
	var n int64
	err := w.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		n, err = tx.ReleaseClaims(w.Node, w.Instance, w.Now())
		return err
	})
	return n, err
}

func (w *Worker) loop(ctx context.Context) {
	t := time.NewTicker(w.PollInterval)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error("outbox: delivery round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// outcome is the result of one delivery attempt, waiting to be recorded.
type outcome struct {
	m       *store.Message
	untried bool // claimed, never sent: handed back
	attempt int
	err     error // nil: sent
	to      string
	at      time.Time
}

// RunOnce delivers, one after another, every message due when it claims,
// and reports how many were sent. A round claims up to ClaimBatch
// messages: under load the writer is busy, and a worker that waited its
// turn once per message fell behind the steps enqueueing them. It claims
// again only after a full claim or when failures wait to be recorded: a
// short claim took everything due at its time. A sent message is recorded
// at once in a transaction of its own (the worker goes on meanwhile);
// failures are recorded with the next claim, in one transaction.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	sent := 0
	var pending []*outcome
	for {
		var claimed []*store.Message
		// A claim alone is one statement the store may make beside its
		// writer (writeOne); failures to record ride in a transaction
		// with it.
		claim := w.writeOne
		if len(pending) > 0 {
			claim = w.Store.InTx
		}
		err := claim(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			if err := w.recordAll(tx, pending); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			now := w.Now()
			var err error
			claimed, err = tx.ClaimDue(now, now.Add(w.Lease), w.Node, w.Instance, w.ClaimBatch)
			return err
		})
		if err != nil && len(pending) > 0 {
			// Record the deliveries on their own: a sent message must not be
			// sent again because claiming the next ones failed.
			if rerr := w.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return w.recordAll(tx, pending) }); rerr != nil {
				w.Log.Error("outbox: recording delivery attempts failed; the messages are tried again when their lease ends",
					"messages", len(pending), "err", rerr)
				err, pending = errors.Join(err, rerr), nil
			}
		}
		for _, o := range pending {
			w.logOutcome(o)
			if o.err == nil && !o.untried {
				sent++
			}
		}
		pending = pending[:0]
		if err != nil {
			return sent, err
		}
		if len(claimed) == 0 {
			return sent, ctx.Err()
		}
		// A full claim may have left more due: wake an idle worker to
		// share the work. A short one took everything due at its time;
		// whatever a step enqueues later kicks a worker itself.
		full := len(claimed) == w.ClaimBatch
		if full {
			w.Kick()
		}
		var early earlyRecords
		for _, m := range claimed {
			if ctx.Err() != nil {
				// Shutting down: what was not tried yet goes back at once
				// rather than waiting out its lease.
				pending = append(pending, &outcome{m: m, untried: true})
				continue
			}
			o := w.send(ctx, m)
			if o.err != nil {
				pending = append(pending, o) // recorded with the next claim
				continue
			}
			// Sent: recorded at once, beside the next sends, not after
			// the last of them — a process that dies later in the round
			// must not leave this one unrecorded, to be sent again by
			// another node. The store's group commit shares these
			// commits among the workers.
			early.record(w, ctx, o)
		}
		sent += early.wait(w, &pending)
		if !full && len(pending) == 0 {
			// Another claim now would find nothing but what a later
			// kick or poll is there for: under load that empty claim
			// was half of all claims, each a writing transaction
			// (issue 10).
			return sent, ctx.Err()
		}
	}
}

// earlyRecords are the sent messages of one round, each recorded in a
// transaction of its own as soon as the relay took it.
type earlyRecords struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	done   []*outcome // recorded
	failed []*outcome // recording failed: again with the next claim
}

func (e *earlyRecords) record(w *Worker, ctx context.Context, o *outcome) {
	e.wg.Go(func() {
		err := w.writeOne(context.WithoutCancel(ctx), func(tx *store.Tx) error { return w.record(tx, o) })
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			e.failed = append(e.failed, o)
		} else {
			e.done = append(e.done, o)
		}
	})
}

// wait waits for the round's records, logs the recorded ones, hands the
// failed ones to pending (recorded with the next claim, or on their own)
// and reports how many were recorded sent.
func (e *earlyRecords) wait(w *Worker, pending *[]*outcome) int {
	e.wg.Wait()
	for _, o := range e.done {
		w.logOutcome(o)
	}
	*pending = append(*pending, e.failed...)
	return len(e.done)
}

// send opens and delivers m.
func (w *Worker) send(ctx context.Context, m *store.Message) *outcome {
	o := &outcome{m: m, attempt: m.Attempts}
	sender := w.Sender
	switch m.Channel {
	case "sms":
		sender = w.SMS
	case "sync":
		sender = w.Sync
	case "voice":
		sender = w.Voice
	case "manager_approval":
		sender = w.Approval
	}
	clear := *m
	switch err := OpenMessage(w.Sealer, &clear); {
	case err != nil:
		o.err = permanentError{err}
	case sender == nil:
		o.err = permanentError{errors.New("no sender is configured for channel " + m.Channel)}
	default:
		o.to = clear.Recipient
		// Shutting down does not cut a send short: the relay may already
		// have the message, and an answer we never read would send it
		// twice. The sender's own timeout bounds the wait.
		o.err = sender.Send(context.WithoutCancel(ctx), &clear)
	}
	o.at = w.Now()
	return o
}

// oneWriter is a store that can make a write of one statement beside its
// writer, committed by itself (store.Store.WriteOne).
type oneWriter interface {
	WriteOne(ctx context.Context, fn func(*store.Tx) error) error
}

// writeOne runs fn, a claim or the record of one delivery, through the
// store's WriteOne when it has one: on PostgreSQL one round trip that
// neither waits for nor holds the write lock every node's steps take
// turns on. Otherwise it is a transaction like any other.
func (w *Worker) writeOne(ctx context.Context, fn func(*store.Tx) error) error {
	if s, ok := w.Store.(oneWriter); ok {
		return s.WriteOne(ctx, fn)
	}
	return w.Store.InTx(ctx, fn)
}

// recordAll writes a round's outcomes to the outbox.
func (w *Worker) recordAll(tx *store.Tx, outcomes []*outcome) error {
	for _, o := range outcomes {
		if err := w.record(tx, o); err != nil {
			return err
		}
	}
	return nil
}

// record writes o to the outbox.
func (w *Worker) record(tx *store.Tx, o *outcome) error {
	switch {
	case o.untried:
		return tx.Unclaim(o.m.ID, w.Now())
	case o.err == nil && w.SentRetention == 0:
		return tx.DeleteMessage(o.m.ID)
	case o.err == nil:
		return tx.MarkSent(o.m.ID, o.at)
	case IsPermanent(o.err) || o.attempt >= w.MaxAttempts:
		return tx.MarkFailed(o.m.ID, o.at, redact(o.err.Error(), o.to))
	default:
		return tx.MarkRetry(o.m.ID, o.at.Add(w.retryDelay(o)), redact(o.err.Error(), o.to))
	}
}

// logOutcome logs a recorded outcome; addresses and numbers never reach
// the log.
func (w *Worker) logOutcome(o *outcome) {
	m := o.m
	switch {
	case o.untried:
		w.Log.Info("outbox: handed back untried at shutdown", "id", m.ID, "kind", m.Kind)
	case o.err == nil:
		w.Log.Info("outbox: delivered", "id", m.ID, "kind", m.Kind, "attempt", o.attempt)
	case IsPermanent(o.err) || o.attempt >= w.MaxAttempts:
		w.Log.Error("outbox: giving a message up", "id", m.ID, "kind", m.Kind, "attempts", o.attempt, "err", redact(o.err.Error(), o.to))
	default:
		w.Log.Warn("outbox: delivery failed, will retry", "id", m.ID, "kind", m.Kind, "attempt", o.attempt,
			"retry_at", o.at.Add(w.retryDelay(o)), "err", redact(o.err.Error(), o.to))
	}
}

// retryDelay is the backoff, or longer when the receiver asked for a wait
// (an error with RetryAfter, from an HTTP Retry-After header).
func (w *Worker) retryDelay(o *outcome) time.Duration {
	d := w.backoff(o.attempt)
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(o.err, &ra) {
		d = max(d, ra.RetryAfter())
	}
	return d
}

// backoff doubles from InitialBackoff per failed attempt, capped at MaxBackoff.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.InitialBackoff
	for i := 1; i < attempt && d < w.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.MaxBackoff)
}

// TidyResult counts what Tidy removed.
type TidyResult struct {
	// Sent rows deleted; Purged failed rows whose recipient, subject and
	// bodies were erased; Failed rows deleted.
	Sent, Purged, Failed int64
}

// Tidy keeps the outbox from growing without end: it deletes rows sent
// more than SentRetention ago, erases the recipient, subject and bodies of
// messages given up more than FailedRetention ago, and deletes those rows
// FailedMetadataRetention later. It works in batches of a few hundred rows,
// one short transaction each, so deliveries are never held up for long.
func (w *Worker) Tidy(ctx context.Context) (TidyResult, error) {
	w.init()
	now := w.Now()
	var r TidyResult
	steps := []struct {
		n   *int64
		run func(tx *store.Tx) (int64, error)
	}{
		{&r.Sent, func(tx *store.Tx) (int64, error) { return tx.DeleteSent(now.Add(-w.SentRetention), tidyBatch) }},
		{&r.Purged, func(tx *store.Tx) (int64, error) { return tx.PurgeFailed(now.Add(-w.FailedRetention), tidyBatch) }},
		{&r.Failed, func(tx *store.Tx) (int64, error) {
			return tx.DeleteFailed(now.Add(-w.FailedRetention-FailedMetadataRetention), tidyBatch)
		}},
	}
	for _, s := range steps {
		for ctx.Err() == nil {
			var n int64
			if err := w.Store.InTx(ctx, func(tx *store.Tx) (err error) { n, err = s.run(tx); return err }); err != nil {
				return r, err
			}
			*s.n += n
			if n < tidyBatch {
				break
			}
		}
	}
	return r, ctx.Err()
}
