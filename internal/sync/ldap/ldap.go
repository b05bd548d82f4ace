package ldap

import (
	"context"
	"errors"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/sync/target"
)

// Directory is what the target needs from a connector.
type Directory interface {
	directory.Directory
	directory.PasswordResetter
}

// Target sets passwords in another directory.
type Target struct {
	name string
	dir  Directory
}

// New returns a target named name writing to dir; dir must be able to
// reset passwords.
func New(name string, dir directory.Directory) (*Target, error) {
	d, ok := dir.(Directory)
	if !ok {
		return nil, errors.New("sync target " + name + ": directory " + dir.Name() + " cannot reset passwords")
	}
	return &Target{name: name, dir: d}, nil
}

// Name is the configured name.
func (t *Target) Name() string { return t.name }

// SetPassword finds id.Key in the directory and resets the password.
func (t *Target) SetPassword(ctx context.Context, id target.Identity, password string) error {
	u, err := t.dir.FindUser(ctx, id.Key)
	if err != nil {
		return t.wrap("looking the account up by "+id.Attribute+" failed", err)
	}
	if err := t.dir.ResetPassword(ctx, u, password); err != nil {
		return t.wrap("setting the password of "+u.DN+" failed", err)
	}
	return nil
}

// wrap classifies a connector error: an outage is retried, everything
// else (not found, ambiguous, a refused password, missing rights, a
// misconfiguration) fails the same way next time.
func (t *Target) wrap(what string, err error) error {
	e := &target.Error{Target: t.name, Reason: what, Err: err}
	switch directory.KindOf(err) {
	case directory.KindUnavailable, directory.KindUnknown:
	default:
		e.Perm = true
	}
	return e
}
