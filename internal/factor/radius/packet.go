package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Code is a RADIUS packet type (RFC 2865 section 3).
type Code byte

// The codes of the authentication exchange.
const (
	AccessRequest   Code = 1
	AccessAccept    Code = 2
	AccessReject    Code = 3
	AccessChallenge Code = 11
)

func (c Code) String() string {
	switch c {
	case AccessRequest:
		return "Access-Request"
	case AccessAccept:
		return "Access-Accept"
	case AccessReject:
		return "Access-Reject"
	case AccessChallenge:
		return "Access-Challenge"
	}
	return fmt.Sprintf("code %d", byte(c))
}

// Attribute types sspr sends or reads (RFC 2865 section 5, RFC 3579).
const (
	AttrUserName             byte = 1
	AttrUserPassword         byte = 2
	AttrNASIPAddress         byte = 4
	AttrReplyMessage         byte = 18
	AttrState                byte = 24
	AttrNASIdentifier        byte = 32
	AttrMessageAuthenticator byte = 80
)

// Sizes from RFC 2865.
const (
	headerLen    = 20
	maxPacketLen = 4096
	maxAttrValue = 253
	maxPassword  = 128
	authLen      = 16
	msgAuthLen   = 16
)

// Attribute is one type-length-value of a packet.
type Attribute struct {
	Type  byte
	Value []byte
}

// Packet is a decoded RADIUS packet.
type Packet struct {
	Code          Code
	Identifier    byte
	Authenticator [authLen]byte
	Attributes    []Attribute
}

// Get returns the value of the first attribute of type t.
func (p *Packet) Get(t byte) ([]byte, bool) {
	for _, a := range p.Attributes {
		if a.Type == t {
			return a.Value, true
		}
	}
	return nil, false
}

// count returns how many attributes of type t the packet has.
func (p *Packet) count(t byte) int {
	n := 0
	for _, a := range p.Attributes {
		if a.Type == t {
			n++
		}
	}
	return n
}

// Errors of the codec.
var (
	ErrMalformed = errors.New("radius: malformed packet")
	// ErrAuthenticator: the packet was not made with our shared secret
	// (or was altered on the way): a wrong Response Authenticator or a
	// missing or wrong Message-Authenticator.
	ErrAuthenticator = errors.New("radius: packet not authenticated by the shared secret")
)

// Decode parses b structurally: header, length and attribute framing. It
// checks no authenticator (see verifyResponse). Octets beyond the length
// field are padding and ignored, as RFC 2865 section 3 says.
func Decode(b []byte) (*Packet, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d octets, shorter than a header", ErrMalformed, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < headerLen || n > maxPacketLen {
		return nil, fmt.Errorf("%w: length field %d", ErrMalformed, n)
	}
	if n > len(b) {
		return nil, fmt.Errorf("%w: length field %d, but %d octets received", ErrMalformed, n, len(b))
	}
	p := &Packet{Code: Code(b[0]), Identifier: b[1]}
	copy(p.Authenticator[:], b[4:headerLen])
	for rest := b[headerLen:n]; len(rest) > 0; {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: attribute header cut off", ErrMalformed)
		}
		l := int(rest[1])
		if l < 2 || l > len(rest) {
			return nil, fmt.Errorf("%w: attribute %d has length %d", ErrMalformed, rest[0], l)
		}
		p.Attributes = append(p.Attributes, Attribute{Type: rest[0], Value: append([]byte(nil), rest[2:l]...)})
		rest = rest[l:]
	}
	return p, nil
}

// encode writes p with its attributes as they are.
func (p *Packet) encode() ([]byte, error) {
	n := headerLen
	for _, a := range p.Attributes {
		if len(a.Value) > maxAttrValue {
			return nil, fmt.Errorf("radius: attribute %d is %d octets, at most %d", a.Type, len(a.Value), maxAttrValue)
		}
		n += 2 + len(a.Value)
	}
	if n > maxPacketLen {
		return nil, fmt.Errorf("radius: packet would be %d octets, at most %d", n, maxPacketLen)
	}
	b := make([]byte, headerLen, n)
	b[0], b[1] = byte(p.Code), p.Identifier
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	copy(b[4:headerLen], p.Authenticator[:])
	for _, a := range p.Attributes {
		b = append(b, a.Type, byte(2+len(a.Value)))
		b = append(b, a.Value...)
	}
	return b, nil
}

// messageAuthenticatorOffset finds the value of the one
// Message-Authenticator in the encoded packet b (-1 if there is none).
func messageAuthenticatorOffset(b []byte) int {
	off := -1
	for i := headerLen; i+2 <= len(b); {
		l := int(b[i+1])
		if l < 2 {
			return -1
		}
		if b[i] == AttrMessageAuthenticator && l == 2+msgAuthLen {
			off = i + 2
		}
		i += l
	}
	return off
}

// encodeRequest encodes an Access-Request with a Message-Authenticator as
// its first attribute (RFC 3579 section 3.2; placing it first is the
// BlastRADIUS advice, so a forged prefix cannot precede it). p's
// Authenticator must already be the random Request Authenticator, and any
// User-Password already hidden with it.
func encodeRequest(p *Packet, secret []byte) ([]byte, error) {
	q := *p
	q.Attributes = append([]Attribute{{Type: AttrMessageAuthenticator, Value: make([]byte, msgAuthLen)}}, withoutType(p.Attributes, AttrMessageAuthenticator)...)
	b, err := q.encode()
	if err != nil {
		return nil, err
	}
	m := hmac.New(md5.New, secret)
	m.Write(b)
	copy(b[headerLen+2:], m.Sum(nil))
	return b, nil
}

func withoutType(as []Attribute, t byte) []Attribute {
	var out []Attribute
	for _, a := range as {
		if a.Type != t {
			out = append(out, a)
		}
	}
	return out
}

// verifyResponse checks that raw, a reply to the request with Request
// Authenticator reqAuth, was made with secret: its Response Authenticator
// (RFC 2865 section 3) and its Message-Authenticator (RFC 3579 section
// 3.2), which is required — a reply without one is refused, whatever its
// code, because BlastRADIUS (CVE-2024-3596) forges exactly such replies.
func verifyResponse(raw []byte, reqAuth [authLen]byte, secret []byte) (*Packet, error) {
	p, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	b := raw[:binary.BigEndian.Uint16(raw[2:4])]
	if p.count(AttrMessageAuthenticator) != 1 {
		return nil, fmt.Errorf("%w: %s carries %d Message-Authenticator attributes, want exactly 1", ErrAuthenticator, p.Code, p.count(AttrMessageAuthenticator))
	}
	off := messageAuthenticatorOffset(b)
	if off < 0 {
		return nil, fmt.Errorf("%w: Message-Authenticator has the wrong length", ErrAuthenticator)
	}
	// Response Authenticator: MD5(Code+ID+Length+RequestAuth+Attributes+Secret).
	h := md5.New()
	h.Write(b[:4])
	h.Write(reqAuth[:])
	h.Write(b[headerLen:])
	h.Write(secret)
	if subtle.ConstantTimeCompare(h.Sum(nil), b[4:headerLen]) != 1 {
		return nil, fmt.Errorf("%w: wrong Response Authenticator (is the shared secret right?)", ErrAuthenticator)
	}
	// Message-Authenticator: HMAC-MD5 over the packet with the Request
	// Authenticator in the header and the attribute's value zeroed.
	c := append([]byte(nil), b...)
	copy(c[4:headerLen], reqAuth[:])
	clear(c[off : off+msgAuthLen])
	m := hmac.New(md5.New, secret)
	m.Write(c)
	if !hmac.Equal(m.Sum(nil), b[off:off+msgAuthLen]) {
		return nil, fmt.Errorf("%w: wrong Message-Authenticator (is the shared secret right?)", ErrAuthenticator)
	}
	return p, nil
}

// hidePassword hides a User-Password as RFC 2865 section 5.2 says: padded
// to 16 octets, each block XORed with MD5(secret + previous block), the
// first with the Request Authenticator.
func hidePassword(pw, secret []byte, reqAuth [authLen]byte) ([]byte, error) {
	if len(pw) == 0 || len(pw) > maxPassword {
		return nil, fmt.Errorf("radius: a password must be 1 to %d octets", maxPassword)
	}
	n := (len(pw) + 15) / 16 * 16
	out := make([]byte, n)
	copy(out, pw)
	prev := reqAuth[:]
	for i := 0; i < n; i += 16 {
		h := md5.New()
		h.Write(secret)
		h.Write(prev)
		s := h.Sum(nil)
		for j := 0; j < 16; j++ {
			out[i+j] ^= s[j]
		}
		prev = out[i : i+16]
	}
	return out, nil
}
