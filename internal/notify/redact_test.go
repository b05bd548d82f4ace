package notify

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		in, recipient, want string
	}{
		{"SMTP RCPT TO: 550 5.1.1 <bob@example.com>: user unknown", "bob@example.com", "SMTP RCPT TO: 550 5.1.1 <[recipient]>: user unknown"},
		{"550 5.1.1 <Bob@Example.COM>: user unknown", "bob@example.com", "550 5.1.1 <[recipient]>: user unknown"},
		{"550 5.7.1 <other.person+tag@corp.example>: relay denied", "bob@example.com", "550 5.7.1 <[address]>: relay denied"},
		{"twilio: 400: The 'To' number +14155550142 is not a valid phone number", "+14155550142", "twilio: 400: The 'To' number [recipient] is not a valid phone number"},
		{"gateway refused +41 44 668 18 00 (opted out)", "+41446681800", "gateway refused [number] (opted out)"},
		{"number 4155550142 unreachable", "", "number [number] unreachable"},
		{"call (415) 555-0142", "", "call [number]"},
		// What operators need stays: codes, relay address and port.
		{"connecting to SMTP relay 192.168.100.200:587: connection refused", "x@y.z", "connecting to SMTP relay 192.168.100.200:587: connection refused"},
		{"SMTP DATA: 451 4.7.500 try again later", "x@y.z", "SMTP DATA: 451 4.7.500 try again later"},
	} {
		got := redact(tc.in, tc.recipient)
		if got != tc.want {
			t.Errorf("redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if tc.recipient != "" && strings.Contains(strings.ToLower(got), strings.ToLower(tc.recipient)) {
			t.Errorf("redact(%q) kept the recipient", tc.in)
		}
	}
}
