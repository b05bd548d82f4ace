package ad

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
)

// sidBytes encodes a SID string (for tests).
func sidBytes(s string) []byte {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" {
		return nil
	}
	rev, _ := strconv.Atoi(parts[1])
	auth, _ := strconv.ParseUint(parts[2], 10, 48)
	subs := parts[3:]
	b := make([]byte, 8+4*len(subs))
	b[0], b[1] = byte(rev), byte(len(subs))
	for i := 0; i < 6; i++ {
		b[2+i] = byte(auth >> (8 * (5 - i)))
	}
	for i, sub := range subs {
		v, _ := strconv.ParseUint(sub, 10, 32)
		binary.LittleEndian.PutUint32(b[8+4*i:], uint32(v))
	}
	return b
}

// buildSD builds a self-relative security descriptor holding aces.
func buildSD(aces ...[]byte) []byte {
	var body []byte
	for _, a := range aces {
		body = append(body, a...)
	}
	acl := make([]byte, 8)
	acl[0] = 4
	binary.LittleEndian.PutUint16(acl[2:], uint16(8+len(body)))
	binary.LittleEndian.PutUint16(acl[4:], uint16(len(aces)))
	acl = append(acl, body...)
	sd := make([]byte, 20)
	sd[0] = 1
	binary.LittleEndian.PutUint32(sd[16:], 20)
	return append(sd, acl...)
}

func objectACE(typ, flags byte, mask uint32, objectType *[16]byte, sid string) []byte {
	body := make([]byte, 8)
	binary.LittleEndian.PutUint32(body[0:], mask)
	if typ == aceAccessAllowed || typ == aceAccessDenied {
		body = body[:4]
	}
	if objectType != nil {
		binary.LittleEndian.PutUint32(body[4:], aceObjectTypePresent)
		body = append(body, objectType[:]...)
	}
	body = append(body, sidBytes(sid)...)
	h := []byte{typ, flags, 0, 0}
	binary.LittleEndian.PutUint16(h[2:], uint16(4+len(body)))
	return append(h, body...)
}

func TestSecurityDescriptorGrants(t *testing.T) {
	svc, group, other := "S-1-5-21-1-2-3-1120", "S-1-5-21-1-2-3-512", "S-1-5-21-1-2-3-999"
	pwdLastSet := mustGUID("bf967a0a-0de6-11d0-a285-00aa003049e2")
	tests := []struct {
		name string
		aces [][]byte
		want bool
	}{
		{"reset right to the account", [][]byte{objectACE(aceAccessAllowedObject, 0, rightDSControlAccess, &ResetPasswordRight, svc)}, true},
		{"reset right to a group it is in", [][]byte{objectACE(aceAccessAllowedObject, 0x10, rightDSControlAccess, &ResetPasswordRight, group)}, true},
		{"reset right to someone else", [][]byte{objectACE(aceAccessAllowedObject, 0, rightDSControlAccess, &ResetPasswordRight, other)}, false},
		{"another right only", [][]byte{objectACE(aceAccessAllowedObject, 0, rightDSControlAccess, &pwdLastSet, svc)}, false},
		{"all extended rights", [][]byte{objectACE(aceAccessAllowedObject, 0, rightDSControlAccess, nil, svc)}, true},
		{"full control", [][]byte{objectACE(aceAccessAllowed, 0, 0xF01FF, nil, group)}, true},
		{"generic all", [][]byte{objectACE(aceAccessAllowed, 0, rightGenericAll, nil, svc)}, true},
		{"inherit only does not apply", [][]byte{objectACE(aceAccessAllowedObject, aceFlagInheritOnly, rightDSControlAccess, &ResetPasswordRight, svc)}, false},
		{"deny first wins", [][]byte{
			objectACE(aceAccessDeniedObject, 0, rightDSControlAccess, &ResetPasswordRight, group),
			objectACE(aceAccessAllowedObject, 0, rightDSControlAccess, &ResetPasswordRight, svc)}, false},
		{"read only", [][]byte{objectACE(aceAccessAllowed, 0, 0x20094, nil, svc)}, false},
	}
	sids := map[string]bool{svc: true, group: true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := parseSecurityDescriptor(buildSD(tt.aces...))
			if err != nil {
				t.Fatal(err)
			}
			if got := sd.grants(sids, rightDSControlAccess, &ResetPasswordRight); got != tt.want {
				t.Fatalf("grants = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseSIDAndGUID(t *testing.T) {
	for _, s := range []string{"S-1-5-21-3826687682-3377973611-809499807-1120", "S-1-1-0", "S-1-5-11"} {
		if got, err := parseSID(sidBytes(s)); err != nil || got != s {
			t.Errorf("parseSID(sidBytes(%s)) = %q, %v", s, got, err)
		}
	}
	want := [16]byte{0x70, 0x95, 0x29, 0x00, 0x6d, 0x24, 0xd0, 0x11, 0xa7, 0x68, 0x00, 0xaa, 0x00, 0x6e, 0x05, 0x29}
	if ResetPasswordRight != want {
		t.Fatalf("Reset-Password GUID bytes % x, want % x", ResetPasswordRight, want)
	}
	for _, bad := range [][]byte{nil, {1, 2}, make([]byte, 19)} {
		if _, err := parseSecurityDescriptor(bad); err == nil {
			t.Errorf("parseSecurityDescriptor(% x) accepted", bad)
		}
	}
}
