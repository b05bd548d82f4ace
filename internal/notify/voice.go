package notify

import (
	"encoding/json"
	"errors"
	"strings"
)

// VoiceCall is what an outbox message of the "voice" channel carries (as
// its sealed text body): the sentence to speak, with one %s where the
// digits go, the sentence's language for the text-to-speech voice, and
// the code. The number is the message's recipient.
type VoiceCall struct {
	Say      string `json:"say"`
	Language string `json:"language,omitempty"`
	Code     string `json:"code"`
}

// VoiceCode composes the call that speaks code in lang (the flow's
// language; the catalogue's fallback where lang has no voice text).
func (c *Composer) VoiceCode(lang, code string) VoiceCall {
	p := c.cat.For(lang)
	// The catalogue fills {code}; the caller puts the spoken digits where
	// the %s stands, so the code itself never passes through a template.
	say := strings.ReplaceAll(p.T("voice.code", "title", c.brand.Title), "%", "%%")
	say = strings.Replace(say, "{code}", "%s", 1)
	return VoiceCall{Say: say, Language: p.T("voice.language"), Code: code}
}

// Encode is the message body.
func (v VoiceCall) Encode() (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// DecodeVoiceCall reads a body Encode wrote.
func DecodeVoiceCall(body string) (VoiceCall, error) {
	var v VoiceCall
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Code == "" || strings.Count(v.Say, "%s") != 1 {
		return VoiceCall{}, errors.New("notify: the voice message is malformed")
	}
	return v, nil
}
