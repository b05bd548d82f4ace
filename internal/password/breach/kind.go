package breach

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"

	//lint:ignore SA1019 NTLM is defined by MD4: used for compatibility with NTLM corpora, not for security
	"golang.org/x/crypto/md4"
)

// Kind is the hash a corpus is keyed by.
type Kind uint8

const (
	// SHA1 keys a corpus by SHA-1 of the UTF-8 password, as in the
	// Pwned Passwords SHA-1 files.
	SHA1 Kind = 1
	// NTLM keys a corpus by MD4 of the UTF-16LE password (the Windows NT
	// hash), as in the Pwned Passwords NTLM files; it lets hashes taken
	// from a directory be audited without knowing the passwords.
	NTLM Kind = 2
)

// String returns "sha1" or "ntlm".
func (k Kind) String() string {
	switch k {
	case SHA1:
		return "sha1"
	case NTLM:
		return "ntlm"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind parses "sha1" or "ntlm" (case-insensitive).
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "sha1", "sha-1":
		return SHA1, nil
	case "ntlm", "nt":
		return NTLM, nil
	}
	return 0, fmt.Errorf("unknown hash kind %q (want sha1 or ntlm)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) {
	if k != SHA1 && k != NTLM {
		return nil, fmt.Errorf("invalid hash kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Size is the digest length in bytes: 20 for SHA-1, 16 for NTLM.
func (k Kind) Size() int {
	if k == NTLM {
		return 16
	}
	return 20
}

func (k Kind) valid() bool { return k == SHA1 || k == NTLM }

// Digest hashes a password the way corpora of this kind are keyed. The
// result is always 20 bytes long; an NTLM digest fills the first 16 and
// leaves the rest zero.
func (k Kind) Digest(password string) [20]byte {
	if k == NTLM {
		u := utf16.Encode([]rune(password))
		b := make([]byte, 2*len(u))
		for i, c := range u {
			binary.LittleEndian.PutUint16(b[2*i:], c)
		}
		d := md4Sum(b)
		clear(b)
		return d
	}
	return sha1.Sum([]byte(password))
}

// locate maps a digest to its shard (the top shardBits bits of the first
// four bytes) and its 64-bit filter key (the next eight bytes, big-endian).
// Both SHA-1 and NTLM digests are uniformly distributed, so taking disjoint
// byte ranges keeps the shard choice and the key independent.
//
// It reads the digest as 4-byte words. A digest was usually just written
// (by a hash function, or copied as an argument) in 4-, 8- or overlapping
// 16-byte stores, and a load that straddles two of them cannot be
// forwarded from the store buffer: it waits until every earlier
// instruction has retired, including the previous lookup's cache misses.
// That serialised consecutive lookups and measured 3-4 times slower on a
// corpus larger than the CPU caches.
func locate(d *[20]byte, shardBits uint) (shard uint32, key uint64) {
	be := binary.BigEndian
	w0, w1, w2 := be.Uint32(d[0:4]), be.Uint32(d[4:8]), be.Uint32(d[8:12])
	shard = uint32(uint64(w0) >> (32 - shardBits))
	return shard, uint64(w1)<<32 | uint64(w2)
}

// md4Sum returns the MD4 digest of b (RFC 1320) in the first 16 bytes. MD4
// is broken as a hash, but NTLM is defined by it; only corpora need it.
func md4Sum(b []byte) [20]byte {
	var d [20]byte
	h := md4.New()
	h.Write(b)
	h.Sum(d[:0])
	return d
}
