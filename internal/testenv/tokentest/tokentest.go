// Package tokentest holds what the tests of signed tokens share: other
// spellings of a token that decode to the same bytes, which a token's
// opener must refuse as it refuses any token it did not issue.
package tokentest

import "strings"

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Respellings are encodings of tok's final base64url part (after its last
// '.') that a forgiving decoder reads as the same bytes: the last character
// with its unused low bits set, and a line break inside the part. tok's
// final part must be unpadded base64url of a length that leaves unused
// bits (an HMAC-SHA256 does: 43 characters for 32 bytes).
func Respellings(tok string) []string {
	last := strings.IndexByte(base64URL, tok[len(tok)-1])
	i := strings.LastIndexByte(tok, '.')
	return []string{
		tok[:len(tok)-1] + string(base64URL[last|1]),
		tok[:i+3] + "\n" + tok[i+3:],
	}
}
