package notify

import (
	"regexp"
	"strings"
)

// Relays and SMS gateways often repeat the recipient in their refusals
// ("550 5.1.1 <bob@example.com>: user unknown", "The 'To' number
// +14155550142 is not valid"). Such texts go to logs and to the outbox's
// last_error, which outlive the message: the address or number is
// replaced before they are kept anywhere.
var (
	mailAddress = regexp.MustCompile(`[^\s<>()\[\]@"',;:]+@[^\s<>()\[\]@"',;:]+`)
	// An international number ("+41 44 668 18 00", "+1 (415) 555-0142"),
	// or a long run of digits: SMTP codes ("550 5.1.1"), ports and IP
	// addresses are shorter or dotted, and stay readable.
	phoneNumber = regexp.MustCompile(`\+\d[\d ()\-]{5,}\d|\b\d{8,15}\b|\(?\b\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}\b`)
)

// redact removes recipient (literally, whatever its form) and anything
// shaped like a mail address or a phone number from text.
func redact(text, recipient string) string {
	if r := strings.TrimSpace(recipient); len(r) >= 3 {
		text = replaceFold(text, r, "[recipient]")
	}
	text = mailAddress.ReplaceAllString(text, "[address]")
	return phoneNumber.ReplaceAllString(text, "[number]")
}

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	lower, lold := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(lold) != len(old) {
		// Case folding changed byte lengths (rare scripts): exact match only.
		return strings.ReplaceAll(s, old, repl)
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lold)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}
