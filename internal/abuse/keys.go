package abuse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// LoginKey is the counter key of a login: NFKC-normalised, case-folded and
// trimmed, so "Alice", " alice " and "ＡＬＩＣＥ" share one counter.
func LoginKey(login string) string {
	return strings.TrimSpace(cases.Fold().String(norm.NFKC.String(strings.TrimSpace(login))))
}

// IPKey is the counter key of a client IP address: its canonical text, an
// IPv4-mapped IPv6 address as IPv4, an IPv6 address as its network of
// prefixBits (0 means 64). Text that is not an address is kept trimmed and
// lower-cased (it still counts, it just cannot be grouped).
func IPKey(ip string, prefixBits int) string {
	s := strings.TrimSpace(ip)
	addr, err := netip.ParseAddr(s)
	if err != nil {
		if ap, err2 := netip.ParseAddrPort(s); err2 == nil {
			addr, err = ap.Addr(), nil
		}
	}
	if err != nil {
		return strings.ToLower(s)
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	if prefixBits <= 0 {
		prefixBits = 64
	}
	if prefixBits >= 128 {
		return addr.String()
	}
	p, err := addr.Prefix(prefixBits)
	if err != nil {
		return addr.String()
	}
	return p.String()
}

// destinationKey is the counter key of a phone number or mail address: an
// HMAC of its normal form, so the store holds no contact data yet equal
// destinations meet in one counter.
func destinationKey(hmacKey []byte, dest string) string {
	m := hmac.New(sha256.New, hmacKey)
	m.Write([]byte("sspr-abuse-destination\x00"))
	m.Write([]byte(normaliseDestination(dest)))
	return hex.EncodeToString(m.Sum(nil))
}

// normaliseDestination lower-cases a mail address, and reduces a phone
// number to its digits with a leading "+" kept, so "+1 (555) 010-0042" and
// "+15550100042" are one destination.
func normaliseDestination(dest string) string {
	s := strings.TrimSpace(dest)
	if strings.Contains(s, "@") {
		return "mail:" + cases.Fold().String(norm.NFKC.String(s))
	}
	var b strings.Builder
	b.WriteString("phone:")
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}
