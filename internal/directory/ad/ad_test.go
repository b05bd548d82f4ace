package ad

import (
	"reflect"
	"testing"

	"github.com/sspr/sspr/internal/directory"
)

func TestPolicyReasons(t *testing.T) {
	tests := []struct {
		text string
		want []directory.Reason
	}{
		// Samba 4.17's words, as seen on the test DC.
		{"0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!",
			[]directory.Reason{directory.ReasonTooShort}},
		{"0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!",
			[]directory.Reason{directory.ReasonComplexity}},
		{"0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!",
			[]directory.Reason{directory.ReasonHistory}},
		{"0000052D: Constraint violation - check_password_restrictions: the password is too young to change!",
			[]directory.Reason{directory.ReasonTooYoung}},
		// Windows names no rule.
		{"0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0",
			[]directory.Reason{directory.ReasonUnspecified}},
	}
	for _, tt := range tests {
		if got := PolicyReasons(tt.text); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("PolicyReasons(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestMinLengthFromText(t *testing.T) {
	m := minLengthTextRE.FindStringSubmatch("the password is too short. It should be equal or longer than 12 characters!")
	if m == nil || m[1] != "12" {
		t.Fatalf("got %v", m)
	}
}

func TestEncodePassword(t *testing.T) {
	got := EncodePassword("Ab1é")
	want := "\"\x00A\x00b\x001\x00\xe9\x00\"\x00"
	if got != want {
		t.Fatalf("EncodePassword = %q, want %q", got, want)
	}
}

func TestPolicyHintsControlEncoding(t *testing.T) {
	p := policyHints{oid: PolicyHintsOID}.Encode()
	if len(p.Children) != 3 {
		t.Fatalf("control has %d children, want type, criticality, value", len(p.Children))
	}
	// value: OCTET STRING containing SEQUENCE { INTEGER 1 } = 30 03 02 01 01
	got := p.Children[2].Bytes()
	want := []byte{0x04, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("value encodes as % x, want % x", got, want)
	}
}

func TestNewAppliesPreset(t *testing.T) {
	d, err := New(directoryConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := d.Config()
	if cfg.LoginNameAttribute != "sAMAccountName" || cfg.UserFilter != "(&(objectCategory=person)(objectClass=user))" ||
		!reflect.DeepEqual(cfg.LoginAttributes, []string{"sAMAccountName", "userPrincipalName", "mail"}) {
		t.Fatalf("preset not applied: %+v", cfg)
	}
}
