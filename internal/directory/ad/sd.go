package ad

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Access rights in an AD access mask.
const (
	rightDSControlAccess = 0x00000100 // ADS_RIGHT_DS_CONTROL_ACCESS: extended rights
	rightDSWriteProp     = 0x00000020 // ADS_RIGHT_DS_WRITE_PROP
	rightGenericAll      = 0x10000000
	rightGenericWrite    = 0x40000000
)

// ACE types and flags.
const (
	aceAccessAllowed       = 0x00
	aceAccessDenied        = 0x01
	aceAccessAllowedObject = 0x05
	aceAccessDeniedObject  = 0x06
	aceFlagInheritOnly     = 0x08
	aceObjectTypePresent   = 0x1
)

// ResetPasswordRight is the Reset-Password extended right (User-Force-
// Change-Password), 00299570-246d-11d0-a768-00aa006e0529.
var ResetPasswordRight = mustGUID("00299570-246d-11d0-a768-00aa006e0529")

// ace is one access control entry of a DACL.
type ace struct {
	typ        byte
	flags      byte
	mask       uint32
	objectType *[16]byte // nil: applies to every object type / right
	sid        string
}

// securityDescriptor is the part of a self-relative SECURITY_DESCRIPTOR
// sspr reads: the DACL.
type securityDescriptor struct {
	dacl []ace
}

// parseSecurityDescriptor parses a self-relative security descriptor as AD
// returns nTSecurityDescriptor ([MS-DTYP] 2.4.6).
func parseSecurityDescriptor(b []byte) (*securityDescriptor, error) {
	if len(b) < 20 {
		return nil, errors.New("security descriptor too short")
	}
	daclOff := binary.LittleEndian.Uint32(b[16:20])
	sd := &securityDescriptor{}
	if daclOff == 0 {
		return sd, nil
	}
	if int(daclOff)+8 > len(b) {
		return nil, errors.New("DACL offset out of range")
	}
	acl := b[daclOff:]
	count := int(binary.LittleEndian.Uint16(acl[4:6]))
	p := 8
	for i := 0; i < count; i++ {
		if p+4 > len(acl) {
			return nil, fmt.Errorf("ACE %d out of range", i)
		}
		typ, flags := acl[p], acl[p+1]
		size := int(binary.LittleEndian.Uint16(acl[p+2 : p+4]))
		if size < 8 || p+size > len(acl) {
			return nil, fmt.Errorf("ACE %d has a bad size %d", i, size)
		}
		body := acl[p+4 : p+size]
		p += size
		a := ace{typ: typ, flags: flags}
		switch typ {
		case aceAccessAllowed, aceAccessDenied:
			a.mask = binary.LittleEndian.Uint32(body[0:4])
			sid, err := parseSID(body[4:])
			if err != nil {
				return nil, err
			}
			a.sid = sid
		case aceAccessAllowedObject, aceAccessDeniedObject:
			if len(body) < 8 {
				return nil, fmt.Errorf("object ACE %d too short", i)
			}
			a.mask = binary.LittleEndian.Uint32(body[0:4])
			objFlags := binary.LittleEndian.Uint32(body[4:8])
			q := 8
			if objFlags&aceObjectTypePresent != 0 {
				if q+16 > len(body) {
					return nil, fmt.Errorf("object ACE %d too short for its object type", i)
				}
				var g [16]byte
				copy(g[:], body[q:q+16])
				a.objectType = &g
				q += 16
			}
			if objFlags&0x2 != 0 { // inherited object type present
				q += 16
			}
			if q > len(body) {
				return nil, fmt.Errorf("object ACE %d too short", i)
			}
			sid, err := parseSID(body[q:])
			if err != nil {
				return nil, err
			}
			a.sid = sid
		default:
			continue // audit, callback, ... ACEs grant nothing here
		}
		sd.dacl = append(sd.dacl, a)
	}
	return sd, nil
}

// grants reports whether the DACL gives any of sids the access in mask for
// objectType (an extended right or property GUID; nil for plain rights). ACEs
// are evaluated in order, the first that matches decides, as Windows does for
// a canonical DACL.
func (sd *securityDescriptor) grants(sids map[string]bool, mask uint32, objectType *[16]byte) bool {
	for _, a := range sd.dacl {
		if a.flags&aceFlagInheritOnly != 0 || !sids[a.sid] {
			continue
		}
		covers := a.mask&mask != 0 || a.mask&rightGenericAll != 0
		if mask == rightDSWriteProp && a.mask&rightGenericWrite != 0 {
			covers = true
		}
		if !covers {
			continue
		}
		if a.objectType != nil && (objectType == nil || *a.objectType != *objectType) {
			continue
		}
		switch a.typ {
		case aceAccessDenied, aceAccessDeniedObject:
			return false
		default:
			return true
		}
	}
	return false
}

// parseSID turns a binary SID into its S-1-... form.
func parseSID(b []byte) (string, error) {
	if len(b) < 8 {
		return "", errors.New("SID too short")
	}
	n := int(b[1])
	if len(b) < 8+4*n {
		return "", errors.New("SID shorter than its sub-authority count")
	}
	var auth uint64
	for _, x := range b[2:8] {
		auth = auth<<8 | uint64(x)
	}
	var s strings.Builder
	s.WriteString("S-" + strconv.Itoa(int(b[0])) + "-" + strconv.FormatUint(auth, 10))
	for i := 0; i < n; i++ {
		s.WriteString("-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return s.String(), nil
}

// mustGUID parses a GUID string into AD's binary layout (the first three
// fields little-endian).
func mustGUID(s string) [16]byte {
	var g [16]byte
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		panic("bad GUID " + s)
	}
	var raw [16]byte
	for i := 0; i < 16; i++ {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			panic("bad GUID " + s)
		}
		raw[i] = byte(v)
	}
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g
}
