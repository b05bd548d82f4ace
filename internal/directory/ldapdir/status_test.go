package ldapdir

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/testenv/testclock"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
)

// tappedDemoClient is demoClient reached through a wire tap, to count
// requests.
func tappedDemoClient(t *testing.T) (*Client, *testclock.Clock, *ldapdirtest.Tap) {
	t.Helper()
	var tap *ldapdirtest.Tap
	c, clock := demoClient(t, func(cfg *Config) {
		tap = ldapdirtest.NewTap(t, ldapdirtest.HostPort(t, cfg.URLs[0]))
		cfg.URLs = []string{tap.URL()}
	})
	return c, clock, tap
}

func TestStatusEntryUsesTheLookupWhileFresh(t *testing.T) {
	c, clock, tap := tappedDemoClient(t)
	ctx := context.Background()
	attrs := []string{"pwdChangedTime", "pwdAccountLockedTime"}
	u, err := c.FindUserWithStatus(ctx, "alice", attrs)
	if err != nil {
		t.Fatal(err)
	}
	if u.StatusAttributes == nil || u.ReadAt.IsZero() {
		t.Fatalf("the lookup kept no status: %+v", u)
	}
	if _, ok := u.Attributes["pwdChangedTime"]; ok {
		t.Error("status attributes leak into User.Attributes")
	}
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reads := func(t *testing.T, attrs []string) int {
		t.Helper()
		tap.Reset()
		if _, err := c.StatusEntry(conn, u, attrs); err != nil {
			t.Fatalf("StatusEntry: %v", err)
		}
		return len(tap.Requests())
	}
	if n := reads(t, attrs); n != 0 {
		t.Fatalf("fresh lookup: %d requests, want none", n)
	}
	if n := reads(t, []string{"pwdReset"}); n != 1 {
		t.Fatalf("an attribute the lookup did not read: %d requests, want 1", n)
	}
	clock.Advance(StatusMaxAge + time.Second)
	if n := reads(t, attrs); n != 1 {
		t.Fatalf("stale lookup: %d requests, want 1", n)
	}
	clock.Advance(-StatusMaxAge - time.Second)
	ForgetStatus(u)
	if n := reads(t, attrs); n != 1 {
		t.Fatalf("after ForgetStatus: %d requests, want 1", n)
	}
}

func TestCachedPolicy(t *testing.T) {
	c, clock := demoClient(t, nil)
	loads := 0
	load := func() (*directory.PasswordPolicy, error) {
		loads++
		return &directory.PasswordPolicy{Source: "cn=p,dc=x", MinLength: 8}, nil
	}
	p, _ := c.CachedPolicy("cn=P,dc=x", load)
	p.MinLength = 99 // the caller's copy
	p, _ = c.CachedPolicy("CN=p, DC=x", load)
	if loads != 1 || p.MinLength != 8 {
		t.Fatalf("loads = %d, MinLength = %d; want 1 load and the cached 8", loads, p.MinLength)
	}
	if _, _ = c.CachedPolicy("cn=other,dc=x", load); loads != 2 {
		t.Fatalf("another source shared the entry (loads = %d)", loads)
	}
	clock.Advance(DefaultPolicyCacheTTL)
	if _, _ = c.CachedPolicy("cn=p,dc=x", load); loads != 3 {
		t.Fatalf("expired entry reused (loads = %d)", loads)
	}
	failing := func() (*directory.PasswordPolicy, error) { loads++; return nil, errors.New("down") }
	if _, err := c.CachedPolicy("cn=new,dc=x", failing); err == nil {
		t.Fatal("error lost")
	}
	if _, _ = c.CachedPolicy("cn=new,dc=x", load); loads != 5 {
		t.Fatalf("a failure was cached (loads = %d)", loads)
	}
	c.cfg.PolicyCacheTTL = -1
	_, _ = c.CachedPolicy("cn=p,dc=x", load)
	_, _ = c.CachedPolicy("cn=p,dc=x", load)
	if loads != 7 {
		t.Fatalf("negative TTL still caches (loads = %d)", loads)
	}
}
