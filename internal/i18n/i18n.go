package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

//go:embed locales/*.json
var locales embed.FS

// Fallback is the language every message must exist in.
const Fallback = "en"

// Catalogue holds the messages of every language.
type Catalogue struct {
	messages map[string]map[string]string // lang -> id -> text
	tags     []language.Tag
	names    []string
	matcher  language.Matcher
}

// Load reads the embedded catalogues. defaultLang is preferred when the
// browser asks for nothing we have. extra adds messages that other packages
// own (lang → id → text), such as the password rules' texts; an ID defined
// twice is an error. LoadWith also reads an operator's folder.
func Load(defaultLang string, extra ...map[string]map[string]string) (*Catalogue, error) {
	c, _, err := LoadWith(Options{Default: defaultLang, Extra: extra})
	return c, err
}

// builtin reads the embedded catalogues and merges extra into them.
func builtin(extra []map[string]map[string]string) (map[string]map[string]string, error) {
	messages := map[string]map[string]string{}
	entries, err := fs.ReadDir(locales, "locales")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		lang := strings.TrimSuffix(e.Name(), ".json")
		data, err := locales.ReadFile("locales/" + e.Name())
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", e.Name(), err)
		}
		messages[lang] = m
	}
	for _, more := range extra {
		for lang, msgs := range more {
			if messages[lang] == nil {
				messages[lang] = map[string]string{}
			}
			for id, text := range msgs {
				if _, dup := messages[lang][id]; dup {
					return nil, fmt.Errorf("i18n: message %s (%s) is defined twice", id, lang)
				}
				messages[lang][id] = text
			}
		}
	}
	return messages, nil
}

// build makes the catalogue and its language matcher.
func build(messages map[string]map[string]string, defaultLang string) (*Catalogue, error) {
	c := &Catalogue{messages: messages}
	if _, ok := c.messages[Fallback]; !ok {
		return nil, fmt.Errorf("i18n: no %s catalogue", Fallback)
	}
	if _, ok := c.messages[defaultLang]; !ok {
		return nil, fmt.Errorf("i18n: default language %q has no catalogue (have %s)", defaultLang, strings.Join(c.Languages(), ", "))
	}
	// The matcher prefers its first tag when nothing matches: put the default first.
	c.names = append(c.names, defaultLang)
	for lang := range c.messages {
		if lang != defaultLang {
			c.names = append(c.names, lang)
		}
	}
	sort.Strings(c.names[1:])
	for _, n := range c.names {
		c.tags = append(c.tags, language.Make(n))
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// Languages lists the available languages, default first.
func (c *Catalogue) Languages() []string {
	if c.names != nil {
		return append([]string(nil), c.names...)
	}
	var out []string
	for l := range c.messages {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Match picks the best language for an Accept-Language header value (or an
// explicit choice such as "de").
func (c *Catalogue) Match(acceptLanguage ...string) string {
	var prefs []language.Tag
	for _, a := range acceptLanguage {
		tags, _, err := language.ParseAcceptLanguage(a)
		if err == nil {
			prefs = append(prefs, tags...)
		}
	}
	_, idx, _ := c.matcher.Match(prefs...)
	return c.names[idx]
}

// Has reports whether lang is a catalogue we have.
func (c *Catalogue) Has(lang string) bool { _, ok := c.messages[lang]; return ok }

// T returns message id in lang with {placeholders} filled from key/value
// pairs: T("de", "mail.code.valid", "minutes", 10).
//
// Two forms let a message agree with a number (see format):
// {n|one|other} picks a word by n ("{minutes|minute|minutes}"), and
// {n:a} writes n with its English indefinite article ("{digits:a}-digit
// code" reads "an 8-digit code", "a 6-digit code").
func (c *Catalogue) T(lang, id string, kv ...any) string {
	msg, ok := c.messages[lang][id]
	if !ok {
		if msg, ok = c.messages[Fallback][id]; !ok {
			return id
		}
	}
	if len(kv) == 0 {
		return msg
	}
	values := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		values[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
	}
	return format(msg, values)
}

// Name is lang's name in itself ("Deutsch"), for the language switcher: its
// own app.language_name, or the tag when its catalogue has none (an
// operator's file that leaves it out must not be called "English").
func (c *Catalogue) Name(lang string) string {
	if n, ok := c.messages[lang]["app.language_name"]; ok && n != "" {
		return n
	}
	return lang
}

// HasMessage reports whether id exists in lang or in the fallback.
func (c *Catalogue) HasMessage(lang, id string) bool {
	if _, ok := c.messages[lang][id]; ok {
		return true
	}
	_, ok := c.messages[Fallback][id]
	return ok
}

// format fills msg's placeholders in one pass, so inserted values are never
// expanded again. A placeholder without a value stays as written.
func format(msg string, values map[string]string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(msg, '{')
		if open < 0 {
			b.WriteString(msg)
			return b.String()
		}
		end := strings.IndexByte(msg[open:], '}')
		if end < 0 {
			b.WriteString(msg)
			return b.String()
		}
		end += open
		b.WriteString(msg[:open])
		if out, ok := fill(msg[open+1:end], values); ok {
			b.WriteString(out)
		} else {
			b.WriteString(msg[open : end+1])
		}
		msg = msg[end+1:]
	}
}

// fill renders one placeholder body: "name", "name:a" or "name|one|other".
func fill(body string, values map[string]string) (string, bool) {
	if name, forms, ok := strings.Cut(body, "|"); ok {
		v, ok := values[name]
		one, other, two := strings.Cut(forms, "|")
		if !ok || !two {
			return "", false
		}
		if v == "1" || v == "-1" {
			return one, true
		}
		return other, true
	}
	if name, mod, ok := strings.Cut(body, ":"); ok {
		v, ok := values[name]
		if !ok || mod != "a" {
			return "", false
		}
		return englishArticle(v) + " " + v, true
	}
	v, ok := values[body]
	return v, ok
}

// englishArticle is "an" before a word said with a vowel sound first: for
// numbers, those said "eight…", "eleven…" or "eighteen…" (8, 11, 18, 80–89,
// 800–899, 11 000–11 999, …); for words, a leading vowel letter.
func englishArticle(v string) string {
	if v == "" {
		return "a"
	}
	if v[0] >= '0' && v[0] <= '9' {
		digits := strings.TrimLeft(v, "0123456789")
		n := v[:len(v)-len(digits)]
		if n[0] == '8' || (len(n)%3 == 2 && (strings.HasPrefix(n, "11") || strings.HasPrefix(n, "18"))) {
			return "an"
		}
		return "a"
	}
	if strings.ContainsRune("aeiouAEIOU", rune(v[0])) {
		return "an"
	}
	return "a"
}

// Missing lists, per language, the IDs present in English but absent there;
// a test keeps every catalogue complete.
func (c *Catalogue) Missing() map[string][]string {
	out := map[string][]string{}
	for lang, msgs := range c.messages {
		for id := range c.messages[Fallback] {
			if _, ok := msgs[id]; !ok {
				out[lang] = append(out[lang], id)
			}
		}
		sort.Strings(out[lang])
		if len(out[lang]) == 0 {
			delete(out, lang)
		}
	}
	return out
}

// Printer binds a catalogue to one language, for templates.
type Printer struct {
	c    *Catalogue
	Lang string
}

// For returns a Printer for lang.
func (c *Catalogue) For(lang string) Printer { return Printer{c: c, Lang: lang} }

// T looks a message up in the printer's language.
func (p Printer) T(id string, kv ...any) string { return p.c.T(p.Lang, id, kv...) }
