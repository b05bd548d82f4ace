package ldapdir

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// ParentDN returns the DN of dn's parent entry, as written in dn (the first
// unescaped comma ends the leading RDN); "" for a single RDN.
func ParentDN(dn string) string {
	quoted := false
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',', ';':
			if !quoted {
				return strings.TrimSpace(dn[i+1:])
			}
		}
	}
	return ""
}

// EqualDN compares two DNs the way a directory does (attribute types and
// values case-insensitively, escapes and spaces normalised). Unparsable DNs
// compare as case-folded strings.
func EqualDN(a, b string) bool {
	pa, errA := ldap.ParseDN(a)
	pb, errB := ldap.ParseDN(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(a, b)
	}
	return pa.EqualFold(pb)
}

// NormDN returns a comparable form of dn (for map keys).
func NormDN(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	var parts []string
	for _, rdn := range p.RDNs {
		var as []string
		for _, a := range rdn.Attributes {
			as = append(as, strings.ToLower(a.Type)+"="+strings.ToLower(a.Value))
		}
		parts = append(parts, strings.Join(as, "+"))
	}
	return strings.Join(parts, ",")
}

// ParseGeneralizedTime parses an LDAP GeneralizedTime ("20240102150405Z",
// with optional fraction and offset). ok is false for anything else.
func ParseGeneralizedTime(s string) (t time.Time, ok bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := ber.ParseGeneralizedTime([]byte(s))
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// FormatGeneralizedTime formats t as GeneralizedTime in UTC.
func FormatGeneralizedTime(t time.Time) string { return t.UTC().Format("20060102150405Z") }

// fileTimeEpoch is 1601-01-01 in Unix seconds.
const fileTimeEpoch = -11644473600

// ADNever is the Large Integer AD uses for "never" (accountExpires,
// msDS-UserPasswordExpiryTimeComputed).
const ADNever = math.MaxInt64

// ParseFileTime parses an AD timestamp (100-ns intervals since 1601-01-01,
// as a decimal Large Integer). 0 and ADNever mean "not set" and give the
// zero time; ok is false only for text that is not a number.
func ParseFileTime(s string) (t time.Time, ok bool) {
	if s == "" {
		return time.Time{}, true
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	if n <= 0 || n == ADNever {
		return time.Time{}, true
	}
	return time.Unix(fileTimeEpoch+n/1e7, (n%1e7)*100).UTC(), true
}

// ParseADInterval parses an AD interval attribute (maxPwdAge, lockoutDuration,
// msDS-LockoutDuration, ...): negative 100-ns units. never is true for the
// "forever" value (math.MinInt64, stored for "passwords never expire" and
// "locked until an administrator unlocks").
func ParseADInterval(s string) (d time.Duration, never bool, ok bool) {
	if s == "" {
		return 0, false, true
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, false, false
	}
	if n == math.MinInt64 {
		return 0, true, true
	}
	if n < 0 {
		n = -n
	}
	return time.Duration(n) * 100, false, true
}

// Atoi parses a decimal attribute value, 0 when absent or malformed.
func Atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

// IsTrue reads an LDAP Boolean ("TRUE").
func IsTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "TRUE") }

// Read reads one entry by DN (base scope). A missing entry is
// LDAPResultNoSuchObject from the server, mapped by the caller.
func (c *Conn) Read(dn string, attrs []string, controls ...ldap.Control) (*ldap.Entry, error) {
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", attrs, controls))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("no such entry: "+dn))
	}
	return res.Entries[0], nil
}

// Matches reports whether the entry dn matches filter, evaluated by the
// server (a base search that returns no attributes).
func (c *Conn) Matches(dn, filter string) (bool, error) {
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, filter, []string{"1.1"}, nil))
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return false, nil
		}
		return false, err
	}
	return len(res.Entries) == 1, nil
}
