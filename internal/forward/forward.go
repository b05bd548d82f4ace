package forward

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"path"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
)

// Event is one audit row as it is forwarded: the fields `sspr audit export`
// writes, so a forwarded event can be checked against the chain.
type Event = audit.Exported

// Sink is somewhere events go.
type Sink interface {
	// Name is the sink's stable identity: its cursor is kept under it.
	Name() string
	// Deliver sends events, oldest first, and reports how many of them
	// (a prefix) were delivered; an error means the rest are tried again
	// later.
	Deliver(ctx context.Context, events []Event) (int, error)
}

// Filter chooses event types by glob patterns (path.Match: "reset.*",
// "admin.*"); no patterns choose every event.
type Filter []string

// Wants reports whether the filter chooses event.
func (f Filter) Wants(event string) bool {
	if len(f) == 0 {
		return true
	}
	for _, p := range f {
		if ok, _ := path.Match(p, event); ok {
			return true
		}
	}
	return false
}

// Route is a sink and the events it takes.
type Route struct {
	Sink   Sink
	Events Filter
}

// Store is the part of the store the forwarder needs.
type Store interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Forwarder delivers new audit events to its routes.
type Forwarder struct {
	Store  Store
	Routes []Route
	Log    *slog.Logger
	Now    func() time.Time
	// PollInterval is how often Run looks for new events.
	PollInterval time.Duration
	// Batch is how many audit rows one round reads per sink (default 200).
	Batch int
	// InitialBackoff doubles per failed attempt in a row, up to MaxBackoff.
	InitialBackoff, MaxBackoff time.Duration
	// Lease is how long one node owns a sink's delivery (default 2m); Owner
	// names this process (default random).
	Lease time.Duration
	Owner string

	once sync.Once
}

func (f *Forwarder) init() {
	f.once.Do(func() {
		if f.Log == nil {
			f.Log = slog.Default()
		}
		if f.Now == nil {
			f.Now = time.Now
		}
		if f.PollInterval <= 0 {
			f.PollInterval = 2 * time.Second
		}
		if f.Batch <= 0 {
			f.Batch = 200
		}
		if f.InitialBackoff <= 0 {
			f.InitialBackoff = 5 * time.Second
		}
		if f.MaxBackoff <= 0 {
			f.MaxBackoff = 10 * time.Minute
		}
		if f.Lease <= 0 {
			f.Lease = 2 * time.Minute
		}
		if f.Owner == "" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			f.Owner = hex.EncodeToString(b)
		}
	})
}

// Start gives every new sink its place in the audit log: after the newest
// row. Called before the app serves, so no event of a step is older than
// a new sink's place and skipped (RunOnce does the same for a sink it has
// not seen, as a fallback).
func (f *Forwarder) Start(ctx context.Context) error {
	f.init()
	return f.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range f.Routes {
			if err := tx.StartForwardCursor(r.Sink.Name()); err != nil {
				return err
			}
		}
		return nil
	})
}

// Run delivers until ctx ends.
func (f *Forwarder) Run(ctx context.Context) {
	f.init()
	t := time.NewTicker(f.PollInterval)
	defer t.Stop()
	for {
		if _, err := f.RunOnce(ctx); err != nil && ctx.Err() == nil {
			f.Log.Warn("forward: delivery round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			for _, r := range f.Routes {
				if c, ok := r.Sink.(interface{ Close() error }); ok {
					_ = c.Close()
				}
			}
			return
		case <-t.C:
		}
	}
}

// RunOnce delivers what is due to every sink and reports how many events
// were delivered. A sink that fails waits for its backoff; the others go on.
func (f *Forwarder) RunOnce(ctx context.Context) (int, error) {
	f.init()
	total := 0
	var errs []error
	for _, r := range f.Routes {
		n, err := f.drain(ctx, r)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// drain delivers one sink's due events, batch by batch, until none are
// left or a delivery fails.
func (f *Forwarder) drain(ctx context.Context, r Route) (int, error) {
	name := r.Sink.Name()
	total := 0
	for ctx.Err() == nil {
		var cur store.ForwardCursor
		var ok bool
		var rows []*store.AuditRecord
		err := f.Store.InTx(ctx, func(tx *store.Tx) error {
			newest, err := tx.NewestAuditID()
			if err != nil {
				return err
			}
			now := f.Now()
			// A new sink starts with the events after it was configured:
			// the history is for `sspr audit export`.
			if cur, ok, err = tx.ClaimForwardCursor(name, newest, f.Owner, now, now.Add(f.Lease)); err != nil || !ok {
				return err
			}
			rows, err = tx.AuditRecords(cur.AfterID, f.Batch)
			return err
		})
		if err != nil {
			return total, err
		}
		if !ok {
			return total, nil
		}
		var events []Event
		var ids []int64
		for _, rec := range rows {
			if r.Events.Wants(rec.Event) {
				events = append(events, exported(rec))
				ids = append(ids, rec.ID)
			}
		}
		n, derr := 0, error(nil)
		if len(events) > 0 {
			n, derr = r.Sink.Deliver(context.WithoutCancel(ctx), events)
		}
		// The new place: past every row read when all went, else just
		// before the first event not delivered.
		after := cur.AfterID
		if len(rows) > 0 {
			after = rows[len(rows)-1].ID
		}
		if derr != nil && n < len(ids) {
			after = ids[n] - 1
		}
		now := f.Now()
		lastErr, next := "", time.Time{}
		if derr != nil {
			lastErr = derr.Error()
			next = now.Add(f.backoff(cur.Attempts + 1))
		}
		if err := f.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			return tx.RecordForward(name, after, lastErr, next, now)
		}); err != nil {
			return total + n, err
		}
		total += n
		if derr != nil {
			f.Log.Warn("forward: delivery failed, will retry", "sink", name, "delivered", n, "attempt", cur.Attempts+1, "retry_at", next, "err", derr)
			return total, nil
		}
		if len(rows) < f.Batch {
			return total, nil
		}
	}
	return total, ctx.Err()
}

// backoff doubles from InitialBackoff per failed attempt, capped at MaxBackoff.
func (f *Forwarder) backoff(attempt int) time.Duration {
	d := f.InitialBackoff
	for i := 1; i < attempt && d < f.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, f.MaxBackoff)
}

func exported(rec *store.AuditRecord) Event {
	return Event{
		ID: rec.ID, At: rec.At, Event: rec.Event, Flow: rec.Flow, Actor: rec.Actor, Subject: rec.Subject,
		Directory: rec.Directory, ClientIP: rec.ClientIP, Outcome: rec.Outcome, Reason: rec.Reason, Detail: rec.Detail,
		PrevHash: hex.EncodeToString(rec.PrevHash), Hash: hex.EncodeToString(rec.Hash),
	}
}
