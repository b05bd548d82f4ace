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
	"530": directory.KindLogonRestricted,    // not permitted to log on at this time
	"531": directory.KindLogonRestricted,    // not permitted to log on at this workstation
	"532": directory.KindPasswordExpired,
	"533": directory.KindDisabled,
	"568": directory.KindAccessDenied,    // too many security IDs
	"569": directory.KindLogonRestricted, // logon type not granted
	"701": directory.KindAccountExpired,
	"773": directory.KindMustChange, // pwdLastSet=0
	"775": directory.KindLocked,
}

// adErrorKinds maps AD's leading Win32 error codes on modify operations.
var adErrorKinds = map[string]directory.Kind{
	"0000052D": directory.KindPolicyViolation,    // ERROR_PASSWORD_RESTRICTION
	"00000056": directory.KindInvalidCredentials, // ERROR_INVALID_PASSWORD: wrong old password on change
	"0000052E": directory.KindInvalidCredentials, // ERROR_LOGON_FAILURE
	"00000775": directory.KindLocked,             // ERROR_ACCOUNT_LOCKED_OUT
	"00000773": directory.KindMustChange,         // ERROR_PASSWORD_MUST_CHANGE
	"00000532": directory.KindPasswordExpired,    // ERROR_PASSWORD_EXPIRED
	"00000533": directory.KindDisabled,           // ERROR_ACCOUNT_DISABLED
	"00000701": directory.KindAccountExpired,     // ERROR_ACCOUNT_EXPIRED
	"00000530": directory.KindLogonRestricted,    // ERROR_INVALID_LOGON_HOURS
	"00000531": directory.KindLogonRestricted,    // ERROR_INVALID_WORKSTATION
	"00000005": directory.KindAccessDenied,       // ERROR_ACCESS_DENIED
	"00000522": directory.KindAccessDenied,       // ERROR_PRIVILEGE_NOT_HELD
	"00002098": directory.KindAccessDenied,       // ERROR_DS_INSUFF_ACCESS_RIGHTS
	"00000057": directory.KindMisconfigured,      // ERROR_INVALID_PARAMETER (pwdLastSet other than 0 / -1, ...)
	"0000208D": directory.KindNotFound,           // ERROR_DS_OBJ_NOT_FOUND
	"0000202B": directory.KindMisconfigured,      // ERROR_DS_REFERRAL: the entry is in another domain / partition
	"00002077": directory.KindMisconfigured,      // ERROR_DS_ILLEGAL_MOD_OPERATION
	"000020E6": directory.KindUnsupported,        // ERROR_DS_UNAVAILABLE_CRIT_EXTENSION
	"00002024": directory.KindUnavailable,        // ERROR_DS_ADMIN_LIMIT_EXCEEDED
	"0000200A": directory.KindMisconfigured,      // ERROR_DS_NO_ATTRIBUTE_OR_VALUE
	"0000200B": directory.KindMisconfigured,      // ERROR_DS_INVALID_ATTRIBUTE_SYNTAX
	"00002083": directory.KindMisconfigured,      // ERROR_DS_ATT_VAL_ALREADY_EXISTS
}

// textKinds refines a result code by wording other servers use (389-DS
// answers a locked account's bind with 19 and a text; an inactivated
// account with 53).
var textKinds = []struct {
	codes []uint16
	text  string
	kind  directory.Kind
}{
	{[]uint16{ldap.LDAPResultUnwillingToPerform}, "unwilling to verify old password", directory.KindInvalidCredentials}, // OpenLDAP change, wrong old password
	{[]uint16{ldap.LDAPResultConstraintViolation, ldap.LDAPResultInvalidCredentials}, "exceed password retry limit", directory.KindLocked},
	{[]uint16{ldap.LDAPResultConstraintViolation, ldap.LDAPResultInvalidCredentials}, "account is locked", directory.KindLocked},
	{[]uint16{ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultInvalidCredentials}, "account inactivated", directory.KindDisabled},
	{[]uint16{ldap.LDAPResultInvalidCredentials}, "password expired", directory.KindPasswordExpired},
}

// resultKinds maps every LDAP result code (and go-ldap's client-side codes)
// to a kind; codes that need the diagnostic read further are refined in
// mapLDAPError.
var resultKinds = map[uint16]directory.Kind{
	ldap.LDAPResultOperationsError:                    directory.KindUnknown,
	ldap.LDAPResultProtocolError:                      directory.KindUnsupported, // e.g. an extended operation the server does not know
	ldap.LDAPResultTimeLimitExceeded:                  directory.KindUnavailable,
	ldap.LDAPResultSizeLimitExceeded:                  directory.KindUnavailable,
	ldap.LDAPResultCompareFalse:                       directory.KindUnknown,
	ldap.LDAPResultCompareTrue:                        directory.KindUnknown,
	ldap.LDAPResultAuthMethodNotSupported:             directory.KindUnsupported,
	ldap.LDAPResultStrongAuthRequired:                 directory.KindConfidentialityRequired,
	ldap.LDAPResultReferral:                           directory.KindMisconfigured,
	ldap.LDAPResultAdminLimitExceeded:                 directory.KindUnavailable,
	ldap.LDAPResultUnavailableCriticalExtension:       directory.KindUnsupported,
	ldap.LDAPResultConfidentialityRequired:            directory.KindConfidentialityRequired,
	ldap.LDAPResultSaslBindInProgress:                 directory.KindUnknown,
	ldap.LDAPResultNoSuchAttribute:                    directory.KindMisconfigured,
	ldap.LDAPResultUndefinedAttributeType:             directory.KindMisconfigured,
	ldap.LDAPResultInappropriateMatching:              directory.KindMisconfigured,
	ldap.LDAPResultConstraintViolation:                directory.KindPolicyViolation,
	ldap.LDAPResultAttributeOrValueExists:             directory.KindMisconfigured,
	ldap.LDAPResultInvalidAttributeSyntax:             directory.KindMisconfigured,
	ldap.LDAPResultNoSuchObject:                       directory.KindNotFound,
	ldap.LDAPResultAliasProblem:                       directory.KindMisconfigured,
	ldap.LDAPResultInvalidDNSyntax:                    directory.KindMisconfigured,
	ldap.LDAPResultIsLeaf:                             directory.KindMisconfigured,
	ldap.LDAPResultAliasDereferencingProblem:          directory.KindMisconfigured,
	ldap.LDAPResultInappropriateAuthentication:        directory.KindInvalidCredentials,
	ldap.LDAPResultInvalidCredentials:                 directory.KindInvalidCredentials,
	ldap.LDAPResultInsufficientAccessRights:           directory.KindAccessDenied,
	ldap.LDAPResultBusy:                               directory.KindUnavailable,
	ldap.LDAPResultUnavailable:                        directory.KindUnavailable,
	ldap.LDAPResultUnwillingToPerform:                 directory.KindAccessDenied,
	ldap.LDAPResultLoopDetect:                         directory.KindMisconfigured,
	ldap.LDAPResultSortControlMissing:                 directory.KindUnsupported,
	ldap.LDAPResultOffsetRangeError:                   directory.KindUnsupported,
	ldap.LDAPResultNamingViolation:                    directory.KindMisconfigured,
	ldap.LDAPResultObjectClassViolation:               directory.KindMisconfigured,
	ldap.LDAPResultNotAllowedOnNonLeaf:                directory.KindMisconfigured,
	ldap.LDAPResultNotAllowedOnRDN:                    directory.KindMisconfigured,
	ldap.LDAPResultEntryAlreadyExists:                 directory.KindMisconfigured,
	ldap.LDAPResultObjectClassModsProhibited:          directory.KindMisconfigured,
	ldap.LDAPResultResultsTooLarge:                    directory.KindUnavailable,
	ldap.LDAPResultAffectsMultipleDSAs:                directory.KindMisconfigured,
	ldap.LDAPResultVirtualListViewErrorOrControlError: directory.KindUnsupported,
	ldap.LDAPResultOther:                              directory.KindUnknown,
	ldap.LDAPResultServerDown:                         directory.KindUnavailable,
	ldap.LDAPResultLocalError:                         directory.KindUnavailable,
	ldap.LDAPResultEncodingError:                      directory.KindUnknown,
	ldap.LDAPResultDecodingError:                      directory.KindUnknown,
	ldap.LDAPResultTimeout:                            directory.KindUnavailable,
	ldap.LDAPResultAuthUnknown:                        directory.KindUnsupported,
	ldap.LDAPResultFilterError:                        directory.KindMisconfigured,
	ldap.LDAPResultUserCanceled:                       directory.KindUnavailable,
	ldap.LDAPResultParamError:                         directory.KindMisconfigured,
	ldap.LDAPResultNoMemory:                           directory.KindUnavailable,
	ldap.LDAPResultConnectError:                       directory.KindUnavailable,
	ldap.LDAPResultNotSupported:                       directory.KindUnsupported,
	ldap.LDAPResultControlNotFound:                    directory.KindUnsupported,
	ldap.LDAPResultNoResultsReturned:                  directory.KindNotFound,
	ldap.LDAPResultMoreResultsToReturn:                directory.KindUnknown,
	ldap.LDAPResultClientLoop:                         directory.KindMisconfigured,
	ldap.LDAPResultReferralLimitExceeded:              directory.KindMisconfigured,
	ldap.LDAPResultInvalidResponse:                    directory.KindUnknown,
	ldap.LDAPResultAmbiguousResponse:                  directory.KindUnknown,
	ldap.LDAPResultTLSNotSupported:                    directory.KindConfidentialityRequired,
	ldap.LDAPResultIntermediateResponse:               directory.KindUnknown,
	ldap.LDAPResultUnknownType:                        directory.KindUnknown,
	ldap.LDAPResultCanceled:                           directory.KindUnavailable,
	ldap.LDAPResultNoSuchOperation:                    directory.KindUnavailable,
	ldap.LDAPResultTooLate:                            directory.KindUnavailable,
	ldap.LDAPResultCannotCancel:                       directory.KindUnavailable,
	ldap.LDAPResultAssertionFailed:                    directory.KindUnknown,
	ldap.LDAPResultAuthorizationDenied:                directory.KindAccessDenied,
	ldap.LDAPResultSyncRefreshRequired:                directory.KindUnavailable,
	ldap.ErrorNetwork:                                 directory.KindUnavailable,
	ldap.ErrorFilterCompile:                           directory.KindMisconfigured,
	ldap.ErrorFilterDecompile:                         directory.KindMisconfigured,
	ldap.ErrorDebugging:                               directory.KindUnknown,
	ldap.ErrorUnexpectedMessage:                       directory.KindUnknown,
	ldap.ErrorUnexpectedResponse:                      directory.KindUnknown,
	ldap.ErrorEmptyPassword:                           directory.KindInvalidCredentials,
	ldap.ErrorMalformedPacket:                         directory.KindUnavailable,
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
	case ldap.LDAPResultAttributeOrValueExists:
		if (op == "reset" || op == "change") && ADErrorCode(diag) == "" {
			// A password write whose password-history value is already
			// there: another write of the same account's password was
			// being applied at that instant (ppolicy adds one pwdHistory
			// value per change, stamped to the second) — one a crashed
			// process had sent, for instance. Nothing was changed, and
			// trying again shortly succeeds.
			e.Kind = directory.KindUnavailable
			return e
		}
	case ldap.LDAPResultInvalidCredentials:
		if k, ok := adBindDataKinds[ADDataCode(diag)]; ok {
			e.Kind = k
		}
		if e.Kind == directory.KindInvalidCredentials {
			e.Kind = textKind(le.ResultCode, diag, e.Kind)
		}
		return e
	}
	if k, ok := adErrorKinds[ADErrorCode(diag)]; ok {
		e.Kind = k
		return e
	}
	e.Kind = textKind(le.ResultCode, diag, e.Kind)
	return e
}

func textKind(code uint16, diag string, kind directory.Kind) directory.Kind {
	lower := strings.ToLower(diag)
	for _, t := range textKinds {
		for _, c := range t.codes {
			if c == code && strings.Contains(lower, t.text) {
				return t.kind
			}
		}
	}
	return kind
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
