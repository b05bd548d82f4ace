package directory

import (
	"context"
	"time"
)

// The capability interfaces below are implemented by connectors that can do
// more than look users up. Flows discover them by type assertion, so a flow
// offers "unlock" only where the directory can unlock.

// PasswordChanger changes a password on behalf of a user who knows the old
// one (AD: delete old + add new unicodePwd; OpenLDAP: Password Modify with
// the old password). A wrong old password is KindInvalidCredentials.
type PasswordChanger interface {
	ChangePassword(ctx context.Context, user *User, oldPassword, newPassword string) error
}

// Unlocker clears a lockout without touching the password.
type Unlocker interface {
	Unlock(ctx context.Context, user *User) error
}

// ForceChanger sets or clears "must change the password at next logon".
type ForceChanger interface {
	SetMustChange(ctx context.Context, user *User, mustChange bool) error
}

// Refresher reads an account an earlier lookup found again, by its DN,
// with what FindUser reads: for a step that knows whom it acts for, a
// cheaper request than the login filter's search. An entry gone or out of
// the directory's scope is KindNotFound. What changes seldom may come from
// the connector's caches (AD: which password policy is in force, for the
// policy cache's TTL); the account's own state is read afresh.
type Refresher interface {
	Refresh(ctx context.Context, user *User) (*User, error)
}

// StatusReader reads an account's state in the one model shared by every
// directory. A connector may answer from the state its FindUser read with
// the lookup a few seconds ago (User.StatusAttributes), without asking the
// directory again; look the user up again to see changes made since by
// others. Changes made through the connector itself are never hidden.
type StatusReader interface {
	AccountStatus(ctx context.Context, user *User) (*AccountStatus, error)
}

// PolicyReader reads the password policy in force for a user (domain policy,
// fine-grained PSO, ppolicy subentry), so the rules can be shown before the
// person types.  Connectors cache a policy for a short while
// (ldapdir.Config.PolicyCacheTTL).
type PolicyReader interface {
	EffectivePolicy(ctx context.Context, user *User) (*PasswordPolicy, error)
}

// GroupResolver answers group questions, nested membership included.
type GroupResolver interface {
	// Groups lists the DNs of every group the user is in, directly or through
	// nesting.
	Groups(ctx context.Context, user *User) ([]string, error)
}

// FilterMatcher evaluates an LDAP filter against one user's entry, on the
// directory (a base-scope search), for policies scoped by filter.
type FilterMatcher interface {
	MatchesFilter(ctx context.Context, user *User, filter string) (bool, error)
}

// HealthChecker inspects the connection, the server's capabilities and the
// service account's rights, without changing anything, and reports in plain
// words (start-up checks, `sspr directory check`).
type HealthChecker interface {
	Check(ctx context.Context) *Report
}

// AccountStatus is an account's state, the same model for every directory.
// Zero times mean "not applicable" (never expires, not locked, ...).
type AccountStatus struct {
	Locked          bool
	LockedAt        time.Time
	LockoutEnds     time.Time // zero while locked: until an admin unlocks
	Disabled        bool
	AccountExpired  bool
	AccountExpires  time.Time
	PasswordExpired bool
	PasswordExpires time.Time
	PasswordLastSet time.Time
	MustChange      bool
	// FailedAttempts is the directory's count of recent failed binds (AD
	// badPwdCount, ppolicy pwdFailureTime values, 389 passwordRetryCount),
	// when it keeps one.
	FailedAttempts int
	// Protected marks privileged accounts (AD adminCount=1, configured
	// groups) that self-service must refuse or hold to a stricter policy.
	Protected bool
	// ProtectedReason says why, for admins and audit records ("adminCount=1",
	// "member of cn=admins,ou=groups,dc=example,dc=test").
	ProtectedReason string
	// ProtectedGroups lists the configured protected groups the account is
	// in (directly or nested).
	ProtectedGroups []string
}

// PasswordPolicy is the password policy a directory enforces for one user.
type PasswordPolicy struct {
	// Source names where the policy comes from ("domain", a PSO DN, a
	// ppolicy entry DN).
	Source           string
	MinLength        int
	MaxLength        int // 0: no maximum known
	Complexity       bool
	HistoryLength    int
	MinAge           time.Duration
	MaxAge           time.Duration // 0: passwords never expire
	LockoutThreshold int           // 0: no lockout
	LockoutDuration  time.Duration // 0 with a threshold: until an admin unlocks
	LockoutWindow    time.Duration
	// MustChangeAfterReset: the directory itself makes a user change a
	// password an administrator set (ppolicy pwdMustChange, 389-DS
	// passwordMustChange); pwdReset / must-change is honoured only then.
	MustChangeAfterReset bool
}

// Severity grades a finding of a health check.
type Severity int

// Finding severities.
const (
	SeverityOK Severity = iota
	SeverityWarning
	SeverityError
)

func (s Severity) String() string {
	switch s {
	case SeverityOK:
		return "ok"
	case SeverityWarning:
		return "warning"
	}
	return "error"
}

// Finding is one line of a health report.
type Finding struct {
	Severity Severity
	// ID is stable ("tls.plain_ldap", "rights.reset_password", ...).
	ID string
	// Message says what was found and, when something is wrong, what to do,
	// in plain words.
	Message string
}

// Report is the outcome of a health check of one directory.
type Report struct {
	Directory string
	// Server is the URL that answered.
	Server string
	// Vendor and Version come from the RootDSE ("Samba", "OpenLDAP", ...).
	Vendor, Version string
	// FunctionalLevel is AD's domain functional level, when known.
	FunctionalLevel   string
	NamingContexts    []string
	SupportedControls []string
	SupportedExtended []string
	Findings          []Finding
}

// OK reports whether the check found no error.
func (r *Report) OK() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			return false
		}
	}
	return true
}
