package directory

import "strings"

// LoginForm tells how a typed login was qualified.
type LoginForm int

// The forms a typed login can take.
const (
	// LoginPlain: no domain part ("alice").
	LoginPlain LoginForm = iota
	// LoginDownLevel: Windows down-level logon name ("EXAMPLE\alice").
	LoginDownLevel
	// LoginUPN: user@suffix, a userPrincipalName or a mail address
	// ("alice@example.test").
	LoginUPN
)

func (f LoginForm) String() string {
	switch f {
	case LoginDownLevel:
		return "down-level"
	case LoginUPN:
		return "upn"
	}
	return "plain"
}

// Login is a typed login split into its parts. It is only ever used to pick
// a directory and the form of the name to look up: the lookup itself escapes
// whatever is passed on, so no part of a Login is trusted.
type Login struct {
	// Raw is the login as typed, surrounding white space removed.
	Raw string
	// Form is how the login was qualified.
	Form LoginForm
	// User is the name without the domain part ("alice"); Raw for LoginPlain.
	User string
	// Domain is the NetBIOS domain (LoginDownLevel) or the suffix after the
	// last "@" (LoginUPN); empty for LoginPlain.
	Domain string
}

// ParseLogin splits a typed login. "DOMAIN\user" is down-level when both
// sides are non-empty and the domain part holds no "@"; "user@suffix" is a
// UPN (or mail address) when both sides of the LAST "@" are non-empty and
// the suffix holds no "\". Anything else is plain and passed on as typed.
func ParseLogin(s string) Login {
	raw := strings.TrimSpace(s)
	l := Login{Raw: raw, Form: LoginPlain, User: raw}
	if i := strings.IndexByte(raw, '\\'); i > 0 && i < len(raw)-1 {
		dom, user := raw[:i], raw[i+1:]
		if !strings.ContainsAny(dom, "@\\") && !strings.Contains(user, "\\") {
			l.Form, l.Domain, l.User = LoginDownLevel, dom, user
			return l
		}
	}
	if i := strings.LastIndexByte(raw, '@'); i > 0 && i < len(raw)-1 {
		user, dom := raw[:i], raw[i+1:]
		if !strings.Contains(dom, "\\") {
			l.Form, l.Domain, l.User = LoginUPN, dom, user
		}
	}
	return l
}

// MatchesDomain reports whether domain names one of domains, ignoring case
// and a trailing dot.
func MatchesDomain(domains []string, domain string) bool {
	d := strings.TrimSuffix(domain, ".")
	if d == "" {
		return false
	}
	for _, have := range domains {
		if strings.EqualFold(strings.TrimSuffix(have, "."), d) {
			return true
		}
	}
	return false
}
