package ldapdir

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

func TestLockout(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		now        time.Time
		duration   time.Duration
		wantLocked bool
		wantEnds   time.Time
	}{
		{"no duration: until unlocked", at.Add(24 * time.Hour), 0, true, time.Time{}},
		{"within the duration", at.Add(29 * time.Minute), 30 * time.Minute, true, at.Add(30 * time.Minute)},
		{"at the end", at.Add(30 * time.Minute), 30 * time.Minute, false, at.Add(30 * time.Minute)},
		{"after the end", at.Add(time.Hour), 30 * time.Minute, false, at.Add(30 * time.Minute)},
	} {
		locked, ends := Lockout(tc.now, at, tc.duration)
		if locked != tc.wantLocked || !ends.Equal(tc.wantEnds) {
			t.Errorf("%s: Lockout = %v, %v; want %v, %v", tc.name, locked, ends, tc.wantLocked, tc.wantEnds)
		}
	}
}

func TestNoUserAndUnlockAfterResetError(t *testing.T) {
	var e *directory.Error
	if err := NoUser("reset"); !errors.As(err, &e) || e.Kind != directory.KindNotFound || e.Op != "reset" {
		t.Fatalf("NoUser = %#v", err)
	}
	e = UnlockAfterResetError(context.Background(), &directory.Error{Kind: directory.KindAccessDenied, Op: "unlock"})
	if e.Kind != directory.KindAccessDenied || e.Op != directory.OpUnlockAfterReset {
		t.Fatalf("UnlockAfterResetError of a mapped error = %#v", e)
	}
	e = UnlockAfterResetError(context.Background(), ldap.NewError(ldap.LDAPResultInsufficientAccessRights, errors.New("no")))
	if e.Kind != directory.KindAccessDenied || e.Op != directory.OpUnlockAfterReset {
		t.Fatalf("UnlockAfterResetError of an LDAP error = %#v", e)
	}
}

// quick bounds a call that would block if a pooled connection were not
// given back.
func quick(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestWithServiceConn(t *testing.T) {
	c, _ := demoClient(t, func(cfg *Config) { cfg.PoolSize = 1 })
	// Each call gives the one pooled connection back, or the next would
	// wait until its context ends.
	for i := 0; i < 3; i++ {
		err := c.WithServiceConn(quick(t), "op", func(conn *Conn) error {
			if !conn.Pooled() {
				t.Error("not a pooled connection")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	err := c.WithServiceConn(quick(t), "unlock", func(conn *Conn) error {
		return ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("no such entry"))
	})
	var e *directory.Error
	if !errors.As(err, &e) || e.Kind != directory.KindNotFound || e.Op != "unlock" {
		t.Fatalf("an LDAP failure is mapped with the op: %#v", err)
	}
	mapped := &directory.Error{Kind: directory.KindDisabled, Op: "unlock", Diagnostic: "locked for good"}
	if err := c.WithServiceConn(quick(t), "other", func(*Conn) error { return mapped }); err != mapped {
		t.Fatalf("a *directory.Error comes back as it is: %#v", err)
	}

	n, err := WithServiceConnResult(quick(t), c, "count", func(*Conn) (int, error) { return 42, nil })
	if n != 42 || err != nil {
		t.Fatalf("WithServiceConnResult = %d, %v", n, err)
	}
	n, err = WithServiceConnResult(quick(t), c, "count", func(*Conn) (int, error) { return 42, mapped })
	if n != 0 || err != mapped {
		t.Fatalf("WithServiceConnResult on failure = %d, %v; want 0 and the error", n, err)
	}

	// Without a connection, fn is not called and the pool's error returns.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	c2, _ := demoClient(t, func(cfg *Config) { cfg.PoolSize = 1 })
	hold, err := c2.ServiceConn(quick(t))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	err = c2.WithServiceConn(cancelled, "op", func(*Conn) error {
		t.Error("fn called without a connection")
		return nil
	})
	if !errors.As(err, &e) || e.Kind != directory.KindUnavailable {
		t.Fatalf("no free connection: %#v", err)
	}
}

func TestRefinePolicyViolation(t *testing.T) {
	c, _ := demoClient(t, func(cfg *Config) { cfg.PoolSize = 1 })
	calls := 0
	refine := func(conn *Conn) { calls++ }

	c.RefinePolicyViolation(quick(t), nil, &directory.Error{Kind: directory.KindAccessDenied}, refine)
	c.RefinePolicyViolation(quick(t), nil, nil, refine)
	if calls != 0 {
		t.Fatalf("refine called for an error that is no policy violation")
	}

	own, err := c.Dial(quick(t))
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	pv := &directory.Error{Kind: directory.KindPolicyViolation}
	c.RefinePolicyViolation(quick(t), own, pv, func(conn *Conn) {
		calls++
		if conn != own {
			t.Error("refine did not get the connection passed in")
		}
	})
	for i := 0; i < 2; i++ { // the borrowed connection goes back each time
		c.RefinePolicyViolation(quick(t), nil, pv, func(conn *Conn) {
			calls++
			if !conn.Pooled() {
				t.Error("refine did not get a pooled service connection")
			}
			pv.MinLength = 8
		})
	}
	if calls != 3 || pv.MinLength != 8 {
		t.Fatalf("refine calls %d, MinLength %d", calls, pv.MinLength)
	}
}

func TestFinishStatus(t *testing.T) {
	const group = "cn=Admins,ou=Groups,dc=example,dc=test"
	c, _ := demoClient(t, func(cfg *Config) {
		cfg.DisabledFilter = "(uid=alice)"
		cfg.ProtectedGroups = []string{group}
	})
	ctx := quick(t)
	alice, err := c.FindUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := c.FindUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	in := func(groups ...string) func() ([]string, error) {
		return func() ([]string, error) { return groups, nil }
	}
	st := &directory.AccountStatus{}
	if err := c.FinishStatus(ctx, conn, alice.DN, st, in("CN=admins,OU=groups,DC=example,DC=test"), ""); err != nil {
		t.Fatal(err)
	}
	if !st.Disabled || !st.Protected || len(st.ProtectedGroups) != 1 || st.ProtectedReason != "member of "+group {
		t.Fatalf("alice, matched by DisabledFilter, in the protected group: %+v", st)
	}
	st = &directory.AccountStatus{}
	if err := c.FinishStatus(ctx, conn, bob.DN, st, in("cn=other,dc=example,dc=test"), "adminCount=1"); err != nil {
		t.Fatal(err)
	}
	if st.Disabled || !st.Protected || len(st.ProtectedGroups) != 0 || st.ProtectedReason != "adminCount=1" {
		t.Fatalf("bob, protected only by the connector's reason: %+v", st)
	}
	st = &directory.AccountStatus{}
	failed := &directory.Error{Kind: directory.KindAccessDenied, Op: "groups"}
	if err := c.FinishStatus(ctx, conn, bob.DN, st, func() ([]string, error) { return nil, failed }, ""); err != failed {
		t.Fatalf("a failure to list groups: %v", err)
	}
}
