package directory_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/directory"
)

func TestExplain(t *testing.T) {
	// What AD says to a wrong service password; none of it may reach the
	// sentence.
	const adDiag = "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563"
	serviceBind := func(inner directory.Kind) error {
		cause := &directory.Error{Kind: inner, Op: directory.OpServiceBind, Diagnostic: adDiag}
		return &directory.Error{Kind: directory.KindMisconfigured, Op: directory.OpServiceBind,
			Diagnostic: "service account CN=svc: " + inner.String() + ": " + adDiag, Err: cause}
	}
	tests := []struct {
		name string
		err  error
		want string // a part of the sentence
		not  string // must not appear
	}{
		{"nil", nil, "", ""},
		{"wrong service password", serviceBind(directory.KindInvalidCredentials), "service account cannot sign in to the directory: its password in sspr's configuration is wrong", "80090308"},
		{"wrapped by a caller", fmt.Errorf("directory find: %w", serviceBind(directory.KindInvalidCredentials)), "password in sspr's configuration is wrong", "LdapErr"},
		{"service account locked", serviceBind(directory.KindLocked), "service account is locked out", "data 52e"},
		{"service account must change", serviceBind(directory.KindMustChange), "must change its password", "DSID"},
		{"service bind over plain LDAP", &directory.Error{Kind: directory.KindConfidentialityRequired, Op: directory.OpServiceBind}, "unencrypted connection", ""},
		{"not found", &directory.Error{Kind: directory.KindNotFound, Op: "search", Diagnostic: "no entry under dc=x matches the login"}, "No account matches that login.", "not_found"},
		{"ambiguous", &directory.Error{Kind: directory.KindAmbiguous, Op: "search"}, "More than one account matches", "ambiguous"},
		{"unreachable", &directory.Error{Kind: directory.KindUnavailable, Op: "dial", Diagnostic: "ldaps://dc1:636: connection refused: no server listens on that address and port"}, "No directory server could be reached", ""},
		{"TLS problem", &directory.Error{Kind: directory.KindMisconfigured, Op: "dial", Diagnostic: "ldaps://dc1:636: the certificate is signed by an authority sspr does not trust"}, "certificate cannot be trusted", ""},
		{"plain LDAP", &directory.Error{Kind: directory.KindConfidentialityRequired, Op: "reset"}, "use ldaps:// or turn on StartTLS", ""},
		{"wrong password", &directory.Error{Kind: directory.KindInvalidCredentials, Op: "bind", Diagnostic: adDiag}, "The password is wrong.", "52e"},
		{"no rights", &directory.Error{Kind: directory.KindAccessDenied, Op: "reset", Diagnostic: "insufficient access rights"}, "not allowed to do this", ""},
		{"too short", &directory.Error{Kind: directory.KindPolicyViolation, Op: "reset", Reasons: []directory.Reason{directory.ReasonTooShort}, MinLength: 12}, "shorter than 12 characters", "too_short"},
		{"history", &directory.Error{Kind: directory.KindPolicyViolation, Op: "change", Reasons: []directory.Reason{directory.ReasonHistory}}, "it was used before", ""},
		{"locked", &directory.Error{Kind: directory.KindLocked, Op: "bind"}, "locked out", ""},
		{"disabled", &directory.Error{Kind: directory.KindDisabled, Op: "bind"}, "disabled", ""},
		{"other error", errors.New("boom"), "boom", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := directory.Explain(tt.err)
			if tt.err == nil {
				if got != "" {
					t.Fatalf("Explain(nil) = %q", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("Explain = %q, want it to contain %q", got, tt.want)
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("Explain = %q, must not contain %q", got, tt.not)
			}
		})
	}
	// Every kind has its own words.
	for _, k := range directory.Kinds() {
		got := directory.Explain(&directory.Error{Kind: k, Op: "x"})
		if got == "" || strings.Contains(got, ": "+k.String()) {
			t.Errorf("kind %v: %q", k, got)
		}
	}
}
