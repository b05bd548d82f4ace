package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// Sender delivers one message; an error means "not delivered, try again".
type Sender interface {
	Send(ctx context.Context, m *store.Message) error
}

// PermanentError marks a failure retrying cannot fix (the relay refused the
// recipient, say); the message is given up at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// OutboxStore is the part of the store the worker needs.
type OutboxStore interface {
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Worker delivers due outbox messages.
type Worker struct {
	Store OutboxStore
	// Sender delivers mail; SMS delivers text messages (nil: SMS messages
	// are given up with a clear error).
	Sender Sender
	SMS    Sender
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
	// kick wakes the worker early when a step enqueued something.
	kick chan struct{}
}

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
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	if w.Lease == 0 {
		w.Lease = 2 * time.Minute
	}
	if w.kick == nil {
		w.kick = make(chan struct{}, 1)
	}
}

// Prepare makes Kick usable before Run starts; Run calls it too.
func (w *Worker) Prepare() { w.init() }

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.init()
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

// RunOnce delivers every message due now and reports how many were sent.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	sent := 0
	for ctx.Err() == nil {
		now := w.Now()
		var due []*store.Message
		err := w.Store.InTx(ctx, func(tx *store.Tx) error {
			var err error
			due, err = tx.DueMessages(now, 20)
			return err
		})
		if err != nil || len(due) == 0 {
			return sent, err
		}
		for _, m := range due {
			ok, err := w.deliver(ctx, m)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
	return sent, ctx.Err()
}

// deliver claims, sends and records one message. Claiming first means two
// workers never send the same message; the lease makes a worker that died
// mid-send give the message back.
func (w *Worker) deliver(ctx context.Context, m *store.Message) (bool, error) {
	now := w.Now()
	var claimed bool
	err := w.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		claimed, err = tx.ClaimMessage(m.ID, now, now.Add(w.Lease))
		return err
	})
	if err != nil || !claimed {
		return false, err
	}
	attempt := m.Attempts + 1
	sender := w.Sender
	if m.Channel == "sms" {
		sender = w.SMS
	}
	var sendErr error
	clear := *m
	switch err := OpenMessage(w.Sealer, &clear); {
	case err != nil:
		sendErr = &PermanentError{Err: err}
	case sender == nil:
		sendErr = &PermanentError{Err: errors.New("no sender is configured for channel " + m.Channel)}
	default:
		sendErr = sender.Send(ctx, &clear)
	}
	done := w.Now()
	err = w.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		var perm *PermanentError
		switch {
		case sendErr == nil:
			return tx.MarkSent(m.ID, done)
		case errors.As(sendErr, &perm) || attempt >= w.MaxAttempts:
			w.Log.Error("outbox: giving a message up", "id", m.ID, "kind", m.Kind, "attempts", attempt, "err", sendErr)
			return tx.MarkFailed(m.ID, done, sendErr.Error())
		default:
			next := done.Add(w.backoff(attempt))
			w.Log.Warn("outbox: delivery failed, will retry", "id", m.ID, "kind", m.Kind, "attempt", attempt, "retry_at", next, "err", sendErr)
			return tx.MarkRetry(m.ID, next, sendErr.Error())
		}
	})
	if err != nil {
		return false, err
	}
	if sendErr == nil {
		w.Log.Info("outbox: delivered", "id", m.ID, "kind", m.Kind, "attempt", attempt)
	}
	return sendErr == nil, nil
}

// backoff doubles from InitialBackoff per failed attempt, capped at MaxBackoff.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.InitialBackoff
	for i := 1; i < attempt && d < w.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.MaxBackoff)
}
