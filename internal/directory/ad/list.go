package ad

import (
	"context"

	"github.com/sspr/sspr/internal/directory"
)

// ListUsers calls fn for every user the connector sees, a page at a time
// (reports: enrollment coverage, people not enrolled). Only the DN, login,
// display name and OU are filled in.
func (d *Directory) ListUsers(ctx context.Context, fn func(u *directory.User) error) error {
	return d.client.ListUsers(ctx, fn)
}

// ListLocked calls fn for every user whose lockoutTime is set. AD leaves
// it set after the lockout duration ran out (until the next logon), so
// callers confirm with AccountStatus.
func (d *Directory) ListLocked(ctx context.Context, fn func(u *directory.User) error) error {
	return d.client.ListUsersMatching(ctx, "(lockoutTime>=1)", fn)
}
