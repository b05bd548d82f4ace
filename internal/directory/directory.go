package directory

import (
	"context"
	"time"
)

// User is what sspr knows of one directory account after a lookup.
type User struct {
	// Directory is the configured name of the directory the user lives in.
	Directory string
	// DN is the distinguished name, the stable handle for later operations.
	DN string
	// Login is the canonical login name (sAMAccountName or uid), used in audit
	// records and mails.
	Login string
	// DisplayName is a human-friendly name, may be empty.
	DisplayName string
	// Email is the address codes are sent to, may be empty.
	Email string
	// Mobile is the mobile phone number as stored (not normalised), may be
	// empty.
	Mobile string
	// Manager is the DN of the user's manager, may be empty.
	Manager string
	// OU is the DN of the entry's parent (the container or organisational
	// unit the account lives in), for policies scoped by OU.
	OU string
	// Attributes holds any further attributes the connector was asked to read.
	Attributes map[string][]string

	// StatusAttributes holds the account-state attributes (AD
	// userAccountControl, lockoutTime, ...; ppolicy pwdAccountLockedTime,
	// ...) that the connector read in the same search as the lookup, keyed
	// by the names it asked for, so that AccountStatus and EffectivePolicy
	// need not ask the directory again. It belongs to the connector that
	// filled it: nobody else reads or writes it. nil when not read; the
	// connector forgets it after changing the account.
	StatusAttributes map[string][]string
	// ReadAt is when the lookup read the entry (zero when unknown); a
	// connector uses StatusAttributes only for a few seconds after it.
	ReadAt time.Time
	// Note is what the connector asks sspr to keep with the person for the
	// flow's later steps, handed back in the User those steps build, on
	// whichever node serves them (AD: the password policy in force, as the
	// lookup read it, and when). Opaque to everything but the connector
	// that wrote it, which must not trust it beyond what it could have
	// cached itself; empty when it asks for nothing.
	Note string
}

// Directory is the base interface every connector implements.
type Directory interface {
	// Name returns the configured name of this directory.
	Name() string
	// FindUser looks a user up by any of the configured login attributes. It
	// returns an *Error of kind KindNotFound when nobody matches and
	// KindAmbiguous when more than one entry does.
	FindUser(ctx context.Context, login string) (*User, error)
	// VerifyPassword binds as the user. A wrong password is an *Error of kind
	// KindInvalidCredentials; a locked, disabled or expired account reports
	// its own kind.
	VerifyPassword(ctx context.Context, user *User, password string) error
	// Close releases connections.
	Close() error
}

// PasswordResetter is implemented by directories where the service account
// can set a user's password without knowing the old one.
//
// A connector does not refuse to reset a protected account (AD adminCount=1,
// a configured protected group): whether self-service may touch such an
// account is policy, and the flow decides it by reading
// AccountStatus.Protected BEFORE calling ResetPassword (and Unlock,
// SetMustChange). A flow must never reset without having looked.
type PasswordResetter interface {
	ResetPassword(ctx context.Context, user *User, newPassword string) error
}

// Pinger is implemented by directories that can say cheaply whether they
// answer now (the readiness check, /readyz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// DomainOwner is implemented by directories that declare the domain names
// their users type (NetBIOS names such as EXAMPLE in EXAMPLE\alice, DNS or
// UPN suffixes such as example.test in alice@example.test). Set routes
// qualified logins by it.
type DomainOwner interface {
	Domains() []string
}
