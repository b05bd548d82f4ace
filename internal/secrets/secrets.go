package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/hkdf"
)

// KeySize is the length of every key in a KeyRing (AES-256).
const KeySize = 32

const (
	versionSize = 4
	nonceSize   = 12
	tagSize     = 16
	// Overhead is how many bytes Seal adds to a plaintext.
	Overhead = versionSize + nonceSize + tagSize
)

// Errors from Open.
var (
	// ErrMalformed: the bytes are too short to be a sealed value.
	ErrMalformed = errors.New("secrets: sealed value is malformed (too short)")
	// ErrAuthentication: the value does not open with its key and the given
	// associated data: it was tampered with, moved to another row or
	// column, or sealed with a different key of the same version.
	ErrAuthentication = errors.New("secrets: sealed value does not authenticate (tampered, wrong associated data or wrong key)")
)

// UnknownVersionError is returned by Open for a value sealed under a key
// version the key ring does not hold.
type UnknownVersionError struct {
	Version uint32
}

func (e *UnknownVersionError) Error() string {
	return fmt.Sprintf("secrets: sealed with key version %d, which is not in the key ring", e.Version)
}

// Key is one version of an encryption key.
type Key struct {
	// Version identifies the key in sealed values; at least 1.
	Version uint32
	// Secret is the key itself, KeySize bytes.
	Secret []byte
}

// KeyRing encrypts with its current key and decrypts with any of its keys.
// It is immutable and safe for concurrent use.
type KeyRing struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
	keys    map[uint32][]byte
}

// NewKeyRing builds a key ring from keys; current names the version Seal
// uses. Versions must be distinct and at least 1, keys KeySize bytes long.
func NewKeyRing(current uint32, keys ...Key) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("secrets: key ring has no keys")
	}
	r := &KeyRing{current: current, aeads: make(map[uint32]cipher.AEAD, len(keys)), keys: make(map[uint32][]byte, len(keys))}
	for _, k := range keys {
		if k.Version == 0 {
			return nil, errors.New("secrets: key version 0 is not allowed (versions start at 1)")
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("secrets: key version %d is %d bytes, want %d", k.Version, len(k.Secret), KeySize)
		}
		if _, dup := r.keys[k.Version]; dup {
			return nil, fmt.Errorf("secrets: key version %d appears twice", k.Version)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("secrets: key version %d: %w", k.Version, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secrets: key version %d: %w", k.Version, err)
		}
		r.aeads[k.Version] = aead
		r.keys[k.Version] = slices.Clone(k.Secret)
	}
	if _, ok := r.keys[current]; !ok {
		return nil, fmt.Errorf("secrets: current key version %d is not in the key ring", current)
	}
	return r, nil
}

// Current returns the version Seal uses.
func (r *KeyRing) Current() uint32 { return r.current }

// Versions returns the versions the ring holds, in ascending order.
func (r *KeyRing) Versions() []uint32 {
	vs := make([]uint32, 0, len(r.keys))
	for v := range r.keys {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// Keys returns copies of the ring's keys in ascending version order (to
// write a keyring file).
func (r *KeyRing) Keys() []Key {
	vs := r.Versions()
	keys := make([]Key, len(vs))
	for i, v := range vs {
		keys[i] = Key{Version: v, Secret: slices.Clone(r.keys[v])}
	}
	return keys
}

// WithNewKey returns a ring holding r's keys plus secret under the next
// version (the highest so far plus one), which becomes current.
func (r *KeyRing) WithNewKey(secret []byte) (*KeyRing, error) {
	vs := r.Versions()
	last := vs[len(vs)-1]
	if last == ^uint32(0) {
		return nil, errors.New("secrets: key versions exhausted")
	}
	return NewKeyRing(last+1, append(r.Keys(), Key{Version: last + 1, Secret: secret})...)
}

// header returns the version prefix, which is also authenticated.
func header(version uint32) []byte {
	return binary.BigEndian.AppendUint32(make([]byte, 0, versionSize), version)
}

// additional is the GCM associated data: the version header, then the
// caller's associated data.
func additional(hdr, ad []byte) []byte {
	return append(slices.Clip(hdr), ad...)
}

// Seal encrypts plaintext with the current key, binding it to
// associatedData (which is not stored: Open needs it again).
func (r *KeyRing) Seal(plaintext, associatedData []byte) ([]byte, error) {
	aead := r.aeads[r.current]
	hdr := header(r.current)
	out := make([]byte, versionSize+nonceSize, versionSize+nonceSize+len(plaintext)+tagSize)
	copy(out, hdr)
	nonce := out[versionSize : versionSize+nonceSize]
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, fmt.Errorf("secrets: reading a random nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, additional(hdr, associatedData)), nil
}

// Open decrypts a value sealed by Seal (with any key of the ring) and
// checks it against associatedData.
func (r *KeyRing) Open(sealed, associatedData []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, ErrMalformed
	}
	version := binary.BigEndian.Uint32(sealed)
	aead, ok := r.aeads[version]
	if !ok {
		return nil, &UnknownVersionError{Version: version}
	}
	nonce := sealed[versionSize : versionSize+nonceSize]
	plain, err := aead.Open(nil, nonce, sealed[versionSize+nonceSize:], additional(sealed[:versionSize], associatedData))
	if err != nil {
		return nil, ErrAuthentication
	}
	return plain, nil
}

// Version returns the key version a sealed value names, and false when the
// value is too short to be one.
func Version(sealed []byte) (uint32, bool) {
	if len(sealed) < Overhead {
		return 0, false
	}
	return binary.BigEndian.Uint32(sealed), true
}

// NeedsRotation reports whether sealed was not sealed with the current key
// (malformed values count as needing it; Rotate then reports their error).
func (r *KeyRing) NeedsRotation(sealed []byte) bool {
	v, ok := Version(sealed)
	return !ok || v != r.current
}

// Rotate re-seals sealed with ring's current key when it was sealed with
// another one. It returns the value to store and whether it changed; a value
// already under the current key is returned as is, without being opened.
func Rotate(ring *KeyRing, sealed, associatedData []byte) ([]byte, bool, error) {
	if !ring.NeedsRotation(sealed) {
		return sealed, false, nil
	}
	plain, err := ring.Open(sealed, associatedData)
	if err != nil {
		return nil, false, err
	}
	out, err := ring.Seal(plain, associatedData)
	clear(plain)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// GenerateKey returns a new random KeySize-byte key.
func GenerateKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, fmt.Errorf("secrets: reading a random key: %w", err)
	}
	return k, nil
}

// deriveSalt is HKDF's fixed salt: it separates sspr's derivations from
// any other use of the same master secret.
var deriveSalt = []byte("sspr key derivation v1")

// Derive returns a 32-byte key for purpose (a fixed name such as
// "hmac:codes", "audit:chain", "encryption:1") derived from master with
// HKDF-SHA256. Different purposes give independent keys. master should
// itself be a random key of at least 32 bytes: HKDF does not make a weak
// secret strong.
func Derive(master []byte, purpose string) []byte {
	out := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, master, deriveSalt, []byte(purpose)), out); err != nil {
		// HKDF-SHA256 can produce 255*32 bytes; 32 never fails.
		panic("secrets: hkdf: " + err.Error())
	}
	return out
}
