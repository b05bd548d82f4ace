package notify_test

import (
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/factor/voice"
	"github.com/sspr/sspr/internal/notify"
)

// TestVoiceCodeInTheFlowsLanguage: the spoken sentence is the catalogue's
// in the flow's language, with its voice language, and the digits go
// where the catalogue put {code}, through TwiML, once per <Say>.
func TestVoiceCodeInTheFlowsLanguage(t *testing.T) {
	c := composer(t, brand)
	for _, tc := range []struct{ lang, language, words string }{
		{"en", "en-US", "Your verification code is"},
		{"de", "de-DE", "Ihr Bestätigungscode lautet"},
		{"xx", "en-US", "Your verification code is"}, // no catalogue: the fallback
	} {
		v := c.VoiceCode(tc.lang, "123456")
		body, err := v.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := notify.DecodeVoiceCall(body)
		if err != nil {
			t.Fatal(err)
		}
		if got != v || v.Language != tc.language || !strings.Contains(v.Say, tc.words) || !strings.Contains(v.Say, "Example Corp") {
			t.Errorf("%s: %+v", tc.lang, v)
		}
		twiml, err := voice.TwiML(v.Say, v.Code, "", v.Language)
		if err != nil {
			t.Fatalf("%s: %v", tc.lang, err)
		}
		if strings.Count(twiml, "1, 2, 3, 4, 5, 6") != 2 || strings.Contains(twiml, "{code}") {
			t.Errorf("%s: TwiML %s", tc.lang, twiml)
		}
	}
}

// FuzzDecodeVoiceCall: any stored body decodes or is refused, never
// panics, and what decodes has a code and one place for it.
func FuzzDecodeVoiceCall(f *testing.F) {
	f.Add(`{"say":"Your code is %s.","language":"en-US","code":"123456"}`)
	f.Add(`{"say":"%s %s","code":"1"}`)
	f.Add(`{}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, body string) {
		v, err := notify.DecodeVoiceCall(body)
		if err != nil {
			return
		}
		if v.Code == "" || strings.Count(v.Say, "%s") != 1 {
			t.Fatalf("accepted %+v", v)
		}
	})
}
