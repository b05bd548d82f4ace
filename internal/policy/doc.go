// Package policy decides which verification rules apply to a person: the
// population they belong to (a directory, an OU subtree, a group with
// nested membership, an LDAP filter) selects a policy, first match wins,
// and a directory's default policy applies when none does.
//
// A policy says which actions the person may take (reset, unlock, change,
// enroll), which factors they may verify with, how many distinct ones each
// action needs, which kinds are mandatory, the password rules preset, what
// they must enroll and the notices they are shown.
//
// Selecting a policy asks the directory about the person (groups, a
// filter). The flows therefore select it only after a first factor is
// verified: until then everybody, known or not, walks the same first step,
// so no policy tells a stranger anything (see internal/flow/policy.go).
//
// Evaluate takes a Request (the client address and the time) so that
// conditions on the request itself — conditional access — can be added
// next to the population rules without changing the callers.
package policy
