package entra

import "crypto/sha1"

// sha1Sum is the certificate thumbprint Entra's x5t header carries (an
// identifier, not a signature).
func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}
