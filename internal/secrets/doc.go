// Package secrets protects sspr's data at rest and derives the keys its other
// protections use.
//
// # Encryption at rest
//
// A KeyRing holds versioned 256-bit keys, one of them current. Seal encrypts
// with the current key using AES-256-GCM and a fresh random 96-bit nonce;
// Open picks the key by the version written in the ciphertext, so data
// sealed under an older key still opens after a new key has become current.
// The sealed form is
//
//	version (4 bytes, big endian) || nonce (12 bytes) || ciphertext || tag (16 bytes)
//
// Every Seal and Open takes associated data: bytes that are not stored in the
// ciphertext but must be given again to open it. Callers pass where the value
// lives, for example "enrollment:<ID>:secret", so a ciphertext copied into
// another row or column does not open there. The version header is
// authenticated as well.
//
// Random 96-bit nonces are safe for up to 2^32 seals per key (NIST SP
// 800-38D); rotate keys long before that (sspr seals a few values per user).
//
// # Key rotation
//
// Rotation is two steps: "sspr keys add" appends a new key that becomes
// current (new data is sealed with it, old data still opens), then
// "sspr keys rotate" re-seals stored data with the current key (Rotate does it
// for one value, NeedsRotation tells whether a value needs it). Once nothing
// is sealed under an old version any more, its line may be removed from the
// keyring file.
//
// # Keyring file
//
// Operators keep keys in a text file, readable only by sspr (mode 0600):
//
//	# sspr keyring
//	1:8J6xq4t0mR6Y3yq5Wv3m1Zr1o9c0dLkq7m3bQ2w4f7E=
//	2:gVp+FZIs9/h7uALV2D6pxA6sE/pKBebTm9dGrgCIubQ=
//
// One key per line: a version number (1 to 4294967295), a colon, the key in
// standard base64 (32 bytes). Blank lines and lines starting with # are
// ignored. The current key is the highest version, unless one line ends with
// the word "current" after a space ("1:KEY current"), which lets an operator
// roll back to an older key without deleting the newer one. LoadKeyRing reads
// the file, "sspr keys generate" writes a new one and "sspr keys add" appends
// a new current version.
//
// # Derived keys
//
// Derive turns one configured master secret into independent keys for
// separate purposes (HMAC of one-time codes, the audit hash chain, the
// encryption key ring) with HKDF-SHA256: knowing one derived key reveals
// nothing about the master or the others.
//
// # Password hashing
//
// Argon2idParams and its Hash method are the memory-hard hash for
// low-entropy secrets that must be checked later (backup codes, answers to
// security questions), at OWASP's minimum cost or above.
package secrets
