package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ad"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// At start, abuse.user_failures.limit is checked against each directory's
// real lockout threshold (OpenLDAP ppolicy pwdMaxFailure in the test
// directory): a limit that is not below it is an ERROR in plain words.
func TestCheckLockoutThresholds(t *testing.T) {
	cfg := dirtest.LDAPConfig(t)
	d, err := openldap.New(cfg, openldap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dirs := directory.NewSet(d)
	pol, err := d.EffectivePolicy(ctx, &directory.User{DN: cfg.BaseDN})
	if err != nil || pol.LockoutThreshold <= 0 {
		t.Fatalf("the test directory locks no accounts: %+v %v", pol, err)
	}
	for _, tc := range []struct {
		limit int
		want  bool
	}{{pol.LockoutThreshold, true}, {pol.LockoutThreshold + 3, true}, {0, true}, {pol.LockoutThreshold - 1, false}} {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		p := abuse.DefaultPolicy()
		p.UserFailures.Limit = tc.limit
		got := app.CheckLockoutThresholds(ctx, dirs, p, log)
		if (len(got) > 0) != tc.want {
			t.Errorf("limit %d against threshold %d: %q", tc.limit, pol.LockoutThreshold, got)
		}
		if tc.want && (!strings.Contains(buf.String(), "level=ERROR") || !strings.Contains(buf.String(), "abuse.user_failures.limit") ||
			!strings.Contains(buf.String(), d.Name())) {
			t.Errorf("limit %d: not logged plainly:\n%s", tc.limit, buf.String())
		}
	}
}

// The same against Samba AD (domain lockoutThreshold, read as the
// least-privilege service account).
func TestCheckLockoutThresholdsAD(t *testing.T) {
	cfg := dirtest.ADServiceConfig(t)
	threshold := dirtest.ADLockoutThreshold(t)
	d, err := ad.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	p := abuse.DefaultPolicy()
	p.UserFailures.Limit = threshold
	if got := app.CheckLockoutThresholds(ctx, directory.NewSet(d), p, log); len(got) != 1 || !strings.Contains(got[0], "lockout threshold") {
		t.Fatalf("limit %d against the domain's threshold %d: %q", threshold, threshold, got)
	}
	p.UserFailures.Limit = threshold - 1
	if got := app.CheckLockoutThresholds(ctx, directory.NewSet(d), p, log); len(got) != 0 {
		t.Fatalf("limit %d: %q", threshold-1, got)
	}
}
