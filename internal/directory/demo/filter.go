package demo

import (
	"fmt"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// tri is LDAP's three-valued filter logic (RFC 4511 §4.5.1.7): a filter item
// is TRUE, FALSE or Undefined, and NOT Undefined stays Undefined. An entry is
// returned only when the whole filter is TRUE.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUndefined
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

// maxFilterDepth bounds the nesting a filter may have, so a hostile filter
// cannot exhaust the stack; real filters nest a handful of levels.
const maxFilterDepth = 64

// compileFilter parses a filter in its RFC 4515 string form, which is how
// gldap hands it over, into go-ldap's BER AST and checks its shape once, so
// evaluation can trust it.
func compileFilter(filter string) (*ber.Packet, error) {
	p, err := ldap.CompileFilter(filter)
	if err != nil {
		return nil, err
	}
	if err := validateFilter(p, 0); err != nil {
		return nil, err
	}
	return p, nil
}

func validateFilter(p *ber.Packet, depth int) error {
	if depth > maxFilterDepth {
		return fmt.Errorf("filter nested deeper than %d levels", maxFilterDepth)
	}
	if p.ClassType != ber.ClassContext {
		return fmt.Errorf("unexpected filter element class %d", p.ClassType)
	}
	switch p.Tag {
	case ldap.FilterAnd, ldap.FilterOr:
		for _, c := range p.Children {
			if err := validateFilter(c, depth+1); err != nil {
				return err
			}
		}
	case ldap.FilterNot:
		if len(p.Children) != 1 {
			return fmt.Errorf("NOT filter must have exactly one element")
		}
		return validateFilter(p.Children[0], depth+1)
	case ldap.FilterEqualityMatch, ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual, ldap.FilterApproxMatch:
		if len(p.Children) != 2 {
			return fmt.Errorf("attribute value assertion must have two elements")
		}
	case ldap.FilterSubstrings:
		if len(p.Children) != 2 || len(p.Children[1].Children) == 0 {
			return fmt.Errorf("substrings filter must name an attribute and at least one substring")
		}
	case ldap.FilterPresent, ldap.FilterExtensibleMatch:
	default:
		return fmt.Errorf("unknown filter element tag %d", p.Tag)
	}
	return nil
}

func octets(p *ber.Packet) string { return p.Data.String() }

// evalFilter evaluates a compiled filter against e.
func evalFilter(p *ber.Packet, e *entry) tri {
	switch p.Tag {
	case ldap.FilterAnd:
		res := triTrue // an empty AND is TRUE (RFC 4526)
		for _, c := range p.Children {
			switch evalFilter(c, e) {
			case triFalse:
				return triFalse
			case triUndefined:
				res = triUndefined
			}
		}
		return res
	case ldap.FilterOr:
		res := triFalse // an empty OR is FALSE (RFC 4526)
		for _, c := range p.Children {
			switch evalFilter(c, e) {
			case triTrue:
				return triTrue
			case triUndefined:
				res = triUndefined
			}
		}
		return res
	case ldap.FilterNot:
		switch evalFilter(p.Children[0], e) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUndefined
	case ldap.FilterPresent:
		return triOf(filterable(e, octets(p)) != nil)
	case ldap.FilterEqualityMatch, ldap.FilterApproxMatch:
		return matchValues(e, octets(p.Children[0]), func(v string) bool {
			return strings.EqualFold(v, octets(p.Children[1]))
		})
	case ldap.FilterGreaterOrEqual:
		return matchValues(e, octets(p.Children[0]), func(v string) bool {
			return compareFold(v, octets(p.Children[1])) >= 0
		})
	case ldap.FilterLessOrEqual:
		return matchValues(e, octets(p.Children[0]), func(v string) bool {
			return compareFold(v, octets(p.Children[1])) <= 0
		})
	case ldap.FilterSubstrings:
		parts := p.Children[1].Children
		return matchValues(e, octets(p.Children[0]), func(v string) bool {
			return matchSubstrings(strings.ToLower(v), parts)
		})
	}
	// Extensible matches (and anything else) are not supported: Undefined,
	// which is what a server answers for a matching rule it does not know.
	return triUndefined
}

// filterable returns the attribute a filter may test. userPassword is hidden
// from filters: matching on it would let a searcher guess hashes.
func filterable(e *entry, name string) *attribute {
	if strings.EqualFold(name, "userPassword") {
		return nil
	}
	return e.get(name)
}

// matchValues is TRUE when any value of the attribute satisfies match. An
// absent attribute makes the assertion FALSE (the demo has no schema to call
// an unknown attribute type Undefined).
func matchValues(e *entry, name string, match func(string) bool) tri {
	a := filterable(e, name)
	if a == nil {
		return triFalse
	}
	for _, v := range a.values {
		if match(v) {
			return triTrue
		}
	}
	return triFalse
}

func compareFold(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }

// matchSubstrings matches a lower-cased value against initial/any/final
// substring components, in order, without overlap.
func matchSubstrings(v string, parts []*ber.Packet) bool {
	for i, part := range parts {
		sub := strings.ToLower(octets(part))
		switch part.Tag {
		case ldap.FilterSubstringsInitial:
			if i != 0 || !strings.HasPrefix(v, sub) {
				return false
			}
			v = v[len(sub):]
		case ldap.FilterSubstringsAny:
			idx := strings.Index(v, sub)
			if idx < 0 {
				return false
			}
			v = v[idx+len(sub):]
		case ldap.FilterSubstringsFinal:
			if i != len(parts)-1 || !strings.HasSuffix(v, sub) {
				return false
			}
			v = ""
		default:
			return false
		}
	}
	return true
}
