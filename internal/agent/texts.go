package agent

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed locales/*.json
var localeFiles embed.FS

// Texts are the agent's own words in one language (the server's messages
// come already translated from the API).
type Texts struct {
	Lang string
	m    map[string]string
	en   map[string]string
}

func loadLocale(lang string) map[string]string {
	b, err := localeFiles.ReadFile("locales/" + lang + ".json")
	if err != nil {
		return nil
	}
	m := map[string]string{}
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// TextsFor picks the catalogue for a POSIX locale ("de_DE.UTF-8") or a
// language tag ("de"), falling back to English.
func TextsFor(locale string) Texts {
	lang := strings.ToLower(locale)
	if i := strings.IndexAny(lang, "_.-@"); i >= 0 {
		lang = lang[:i]
	}
	en := loadLocale("en")
	if m := loadLocale(lang); m != nil && lang != "" {
		return Texts{Lang: lang, m: m, en: en}
	}
	return Texts{Lang: "en", m: en, en: en}
}

// T formats the message id with args.
func (t Texts) T(id string, args ...any) string {
	s, ok := t.m[id]
	if !ok {
		s, ok = t.en[id]
	}
	if !ok {
		return id
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Languages lists the catalogues shipped, for the completeness test.
func Languages() []string {
	ents, _ := localeFiles.ReadDir("locales")
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	return out
}
