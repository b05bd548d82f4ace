package abuse

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/store"
)

// The ways a proof of work is refused. Tell the client only "try again":
// which one it was is for the log.
var (
	ErrPoWMalformed = errors.New("abuse: proof of work: malformed challenge or solution")
	ErrPoWForged    = errors.New("abuse: proof of work: challenge not issued by us")
	ErrPoWExpired   = errors.New("abuse: proof of work: challenge expired")
	ErrPoWWrong     = errors.New("abuse: proof of work: solution does not meet the difficulty")
	ErrPoWReplayed  = errors.New("abuse: proof of work: challenge already used")
)

// powKind is the abuse_nonces kind used nonces are remembered under.
const powKind = "pow_nonce"

// maxSolutionLen bounds a solution: a decimal counter, 20 digits is 2^64.
const maxSolutionLen = 20

// PoW issues and checks proof-of-work challenges: find a solution such that
// SHA-256(nonce || solution) starts with Bits zero bits, where nonce is the
// challenge's Nonce text and solution a decimal number, both as ASCII. A
// challenge is MAC'd rather than stored, so issuing costs nothing and needs
// no database; a solved nonce is remembered as used until it expires.
//
// Each extra bit doubles the client's average work (2^Bits hashes): 16 bits
// take a browser well under a second, 20 bits a few seconds. It is off
// unless the operator turns it on.
type PoW struct {
	// Key MACs challenges (at least 16 bytes; shared by all nodes).
	Key []byte
	// Bits is the difficulty, in leading zero bits (1 to 32).
	Bits int
	// TTL is how long a challenge may be solved and used.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the nonce source; nil means crypto/rand.
	Rand io.Reader
}

// Challenge is an issued proof-of-work puzzle. Token carries all of it and
// is what goes to the client and comes back with the solution; Nonce and
// Bits are what the solver needs.
type Challenge struct {
	Nonce   string
	Bits    int
	Expires time.Time
	// Token is "nonce.bits.expiry-unix-ms.mac".
	Token string
}

func (p *PoW) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *PoW) mac(nonce string, bits int, expires int64) string {
	m := hmac.New(sha256.New, p.Key)
	fmt.Fprintf(m, "sspr-pow-v1\x00%s\x00%d\x00%d", nonce, bits, expires)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (p *PoW) check() error {
	if len(p.Key) < 16 {
		return fmt.Errorf("abuse: proof of work key has %d bytes, want at least 16", len(p.Key))
	}
	if p.Bits < 1 || p.Bits > 32 {
		return fmt.Errorf("abuse: proof of work difficulty %d bits is not between 1 and 32", p.Bits)
	}
	if p.TTL <= 0 {
		return errors.New("abuse: proof of work TTL must be positive")
	}
	return nil
}

// Issue makes a new challenge.
func (p *PoW) Issue() (Challenge, error) {
	if err := p.check(); err != nil {
		return Challenge{}, err
	}
	raw := make([]byte, 16)
	r := p.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, raw); err != nil {
		return Challenge{}, fmt.Errorf("abuse: proof of work nonce: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(raw)
	exp := p.now().Add(p.TTL).UnixMilli()
	tok := nonce + "." + strconv.Itoa(p.Bits) + "." + strconv.FormatInt(exp, 10) + "." + p.mac(nonce, p.Bits, exp)
	return Challenge{Nonce: nonce, Bits: p.Bits, Expires: time.UnixMilli(exp).UTC(), Token: tok}, nil
}

// ParseChallenge reads a token back into its challenge, checking its MAC
// but not its expiry.
func (p *PoW) ParseChallenge(token string) (Challenge, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] == "" || len(parts[0]) > 64 {
		return Challenge{}, ErrPoWMalformed
	}
	bits, err1 := strconv.Atoi(parts[1])
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || bits < 1 || bits > 256 {
		return Challenge{}, ErrPoWMalformed
	}
	if !hmac.Equal([]byte(parts[3]), []byte(p.mac(parts[0], bits, exp))) {
		return Challenge{}, ErrPoWForged
	}
	return Challenge{Nonce: parts[0], Bits: bits, Expires: time.UnixMilli(exp).UTC(), Token: token}, nil
}

// Verify checks that solution solves the challenge in token, and uses the
// challenge up: the nonce is remembered in tx until the challenge expires,
// so a second Verify of it fails with ErrPoWReplayed on any node. Run it in
// the transaction of the step it guards, so the nonce is only spent when the
// step commits.
func (p *PoW) Verify(tx *store.Tx, token, solution string) error {
	if err := p.check(); err != nil {
		return err
	}
	c, err := p.ParseChallenge(token)
	if err != nil {
		return err
	}
	now := p.now()
	if !now.Before(c.Expires) {
		return ErrPoWExpired
	}
	if !validSolution(solution) {
		return ErrPoWMalformed
	}
	if !Solves(c.Nonce, c.Bits, solution) {
		return ErrPoWWrong
	}
	fresh, err := tx.UseAbuseNonce(powKind, c.Nonce, c.Expires)
	if err != nil {
		return fmt.Errorf("abuse: proof of work: remembering the nonce: %w", err)
	}
	if !fresh {
		return ErrPoWReplayed
	}
	return nil
}

func validSolution(s string) bool {
	if s == "" || len(s) > maxSolutionLen {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Solves reports whether SHA-256(nonce || solution) has at least n leading
// zero bits.
func Solves(nonce string, n int, solution string) bool {
	sum := sha256.Sum256([]byte(nonce + solution))
	return leadingZeroBits(sum[:]) >= n
}

func leadingZeroBits(b []byte) int {
	n := 0
	for _, x := range b {
		if x != 0 {
			return n + bits.LeadingZeros8(x)
		}
		n += 8
	}
	return n
}

// Solve finds the smallest solution of c by brute force, as PoWScript does
// in the browser. For tests and tools.
func Solve(c Challenge) string {
	for i := uint64(0); ; i++ {
		s := strconv.FormatUint(i, 10)
		if Solves(c.Nonce, c.Bits, s) {
			return s
		}
	}
}

// PoWScript defines ssprPoW(nonce, bits), which resolves to the decimal
// solution string of a challenge, exactly as Solve finds it. The portal
// serves it and posts the solution with the challenge's Token.
const PoWScript = `async function ssprPoW(nonce, bits) {
  const enc = new TextEncoder();
  for (let i = 0; ; i++) {
    const h = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(nonce + i)));
    let z = 0;
    for (const b of h) { if (b) { z += Math.clz32(b) - 24; break; } z += 8; }
    if (z >= bits) return String(i);
  }
}
`
