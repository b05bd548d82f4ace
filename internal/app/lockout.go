package app

import (
	"context"
	"log/slog"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/ldapdir"
	"github.com/sspr/sspr/internal/secrets"
)

// loginHashKey keys the hash the audit log keeps for logins that match no
// account (flow.HashLogin), derived from the installation secret.
func loginHashKey(cfg *config.Config) []byte {
	return secrets.Derive(cfg.HMACKeyBytes(), "audit:login")
}

// directoryLister is the part of directory.Set the lockout check needs.
type directoryLister interface {
	All() []directory.Directory
}

// CheckLockoutThresholds reads each directory's own lockout threshold (its
// domain-wide password policy: AD's lockoutThreshold, ppolicy's
// pwdMaxFailure) and logs an error, in plain words, where
// abuse.user_failures.limit is not below it: then an attacker could lock
// people out through sspr before sspr blocks the attacker. It returns what
// it logged (for tests). A directory whose policy cannot be read is warned
// about, not failed: it may answer in a minute.
func CheckLockoutThresholds(ctx context.Context, dirs directoryLister, p abuse.Policy, log *slog.Logger) []string {
	var out []string
	for _, d := range dirs.All() {
		pr, ok := d.(directory.PolicyReader)
		cr, okC := d.(interface{ Config() ldapdir.Config })
		if !ok || !okC {
			continue
		}
		// The base entry has no policy of its own: the directory answers
		// with its domain-wide (default) one.
		pol, err := pr.EffectivePolicy(ctx, &directory.User{Directory: d.Name(), DN: cr.Config().BaseDN})
		if err != nil || pol == nil {
			log.Warn("could not read the directory's lockout threshold to check abuse.user_failures.limit against it",
				"directory", d.Name(), "err", err)
			continue
		}
		if err := p.Validate(pol.LockoutThreshold); err != nil {
			msg := "directory " + d.Name() + ": " + err.Error()
			log.Error(msg, "directory", d.Name(), "lockout_threshold", pol.LockoutThreshold, "user_failures_limit", p.UserFailures.Limit)
			out = append(out, msg)
		}
	}
	return out
}
