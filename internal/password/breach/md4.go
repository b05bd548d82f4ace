package breach

import (
	"encoding/binary"
	"math/bits"
)

// md4Sum returns the MD4 digest of b (RFC 1320). MD4 is broken as a
// cryptographic hash; it is here only because Windows derives the NTLM
// password hash from it, and NTLM corpora are keyed by that hash.
func md4Sum(b []byte) [16]byte {
	a, bb, c, d := uint32(0x67452301), uint32(0xefcdab89), uint32(0x98badcfe), uint32(0x10325476)
	n := len(b)
	// Padding: 0x80, zeros to 56 mod 64, then the bit length little-endian.
	padLen := 64 - (n+8)%64
	if padLen == 0 {
		padLen = 64
	}
	tail := make([]byte, 0, 128)
	full := n - n%64
	tail = append(tail, b[full:]...)
	tail = append(tail, 0x80)
	for i := 1; i < padLen; i++ {
		tail = append(tail, 0)
	}
	tail = binary.LittleEndian.AppendUint64(tail, uint64(n)<<3)

	var x [16]uint32
	block := func(p []byte) {
		for i := range x {
			x[i] = binary.LittleEndian.Uint32(p[4*i:])
		}
		aa, bb0, cc, dd := a, bb, c, d
		f := func(x, y, z uint32) uint32 { return x&y | ^x&z }
		g := func(x, y, z uint32) uint32 { return x&y | x&z | y&z }
		h := func(x, y, z uint32) uint32 { return x ^ y ^ z }
		// Round 1.
		for _, i := range [4]int{0, 4, 8, 12} {
			a = bits.RotateLeft32(a+f(bb, c, d)+x[i], 3)
			d = bits.RotateLeft32(d+f(a, bb, c)+x[i+1], 7)
			c = bits.RotateLeft32(c+f(d, a, bb)+x[i+2], 11)
			bb = bits.RotateLeft32(bb+f(c, d, a)+x[i+3], 19)
		}
		// Round 2.
		for _, i := range [4]int{0, 1, 2, 3} {
			a = bits.RotateLeft32(a+g(bb, c, d)+x[i]+0x5a827999, 3)
			d = bits.RotateLeft32(d+g(a, bb, c)+x[i+4]+0x5a827999, 5)
			c = bits.RotateLeft32(c+g(d, a, bb)+x[i+8]+0x5a827999, 9)
			bb = bits.RotateLeft32(bb+g(c, d, a)+x[i+12]+0x5a827999, 13)
		}
		// Round 3.
		for _, i := range [4]int{0, 2, 1, 3} {
			a = bits.RotateLeft32(a+h(bb, c, d)+x[i]+0x6ed9eba1, 3)
			d = bits.RotateLeft32(d+h(a, bb, c)+x[i+8]+0x6ed9eba1, 9)
			c = bits.RotateLeft32(c+h(d, a, bb)+x[i+4]+0x6ed9eba1, 11)
			bb = bits.RotateLeft32(bb+h(c, d, a)+x[i+12]+0x6ed9eba1, 15)
		}
		a += aa
		bb += bb0
		c += cc
		d += dd
	}
	for p := b[:full]; len(p) >= 64; p = p[64:] {
		block(p)
	}
	for p := tail; len(p) >= 64; p = p[64:] {
		block(p)
	}
	var out [16]byte
	binary.LittleEndian.PutUint32(out[0:], a)
	binary.LittleEndian.PutUint32(out[4:], bb)
	binary.LittleEndian.PutUint32(out[8:], c)
	binary.LittleEndian.PutUint32(out[12:], d)
	return out
}
