package abuse

import (
	"errors"
	"fmt"
	"time"
)

// Rule is one sliding-window limit: at most Limit events in any Window.
// Reaching Limit refuses further events of that kind until the window has
// room again; when Block is set, reaching it also blocks the whole subject
// (every action of that user, IP or destination) for Block.
type Rule struct {
	// Limit is how many events the window holds; 0 turns the rule off.
	Limit int
	// Window is how far back events count.
	Window time.Duration
	// Block, when positive, is how long the subject is blocked once Limit
	// is reached.
	Block time.Duration
}

func (r Rule) on() bool { return r.Limit > 0 }

// Policy is the set of limits. The zero value limits nothing; start from
// DefaultPolicy.
type Policy struct {
	// UserFailures counts failed verifications per account. It must stop
	// an attacker before the directory's own lockout does (see Validate).
	UserFailures Rule
	// IPFailures counts failed verifications per client IP, across
	// accounts: the brake on guessing spread over many users.
	IPFailures Rule
	// DestinationSends counts codes sent per phone number or mail address:
	// nobody's inbox or phone is flooded, whatever login names it.
	DestinationSends Rule
	// IPSends counts codes sent on behalf of one client IP.
	IPSends Rule
	// UserResets counts completed resets per account.
	UserResets Rule
	// IPIdentifies counts identify requests per client IP: the brake on
	// enumeration and on spamming the identify step.
	IPIdentifies Rule
	// IPv6PrefixBits groups IPv6 clients by their network prefix, since one
	// host easily owns a whole /64; 0 means 64, 128 counts single addresses.
	IPv6PrefixBits int
}

// DefaultPolicy is in the spirit of Entra ID's SSPR: 5 failed verifications
// in an hour block the account's self-service for 24 hours.
func DefaultPolicy() Policy {
	return Policy{
		UserFailures:     Rule{Limit: 5, Window: time.Hour, Block: 24 * time.Hour},
		IPFailures:       Rule{Limit: 20, Window: time.Hour, Block: time.Hour},
		DestinationSends: Rule{Limit: 5, Window: time.Hour},
		IPSends:          Rule{Limit: 30, Window: time.Hour},
		UserResets:       Rule{Limit: 3, Window: 24 * time.Hour},
		IPIdentifies:     Rule{Limit: 60, Window: 10 * time.Minute},
		IPv6PrefixBits:   64,
	}
}

// Validate reports every inconsistency in p at once. directoryLockoutThreshold
// is the number of bad passwords after which the directory locks an account
// (AD "account lockout threshold", ppolicy pwdMaxFailure); 0 means the
// directory never locks. When it does, UserFailures must be on and its Limit
// below the threshold, so sspr stops an attacker before the directory would
// lock the real account. Its Window should also be at least the directory's
// observation window, which Validate cannot see.
func (p Policy) Validate(directoryLockoutThreshold int) error {
	var errs []error
	for _, r := range []struct {
		name string
		rule Rule
	}{
		{"user_failures", p.UserFailures},
		{"ip_failures", p.IPFailures},
		{"destination_sends", p.DestinationSends},
		{"ip_sends", p.IPSends},
		{"user_resets", p.UserResets},
		{"ip_identifies", p.IPIdentifies},
	} {
		switch {
		case r.rule.Limit < 0:
			errs = append(errs, fmt.Errorf("abuse.%s.limit: %d is negative", r.name, r.rule.Limit))
		case r.rule.Limit > 0 && r.rule.Window <= 0:
			errs = append(errs, fmt.Errorf("abuse.%s.window: must be positive when a limit is set", r.name))
		}
		if r.rule.Block < 0 {
			errs = append(errs, fmt.Errorf("abuse.%s.block: %s is negative", r.name, r.rule.Block))
		}
	}
	if p.IPv6PrefixBits < 0 || p.IPv6PrefixBits > 128 {
		errs = append(errs, fmt.Errorf("abuse.ipv6_prefix_bits: %d is not between 0 and 128", p.IPv6PrefixBits))
	}
	if t := directoryLockoutThreshold; t > 0 {
		switch lim := p.UserFailures.Limit; {
		case lim <= 0:
			errs = append(errs, fmt.Errorf("abuse.user_failures.limit: is off, but the directory locks accounts after %d bad passwords; "+
				"set a limit below %d so attackers are stopped by sspr, not by locking the account", t, t))
		case lim >= t:
			errs = append(errs, fmt.Errorf("abuse.user_failures.limit: %d is not below the directory's lockout threshold %d; "+
				"an attacker could lock the account through sspr: set it to at most %d", lim, t, t-1))
		}
	}
	return errors.Join(errs...)
}

// CheckAgainstLockout compares the per-account failure limit with a
// directory's lockout, for a start-up check: it returns one plain-language
// warning per problem, none when sspr stops attackers before the directory
// would lock the account. threshold is the directory's lockout threshold
// (AD "account lockout threshold", ppolicy pwdMaxFailure; 0: it never
// locks); window is its observation window ("reset account lockout counter
// after", pwdFailureCountInterval; 0: unknown). A limit equal to or above
// the threshold lets anyone lock any account by guessing through sspr; a
// window shorter than the directory's lets failures age out of sspr's count
// while the directory still counts them.
func CheckAgainstLockout(p Policy, threshold int, window time.Duration) []string {
	if threshold <= 0 {
		return nil
	}
	r := p.UserFailures
	switch {
	case r.Limit <= 0:
		return []string{fmt.Sprintf("abuse.user_failures.limit is off, but the directory locks an account after %d bad passwords: "+
			"anyone could lock any account by guessing through sspr; set a limit of at most %d", threshold, threshold-1)}
	case r.Limit >= threshold:
		return []string{fmt.Sprintf("abuse.user_failures.limit is %d, not below the directory's lockout threshold of %d: "+
			"anyone could lock an account by guessing through sspr; set it to at most %d", r.Limit, threshold, threshold-1)}
	}
	if window > 0 && r.Window < window {
		return []string{fmt.Sprintf("abuse.user_failures.window is %s, shorter than the directory's lockout observation window of %s: "+
			"failures leave sspr's count while the directory still counts them; set it to at least %s", r.Window, window, window)}
	}
	return nil
}
