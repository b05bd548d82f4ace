package yubikeytest

import (
	"crypto/aes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/factor/yubikey"
)

// Token is a simulated YubiKey in Yubico OTP mode.
type Token struct {
	PublicID  string // modhex, 12 characters
	privateID [6]byte
	aesKey    [16]byte

	mu         sync.Mutex
	useCounter uint16
	session    uint8
	timestamp  uint32
}

// NewToken makes a key with a random public ID, private ID and AES key.
func NewToken() *Token {
	t := &Token{useCounter: 1}
	var pub [6]byte
	mustRead(pub[:])
	mustRead(t.privateID[:])
	mustRead(t.aesKey[:])
	t.PublicID = modhex(pub[:])
	return t
}

func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
}

// OTP is what the key types when touched: its public ID and the
// AES-encrypted token (private ID, counters, timestamp, random, CRC), in
// modhex. Each OTP has higher counters than the one before.
func (t *Token) OTP() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.session++
	if t.session == 0 {
		t.useCounter++
	}
	t.timestamp += 8
	var p [16]byte
	copy(p[:6], t.privateID[:])
	binary.LittleEndian.PutUint16(p[6:8], t.useCounter)
	p[8], p[9], p[10] = byte(t.timestamp), byte(t.timestamp>>8), byte(t.timestamp>>16)
	p[11] = t.session
	mustRead(p[12:14])
	binary.LittleEndian.PutUint16(p[14:16], ^crc16(p[:14]))
	c, _ := aes.NewCipher(t.aesKey[:])
	var out [16]byte
	c.Encrypt(out[:], p[:])
	return t.PublicID + modhex(out[:])
}

// crc16 is the ISO 13239 CRC YubiKeys use; over a whole valid token it is
// 0xf0b8.
func crc16(b []byte) uint16 {
	crc := uint16(0xffff)
	for _, x := range b {
		crc ^= uint16(x)
		for i := 0; i < 8; i++ {
			j := crc & 1
			crc >>= 1
			if j != 0 {
				crc ^= 0x8408
			}
		}
	}
	return crc
}

func modhex(b []byte) string {
	var s strings.Builder
	for _, x := range b {
		s.WriteByte(yubikey.Modhex[x>>4])
		s.WriteByte(yubikey.Modhex[x&15])
	}
	return s.String()
}

func unmodhex(s string) ([]byte, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		hi, lo := strings.IndexByte(yubikey.Modhex, s[2*i]), strings.IndexByte(yubikey.Modhex, s[2*i+1])
		if hi < 0 || lo < 0 {
			return nil, false
		}
		out[i] = byte(hi<<4 | lo)
	}
	return out, true
}

// Server is a validation server speaking the Yubico validation protocol
// 2.0 over HTTPS on loopback (httptest.NewTLSServer).
type Server struct {
	*httptest.Server
	ClientID string
	APIKey   []byte

	mu     sync.Mutex
	tokens map[string]*Token
	last   map[string]uint32 // public ID → useCounter<<8 | session last accepted
	// forge, when set, signs responses with another key.
	forge    []byte
	requests int
}

// RequestCount is how many verification requests the server received.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

var nonceRE = regexp.MustCompile(`^[A-Za-z0-9]{16,40}$`)

// NewServer starts a server with one client (a random ID and key). Close
// it when done.
func NewServer() *Server {
	s := &Server{ClientID: "4711", APIKey: make([]byte, 20), tokens: map[string]*Token{}, last: map[string]uint32{}}
	mustRead(s.APIKey)
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the verify endpoint.
func (s *Server) URL() string { return s.Server.URL + "/wsapi/2.0/verify" }

// Add registers t with the server.
func (s *Server) Add(t *Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.PublicID] = t
}

// SignResponsesWith makes the server sign its responses with key (a
// forger without the API key); nil restores the right key.
func (s *Server) SignResponsesWith(key []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forge = key
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/wsapi/2.0/verify" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	params := map[string]string{}
	for k := range q {
		params[k] = q.Get(k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	status := s.check(params)
	resp := map[string]string{
		"t":      time.Now().UTC().Format("2006-01-02T15:04:05Z0000"),
		"otp":    params["otp"],
		"nonce":  params["nonce"],
		"status": status,
	}
	if status == "OK" {
		resp["sl"] = "100"
	}
	key := s.APIKey
	if s.forge != nil {
		key = s.forge
	}
	resp["h"] = yubikey.Sign(resp, key)
	for _, k := range []string{"h", "t", "otp", "nonce", "sl", "status"} {
		if v, ok := resp[k]; ok {
			fmt.Fprintf(w, "%s=%s\r\n", k, v)
		}
	}
	fmt.Fprint(w, "\r\n")
}

func (s *Server) check(p map[string]string) string {
	if p["id"] == "" || p["otp"] == "" || p["nonce"] == "" {
		return "MISSING_PARAMETER"
	}
	if p["id"] != s.ClientID {
		return "NO_SUCH_CLIENT"
	}
	if !yubikey.Verify(p, s.APIKey) {
		return "BAD_SIGNATURE"
	}
	if !nonceRE.MatchString(p["nonce"]) {
		return "MISSING_PARAMETER"
	}
	otp, id, err := yubikey.NormaliseOTP(p["otp"])
	if err != nil {
		return "BAD_OTP"
	}
	t := s.tokens[id]
	if t == nil {
		return "BAD_OTP"
	}
	enc, ok := unmodhex(otp[len(id):])
	if !ok || len(enc) != 16 {
		return "BAD_OTP"
	}
	c, _ := aes.NewCipher(t.aesKey[:])
	var plain [16]byte
	c.Decrypt(plain[:], enc)
	if crc16(plain[:]) != 0xf0b8 || [6]byte(plain[:6]) != t.privateID {
		return "BAD_OTP"
	}
	counter := uint32(binary.LittleEndian.Uint16(plain[6:8]))<<8 | uint32(plain[11])
	if last, seen := s.last[id]; seen && counter <= last {
		return "REPLAYED_OTP"
	}
	s.last[id] = counter
	return "OK"
}
