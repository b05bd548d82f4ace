package voicetest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/factor/voice"
)

// Whatever the text, the TwiML sspr writes parses as TwiML and says
// exactly the text with the code, twice.
func FuzzTwiMLRoundTrip(f *testing.F) {
	f.Add("Your code is %s.", "123456")
	f.Add("<Say>%s</Say> & ]]>", "0")
	f.Fuzz(func(t *testing.T, text, code string) {
		if strings.Count(text, "%") != 1 || !strings.Contains(text, "%s") || !utf8.ValidString(text) || !utf8.ValidString(code) {
			return
		}
		doc, err := voice.TwiML(text, code, "alice", "en-US")
		if err != nil {
			return
		}
		said, err := parseTwiML(doc)
		if err != nil {
			// XML cannot carry some characters (controls); refusing is fine,
			// but then the text had one.
			for _, r := range text + code {
				if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError {
					return
				}
			}
			t.Fatalf("TwiML for %q does not parse: %v\n%s", text, err, doc)
		}
		if len(said) != 2 || said[0] != said[1] {
			t.Fatalf("said %q", said)
		}
	})
}

func FuzzParseTwiML(f *testing.F) {
	f.Add(`<?xml version="1.0"?><Response><Say>hi</Say><Pause length="1"/></Response>`)
	f.Add(`<Response><Dial>+1</Dial></Response>`)
	f.Fuzz(func(t *testing.T, doc string) {
		_, _ = parseTwiML(doc) // must not panic or hang
	})
}
