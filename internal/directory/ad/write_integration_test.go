package ad_test

import (
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// With every turn to write taken (write_concurrency; the AD preset's 2),
// against the real DC: a reset waits for one and gives up as
// "unavailable", changing nothing; a password change with a wrong old
// password is answered "wrong password" — it takes no turn before the
// bind has shown the old password right — and with the right one it
// waits for its turn and succeeds.
func TestADWritesTakeTurns(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	cfg.Timeout = 2 * time.Second // a turn's wait ends after Timeout
	d := newAD(t, cfg)
	if got := d.Config().WriteConcurrency; got != 2 {
		t.Fatalf("the AD preset's write_concurrency is %d, want 2", got)
	}
	acct := dirtest.CreateADUser(t, "First-Pass1!")
	u := find(t, d, acct.Login)

	release := ad.HoldWriteTurns(t, d, 2)
	if err := d.ResetPassword(ctx(t), u, "Second-Pass2!"); directory.KindOf(err) != directory.KindUnavailable {
		t.Fatalf("reset with every turn taken: %v, want unavailable", err)
	}
	if err := dirtest.Bind(t, cfg, acct.Login, "First-Pass1!"); err != nil {
		t.Fatalf("the refused reset changed the password: %v", err)
	}
	// Had it waited for a turn, it would have given up as unavailable.
	if err := d.ChangePassword(ctx(t), u, "Wrong-Pass9!", "Third-Pass3!"); directory.KindOf(err) != directory.KindInvalidCredentials {
		t.Fatalf("change with a wrong old password and every turn taken: %v, want invalid credentials", err)
	}
	done := make(chan error, 1)
	go func() { done <- d.ChangePassword(ctx(t), u, "First-Pass1!", "Third-Pass3!") }()
	time.Sleep(100 * time.Millisecond)
	release()
	if err := <-done; err != nil {
		t.Fatalf("change with the right old password once a turn was free: %v", err)
	}
	if err := dirtest.Bind(t, cfg, acct.Login, "Third-Pass3!"); err != nil {
		t.Fatalf("the new password does not bind: %v", err)
	}
}
