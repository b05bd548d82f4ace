package i18n_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/i18n"
)

func load(t *testing.T, def string) *i18n.Catalogue {
	t.Helper()
	c, err := i18n.Load(def)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// catalogues reads the locale files directly, to compare them key by key.
func catalogues(t *testing.T) map[string]map[string]string {
	t.Helper()
	files, err := filepath.Glob("locales/*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("locale files: %v %v", files, err)
	}
	out := map[string]map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = m
	}
	return out
}

// sameAsEnglish are messages that rightly read as in English: product
// names everywhere ("id"), and words a language shares ("lang/id"). Any
// other English text in a translation is a message someone forgot.
var sameAsEnglish = map[string]bool{
	"enroll.kind.duo": true, "enroll.kind.yubikey": true,
	"es/app.title_error": true, "fr/enroll.confirm.totp.type": true,
	"nl/enroll.confirm.totp.type": true, "nl/enroll.confirm.totp.account": true,
	"it/enroll.confirm.totp.account": true, "it/enroll.kind.email": true, "it/enroll.kind.passkey": true,
	"it/mail.helpdesk": true, "it/verify.radius.label": true, "it/enroll.confirm.radius.label": true,
	"de/enroll.kind.passkey": true, "de/enroll.confirm.radius.label": true, "de/verify.radius.label": true,
}

func TestEveryLanguageIsComplete(t *testing.T) {
	t.Parallel()
	c := load(t, "en")
	if m := c.Missing(); len(m) != 0 {
		t.Errorf("messages missing from translations: %v", m)
	}
	// Eight languages for the portal, the mails and the API (issue 13).
	for _, lang := range []string{"en", "de", "fr", "es", "it", "nl", "pt", "pl"} {
		if !slices.Contains(c.Languages(), lang) {
			t.Errorf("Languages() = %v, lacks %s", c.Languages(), lang)
		}
	}
	// Nothing in a translation that English lacks (a stale or misspelt ID).
	cats := catalogues(t)
	for lang, msgs := range cats {
		for id, text := range msgs {
			if _, ok := cats[i18n.Fallback][id]; !ok {
				t.Errorf("%s has %q, which English does not", lang, id)
			}
			// Not empty, the same placeholders, HTML well-formed: the
			// check operator-added languages pass at start, too.
			if en, ok := cats[i18n.Fallback][id]; ok {
				if err := i18n.CheckMessage(en, text); err != nil {
					t.Errorf("%s: %q %v", lang, id, err)
				}
			}
			if lang != i18n.Fallback && text == cats[i18n.Fallback][id] && !sameAsEnglish[id] && !sameAsEnglish[lang+"/"+id] {
				t.Errorf("%s: %q is still the English text", lang, id)
			}
		}
	}
}

// placeholder finds the value names a message uses: {name}, {name:a} and
// {name|one|other} all use name.
var placeholder = regexp.MustCompile(`\{([a-zA-Z_]+)[}:|]`)

func placeholders(s string) []string {
	var p []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		p = append(p, m[1])
	}
	slices.Sort(p)
	return slices.Compact(p)
}

func TestPlaceholdersMatchEnglish(t *testing.T) {
	t.Parallel()
	cats := catalogues(t)
	for id, en := range cats[i18n.Fallback] {
		want := placeholders(en)
		for lang, msgs := range cats {
			text, ok := msgs[id]
			if !ok {
				continue // reported by TestEveryLanguageIsComplete
			}
			// Every placeholder English uses is used, and none other: an
			// unknown one would show as literal {text} to the reader.
			if got := placeholders(text); !slices.Equal(got, want) {
				t.Errorf("%s %q has placeholders %v, English has %v", lang, id, got, want)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	en, de := load(t, "en"), load(t, "de")
	for _, tc := range []struct {
		cat    *i18n.Catalogue
		def    string
		accept []string
		want   string
	}{
		{en, "en", []string{"de-DE,de;q=0.9"}, "de"},
		{en, "en", []string{"de-AT"}, "de"},
		{en, "en", []string{"de"}, "de"},
		{en, "en", []string{"en-GB,en;q=0.8,de;q=0.5"}, "en"},
		{en, "en", []string{"ja-JP,de;q=0.4"}, "de"},
		{en, "en", []string{"ja"}, "en"},
		{en, "en", []string{"fr-CA"}, "fr"},
		{en, "en", []string{""}, "en"},
		{en, "en", nil, "en"},
		{en, "en", []string{"*"}, "en"},
		{en, "en", []string{";;;garbage,,"}, "en"},
		{en, "en", []string{"", "de"}, "de"}, // an explicit choice after an empty header
		{de, "de", []string{"ja"}, "de"},
		{de, "de", []string{""}, "de"},
		{de, "de", []string{"en-US"}, "en"},
	} {
		if got := tc.cat.Match(tc.accept...); got != tc.want {
			t.Errorf("default %s: Match(%q) = %q, want %q", tc.def, tc.accept, got, tc.want)
		}
	}
}

func TestLoadRefusesUnknownDefault(t *testing.T) {
	t.Parallel()
	if _, err := i18n.Load("ja"); err == nil {
		t.Error("Load(\"ja\") succeeded without a Japanese catalogue")
	}
}

func TestT(t *testing.T) {
	t.Parallel()
	c := load(t, "en")
	for _, tc := range []struct {
		lang, id string
		kv       []any
		want     string
	}{
		{"en", "mail.greeting", []any{"name", "Jane"}, "Hello Jane,"},
		{"de", "mail.greeting", []any{"name", "Jane"}, "Hallo Jane,"},
		{"de", "mail.code.valid", []any{"minutes", 10}, "Er ist 10 Minuten gültig und kann einmal verwendet werden."},
		// A language we do not have falls back to English.
		{"ja", "mail.greeting", []any{"name", "Jane"}, "Hello Jane,"},
		{"", "mail.greeting", []any{"name", "Jane"}, "Hello Jane,"},
		// An ID missing everywhere shows as itself.
		{"de", "no.such.message", nil, "no.such.message"},
		{"en", "no.such.message", []any{"a", 1}, "no.such.message"},
		// Unknown keys are ignored, a missing value leaves the placeholder,
		// and a dangling key without value is ignored.
		{"en", "mail.greeting", []any{"other", "x"}, "Hello {name},"},
		{"en", "mail.greeting", []any{"name"}, "Hello {name},"},
		// Values are inserted once, not expanded again.
		{"en", "mail.greeting", []any{"name", "{name}"}, "Hello {name},"},
	} {
		if got := c.T(tc.lang, tc.id, tc.kv...); got != tc.want {
			t.Errorf("T(%q, %q, %v) = %q, want %q", tc.lang, tc.id, tc.kv, got, tc.want)
		}
	}
	if !c.Has("de") || !c.Has("fr") || c.Has("ja") {
		t.Error("Has is wrong")
	}
	p := c.For("de")
	if p.Lang != "de" || p.T("mail.greeting", "name", "Jörg") != "Hallo Jörg," {
		t.Errorf("Printer: %q", p.T("mail.greeting", "name", "Jörg"))
	}
}

// TestMissingReportsGaps: should a translation ever lack a message (the
// test above fails then), T must still show the English text, not the ID.
func TestMissingReportsGaps(t *testing.T) {
	t.Parallel()
	c := load(t, "de")
	for lang, ids := range c.Missing() {
		for _, id := range ids {
			if got, want := c.T(lang, id), c.T(i18n.Fallback, id); got != want {
				t.Errorf("%s lacks %s but T does not fall back to English: %q", lang, id, got)
			}
		}
	}
}

// TestNumberForms: a message agrees with its number — "an 8-digit code",
// "1 minute" — in both languages (issue 8: "a 8-digit code").
func TestNumberForms(t *testing.T) {
	t.Parallel()
	c := load(t, "en")
	for _, tc := range []struct {
		lang, id string
		kv       []any
		want     string
	}{
		{"en", "enroll.confirm.email.lead", []any{"digits", 8, "to", "a@b"}, "We have sent an 8-digit code to a@b. Enter it to confirm the address."},
		{"en", "enroll.confirm.email.lead", []any{"digits", 6, "to", "a@b"}, "We have sent a 6-digit code to a@b. Enter it to confirm the address."},
		{"en", "enroll.confirm.sms.lead", []any{"digits", 11, "to", "+1"}, "We have sent an 11-digit code by text message to +1. Enter it to confirm the number."},
		{"en", "mail.code.valid", []any{"minutes", 1}, "It is valid for 1 minute and can be used once."},
		{"en", "mail.code.valid", []any{"minutes", 15}, "It is valid for 15 minutes and can be used once."},
		{"de", "mail.code.valid", []any{"minutes", 1}, "Er ist 1 Minute gültig und kann einmal verwendet werden."},
		{"de", "enroll.confirm.email.lead", []any{"digits", 8, "to", "a@b"}, "Wir haben einen 8-stelligen Code an a@b geschickt. Geben Sie ihn ein, um die Adresse zu bestätigen."},
		{"en", "enroll.confirm.questions.hint", []any{"required", 1, "min", 3}, "Answer at least 1 question, each with at least 3 characters."},
		{"de", "enroll.confirm.questions.hint", []any{"required", 2, "min", 3}, "Beantworten Sie mindestens 2 Fragen mit jeweils mindestens 3 Zeichen."},
	} {
		if got := c.T(tc.lang, tc.id, tc.kv...); got != tc.want {
			t.Errorf("T(%q, %q, %v) = %q, want %q", tc.lang, tc.id, tc.kv, got, tc.want)
		}
	}
	for n, want := range map[int]string{0: "a", 1: "a", 6: "a", 8: "an", 11: "an", 18: "an", 80: "an", 100: "a", 110: "a", 800: "an", 8000: "an", 11000: "an", 18500: "an", 1100: "a", 180000: "a"} {
		if got := strings.Fields(c.T("en", "enroll.confirm.email.lead", "digits", n, "to", "x"))[3]; got != want {
			t.Errorf("article before %d = %q, want %q", n, got, want)
		}
	}
}
