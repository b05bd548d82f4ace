package demo

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The fixed names of the demo directory tree.
const (
	// BaseDN is the naming context the demo directory serves.
	BaseDN = "dc=demo,dc=sspr"
	// PeopleDN is the container that holds the demo users.
	PeopleDN = "ou=people," + BaseDN
	// ServicesDN is the container that holds the service account.
	ServicesDN = "ou=services," + BaseDN
	// PolicyDN is the demo's password policy entry (ppolicy attributes).
	PolicyDN = "cn=default," + BaseDN
	// ServiceDN is the DN sspr binds as to look users up and reset passwords.
	ServiceDN = "cn=sspr," + ServicesDN
	// MailDomain is the domain of every demo user's mail address.
	MailDomain = "demo.sspr.test"
)

// User is one demo person. It becomes an inetOrgPerson entry
// uid=<UID>,ou=people,dc=demo,dc=sspr.
type User struct {
	UID         string
	GivenName   string
	Surname     string
	DisplayName string // defaults to "GivenName Surname"
	Mail        string // defaults to uid@demo.sspr.test
	// Password is the initial password. It is hashed when the server starts
	// and never kept in clear by the server; the demo prints it so people can
	// try a login.
	Password string
	// Extra holds further attributes (name → values), e.g. "telephoneNumber"
	// or "employeeNumber", for trying attribute-based factors.
	Extra map[string][]string
	// Locked starts the account locked out, as slapo-ppolicy records it
	// (pwdAccountLockedTime), so the demo can show self-service unlock: the
	// password is refused at bind until the lock is cleared.
	Locked bool
}

// DN returns the user's distinguished name.
func (u User) DN() string { return "uid=" + u.UID + "," + PeopleDN }

// DefaultUsers returns the demo people. Each call returns a fresh slice, so
// callers may change it. The passwords satisfy DefaultRules. The last one,
// frank, starts locked (see LockedUser).
func DefaultUsers() []User {
	return []User{
		{UID: "alice", GivenName: "Alice", Surname: "Archer", Password: "Winter-2026",
			Extra: map[string][]string{"telephoneNumber": {"+1 555 0101"}, "employeeNumber": {"1001"}}},
		{UID: "bob", GivenName: "Bob", Surname: "Baker", Password: "Spring-2026",
			Extra: map[string][]string{"telephoneNumber": {"+1 555 0102"}, "employeeNumber": {"1002"}}},
		{UID: "carol", GivenName: "Carol", Surname: "Castillo", Password: "Summer-2026",
			Extra: map[string][]string{"telephoneNumber": {"+1 555 0103"}, "employeeNumber": {"1003"}}},
		{UID: "dave", GivenName: "Dave", Surname: "Dubois", Password: "Autumn-2026",
			Extra: map[string][]string{"telephoneNumber": {"+1 555 0104"}, "employeeNumber": {"1004"}}},
		{UID: "erin", GivenName: "Erin", Surname: "Evans", Password: "Harvest-2026",
			Extra: map[string][]string{"telephoneNumber": {"+1 555 0105"}, "employeeNumber": {"1005"}}},
		{UID: LockedUser, GivenName: "Frank", Surname: "Fischer", Password: "Frozen-2026", Locked: true,
			Extra: map[string][]string{"telephoneNumber": {"+1 555 0106"}, "employeeNumber": {"1006"}}},
	}
}

// LockedUser is the demo account that starts locked.
const LockedUser = "frank"

// Rules is the demo directory's own password rule, enforced on every
// userPassword modify the way slapo-ppolicy's quality checks would be. The
// zero value accepts any non-empty password.
type Rules struct {
	// MinLength is the minimum length in characters (not bytes).
	MinLength int
	// RequireDigit demands at least one decimal digit.
	RequireDigit bool
}

// DefaultRules is the demo rule: at least 8 characters and one digit.
func DefaultRules() Rules { return Rules{MinLength: 8, RequireDigit: true} }

// ppolicy error values (draft-behera-ldap-password-policy, PasswordPolicyResponseValue.error).
const (
	ppInsufficientPasswordQuality = 5
	ppPasswordTooShort            = 6
)

// The diagnostic texts slapo-ppolicy sends with these errors; clients that do
// not send the ppolicy request control only get these.
const (
	diagTooShort = "Password is too short for policy"
	diagQuality  = "Password fails quality checking policy"
	// diagDigit is what a quality module (pwdCheckModule) says in place of
	// diagQuality when it names the rule, so people learn what to add.
	diagDigit = "Password must contain at least one digit"
)

// violation is why a password was refused.
type violation struct {
	ppolicyError int
	diagnostic   string
}

// check returns nil when password satisfies the rules. Length is checked
// first, as slapo-ppolicy does, so a short password without a digit reports
// passwordTooShort.
func (r Rules) check(password string) *violation {
	if password == "" {
		return &violation{ppInsufficientPasswordQuality, diagQuality}
	}
	if utf8.RuneCountInString(password) < r.MinLength {
		return &violation{ppPasswordTooShort, diagTooShort}
	}
	if r.RequireDigit && !strings.ContainsFunc(password, unicode.IsDigit) {
		return &violation{ppInsufficientPasswordQuality, diagDigit}
	}
	return nil
}
