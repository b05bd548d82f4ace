package ldapdir

import (
	"context"
	"time"

	"github.com/sspr/sspr/internal/directory"
)

// The steps every LDAP connector takes the same way around its
// product-specific operations: borrowing a service connection for one
// operation, refining a refused password with what only the service account
// may read, and finishing an account status with the configured
// DisabledFilter and ProtectedGroups.

// NoUser is the error of an operation called with a nil user.
func NoUser(op string) error {
	return &directory.Error{Kind: directory.KindNotFound, Op: op, Diagnostic: "no user"}
}

// WithServiceConn runs fn on a pooled service connection and returns the
// connection to the pool afterwards. A failure to get a connection is
// returned as it is (already a *directory.Error); fn's failure is mapped by
// MapError(ctx, op, err), which leaves a *directory.Error unchanged.
func (c *Client) WithServiceConn(ctx context.Context, op string, fn func(conn *Conn) error) error {
	_, err := WithServiceConnResult(ctx, c, op, func(conn *Conn) (struct{}, error) { return struct{}{}, fn(conn) })
	return err
}

// WithServiceConnResult is WithServiceConn for an operation that reads
// something: fn's result, or on failure the zero value and the error.
func WithServiceConnResult[T any](ctx context.Context, c *Client, op string, fn func(conn *Conn) (T, error)) (T, error) {
	var zero T
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		return zero, err
	}
	defer conn.Close()
	var v T
	err = c.timed(conn, op, func() (err error) {
		if v, err = fn(conn); err != nil {
			return MapError(ctx, op, err)
		}
		return nil
	})
	if err != nil {
		return zero, err
	}
	return v, nil
}

// RefinePolicyViolation calls refine when e is a KindPolicyViolation, to
// fill in what the policy in force says (the minimum length, say). It hands
// refine conn, or, when conn is nil (the write went out on a connection
// bound as the user, who may not read the policy), a pooled service
// connection borrowed for the purpose; when none can be had, e stays as it
// is.
func (c *Client) RefinePolicyViolation(ctx context.Context, conn *Conn, e *directory.Error, refine func(conn *Conn)) {
	if e == nil || e.Kind != directory.KindPolicyViolation {
		return
	}
	if conn != nil {
		refine(conn)
		return
	}
	sc, err := c.ServiceConn(ctx)
	if err != nil {
		return
	}
	defer sc.Close()
	refine(sc)
}

// UnlockAfterResetError maps the failure of the unlock that follows a
// successful reset (Config.UnlockOnReset): Op is always
// directory.OpUnlockAfterReset, which tells the caller the new password IS
// in place.
func UnlockAfterResetError(ctx context.Context, err error) *directory.Error {
	e := MapError(ctx, directory.OpUnlockAfterReset, err)
	e.Op = directory.OpUnlockAfterReset
	return e
}

// FinishStatus completes st, read by a connector from the product's own
// attributes, with what the configuration adds: an account that
// Config.DisabledFilter matches is Disabled, and one in a
// Config.ProtectedGroups group (groups lists the user's groups, asked only
// when protected groups are configured) or with a product-specific reason
// (reason, "" for none) is Protected.
func (c *Client) FinishStatus(ctx context.Context, conn *Conn, dn string, st *directory.AccountStatus,
	groups func() ([]string, error), reason string) error {
	if c.cfg.DisabledFilter != "" && !st.Disabled {
		var err error
		if st.Disabled, err = conn.Matches(dn, c.cfg.DisabledFilter); err != nil {
			return MapError(ctx, "status", err)
		}
	}
	var in []string
	if len(c.cfg.ProtectedGroups) > 0 {
		g, err := groups()
		if err != nil {
			return err
		}
		in = c.ProtectedBy(g)
	}
	MarkProtected(st, in, reason)
	return nil
}

// Lockout reads a lockout that began at lockedAt and lasts duration (0:
// until an administrator unlocks it): whether it still holds at now, and
// when it ends (zero for no end).
func Lockout(now, lockedAt time.Time, duration time.Duration) (locked bool, ends time.Time) {
	if duration <= 0 {
		return true, time.Time{}
	}
	ends = lockedAt.Add(duration)
	return now.Before(ends), ends
}
