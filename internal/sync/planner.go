package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/sync/target"
)

// Channel is the outbox channel of sync messages.
const Channel = "sync"

// Kind is the outbox kind of sync messages.
const Kind = "sync.password"

// Link names a configured target and the attribute that maps a person to
// it.
type Link struct {
	Target    string
	Attribute string
	// Label is what people call the target ("Microsoft Entra ID"), shown
	// with its outcome after a reset; empty: the target's name.
	Label string
}

// Planner turns a password change into outbox messages, one per target.
type Planner struct {
	Links    []Link
	PreHooks []target.PreHook
	// Sealer seals the password (and the identity) at rest; required.
	Sealer notify.Sealer
	Now    func() time.Time
}

// envelope is what a sync message's subject holds (sealed).
type envelope struct {
	Identity target.Identity `json:"identity"`
	// Problem says why the identity could not be mapped; the Sender
	// reports it as a permanent failure instead of calling the target.
	Problem string `json:"problem,omitempty"`
}

// Plan returns one sealed message per target, due now, for the caller to
// enqueue (held) in the transaction that records the change. A person the
// mapping finds no value for still gets a message: the Sender gives it up
// at once, so the admins hear of it, instead of the gap going unseen.
//
// A nil *Planner plans nothing, so a flow may hold one in its SyncPlanner
// field when sync is not configured.
func (p *Planner) Plan(ctx context.Context, u *directory.User, password string) ([]*store.Message, error) {
	if p == nil || len(p.Links) == 0 {
		return nil, nil
	}
	if p.Sealer == nil {
		return nil, errors.New("sync: no key ring to seal passwords with; refusing to store them in clear")
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	var out []*store.Message
	for _, l := range p.Links {
		id, err := MapIdentity(u, l.Attribute)
		env := envelope{Identity: id}
		switch {
		case err != nil:
			env.Problem = err.Error()
		case id.Key == "":
			env.Problem = "the account has no " + l.Attribute + " to find it by in " + l.Target
		}
		subject, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		t := now()
		m := &store.Message{CreatedAt: t, NextAttemptAt: t, Kind: Kind, Channel: Channel, Recipient: l.Target,
			Subject: string(subject), TextBody: password, MessageID: "<sync-" + hex.EncodeToString(b) + "@sspr>"}
		if err := notify.SealMessage(p.Sealer, m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// SyncTargets returns the targets' names and labels in the order Plan
// returns their messages (flow.SyncLabeler).
func (p *Planner) SyncTargets() (names, labels []string) {
	if p == nil {
		return nil, nil
	}
	for _, l := range p.Links {
		names, labels = append(names, l.Target), append(labels, l.Label)
	}
	return names, labels
}

// PreHook runs every pre-hook in order and returns the first refusal
// (*target.Refusal: its Message is for the person) or failure. A pre-hook
// that cannot be reached stops the change too: it was configured to have
// a say.
func (p *Planner) PreHook(ctx context.Context, u *directory.User, password string) error {
	if p == nil {
		return nil
	}
	id, _ := MapIdentity(u, AttrLogin) // login cannot fail to map
	for _, h := range p.PreHooks {
		if err := h.Check(ctx, id, password); err != nil {
			return err
		}
	}
	return nil
}
