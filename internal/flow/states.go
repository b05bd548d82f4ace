package flow

import (
	"fmt"
	"slices"

	"github.com/sspr/sspr/internal/flow/record"
)

// transitions is the recovery flow's state machine: for each state, the
// states a step may move a flow to. It is the one place that says which
// moves are legal; moveTo refuses every other, and the diagrams in doc.go
// and docs/architecture.md are tested against it.
var transitions = map[State][]State{
	// identify → a factor is challenged at once, or the person chooses
	StateChoose: {StateChallenged},
	// a response: wrong (stays), right with more to go (choose), right and
	// enough (verified), the last wrong one (failed); Resend or Choose
	// issue a new challenge (stays)
	StateChallenged: {StateChallenged, StateChoose, StateVerified, StateFailed},
	// the act is claimed (resetting, unlocking); refused before the claim
	// (failed); the status could not be read (stays verified)
	StateVerified: {StateVerified, StateResetting, StateUnlocking, StateFailed},
	// the directory wrote (done), refused a password or was down, or the
	// process died without writing (verified again), or refused for good
	StateResetting: {StateDone, StateVerified, StateFailed},
	StateUnlocking: {StateDone, StateVerified, StateFailed},
	StateDone:      nil,
	StateFailed:    nil,
}

// initialState is the state a flow is created in (Start).
const initialState = StateChoose

// errIllegalTransition marks a step that tried a move the table forbids: a
// bug, never a person's mistake.
type errIllegalTransition struct{ from, to State }

func (e errIllegalTransition) Error() string {
	return fmt.Sprintf("flow: illegal transition %s → %s", e.from, e.to)
}

// CanMove reports whether the state machine allows from → to.
func CanMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// moveTo changes f's state, refusing any move the table does not allow.
func moveTo(f *record.Flow, to State) error {
	from := State(f.State)
	if !CanMove(from, to) {
		return errIllegalTransition{from: from, to: to}
	}
	f.State = string(to)
	return nil
}

// States lists every state, in the order of the diagram.
func States() []State {
	return []State{StateChoose, StateChallenged, StateVerified, StateResetting, StateUnlocking, StateDone, StateFailed}
}
