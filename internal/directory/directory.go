package directory

import (
	"context"
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
	// Attributes holds any further attributes the connector was asked to read.
	Attributes map[string][]string
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
type PasswordResetter interface {
	ResetPassword(ctx context.Context, user *User, newPassword string) error
}
