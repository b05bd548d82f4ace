package demo

import (
	"bufio"
	"reflect"
	"sync"
	"unsafe"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/jimlambrt/gldap"
)

// gldap v0.1.14 has no way to attach controls to a modify response, nor to
// set the responseValue of an extended response: its Response interface has
// an unexported method, so no other package can implement it. The demo needs
// both (the ppolicy response control on a refused password, the authzId of a
// "Who am I?"). rawWriter reaches the connection's buffered writer and the
// mutex gldap itself serialises writes with, so a complete LDAPMessage we
// encode ourselves goes out exactly as gldap's own responses do.
//
// This relies on two unexported fields of gldap.ResponseWriter. Their names
// and types are checked at run time; if a gldap upgrade changes them,
// rawWriter reports false and the caller falls back to a plain gldap response
// (for modify: the same result code and OpenLDAP diagnostic text without the
// control). The tests assert the control arrives, so such an upgrade fails
// loudly in CI instead of degrading silently.
func rawWriter(w *gldap.ResponseWriter) (func(*ber.Packet) error, bool) {
	if w == nil {
		return nil, false
	}
	v := reflect.ValueOf(w).Elem()
	fw := v.FieldByName("writer")
	fm := v.FieldByName("writerMu")
	if !fw.IsValid() || !fm.IsValid() ||
		fw.Type() != reflect.TypeFor[*bufio.Writer]() || fm.Type() != reflect.TypeFor[*sync.Mutex]() {
		return nil, false
	}
	bw := *(**bufio.Writer)(unsafe.Pointer(fw.UnsafeAddr()))
	mu := *(**sync.Mutex)(unsafe.Pointer(fm.UnsafeAddr()))
	if bw == nil || mu == nil {
		return nil, false
	}
	return func(p *ber.Packet) error {
		mu.Lock()
		defer mu.Unlock()
		if _, err := bw.Write(p.Bytes()); err != nil {
			return err
		}
		return bw.Flush()
	}, true
}

// rawWriteAvailable reports whether rawWriter works with the linked gldap
// version; the RootDSE only advertises what the server can really answer.
func rawWriteAvailable() bool {
	t := reflect.TypeFor[gldap.ResponseWriter]()
	fw, ok1 := t.FieldByName("writer")
	fm, ok2 := t.FieldByName("writerMu")
	return ok1 && ok2 && fw.Type == reflect.TypeFor[*bufio.Writer]() && fm.Type == reflect.TypeFor[*sync.Mutex]()
}

// messageID returns the LDAP message ID of any request. gldap exposes it only
// on the typed messages it decodes fully, not on extended requests; a
// response it builds carries it, so read it from there (reflection reads an
// unexported field without unsafe).
func messageID(r *gldap.Request) (int64, bool) {
	resp := r.NewResponse()
	v := reflect.ValueOf(resp).Elem().FieldByName("baseResponse")
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return 0, false
	}
	id := v.Elem().FieldByName("messageID")
	if !id.IsValid() || id.Kind() != reflect.Int64 {
		return 0, false
	}
	return id.Int(), true
}

// LDAP application tags used for the responses encoded here.
const (
	appModifyResponse   = 7
	appExtendedResponse = 24
)

// encodeResult builds an LDAPMessage holding an LDAPResult-shaped response
// (RFC 4511 §4.1.9) with the given application tag. extra children (such as
// an extended response's responseValue) follow the LDAPResult fields;
// controls, when given, become the message's [0] Controls.
func encodeResult(messageID int64, appTag ber.Tag, code int, matchedDN, diag string, extra []*ber.Packet, controls []*ber.Packet) *ber.Packet {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, messageID, "messageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, appTag, nil, "response")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, matchedDN, "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "diagnosticMessage"))
	for _, c := range extra {
		op.AppendChild(c)
	}
	msg.AppendChild(op)
	if len(controls) > 0 {
		ctrls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, c := range controls {
			ctrls.AppendChild(c)
		}
		msg.AppendChild(ctrls)
	}
	return msg
}

// ppolicyResponseControl encodes the password policy response control as
// slapo-ppolicy does for an error: controlValue is
// PasswordPolicyResponseValue ::= SEQUENCE { error [1] ENUMERATED }, with
// no warning and no criticality (criticality FALSE is omitted in DER).
func ppolicyResponseControl(ppErr int) *ber.Packet {
	value := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "PasswordPolicyResponseValue")
	// [1] IMPLICIT ENUMERATED: context class, primitive, tag 1, integer contents.
	value.AppendChild(ber.NewInteger(ber.ClassContext, ber.TypePrimitive, 1, int64(ppErr), "error"))
	ctrl := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	ctrl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, gldap.ControlTypeBeheraPasswordPolicy, "controlType"))
	ctrl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(value.Bytes()), "controlValue"))
	return ctrl
}
