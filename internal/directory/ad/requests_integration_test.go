package ad_test

import (
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/directory/ldapdir/ldapdirtest"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestADLookupIsOneSearch counts, through a TLS-terminating tap in front of
// the real DC, the requests of a flow step that looks a user up and reads
// the account's status and password policy: on a warm pool and policy cache
// it is the lookup's one search, which reads the account-state attributes
// with it.
func TestADLookupIsOneSearch(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	acct := dirtest.CreateADUser(t, "First-Pass1!")
	tap := ldapdirtest.NewTLSTap(t, ldapdirtest.HostPort(t, cfg.URLs[0]), ldapdirtest.TrustCA(t, cfg.CAFile))
	cfg.URLs, cfg.CAFile = []string{tap.URL()}, tap.CAFile()
	d := newAD(t, cfg)

	reqs := ldapdirtest.LookupRequests(t, d, tap, acct.Login)
	if len(reqs) != 1 || reqs[0].Op != "search" || reqs[0].Entries != 1 {
		t.Fatalf("FindUser + AccountStatus + EffectivePolicy on a warm cache sent %+v, want one search", reqs)
	}
	// The cold round read the status from the lookup as well: the tap
	// saw no base read of the user.
}

// TestADCheckReadsOnePage runs the start-up check on an OU with 30 users,
// through a tap that counts the entries the DC sends: the sample user for
// the rights check comes from one page of at most 5 entries, however many
// users there are (Samba ignores a plain size limit and sent them all).
func TestADCheckReadsOnePage(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	cfg.BaseDN = dirtest.CreateADOU(t, 30)
	tap := ldapdirtest.NewTLSTap(t, ldapdirtest.HostPort(t, cfg.URLs[0]), ldapdirtest.TrustCA(t, cfg.CAFile))
	cfg.URLs, cfg.CAFile = []string{tap.URL()}, tap.CAFile()
	r := newAD(t, cfg).Check(ctx(t))
	t.Logf("findings: %+v", r.Findings)
	if hasFinding(r, ldapdir.FindingSampleUser, directory.SeverityWarning) {
		t.Fatalf("no sample user found in an OU of 30: %+v", r.Findings)
	}
	entries := 0
	for _, req := range tap.Requests() {
		if req.Op == "search" && strings.EqualFold(req.Base, cfg.BaseDN) {
			t.Logf("search of the OU: %d entries", req.Entries)
			entries += req.Entries
		}
	}
	if entries == 0 || entries > 5 {
		t.Fatalf("the check read %d entries of the OU, want 1..5 (one small page)", entries)
	}
}

// TestADResetIsOneModify counts, through a TLS tap in front of the real DC,
// the requests of a reset with unlock on reset: one modify carrying the
// password and lockoutTime=0 — for an account that is not locked and for
// one locked after it was looked up, which the reset unlocks too.
func TestADResetIsOneModify(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	tap := ldapdirtest.NewTLSTap(t, ldapdirtest.HostPort(t, cfg.URLs[0]), ldapdirtest.TrustCA(t, cfg.CAFile))
	tapped := cfg
	tapped.URLs, tapped.CAFile = []string{tap.URL()}, tap.CAFile()
	d := newAD(t, tapped)
	for _, lockedAfterLookup := range []bool{false, true} {
		t.Run(map[bool]string{false: "unlocked", true: "locked"}[lockedAfterLookup], func(t *testing.T) {
			acct := dirtest.CreateADUser(t, "First-Pass1!")
			user := find(t, d, acct.Login)
			if lockedAfterLookup {
				dirtest.FailBinds(t, cfg, acct.DN, dirtest.ADLockoutThreshold(t))
			}
			// Warm: the policy-hints control is learnt from the RootDSE once.
			tap.Reset()
			if err := d.ResetPassword(ctx(t), user, "Reset-Pass2!x"); err != nil {
				t.Fatalf("ResetPassword: %v", err)
			}
			var ops []string
			for _, r := range tap.Requests() {
				if r.Op == "search" && r.Base == "" {
					continue // the RootDSE, read once per pool
				}
				ops = append(ops, r.Op)
			}
			if len(ops) != 1 || ops[0] != "modify" {
				t.Fatalf("a reset sent %v, want one modify", ops)
			}
			if err := d.VerifyPassword(ctx(t), find(t, d, acct.Login), "Reset-Pass2!x"); err != nil {
				t.Fatalf("bind with the new password: %v", err)
			}
		})
	}
}
