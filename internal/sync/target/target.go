package target

import (
	"context"
	"fmt"
	"time"
)

// Identity is the person as a target sees them: Key is the value of the
// target's mapping attribute (a UPN, a mail, an immutableId, a uid), the
// rest is context for hooks and messages.
type Identity struct {
	// Attribute names the mapping attribute Key was read from.
	Attribute string `json:"attribute"`
	Key       string `json:"key"`
	Login     string `json:"login,omitempty"`
	DN        string `json:"dn,omitempty"`
	UPN       string `json:"upn,omitempty"`
	Mail      string `json:"mail,omitempty"`
	// Directory is the primary directory the change was made in.
	Directory string `json:"directory,omitempty"`
}

// Target receives a new password.
type Target interface {
	Name() string
	// SetPassword writes password for id. A failure that retrying cannot
	// mend has Permanent() true; one that names a wait (HTTP Retry-After)
	// has RetryAfter() > 0. Use *Error.
	SetPassword(ctx context.Context, id Identity, password string) error
}

// Error is a target's failure. Reason is plain language for admins; it
// never holds the password.
type Error struct {
	Target string
	Reason string
	// Perm: retrying cannot help (unknown user, refused password, no rights).
	Perm bool
	// After is how long the target asked us to wait (0: our own backoff).
	After time.Duration
	Err   error
}

func (e *Error) Error() string {
	s := e.Target + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying cannot help.
func (e *Error) Permanent() bool { return e.Perm }

// RetryAfter is the wait the target asked for, or 0.
func (e *Error) RetryAfter() time.Duration { return e.After }

// Permanentf is a failure retrying cannot mend.
func Permanentf(target, format string, args ...any) *Error {
	return &Error{Target: target, Reason: fmt.Sprintf(format, args...), Perm: true}
}

// Retryf is a failure worth retrying, after wait if it is not zero.
func Retryf(target string, wait time.Duration, format string, args ...any) *Error {
	return &Error{Target: target, Reason: fmt.Sprintf(format, args...), After: wait}
}

// PreHook is asked before the primary directory is written; a *Refusal
// stops the change and its Message is shown to the person.
type PreHook interface {
	Name() string
	Check(ctx context.Context, id Identity, password string) error
}

// Refusal is a pre-hook saying no, with words for the person.
type Refusal struct {
	Hook    string
	Message string
}

func (r *Refusal) Error() string { return r.Hook + " refused the change: " + r.Message }
