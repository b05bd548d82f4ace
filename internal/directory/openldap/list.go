package openldap

import (
	"context"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
)

// ListUsers calls fn for every user the connector sees, a page at a time
// (reports: enrollment coverage, people not enrolled). Only the DN, login,
// display name and OU are filled in.
func (d *Directory) ListUsers(ctx context.Context, fn func(u *directory.User) error) error {
	return d.client.ListUsers(ctx, fn)
}

// ListLocked calls fn for every user whose entry shows a lockout: ppolicy's
// pwdAccountLockedTime, 389-DS's accountUnlockTime. The entry may show one
// that has run out: callers confirm with AccountStatus. FreeIPA keeps its
// lockout in Kerberos attributes no filter can compare with now, so it
// answers KindUnsupported.
func (d *Directory) ListLocked(ctx context.Context, fn func(u *directory.User) error) error {
	switch d.flavor() {
	case ldapdir.Flavor389DS:
		return d.client.ListUsersMatching(ctx, "(accountUnlockTime=*)", fn)
	case ldapdir.FlavorFreeIPA:
		return &directory.Error{Kind: directory.KindUnsupported, Op: "list locked",
			Diagnostic: "FreeIPA keeps lockouts in Kerberos attributes; read each account's status instead"}
	}
	return d.client.ListUsersMatching(ctx, "(pwdAccountLockedTime=*)", fn)
}
