package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/sync/target"
)

// Sender is the outbox worker's sender for channel "sync" (notify.Worker
// Sync). The worker hands it the message opened; it calls the target and
// returns the target's error, which the worker turns into a retry (after
// RetryAfter when the target named a wait) or a give-up.
type Sender struct {
	Targets map[string]target.Target
	// Store, Audit and AlertTo record a final failure: one audit event
	// and a mail to each admin, in one transaction.
	Store   notify.OutboxStore
	Audit   *audit.Chain
	AlertTo []string
	// Sealer seals the alert mails like every other outbox mail.
	Sealer notify.Sealer
	// MaxAttempts must equal the worker's: the attempt that reaches it is
	// the last, and is reported like a permanent failure.
	MaxAttempts int
	// Timeout bounds one delivery, token requests and retries included;
	// keep it under the worker's Lease, or a slow target could be called
	// again by another worker while the first call still runs. 0: none.
	Timeout time.Duration
	Now     func() time.Time
}

// noTargetReason is why a message for a target no longer configured fails.
const noTargetReason = "no sync target of this name is configured any more"

// Send delivers one sync message.
func (s *Sender) Send(ctx context.Context, m *store.Message) error {
	var env envelope
	if err := json.Unmarshal([]byte(m.Subject), &env); err != nil {
		return target.Permanentf(m.Recipient, "the sync message is damaged: %v", err)
	}
	err := s.deliver(ctx, m, env)
	final := err != nil && (notify.IsPermanent(err) || (s.MaxAttempts > 0 && m.Attempts >= s.MaxAttempts))
	if err == nil || final {
		if rerr := s.record(ctx, m, env, err); rerr != nil {
			// Not recorded: try the whole delivery again rather than
			// lose the alert. Targets take the same password twice.
			return errors.Join(errors.New("sync: recording the outcome failed"), rerr)
		}
	}
	return err
}

func (s *Sender) deliver(ctx context.Context, m *store.Message, env envelope) error {
	if env.Problem != "" {
		return target.Permanentf(m.Recipient, "%s", env.Problem)
	}
	t, ok := s.Targets[m.Recipient]
	if !ok {
		return target.Permanentf(m.Recipient, "%s", noTargetReason)
	}
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	return t.SetPassword(ctx, env.Identity, m.TextBody)
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// record audits the outcome and, on a final failure, queues the alerts.
func (s *Sender) record(ctx context.Context, m *store.Message, env envelope, cause error) error {
	if s.Store == nil {
		return nil
	}
	now := s.now()
	e := audit.Event{At: now, Event: "sync.delivered", Actor: env.Identity.Login, Subject: env.Identity.DN,
		Directory: env.Identity.Directory, Outcome: audit.Success,
		Detail: map[string]any{"target": m.Recipient, "attribute": env.Identity.Attribute, "attempts": m.Attempts}}
	state, reason := store.SyncDelivered, ""
	if cause != nil {
		e.Event, e.Outcome, e.Reason = "sync.failed", audit.Failure, cause.Error()
		state, reason = store.SyncFailed, personReason(env, cause)
		e.Detail["person_reason"] = reason
	}
	return s.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		// The outcome the person who made the change sees (their flow's
		// done page and status), and the flow it belongs to in the audit
		// record, so a reset's record leads to its syncs.
		flowHash, err := tx.SetSyncOutcome(m.ID, state, reason, now)
		if err != nil {
			return err
		}
		if len(flowHash) >= 6 {
			e.Flow = hex.EncodeToString(flowHash[:6])
		}
		if err := s.Audit.Append(tx, e); err != nil {
			return err
		}
		if cause == nil {
			return nil
		}
		for _, to := range s.AlertTo {
			a, aerr := s.alert(to, m, env, cause, now)
			if aerr != nil {
				return aerr
			}
			if aerr := tx.EnqueueMessage(a); aerr != nil {
				return aerr
			}
		}
		return nil
	})
}

// personReason sorts a final failure into the few reasons people are told
// (flow.SyncRefused, SyncUnreachable, SyncNotLinked): the target's own
// words stay with the admins, since they can carry internals.
func personReason(env envelope, cause error) string {
	var te *target.Error
	switch {
	case env.Problem != "":
		return "not_linked"
	case errors.As(cause, &te) && te.Perm && te.Reason == noTargetReason:
		return "not_linked"
	case notify.IsPermanent(cause):
		return "refused"
	default:
		return "unreachable"
	}
}

// alert is the mail an admin gets when a password did not reach a target.
func (s *Sender) alert(to string, m *store.Message, env envelope, cause error, now time.Time) (*store.Message, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	who := env.Identity.Login
	if who == "" {
		who = env.Identity.DN
	}
	text := fmt.Sprintf(`A new password for %s did not reach %s, and sspr has stopped trying.

Why: %s
Account: %s
Found in %s by %s = %q
Attempts: %d

The person's password there is still the old one. Ask them to change it
there, or set it by hand, and fix the cause above so the next change
goes through.
`, who, m.Recipient, cause, env.Identity.DN, m.Recipient, env.Identity.Attribute, env.Identity.Key, m.Attempts)
	a := &store.Message{CreatedAt: now, NextAttemptAt: now, Kind: "sync.alert", Channel: "email", Recipient: to,
		Subject: "Password sync to " + m.Recipient + " failed for " + who, TextBody: text,
		MessageID: "<sync-alert-" + hex.EncodeToString(b) + "@sspr>"}
	if s.Sealer != nil {
		if err := notify.SealMessage(s.Sealer, a); err != nil {
			return nil, err
		}
	}
	return a, nil
}
