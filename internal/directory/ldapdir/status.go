package ldapdir

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// StatusMaxAge is how long after a lookup the account-state attributes it
// read (User.StatusAttributes) stand in for a fresh read. A flow looks a
// user up and reads the status and policy within one request; anything
// older is read again.
const StatusMaxAge = 10 * time.Second

// StatusEntry returns the entry of u with attrs: the attributes the lookup
// read with FindUserWithStatus while they are fresh (StatusMaxAge) and hold
// every one of attrs, else a base read on conn. The first costs no request.
func (c *Client) StatusEntry(conn *Conn, u *directory.User, attrs []string) (*ldap.Entry, error) {
	if e := c.StatusSnapshot(u, attrs); e != nil {
		return e, nil
	}
	return conn.Read(u.DN, attrs)
}

// StatusSnapshot returns the entry of u with attrs as its lookup read them
// (FindUserWithStatus), or nil when they are older than StatusMaxAge or the
// lookup did not read every one of attrs.
func (c *Client) StatusSnapshot(u *directory.User, attrs []string) *ldap.Entry {
	if u.StatusAttributes == nil || u.ReadAt.IsZero() {
		return nil
	}
	if age := c.now().Sub(u.ReadAt); age < 0 || age > StatusMaxAge {
		return nil
	}
	m := make(map[string][]string, len(attrs))
	for _, a := range attrs {
		v, ok := u.StatusAttributes[a]
		if !ok {
			return nil // not asked for at lookup time
		}
		if len(v) > 0 {
			m[a] = v
		}
	}
	return ldap.NewEntry(u.DN, m)
}

// ForgetStatus drops the account-state attributes a lookup read into u:
// after sspr changed the account (reset, change, unlock, must change) they
// no longer tell the truth.
func ForgetStatus(u *directory.User) {
	if u != nil {
		u.StatusAttributes = nil
	}
}

// policyCache holds password policies by their source (AD domain, PSO DN,
// ppolicy entry DN) for Config.PolicyCacheTTL: every user under one policy
// shares it, and policies change seldom.
type policyCache struct {
	mu sync.Mutex
	m  map[string]cachedPolicy
}

type cachedPolicy struct {
	p  directory.PasswordPolicy
	at time.Time
}

// CachedPolicy returns the policy cached under source (a DN or a name such
// as "domain"), or loads and caches it. Failures are not cached. The caller
// gets its own copy.
func (c *Client) CachedPolicy(source string, load func() (*directory.PasswordPolicy, error)) (*directory.PasswordPolicy, error) {
	ttl := c.cfg.PolicyCacheTTL
	if ttl < 0 {
		return load()
	}
	key := NormDN(source)
	now := c.now()
	c.policies.mu.Lock()
	hit, ok := c.policies.m[key]
	c.policies.mu.Unlock()
	if ok && now.Sub(hit.at) >= 0 && now.Sub(hit.at) < ttl {
		p := hit.p
		return &p, nil
	}
	p, err := load()
	if err != nil {
		return nil, err
	}
	c.policies.mu.Lock()
	if c.policies.m == nil {
		c.policies.m = map[string]cachedPolicy{}
	}
	c.policies.m[key] = cachedPolicy{p: *p, at: now}
	c.policies.mu.Unlock()
	cp := *p
	return &cp, nil
}

// policySources remembers, by account DN, which policy is in force for
// the account as a lookup last read it (AD's msDS-ResultantPSO, which
// Samba constructs at about a millisecond a search), for
// Config.PolicyCacheTTL: a later read of the same account within it need
// not ask again. It holds at most maxPolicySources accounts.
type policySources struct {
	mu sync.Mutex
	m  map[string]cachedSource
}

type cachedSource struct {
	source []string
	at     time.Time
}

const maxPolicySources = 50000

// RememberPolicySource records source (the values of the attribute that
// names the policy in force; empty for the default policy) as dn's.
func (c *Client) RememberPolicySource(dn string, source []string) {
	if c.cfg.PolicyCacheTTL < 0 {
		return
	}
	now := c.now()
	c.sources.mu.Lock()
	defer c.sources.mu.Unlock()
	if c.sources.m == nil {
		c.sources.m = map[string]cachedSource{}
	}
	if len(c.sources.m) >= maxPolicySources {
		for k, v := range c.sources.m {
			if now.Sub(v.at) >= c.cfg.PolicyCacheTTL || now.Before(v.at) {
				delete(c.sources.m, k)
			}
		}
		if len(c.sources.m) >= maxPolicySources {
			clear(c.sources.m)
		}
	}
	c.sources.m[NormDN(dn)] = cachedSource{source: append([]string(nil), source...), at: now}
}

// PolicySource returns what RememberPolicySource recorded for dn within
// Config.PolicyCacheTTL.
func (c *Client) PolicySource(dn string) ([]string, bool) {
	now := c.now()
	c.sources.mu.Lock()
	hit, ok := c.sources.m[NormDN(dn)]
	c.sources.mu.Unlock()
	if !ok || now.Before(hit.at) || now.Sub(hit.at) >= c.cfg.PolicyCacheTTL {
		return nil, false
	}
	return append([]string(nil), hit.source...), true
}

// policySourceNote starts a note of PolicySourceNote.
const policySourceNote = "policy-source "

// PolicySourceNote is source (see RememberPolicySource), read by a lookup
// just now, as a directory.User.Note: the flow keeps it, so a later step
// served by another node (whose own memory of it is empty) need not ask
// the directory again. NotedPolicySource reads it back.
func (c *Client) PolicySourceNote(source []string) string {
	if c.cfg.PolicyCacheTTL < 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(policySourceNote)
	b.WriteString(strconv.FormatInt(c.now().UnixMilli(), 10))
	for _, v := range source {
		b.WriteByte('\n')
		b.WriteString(v)
	}
	return b.String()
}

// NotedPolicySource returns the source a note of PolicySourceNote holds,
// while it is as young as RememberPolicySource's memory of it would be
// (Config.PolicyCacheTTL); false for anything else.
func (c *Client) NotedPolicySource(note string) ([]string, bool) {
	if c.cfg.PolicyCacheTTL < 0 || !strings.HasPrefix(note, policySourceNote) {
		return nil, false
	}
	lines := strings.Split(note[len(policySourceNote):], "\n")
	ms, err := strconv.ParseInt(lines[0], 10, 64)
	if err != nil {
		return nil, false
	}
	at, now := time.UnixMilli(ms), c.now()
	if now.Before(at) || now.Sub(at) >= c.cfg.PolicyCacheTTL {
		return nil, false
	}
	return lines[1:], true
}
