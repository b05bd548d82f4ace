package demo

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // {SSHA} is what OpenLDAP stores by default; the demo mirrors it.
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// attribute is one attribute of an entry; name keeps the case it was
// defined with, which is the case returned to clients.
type attribute struct {
	name   string
	values []string
}

// entry is one directory object.
type entry struct {
	dn     string // as presented to clients
	key    string // normalised DN, see normDN
	parent string // normalised DN of the parent
	attrs  map[string]*attribute
	// passwordHash is the {SSHA} userPassword value; empty means the entry
	// cannot bind. It lives outside attrs so no search can ever return it.
	passwordHash string
	operational  map[string]*attribute
}

func (e *entry) get(name string) *attribute {
	name = strings.ToLower(name)
	if a, ok := e.attrs[name]; ok {
		return a
	}
	return e.operational[name]
}

func (e *entry) set(name string, values ...string) {
	e.attrs[strings.ToLower(name)] = &attribute{name: name, values: values}
}

func (e *entry) setOperational(name string, values ...string) {
	e.operational[strings.ToLower(name)] = &attribute{name: name, values: values}
}

// clone returns a copy that shares nothing mutable with e, so a search can
// read it after the store lock is released.
func (e *entry) clone() *entry {
	c := *e
	c.attrs = cloneAttrs(e.attrs)
	c.operational = cloneAttrs(e.operational)
	return &c
}

func cloneAttrs(m map[string]*attribute) map[string]*attribute {
	out := make(map[string]*attribute, len(m))
	for k, a := range m {
		out[k] = &attribute{name: a.name, values: slices.Clone(a.values)}
	}
	return out
}

// normDN returns the canonical form of dn used as a map key: attribute types
// and values lower-cased, no insignificant spaces. Comparing DNs by string is
// then the same as comparing them by caseIgnoreMatch.
func normDN(dn string) (string, error) {
	if strings.TrimSpace(dn) == "" {
		return "", nil
	}
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return "", err
	}
	rdns := make([]string, len(parsed.RDNs))
	for i, rdn := range parsed.RDNs {
		parts := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			parts[j] = strings.ToLower(a.Type) + "=" + ldap.EscapeDN(strings.ToLower(a.Value))
		}
		sort.Strings(parts)
		rdns[i] = strings.Join(parts, "+")
	}
	return strings.Join(rdns, ","), nil
}

// parentKey returns the normalised parent of a normalised DN.
func parentKey(key string) string {
	// Escaped commas appear as "\," after EscapeDN, so split on unescaped ones.
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '\\':
			i++
		case ',':
			return key[i+1:]
		}
	}
	return ""
}

// store holds the directory entries. All access goes through its methods,
// which take the lock, so the server is safe for concurrent requests.
type store struct {
	mu      sync.RWMutex
	entries map[string]*entry
	order   []string // insertion order, so results come out in a stable order
	now     func() time.Time
}

func newStore(now func() time.Time) *store {
	return &store{entries: make(map[string]*entry), now: now}
}

// add inserts a new entry built from attrs; the DN's parent must exist,
// except for the naming context itself.
func (s *store) add(dn string, attrs map[string][]string, password string) (*entry, error) {
	key, err := normDN(dn)
	if err != nil {
		return nil, fmt.Errorf("demo directory: invalid DN %q: %w", dn, err)
	}
	e := &entry{dn: dn, key: key, parent: parentKey(key),
		attrs: map[string]*attribute{}, operational: map[string]*attribute{}}
	for name, values := range attrs {
		if strings.EqualFold(name, "userPassword") {
			return nil, fmt.Errorf("demo directory: %s: pass the password separately, not as an attribute", dn)
		}
		if len(values) > 0 {
			e.set(name, slices.Clone(values)...)
		}
	}
	if password != "" {
		if e.passwordHash, err = hashSSHA(password); err != nil {
			return nil, err
		}
	}
	ts := generalizedTime(s.now())
	e.setOperational("createTimestamp", ts)
	e.setOperational("modifyTimestamp", ts)
	e.setOperational("entryDN", dn)
	e.setOperational("structuralObjectClass", structural(e))

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.entries[key]; dup {
		return nil, fmt.Errorf("demo directory: %s: entry already exists", dn)
	}
	if e.parent != "" {
		if _, ok := s.entries[e.parent]; !ok && key != mustNorm(BaseDN) {
			return nil, fmt.Errorf("demo directory: %s: parent entry does not exist", dn)
		}
	}
	s.entries[key] = e
	s.order = append(s.order, key)
	return e, nil
}

func structural(e *entry) string {
	oc := e.get("objectClass")
	if oc == nil || len(oc.values) == 0 {
		return "top"
	}
	return oc.values[len(oc.values)-1]
}

func mustNorm(dn string) string {
	k, err := normDN(dn)
	if err != nil {
		panic(err)
	}
	return k
}

// lookup returns a copy of the entry with the given normalised DN.
func (s *store) lookup(key string) (*entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[key]
	if !ok {
		return nil, false
	}
	return e.clone(), true
}

// matchedDN returns the DN of the closest existing ancestor of key, for the
// matchedDN field of a noSuchObject result.
func (s *store) matchedDN(key string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k := parentKey(key); k != ""; k = parentKey(k) {
		if e, ok := s.entries[k]; ok {
			return e.dn
		}
	}
	return ""
}

// inScope returns copies of the entries within scope of base, in insertion order.
func (s *store) inScope(baseKey string, scope int) []*entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*entry
	for _, k := range s.order {
		e := s.entries[k]
		var in bool
		switch scope {
		case ldap.ScopeBaseObject:
			in = k == baseKey
		case ldap.ScopeSingleLevel:
			in = e.parent == baseKey
		case ldap.ScopeWholeSubtree:
			in = k == baseKey || strings.HasSuffix(k, ","+baseKey)
		}
		if in {
			out = append(out, e.clone())
		}
	}
	return out
}

// errWrongPassword is returned by authenticate for any bind failure: unknown
// DN, no password, wrong password. The caller answers invalidCredentials for
// all of them alike, so a client cannot probe which DNs exist.
var errWrongPassword = errors.New("invalid credentials")

// authenticate checks password against the entry's userPassword.
func (s *store) authenticate(key, password string) error {
	s.mu.RLock()
	e, ok := s.entries[key]
	var hash string
	if ok {
		hash = e.passwordHash
	}
	s.mu.RUnlock()
	if hash == "" || !checkSSHA(hash, password) {
		return errWrongPassword
	}
	s.mu.RLock()
	_, locked := e.operational["pwdaccountlockedtime"]
	s.mu.RUnlock()
	if locked {
		// slapo-ppolicy refuses a locked account's bind like a wrong
		// password (the request control would add accountLocked).
		return errWrongPassword
	}
	return nil
}

// lock records a lockout now, as slapo-ppolicy does after too many failures.
func (s *store) lock(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok {
		e.setOperational("pwdAccountLockedTime", generalizedTime(s.now()))
	}
}

// unlock clears a lockout (slapo-ppolicy: deleting pwdAccountLockedTime
// also clears pwdFailureTime). It reports whether the entry was locked.
func (s *store) unlock(key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return false, errNoSuchEntry
	}
	_, locked := e.operational["pwdaccountlockedtime"]
	delete(e.operational, "pwdaccountlockedtime")
	delete(e.operational, "pwdfailuretime")
	if locked {
		e.setOperational("modifyTimestamp", generalizedTime(s.now()))
	}
	return locked, nil
}

// setPassword replaces the entry's password hash and stamps pwdChangedTime.
// When oldPassword is non-nil it must match the current password first
// (the delete-old/add-new modify form); both checks happen under one lock so
// two concurrent changes cannot both win with the same old password.
func (s *store) setPassword(key string, oldPassword *string, newPassword string, pwdReset bool) error {
	hash, err := hashSSHA(newPassword)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return errNoSuchEntry
	}
	if oldPassword != nil && (e.passwordHash == "" || !checkSSHA(e.passwordHash, *oldPassword)) {
		return errOldPasswordMismatch
	}
	e.passwordHash = hash
	// OpenLDAP: any reset or change of a locked account unlocks it.
	delete(e.operational, "pwdaccountlockedtime")
	delete(e.operational, "pwdfailuretime")
	ts := generalizedTime(s.now())
	e.setOperational("pwdChangedTime", ts)
	e.setOperational("modifyTimestamp", ts)
	if pwdReset {
		e.setOperational("pwdReset", "TRUE")
	} else {
		delete(e.operational, "pwdreset")
	}
	return nil
}

var (
	errNoSuchEntry         = errors.New("no such entry")
	errOldPasswordMismatch = errors.New("old password does not match")
)

func generalizedTime(t time.Time) string { return t.UTC().Format("20060102150405Z") }

const sshaPrefix = "{SSHA}"

// hashSSHA returns the OpenLDAP {SSHA} form: base64(SHA1(password+salt)+salt).
func hashSSHA(password string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("demo directory: salt: %w", err)
	}
	sum := sha1.Sum(append([]byte(password), salt...)) //nolint:gosec // see import
	return sshaPrefix + base64.StdEncoding.EncodeToString(append(sum[:], salt...)), nil
}

// checkSSHA reports whether password matches an {SSHA} hash, in constant time
// with respect to the password.
func checkSSHA(hash, password string) bool {
	if !strings.HasPrefix(hash, sshaPrefix) {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(hash[len(sshaPrefix):])
	if err != nil || len(raw) <= sha1.Size {
		return false
	}
	digest, salt := raw[:sha1.Size], raw[sha1.Size:]
	sum := sha1.Sum(append([]byte(password), salt...)) //nolint:gosec // see import
	return subtle.ConstantTimeCompare(sum[:], digest) == 1
}
