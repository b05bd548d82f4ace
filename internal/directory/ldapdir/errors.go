package ldapdir

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// Active Directory puts a Win32 error code in front of its diagnostics
// ("0000052D: Constraint violation - ...") and, for failed binds, a data code
// ("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error,
// data 52e, v1db1").
var (
	adErrorCodeRE = regexp.MustCompile(`^\s*([0-9A-Fa-f]{8})\s*:`)
	adDataCodeRE  = regexp.MustCompile(`\bdata ([0-9A-Fa-f]{1,8})\b`)
)

// ADErrorCode returns AD's leading Win32 error code in upper case
// ("0000052D"), or "" when the text has none.
func ADErrorCode(diagnostic string) string {
	m := adErrorCodeRE.FindStringSubmatch(diagnostic)
	if m == nil {
		return ""
	}
	return strings.ToUpper(m[1])
}

// ADDataCode returns the lower-case data code of an AD bind failure ("52e",
// "775"), or "" when the text has none.
func ADDataCode(diagnostic string) string {
	m := adDataCodeRE.FindStringSubmatch(diagnostic)
	if m == nil {
		return ""
	}
	return strings.ToLower(strings.TrimLeft(m[1], "0"))
}

// adBindDataKinds maps the data codes of AD's failed binds (result 49).
var adBindDataKinds = map[string]directory.Kind{
	"525": directory.KindInvalidCredentials, // no such user: do not tell apart
	"52e": directory.KindInvalidCredentials, // wrong password
	"530": directory.KindAccessDenied,       // not permitted to log on at this time
	"531": directory.KindAccessDenied,       // not permitted to log on at this workstation
	"532": directory.KindPasswordExpired,
	"533": directory.KindDisabled,
	"568": directory.KindAccessDenied, // too many security IDs
	"701": directory.KindAccountExpired,
	"773": directory.KindMustChange, // pwdLastSet=0
	"775": directory.KindLocked,
}

// adErrorKinds maps AD's leading Win32 error codes on modify operations.
var adErrorKinds = map[string]directory.Kind{
	"0000052D": directory.KindPolicyViolation,    // ERROR_PASSWORD_RESTRICTION
	"00000056": directory.KindInvalidCredentials, // ERROR_INVALID_PASSWORD: wrong old password on change
	"00000775": directory.KindLocked,             // ERROR_ACCOUNT_LOCKED_OUT
	"00000773": directory.KindMustChange,         // ERROR_PASSWORD_MUST_CHANGE
	"00000532": directory.KindPasswordExpired,    // ERROR_PASSWORD_EXPIRED
	"00000533": directory.KindDisabled,           // ERROR_ACCOUNT_DISABLED
	"00000005": directory.KindAccessDenied,       // ERROR_ACCESS_DENIED
	"00002098": directory.KindAccessDenied,       // ERROR_DS_INSUFF_ACCESS_RIGHTS
}

// resultKinds maps LDAP result codes (and go-ldap's client-side codes) that
// need no further reading of the diagnostic.
var resultKinds = map[uint16]directory.Kind{
	ldap.LDAPResultOperationsError:              directory.KindUnknown,
	ldap.LDAPResultProtocolError:                directory.KindMisconfigured,
	ldap.LDAPResultTimeLimitExceeded:            directory.KindUnavailable,
	ldap.LDAPResultAuthMethodNotSupported:       directory.KindMisconfigured,
	ldap.LDAPResultStrongAuthRequired:           directory.KindConfidentialityRequired,
	ldap.LDAPResultReferral:                     directory.KindMisconfigured,
	ldap.LDAPResultAdminLimitExceeded:           directory.KindUnavailable,
	ldap.LDAPResultUnavailableCriticalExtension: directory.KindMisconfigured,
	ldap.LDAPResultConfidentialityRequired:      directory.KindConfidentialityRequired,
	ldap.LDAPResultNoSuchAttribute:              directory.KindMisconfigured,
	ldap.LDAPResultUndefinedAttributeType:       directory.KindMisconfigured,
	ldap.LDAPResultInappropriateMatching:        directory.KindMisconfigured,
	ldap.LDAPResultConstraintViolation:          directory.KindPolicyViolation,
	ldap.LDAPResultInvalidAttributeSyntax:       directory.KindMisconfigured,
	ldap.LDAPResultNoSuchObject:                 directory.KindNotFound,
	ldap.LDAPResultInvalidDNSyntax:              directory.KindMisconfigured,
	ldap.LDAPResultInappropriateAuthentication:  directory.KindInvalidCredentials,
	ldap.LDAPResultInvalidCredentials:           directory.KindInvalidCredentials,
	ldap.LDAPResultInsufficientAccessRights:     directory.KindAccessDenied,
	ldap.LDAPResultBusy:                         directory.KindUnavailable,
	ldap.LDAPResultUnavailable:                  directory.KindUnavailable,
	ldap.LDAPResultUnwillingToPerform:           directory.KindAccessDenied,
	ldap.LDAPResultLoopDetect:                   directory.KindMisconfigured,
	ldap.LDAPResultNamingViolation:              directory.KindMisconfigured,
	ldap.LDAPResultObjectClassViolation:         directory.KindMisconfigured,
	ldap.LDAPResultServerDown:                   directory.KindUnavailable,
	ldap.LDAPResultTimeout:                      directory.KindUnavailable,
	ldap.LDAPResultConnectError:                 directory.KindUnavailable,
	ldap.LDAPResultCanceled:                     directory.KindUnavailable,
	ldap.ErrorNetwork:                           directory.KindUnavailable,
	ldap.ErrorFilterCompile:                     directory.KindMisconfigured,
	ldap.ErrorFilterDecompile:                   directory.KindMisconfigured,
	ldap.ErrorEmptyPassword:                     directory.KindInvalidCredentials,
}

// MapError turns any failure of an LDAP operation into a *directory.Error
// with Op set and Diagnostic holding the server's own text. ctx is the
// operation's context: once it has ended, every failure is KindUnavailable
// (go-ldap learns of the end only as a closed connection). err must not be
// nil. A *directory.Error passes through unchanged.
//
// The kind comes from the result code, refined by AD's Win32 error and bind
// data codes. Product-specific details (AD's policy wording, ppolicy
// controls) are added by the connectors.
func MapError(ctx context.Context, op string, err error) *directory.Error {
	var de *directory.Error
	if errors.As(err, &de) {
		return de
	}
	if ctx != nil && ctx.Err() != nil {
		return &directory.Error{Kind: directory.KindUnavailable, Op: op, Err: err,
			Diagnostic: ctx.Err().Error() + ": " + err.Error()}
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		return mapLDAPError(op, le)
	}
	return &directory.Error{Kind: transportKind(err), Op: op, Diagnostic: err.Error(), Err: err}
}

func mapLDAPError(op string, le *ldap.Error) *directory.Error {
	diag := ""
	if le.Err != nil {
		diag = le.Err.Error()
	}
	e := &directory.Error{Op: op, Diagnostic: diag, Err: le}
	if diag == "" {
		e.Diagnostic = ldap.LDAPResultCodeMap[le.ResultCode]
	}
	if le.ResultCode == ldap.ErrorNetwork && le.Err != nil {
		// A transport failure wrapped by go-ldap; a TLS verification
		// failure is still "unavailable" for the user, the diagnostic
		// tells the admin why.
		e.Kind = directory.KindUnavailable
		return e
	}
	kind, known := resultKinds[le.ResultCode]
	if !known {
		kind = directory.KindUnknown
	}
	e.Kind = kind

	switch le.ResultCode {
	case ldap.LDAPResultInvalidCredentials:
		if k, ok := adBindDataKinds[ADDataCode(diag)]; ok {
			e.Kind = k
		}
	case ldap.LDAPResultConstraintViolation, ldap.LDAPResultUnwillingToPerform,
		ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultOther:
		if k, ok := adErrorKinds[ADErrorCode(diag)]; ok {
			e.Kind = k
		} else if le.ResultCode == ldap.LDAPResultUnwillingToPerform &&
			strings.Contains(strings.ToLower(diag), "unwilling to verify old password") {
			// OpenLDAP's answer to a change with a wrong old password.
			e.Kind = directory.KindInvalidCredentials
		}
	}
	return e
}

// transportKind classifies errors that never reached an LDAP answer.
func transportKind(err error) directory.Kind {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return directory.KindUnavailable
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return directory.KindUnavailable
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		record           tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verification) || errors.As(err, &record) {
		// The server answered, but not as one we may trust: sspr's TLS
		// settings (CA, URL host) do not fit the directory.
		return directory.KindMisconfigured
	}
	return directory.KindUnknown
}
