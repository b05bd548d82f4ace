// Package access is conditional access (docs/policies.md, "Conditional
// access"): rules on the request — the client address (CIDR lists, the
// address sspr already derives behind trusted proxies), the time of day
// and weekday in a time zone, the country (a MaxMind-format database) and
// the device (a signed known-device cookie, or a registered login-screen
// agent) — each with an effect: allow, one more factor, a required kind
// of factor, or a refusal with a message.
//
// A rule looks only at the request, never at the account, so deciding it
// tells a stranger nothing about who exists. A rule may name policies: it
// then applies only once the person's policy is known (after the first
// factor, as policies are chosen). The flows apply decisions
// (internal/flow/access.go); this package only decides and explains.
package access
