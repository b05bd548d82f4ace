package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
)

// encodeResponse encodes a reply to a request whose Request Authenticator
// is reqAuth, with a Message-Authenticator and the Response Authenticator
// (what a server does; the tests' servers use it).
func encodeResponse(p *Packet, reqAuth [authLen]byte, secret []byte) ([]byte, error) {
	q := *p
	q.Authenticator = reqAuth
	q.Attributes = append([]Attribute{{Type: AttrMessageAuthenticator, Value: make([]byte, msgAuthLen)}}, withoutType(p.Attributes, AttrMessageAuthenticator)...)
	b, err := q.encode()
	if err != nil {
		return nil, err
	}
	m := hmac.New(md5.New, secret)
	m.Write(b)
	copy(b[headerLen+2:], m.Sum(nil))
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	copy(b[4:headerLen], h.Sum(nil))
	return b, nil
}

// verifyRequest checks an Access-Request's Message-Authenticator (for
// the tests' servers): required, as on every packet.
func verifyRequest(raw []byte, secret []byte) (*Packet, error) {
	p, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	b := raw[:binary.BigEndian.Uint16(raw[2:4])]
	off := messageAuthenticatorOffset(b)
	if p.count(AttrMessageAuthenticator) != 1 || off < 0 {
		return nil, fmt.Errorf("%w: request without one valid Message-Authenticator", ErrAuthenticator)
	}
	c := append([]byte(nil), b...)
	clear(c[off : off+msgAuthLen])
	m := hmac.New(md5.New, secret)
	m.Write(c)
	if !hmac.Equal(m.Sum(nil), b[off:off+msgAuthLen]) {
		return nil, fmt.Errorf("%w: wrong Message-Authenticator", ErrAuthenticator)
	}
	return p, nil
}

// revealPassword undoes hidePassword (for the tests' servers).
func revealPassword(hidden, secret []byte, reqAuth [authLen]byte) []byte {
	if len(hidden) == 0 || len(hidden)%16 != 0 {
		return nil
	}
	out := make([]byte, len(hidden))
	prev := reqAuth[:]
	for i := 0; i < len(hidden); i += 16 {
		h := md5.New()
		h.Write(secret)
		h.Write(prev)
		s := h.Sum(nil)
		for j := 0; j < 16; j++ {
			out[i+j] = hidden[i+j] ^ s[j]
		}
		prev = hidden[i : i+16]
	}
	for len(out) > 0 && out[len(out)-1] == 0 {
		out = out[:len(out)-1]
	}
	return out
}

// testServer is a RADIUS server on loopback for the codec's tests: it
// checks each request's Message-Authenticator and answers with what
// answer returns, encoded by reply (encodeResponse unless a test forges).
type testServer struct {
	conn     net.PacketConn
	secret   []byte
	requests atomic.Int32
	answer   func(req *Packet, password string) *Packet
	reply    atomic.Pointer[replyFunc]
	// last is the last raw reply sent, for replay tests.
	last atomic.Pointer[[]byte]
}

func startTestServer(t *testing.T, secret []byte, answer func(req *Packet, password string) *Packet) *testServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{conn: conn, secret: secret, answer: answer}
	s.setReply(func(p *Packet, reqAuth [authLen]byte) []byte {
		b, err := encodeResponse(p, reqAuth, s.secret)
		if err != nil {
			panic(err)
		}
		return b
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, maxPacketLen)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			s.requests.Add(1)
			req, err := verifyRequest(buf[:n], s.secret)
			if err != nil || req.Attributes[0].Type != AttrMessageAuthenticator {
				continue // dropped, as FreeRADIUS does
			}
			hidden, _ := req.Get(AttrUserPassword)
			resp := s.answer(req, string(revealPassword(hidden, s.secret, req.Authenticator)))
			if resp == nil {
				continue
			}
			resp.Identifier = req.Identifier
			b := (*s.reply.Load())(resp, req.Authenticator)
			s.last.Store(&b)
			_, _ = conn.WriteTo(b, from)
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

type replyFunc func(p *Packet, reqAuth [authLen]byte) []byte

func (s *testServer) setReply(f replyFunc) { s.reply.Store(&f) }

func (s *testServer) addr() string { return s.conn.LocalAddr().String() }
