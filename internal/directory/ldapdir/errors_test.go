package ldapdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

func ldapErr(code uint16, text string) error {
	return &ldap.Error{ResultCode: code, Err: errors.New(text)}
}

func TestMapError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want directory.Kind
	}{
		{"AD wrong password", ldapErr(49, "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1"), directory.KindInvalidCredentials},
		{"AD no such user", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 525, v4563"), directory.KindInvalidCredentials},
		{"AD logon hours", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 530, v4563"), directory.KindLogonRestricted},
		{"AD workstation", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 531, v4563"), directory.KindLogonRestricted},
		{"AD password expired", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 532, v4563"), directory.KindPasswordExpired},
		{"AD disabled", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563"), directory.KindDisabled},
		{"AD account expired", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 701, v4563"), directory.KindAccountExpired},
		{"AD must change", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 773, v4563"), directory.KindMustChange},
		{"AD locked", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563"), directory.KindLocked},
		{"AD locked upper case, padded", ldapErr(49, "AcceptSecurityContext error, data 00000775, v4563"), directory.KindLocked},
		{"OpenLDAP wrong password", ldapErr(49, ""), directory.KindInvalidCredentials},
		{"Samba policy", ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!"), directory.KindPolicyViolation},
		{"Windows policy as unwilling", ldapErr(53, "0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0"), directory.KindPolicyViolation},
		{"AD wrong old password", ldapErr(19, "00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!"), directory.KindInvalidCredentials},
		{"AD change while locked", ldapErr(19, "00000775: Password change not permitted, account locked out"), directory.KindLocked},
		{"AD no write access", ldapErr(50, "00002098: Object CN=x has no write property access"), directory.KindAccessDenied},
		{"insufficient access", ldapErr(50, "insufficient access rights"), directory.KindAccessDenied},
		{"OpenLDAP constraint", ldapErr(19, "Password fails quality checking policy"), directory.KindPolicyViolation},
		{"OpenLDAP wrong old password", ldapErr(53, "unwilling to verify old password"), directory.KindInvalidCredentials},
		{"unwilling", ldapErr(53, "operation not allowed"), directory.KindAccessDenied},
		{"strong auth", ldapErr(8, "BindSimple: Transport encryption required."), directory.KindConfidentialityRequired},
		{"confidentiality", ldapErr(13, "TLS confidentiality required"), directory.KindConfidentialityRequired},
		{"busy", ldapErr(51, "busy"), directory.KindUnavailable},
		{"unavailable", ldapErr(52, "shutting down"), directory.KindUnavailable},
		{"server down", ldapErr(81, ""), directory.KindUnavailable},
		{"time limit", ldapErr(3, ""), directory.KindUnavailable},
		{"no such object", ldapErr(32, "no such object"), directory.KindNotFound},
		{"protocol error", ldapErr(2, "Extended Operation(1.3.6.1.4.1.4203.1.11.3) not supported"), directory.KindUnsupported},
		{"critical extension", ldapErr(12, "critical extension is unavailable"), directory.KindUnsupported},
		{"389 locked bind", ldapErr(19, "Exceed password retry limit. Please contact system administrator to reset."), directory.KindLocked},
		{"389 inactivated", ldapErr(53, "Account inactivated. Contact system administrator."), directory.KindDisabled},
		{"389 expired", ldapErr(49, "password expired!"), directory.KindPasswordExpired},
		{"AD logon failure code", ldapErr(19, "0000052E: LdapErr: logon failure"), directory.KindInvalidCredentials},
		{"AD account expired on modify", ldapErr(19, "00000701: account expired"), directory.KindAccountExpired},
		{"AD referral", ldapErr(10, "0000202B: RefErr: DSID-0310084A, data 0, 1 access points"), directory.KindMisconfigured},
		{"AD object not found", ldapErr(32, "0000208D: NameErr: DSID-03100241, problem 2001 (NO_OBJECT)"), directory.KindNotFound},
		{"AD logon type", ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 569, v4563"), directory.KindLogonRestricted},
		{"authorization denied", ldapErr(123, "proxied authorization denied"), directory.KindAccessDenied},
		{"AD invalid parameter", ldapErr(80, "00000057: pwdLastSet must be 0 or -1 only"), directory.KindMisconfigured},
		{"other", ldapErr(80, "something"), directory.KindUnknown},
		{"go-ldap network", ldap.NewError(ldap.ErrorNetwork, io.EOF), directory.KindUnavailable},
		{"go-ldap empty password", ldap.NewError(ldap.ErrorEmptyPassword, errors.New("empty")), directory.KindInvalidCredentials},
		{"net error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, directory.KindUnavailable},
		{"eof", fmt.Errorf("read: %w", io.EOF), directory.KindUnavailable},
		{"deadline", context.DeadlineExceeded, directory.KindUnavailable},
		{"plain error", errors.New("boom"), directory.KindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MapError(context.Background(), "op", tt.err)
			if got.Kind != tt.want {
				t.Fatalf("MapError(%v) kind = %v, want %v", tt.err, got.Kind, tt.want)
			}
			if got.Op != "op" {
				t.Errorf("Op = %q, want op", got.Op)
			}
			var le *ldap.Error
			if errors.As(tt.err, &le) && le.Err != nil && le.Err.Error() != "" && got.Diagnostic != le.Err.Error() {
				t.Errorf("Diagnostic = %q, want the server's text %q", got.Diagnostic, le.Err.Error())
			}
			if !errors.Is(got, tt.err) && !errors.Is(got.Err, tt.err) {
				t.Errorf("the original error is not kept in Err")
			}
		})
	}
}

// TestEveryResultCodeIsMapped keeps the table complete: every result code
// go-ldap knows has a deliberate kind.
func TestEveryResultCodeIsMapped(t *testing.T) {
	for code, name := range ldap.LDAPResultCodeMap {
		if code == ldap.LDAPResultSuccess {
			continue
		}
		if _, ok := resultKinds[code]; !ok {
			t.Errorf("result code %d (%s) has no kind in resultKinds", code, name)
		}
	}
}

func TestMapErrorCancelledContextIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := MapError(ctx, "search", ldap.NewError(ldap.ErrorNetwork, net.ErrClosed))
	if got.Kind != directory.KindUnavailable {
		t.Fatalf("kind = %v, want unavailable", got.Kind)
	}
}

func TestMapErrorPassesDirectoryErrors(t *testing.T) {
	in := &directory.Error{Kind: directory.KindLocked, Op: "bind"}
	if got := MapError(context.Background(), "other", fmt.Errorf("wrapped: %w", in)); got != in {
		t.Fatalf("got %v, want the same *directory.Error", got)
	}
}

func TestADCodes(t *testing.T) {
	tests := []struct{ text, code, data string }{
		{"0000052D: Constraint violation - x", "0000052D", ""},
		{"00000056: Constraint violation", "00000056", ""},
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1", "80090308", "52e"},
		{"no code here", "", ""},
		{"data 0000052E, v", "", "52e"},
	}
	for _, tt := range tests {
		if got := ADErrorCode(tt.text); got != tt.code {
			t.Errorf("ADErrorCode(%q) = %q, want %q", tt.text, got, tt.code)
		}
		if got := ADDataCode(tt.text); got != tt.data {
			t.Errorf("ADDataCode(%q) = %q, want %q", tt.text, got, tt.data)
		}
	}
}

// failedResponse builds the envelope of a failed extended operation carrying
// a ppolicy response control with the given error, as slapd sends it.
func failedResponse(code uint16, text string, ppErr byte) *ber.Packet {
	env := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	env.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(2), "MessageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedResponse, nil, "Extended Response")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, text, "diagnosticMessage"))
	env.AppendChild(op)
	controls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
	ctrl := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	ctrl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, ldap.ControlTypeBeheraPasswordPolicy, "type"))
	// PasswordPolicyResponseValue ::= SEQUENCE { error [1] ENUMERATED }
	ctrl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString,
		string([]byte{0x30, 0x03, 0x81, 0x01, ppErr}), "value"))
	controls.AppendChild(ctrl)
	env.AppendChild(controls)
	// Round-trip through bytes, as a real response would arrive.
	return ber.DecodePacket(env.Bytes())
}

func TestPasswordPolicyFromFailedOperation(t *testing.T) {
	tests := []struct {
		ppErr      byte
		wantKind   directory.Kind
		wantReason directory.Reason
	}{
		{0, directory.KindPasswordExpired, directory.ReasonUnspecified},
		{1, directory.KindLocked, directory.ReasonUnspecified},
		{2, directory.KindMustChange, directory.ReasonUnspecified},
		{3, directory.KindAccessDenied, directory.ReasonUnspecified},
		{4, directory.KindAccessDenied, directory.ReasonUnspecified},
		{5, directory.KindPolicyViolation, directory.ReasonQuality},
		{6, directory.KindPolicyViolation, directory.ReasonTooShort},
		{7, directory.KindPolicyViolation, directory.ReasonTooYoung},
		{8, directory.KindPolicyViolation, directory.ReasonHistory},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.ppErr), func(t *testing.T) {
			pkt := failedResponse(ldap.LDAPResultConstraintViolation, "Password fails quality checking policy", tt.ppErr)
			err := ldap.GetLDAPError(pkt)
			if err == nil {
				t.Fatal("GetLDAPError: no error")
			}
			pp := PasswordPolicyResponse(ResponseControls(err))
			if pp == nil {
				t.Fatal("no ppolicy control decoded")
			}
			got := ApplyPasswordPolicy(MapError(context.Background(), "reset", err), "reset", pp)
			if got.Kind != tt.wantKind {
				t.Errorf("kind = %v, want %v", got.Kind, tt.wantKind)
			}
			if tt.wantReason != directory.ReasonUnspecified &&
				(len(got.Reasons) != 1 || got.Reasons[0] != tt.wantReason) {
				t.Errorf("reasons = %v, want [%v]", got.Reasons, tt.wantReason)
			}
		})
	}
}

func TestResponseControlsNone(t *testing.T) {
	if got := ResponseControls(errors.New("x")); got != nil {
		t.Fatalf("got %v", got)
	}
	if got := ResponseControls(ldapErr(49, "")); got != nil {
		t.Fatalf("got %v", got)
	}
	if got := ApplyPasswordPolicy(nil, "bind", nil); got != nil {
		t.Fatalf("got %v", got)
	}
}

// A password write that finds its history value already there met another
// write of the same password still being applied (a killed process's, say):
// nothing changed, so the person is asked to try again — not told the
// directory is misconfigured. Elsewhere the code keeps its meaning.
func TestPasswordWriteMeetingAnotherIsUnavailable(t *testing.T) {
	exists := ldap.NewError(ldap.LDAPResultAttributeOrValueExists, errors.New("modify/add: pwdHistory: value #0 already exists"))
	for _, op := range []string{"reset", "change"} {
		if k := MapError(context.Background(), op, exists).Kind; k != directory.KindUnavailable {
			t.Errorf("%s: %v, want unavailable", op, k)
		}
	}
	if k := MapError(context.Background(), "add_member", exists).Kind; k != directory.KindMisconfigured {
		t.Errorf("add_member: %v, want misconfigured", k)
	}
	ad := ldap.NewError(ldap.LDAPResultAttributeOrValueExists, errors.New("00002083: AtrErr: DSID-03151904, #1"))
	if k := MapError(context.Background(), "change", ad).Kind; k != directory.KindMisconfigured {
		t.Errorf("AD ERROR_DS_ATT_VAL_ALREADY_EXISTS on change: %v, want misconfigured", k)
	}
}
