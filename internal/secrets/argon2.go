package secrets

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// Argon2idParams are the cost parameters of an Argon2id hash. They are
// stored with every hash so that raising the cost later leaves old hashes
// verifiable.
type Argon2idParams struct {
	// Memory in KiB.
	Memory uint32 `json:"m"`
	// Time is the number of passes.
	Time uint32 `json:"t"`
	// Threads is the parallelism.
	Threads uint8 `json:"p"`
}

// OWASPArgon2id is OWASP's minimum recommendation for Argon2id (Password
// Storage Cheat Sheet): 19 MiB, two passes, one thread. About 25 ms on one
// core of the reference machine.
var OWASPArgon2id = Argon2idParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// Argon2idKeyLen is the length of the hashes Hash returns.
const Argon2idKeyLen = 32

// Argon2idSaltLen is the length of the salts NewSalt returns.
const Argon2idSaltLen = 16

// CheckMinimum returns an error when p is weaker than OWASPArgon2id in any
// parameter.
func (p Argon2idParams) CheckMinimum() error {
	if p.Memory < OWASPArgon2id.Memory || p.Time < OWASPArgon2id.Time || p.Threads < 1 {
		return fmt.Errorf("secrets: argon2id parameters m=%d KiB t=%d p=%d are below the minimum m=%d KiB t=%d p=%d",
			p.Memory, p.Time, p.Threads, OWASPArgon2id.Memory, OWASPArgon2id.Time, OWASPArgon2id.Threads)
	}
	return nil
}

// Valid reports whether p can be computed at all (not whether it is strong
// enough): a stored record with zero parameters is corrupt.
func (p Argon2idParams) Valid() bool {
	return p.Memory >= 8*uint32(max(p.Threads, 1)) && p.Time >= 1 && p.Threads >= 1 && p.Memory <= 4<<20 && p.Time <= 64
}

// Hash returns the Argon2idKeyLen-byte Argon2id hash of secret with salt.
func (p Argon2idParams) Hash(secret, salt []byte) []byte {
	return argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, Argon2idKeyLen)
}

// Verify reports, in constant time, whether secret hashes to want.
func (p Argon2idParams) Verify(secret, salt, want []byte) bool {
	return subtle.ConstantTimeCompare(p.Hash(secret, salt), want) == 1
}

// NewSalt returns a random Argon2idSaltLen-byte salt.
func NewSalt() ([]byte, error) {
	s := make([]byte, Argon2idSaltLen)
	if _, err := io.ReadFull(rand.Reader, s); err != nil {
		return nil, fmt.Errorf("secrets: reading a random salt: %w", err)
	}
	return s, nil
}
