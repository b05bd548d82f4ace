// Package backupcodes is the recovery-code factor: a set of single-use codes
// (10 by default) a person prints or stores in a password manager, for the
// day their phone or authenticator is lost.
//
// # Codes
//
// Each code is 10 characters (by default) of Crockford's base32 alphabet
// (0-9, A-Z without I, L, O, U), drawn with crypto/rand: 5 bits per
// character, 50 bits per code. They are shown grouped ("7K2M9-X4P3Q") once,
// in the BeginEnroll prompt, and never again: only their hashes are kept.
// FinishEnroll asks the person to type back the code at a random position of
// the list, which proves they saved the list rather than glanced at it.
// Input is normalised before checking: case, spaces and dashes are ignored,
// and O is read as 0, I and L as 1 (Crockford's decoding), so a code copied
// by hand still works.
//
// # Storage: one Argon2id per verification
//
// Enrollment.Secret holds a random 16-byte salt per enrollment, the Argon2id
// parameters (OWASP's minimum by default: 19 MiB, t=2, p=1) and, per unused
// code, Argon2id(code, salt). Verify hashes the typed code once with the
// enrollment's salt and compares the result, in constant time, with every
// stored hash; the matching hash is removed from the returned enrollment.
//
// A salt per code would need one Argon2id per stored code on every attempt
// (10 × ~25-40 ms here), or a lookup hint per code, which leaks. Sharing the
// salt within one enrollment keeps every property that matters:
//
//   - Precomputation is still useless: the salt is random per enrollment, so
//     a table built for one person's codes fits nobody else's.
//   - Online, a guess is checked against all the person's codes in either
//     design, so the odds per attempt (count / 2^50) are the same; the flow's
//     attempt caps bound them.
//   - Offline, an attacker holding a decrypted record (it is also encrypted
//     at rest) can test one guess against all N codes with one hash: at most
//     log2(N) bits (3.3 for ten codes) easier than a salt per code. That
//     still leaves 2^46.7 Argon2id evaluations to expect a hit, about 90,000
//     core-years at 25 ms each. The code length is the lever for more margin,
//     not the salt layout.
//
// Enrollment therefore costs N hashes (run in parallel on the available
// cores) and every verification exactly one, whatever the number of codes
// left.
//
// Enrolling again issues a new set; the caller replaces the old enrollment,
// which invalidates the old codes. When no code is left, Challenge and Verify
// report factor.ErrNotAvailable.
package backupcodes
