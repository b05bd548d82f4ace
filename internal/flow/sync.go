package flow

import (
	"context"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/store"
)

// SyncPlanner carries a new password to the other places a person signs
// in to (internal/sync.Planner implements it; docs/sync.md). A nil
// SyncPlanner syncs nothing.
//
// Where the act calls it (reset, and change with the old password):
//
//  1. PreHook, after the new password passed the rules and BEFORE the
//     claim transaction and the directory write. An error stops the act
//     with nothing written and nothing claimed (refund the limit). When
//     it is a *target.Refusal (internal/sync/target), its Message is the
//     site's own words for the person: show it as the reason the password
//     was refused (like a policy violation); any other error is a plain
//     "could not check the new password, try again later".
//  2. Plan, in the claim transaction, next to holdNotices: enqueue each
//     returned message, set NextAttemptAt = heldUntil and HoldMessage it
//     with the flow's token hash, exactly like the notices. recordAct's
//     ReleaseHeldMessages then makes them due when the directory took the
//     password, and drops them (with the notices) when it did not; a
//     crash between the write and the record leaves them held until
//     ResolveInterrupted settles the act, so a sync happens once, and
//     only for a password the directory has. Plan only seals and
//     returns; it does no I/O, so calling it inside the transaction is
//     cheap. The messages hold the password sealed with the key ring:
//     never log them.
//
// The outbox worker's Sync sender (internal/sync.Sender) delivers them.
type SyncPlanner interface {
	Plan(ctx context.Context, user *directory.User, password string) ([]*store.Message, error)
	PreHook(ctx context.Context, user *directory.User, password string) error
}
