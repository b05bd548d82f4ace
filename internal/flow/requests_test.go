package flow_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/demo"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
)

// TestResetFlowDirectoryRequests counts, from the directory's side (a tap in
// front of it), the requests of one complete reset — identify, the mailed
// code, the new password — on a warm connection pool and policy cache: the
// lookup, one fresh read of the person's DN in the password step (status,
// policy and notice addresses read from it) and the write. Before, verify looked the person up
// again, and the password step asked for the policy, the status and the
// notice addresses one request each (issue 10: ≤ 4 per flow).
func TestResetFlowDirectoryRequests(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	srv, tap, connector := tappedDemo(t)
	h.reset.Directories = directory.NewSet(connector(""))

	reset := func(pw string) {
		t.Helper()
		token, st, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7", Language: "en"})
		if err != nil || st.State != flow.StateChallenged {
			t.Fatalf("start: %v %+v", err, st)
		}
		if st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.7"); err != nil || st.State != flow.StateVerified {
			t.Fatalf("verify: %v %+v", err, st)
		}
		if st, err := h.reset.SetPassword(ctx, token, pw, pw, "192.0.2.7"); err != nil || st.State != flow.StateDone {
			t.Fatalf("password: %v %+v", err, st)
		}
	}
	reset("Warm-Up-Pass-1") // dials and binds the pool, caches the policy
	tap.Reset()
	reset("Second-Pass-22")
	reqs := tap.Requests()
	ops := map[string]int{}
	for _, r := range reqs {
		ops[r.Op]++
	}
	t.Logf("one complete reset: %d requests %v", len(reqs), ops)
	if len(reqs) > 4 || ops["modify"] != 1 || ops["search"] > 2 || ops["bind"] != 0 {
		t.Errorf("one complete reset sent %d requests %v (%+v), want at most 4: the lookup, one in the password step, the write", len(reqs), ops, reqs)
	}
	// The password step reads the person by the DN identify found (one
	// base read), not by the login filter's subtree search again.
	var byDN, byLogin int
	for _, r := range reqs {
		switch {
		case r.Op != "search":
		case strings.EqualFold(r.Base, "uid=alice,ou=people,"+srv.BaseDN()):
			byDN++
		case strings.EqualFold(r.Base, srv.BaseDN()):
			byLogin++
		}
	}
	if byDN != 1 || byLogin != 1 {
		t.Errorf("searches by login %d, by DN %d (%+v), want one each: identify's lookup and the password step's read", byLogin, byDN, reqs)
	}
	// The notice still went to the person's address.
	ms := h.messages(t)
	if last := ms[len(ms)-1]; last.Kind != "password_notice" || last.Recipient != "alice@demo.sspr.test" {
		t.Errorf("last message %s to %s, want the password notice to alice", last.Kind, last.Recipient)
	}
}

// TestStepsReadBesideTheWriter: loading a flow (status, and the first read
// of choose, resend, verify and the password step) is a read-only
// transaction that does not wait for the one writer; before, each was a
// writing transaction of its own, queued behind every other write.
func TestStepsReadBesideTheWriter(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	holding, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = h.store.InTx(ctx, func(*store.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	defer close(release)
	done := make(chan error, 1)
	go func() {
		st, err := h.reset.Status(ctx, token)
		if err == nil && st.State != flow.StateChallenged {
			err = fmt.Errorf("state %s, want challenged", st.State)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // only a deadlock breaker
		t.Fatal("reading a flow waited for the open writing transaction")
	}
}

// countingStore counts the writing transactions that go through it.
type countingStore struct {
	*store.Store
	writes atomic.Int64
}

func (c *countingStore) InTx(ctx context.Context, fn func(*store.Tx) error) error {
	c.writes.Add(1)
	return c.Store.InTx(ctx, fn)
}

// TestRightCodeRefundsInTheStep: a right code gives its failure slot back in
// the transaction that records the answer, so verifying costs two writing
// transactions (the slot taken, the answer with the refund) instead of
// three; the slot is given back all the same.
func TestRightCodeRefundsInTheStep(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	cs := &countingStore{Store: h.store}
	h.reset.Store = cs
	h.reset.Limiter = &storeLimiter{l: newStoreLimiter(abuse.DefaultPolicy(), h.store, h.clock.Now).l, st: cs}
	token, _, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	code := h.lastCode(t)
	before := cs.writes.Load()
	if st, err := h.reset.VerifyCode(ctx, token, code, "192.0.2.7"); err != nil || st.State != flow.StateVerified {
		t.Fatalf("verify: %v %+v", err, st)
	}
	if got := cs.writes.Load() - before; got != 2 {
		t.Errorf("a right code took %d writing transactions, want 2", got)
	}
	err = h.store.ReadTx(ctx, func(tx *store.Tx) error {
		for _, kind := range []string{"verify_failure_ip", "verify_failure_user"} {
			for _, key := range []string{abuse.IPKey("192.0.2.7", 64), abuse.LoginKey("demo|uid=alice,ou=people,dc=demo,dc=sspr")} {
				bs, err := tx.AbuseBuckets(kind, key, h.clock.Now().Add(-48*time.Hour))
				if err != nil {
					return err
				}
				if len(bs) > 0 {
					t.Errorf("%s %s still counts %+v after a right code", kind, key, bs)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPasswordStepRefusesAnAccountGoneOutOfScope: the password step reads
// the person again by the DN identify found; an entry that no longer
// matches the directory's user filter (or left its base DN, or is gone)
// ends the flow with nothing written, rather than resetting an account
// sspr no longer serves.
func TestPasswordStepRefusesAnAccountGoneOutOfScope(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, tap, connector := tappedDemo(t)
	h.reset.Directories = directory.NewSet(connector(""))
	token, st, err := h.reset.Start(ctx, flow.StartInput{Login: "alice", ClientIP: "192.0.2.7", Language: "en"})
	if err != nil || st.State != flow.StateChallenged {
		t.Fatalf("start: %v %+v", err, st)
	}
	if st, err := h.reset.VerifyCode(ctx, token, h.lastCode(t), "192.0.2.7"); err != nil || st.State != flow.StateVerified {
		t.Fatalf("verify: %v %+v", err, st)
	}
	// Since identify, the directory's scope no longer takes alice in.
	h.reset.Directories = directory.NewSet(connector("(objectClass=sspr-nobody)"))
	tap.Reset()
	_, err = h.reset.SetPassword(ctx, token, "Out-Of-Scope-1", "Out-Of-Scope-1", "192.0.2.7")
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.CodeResetNotPermitted {
		t.Fatalf("password for an account out of scope: %v, want %s", err, flow.CodeResetNotPermitted)
	}
	for _, r := range tap.Requests() {
		if r.Op == "modify" || r.Op == "extended" {
			t.Fatalf("the password step wrote to the directory: %+v", tap.Requests())
		}
	}
	if st, err := h.reset.Status(ctx, token); err != nil || st.State != flow.StateFailed {
		t.Fatalf("after the refusal: %v %+v, want failed", err, st)
	}
}

// tappedDemo starts the demo directory behind a tap and returns a maker of
// connectors to it, each with the given user filter ("" for the preset's).
func tappedDemo(t *testing.T) (*demo.Server, *ldapdirtest.Tap, func(userFilter string) directory.Directory) {
	t.Helper()
	srv, err := demo.Start(context.Background(), demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	tap := ldapdirtest.NewTap(t, srv.Addr())
	return srv, tap, func(userFilter string) directory.Directory {
		cfg := openldap.Preset()
		cfg.Name = "demo"
		cfg.URLs = []string{tap.URL()}
		cfg.BindDN, cfg.BindPassword, cfg.BaseDN = srv.ServiceDN(), srv.ServicePassword(), srv.BaseDN()
		cfg.AllowInsecurePasswordWrites = true
		cfg.Timeout = 5 * time.Second
		if userFilter != "" {
			cfg.UserFilter = userFilter
		}
		dir, err := openldap.New(cfg, openldap.Options{PasswordWrite: "modify"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dir.Close() })
		return dir
	}
}
