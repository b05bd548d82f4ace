package record

import "time"

// Flow is the persisted record of one self-service flow: what the flow
// package keeps between two steps. Its state changes only through the
// flow package's transition table.
type Flow struct {
	TokenHash   []byte
	Kind        string
	State       string
	Directory   string
	SubjectDN   string
	Login       string
	DisplayName string
	Language    string
	Known       bool
	// Privileged accounts need at least two factors whatever the policy.
	Privileged bool
	// FactorsDone lists the factor kinds verified so far, in order.
	FactorsDone     []string
	FactorsRequired int
	// Policy names the policy chosen once the first factor was verified;
	// empty before (and without policies).
	Policy string
	// Access names the conditional-access rule decided with the first
	// factor (docs/policies.md); empty when none matched.
	Access string
	// The outstanding challenge.
	ChallengeKind       string
	ChallengeEnrollment string
	ChallengeState      []byte // sealed by the caller
	ChallengeExpiresAt  time.Time
	ChallengesSent      int
	// Attempts counts wrong responses over the whole flow.
	Attempts         int
	PasswordAttempts int
	ClientIP         string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ExpiresAt        time.Time
	// Version increases with every update; UpdateFlow refuses a stale one.
	Version int
	// DirectoryNote is what the directory connector asked to keep from
	// identify's lookup (directory.User.Note), handed back to it with the
	// person at later steps, on whichever node serves them. Stored once,
	// with the flow.
	DirectoryNote string
}

// Act is the recorded intent of a directory write: the flow claimed it
// at StartedAt in process Instance; PasswordLastSet is the account's
// password-last-set time read just before (zero when unknown), WasLocked
// whether it was locked, so a resolver can tell afterwards whether the write
// happened.
type Act struct {
	TokenHash       []byte
	StartedAt       time.Time
	Instance        string
	PasswordLastSet time.Time
	WasLocked       bool
}

// Persister is what the flows need from storage for their records, in one
// transaction; the store implements it (store.Tx). A stale update —
// somebody changed the flow since it was read — is refused, never applied.
type Persister interface {
	InsertFlow(f *Flow) error
	// FlowByTokenHash returns the flow, or an error wrapping the store's
	// "not found".
	FlowByTokenHash(hash []byte) (*Flow, error)
	// UpdateFlow writes f back if its Version is still current, and bumps it.
	UpdateFlow(f *Flow) error
	// ExpireFlowsOf ends every other live flow of an account (not keep,
	// and none in a busy state), returning how many.
	ExpireFlowsOf(directory, subjectDN string, keep []byte, busy []string, now time.Time) (int64, error)

	InsertFlowAct(a *Act) error
	DeleteFlowAct(tokenHash []byte) error
	FlowActByToken(tokenHash []byte) (*Act, error)
	InterruptedActs(current string, olderThan time.Time, limit int) ([]*Act, error)
}
