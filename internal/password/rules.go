package password

import (
	"context"
	"strings"
	"sync"
)

// Rules is the checker for one deployment: the configured policy, merged
// with each directory's own policy when asked, compiled once per distinct
// directory policy and cached (people in one domain share one checker).
type Rules struct {
	base   Policy
	breach BreachChecker
	merge  bool

	mu    sync.Mutex
	cache map[DirectoryPolicy]*Checker
}

// NewRules compiles the base policy, failing early on a bad configuration.
// mergeDirectory adds each directory's rules to the base policy.
func NewRules(base Policy, breach BreachChecker, mergeDirectory bool) (*Rules, error) {
	r := &Rules{base: base, breach: breach, merge: mergeDirectory, cache: map[DirectoryPolicy]*Checker{}}
	if _, err := r.For(nil); err != nil {
		return nil, err
	}
	return r, nil
}

// For returns the checker for a person whose directory enforces d (nil when
// unknown).
func (r *Rules) For(d *DirectoryPolicy) (*Checker, error) {
	key := DirectoryPolicy{}
	if d != nil && r.merge {
		key = *d
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.cache[key]; ok {
		return c, nil
	}
	c, err := NewChecker(r.base.MergeDirectory(key), r.breach)
	if err != nil {
		return nil, err
	}
	r.cache[key] = c
	return c, nil
}

// Check runs the rules for d on password.
func (r *Rules) Check(ctx context.Context, password string, u Context, d *DirectoryPolicy) (Result, error) {
	c, err := r.For(d)
	if err != nil {
		return Result{}, err
	}
	return c.Check(ctx, password, u), nil
}

// ContextFromNames fills the person's context from what a directory knows:
// the login and a display name, whose first and last words stand in for
// given name and surname.
func ContextFromNames(login, displayName string) Context {
	c := Context{Login: login, DisplayName: displayName}
	if parts := strings.Fields(displayName); len(parts) > 0 {
		c.FirstName = parts[0]
		if len(parts) > 1 {
			c.LastName = parts[len(parts)-1]
		}
	}
	return c
}
