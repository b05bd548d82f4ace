package ldapdir

import (
	"errors"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// PasswordPolicyRequest returns the ppolicy request control
// (1.3.6.1.4.1.42.2.27.8.5.1, draft-behera-ldap-password-policy). Servers
// with the ppolicy overlay explain a refusal in a response control only when
// the request carried it.
func PasswordPolicyRequest() ldap.Control { return ldap.NewControlBeheraPasswordPolicy() }

// ResponseControls returns the controls of a failed operation. go-ldap keeps
// them only in the raw packet of its *ldap.Error; this decodes them. It
// returns nil when err carries none.
func ResponseControls(err error) []ldap.Control {
	var le *ldap.Error
	if !errors.As(err, &le) || le.Packet == nil {
		return nil
	}
	return controlsFromEnvelope(le.Packet)
}

// controlsFromEnvelope decodes the controls ([0] SEQUENCE OF Control) that
// follow the protocol op in an LDAPMessage.
func controlsFromEnvelope(envelope *ber.Packet) []ldap.Control {
	var out []ldap.Control
	for i, child := range envelope.Children {
		if i < 2 || child == nil || child.ClassType != ber.ClassContext || child.Tag != 0 {
			continue
		}
		for _, c := range child.Children {
			if c == nil {
				continue
			}
			if dc, err := ldap.DecodeControl(c); err == nil && dc != nil {
				out = append(out, dc)
			}
		}
	}
	return out
}

// PasswordPolicyResponse returns the ppolicy response control among
// controls, or nil.
func PasswordPolicyResponse(controls []ldap.Control) *ldap.ControlBeheraPasswordPolicy {
	for _, c := range controls {
		if pp, ok := c.(*ldap.ControlBeheraPasswordPolicy); ok {
			return pp
		}
	}
	return nil
}

// ppolicyErrors maps the ppolicy response error enumeration.
var ppolicyErrors = map[int8]struct {
	kind   directory.Kind
	reason directory.Reason
}{
	0: {directory.KindPasswordExpired, directory.ReasonUnspecified}, // passwordExpired
	1: {directory.KindLocked, directory.ReasonUnspecified},          // accountLocked
	2: {directory.KindMustChange, directory.ReasonUnspecified},      // changeAfterReset
	3: {directory.KindAccessDenied, directory.ReasonUnspecified},    // passwordModNotAllowed
	4: {directory.KindAccessDenied, directory.ReasonUnspecified},    // mustSupplyOldPassword
	5: {directory.KindPolicyViolation, directory.ReasonQuality},     // insufficientPasswordQuality
	6: {directory.KindPolicyViolation, directory.ReasonTooShort},    // passwordTooShort
	7: {directory.KindPolicyViolation, directory.ReasonTooYoung},    // passwordTooYoung
	8: {directory.KindPolicyViolation, directory.ReasonHistory},     // passwordInHistory
	9: {directory.KindPolicyViolation, directory.ReasonTooLong},     // passwordTooLong (draft-behera-10)
}

// PasswordPolicyKind maps a ppolicy error code to a kind and, for policy
// violations, the broken rule. ok is false for codes outside the draft
// (including -1, "no error").
func PasswordPolicyKind(code int8) (kind directory.Kind, reason directory.Reason, ok bool) {
	m, ok := ppolicyErrors[code]
	return m.kind, m.reason, ok
}

// ApplyPasswordPolicy refines e with the ppolicy response control pp: the
// control names the actual rule, which the result code alone does not. It
// returns e, or a new error when e is nil and pp reports one (a successful
// bind that must change its password first).
func ApplyPasswordPolicy(e *directory.Error, op string, pp *ldap.ControlBeheraPasswordPolicy) *directory.Error {
	if pp == nil {
		return e
	}
	kind, reason, ok := PasswordPolicyKind(pp.Error)
	if !ok {
		return e
	}
	if e == nil {
		e = &directory.Error{Op: op, Diagnostic: "ppolicy: " + pp.ErrorString}
	} else if pp.ErrorString != "" {
		e.Diagnostic += " (ppolicy: " + pp.ErrorString + ")"
	}
	e.Kind = kind
	if kind == directory.KindPolicyViolation && reason != directory.ReasonUnspecified {
		e.Reasons = []directory.Reason{reason}
	} else {
		e.Reasons = nil
	}
	return e
}
