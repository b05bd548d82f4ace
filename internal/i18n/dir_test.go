package i18n_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/i18n"
)

func writeLang(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOperatorLanguage: a Swedish file in the folder is a language like the
// built-in ones: matched from Accept-Language, its texts used, English for
// what it lacks (each listed as a non-fatal problem).
func TestOperatorLanguage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sv := writeLang(t, dir, "sv.json", `{"app.language_name": "Svenska", "start.title": "Glömt ditt lösenord?", "mail.greeting": "Hej {name},"}`)
	writeLang(t, dir, "README.txt", "not a language file")
	// A built-in language reworded: only the messages given change.
	writeLang(t, dir, "de.json", `{"start.title": "Kennwort vergessen?"}`)
	c, problems, err := i18n.LoadWith(i18n.Options{Default: "en", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Match("sv-SE,sv;q=0.9,en;q=0.5"); got != "sv" {
		t.Errorf("Match(sv-SE) = %q, want sv", got)
	}
	for _, tc := range []struct{ lang, id, want string }{
		{"sv", "start.title", "Glömt ditt lösenord?"},
		{"sv", "start.submit", "Continue"}, // missing: English
		{"de", "start.title", "Kennwort vergessen?"},
		{"de", "start.submit", "Weiter"}, // kept
	} {
		if got := c.T(tc.lang, tc.id); got != tc.want {
			t.Errorf("T(%s, %s) = %q, want %q", tc.lang, tc.id, got, tc.want)
		}
	}
	if got := c.T("sv", "mail.greeting", "name", "Åsa"); got != "Hej Åsa," {
		t.Errorf("placeholder: %q", got)
	}
	if c.Name("sv") != "Svenska" || c.Name("fr") != "Français" {
		t.Errorf("names: %q %q", c.Name("sv"), c.Name("fr"))
	}
	missing := 0
	for _, p := range problems {
		if p.Fatal {
			t.Errorf("fatal problem for a usable file: %v", p)
		}
		if p.File == sv && p.Key == "start.submit" && strings.Contains(p.String(), "missing: English is shown instead") {
			missing++
		}
		if strings.HasSuffix(p.File, "de.json") {
			t.Errorf("a partial file for a built-in language is reported: %v", p)
		}
	}
	if missing != 1 {
		t.Errorf("start.submit missing from sv.json not reported once: %v", problems[:min(3, len(problems))])
	}
	// The default may be an operator's language.
	if c, _, err := i18n.LoadWith(i18n.Options{Default: "sv", Dir: dir}); err != nil || c.Match("ja") != "sv" {
		t.Errorf("default sv: %v", err)
	}
}

// TestBrokenLanguageFile: each way a file can be broken stops the start,
// naming the file and the message.
func TestBrokenLanguageFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"bad json", "sv.json", `{"start.title": "Glömt"`, `sv.json: is not valid JSON`},
		{"not an object of strings", "sv.json", `{"start.title": 3}`, `sv.json: must be one JSON object of message ID to text, and holds a number`},
		{"unknown key", "sv.json", `{"start.titel": "Glömt"}`, `sv.json: "start.titel" is not a message sspr has`},
		{"placeholder lost", "sv.json", `{"mail.greeting": "Hej,"}`, `sv.json: "mail.greeting" has placeholders none, English has {name}`},
		{"placeholder misspelt", "sv.json", `{"mail.greeting": "Hej {namn},"}`, `sv.json: "mail.greeting" has placeholders {namn}, English has {name}`},
		{"empty", "sv.json", `{"start.title": "  "}`, `sv.json: "start.title" is empty`},
		{"broken html", "sv.json", `{"start.title": "Glömt <b>ditt lösenord?"}`, `sv.json: "start.title" leaves <b> open`},
		{"not a tag", "swedish.json", `{}`, `swedish.json: is not named after a BCP 47 language tag`},
		{"not canonical", "pt-pt.json", `{}`, `pt-pt.json: is not named after a BCP 47 language tag such as sv.json or pt-PT.json (write it pt-PT.json)`},
		{"built-in reworded wrongly", "de.json", `{"mail.greeting": "Hallo,"}`, `de.json: "mail.greeting" has placeholders none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := writeLang(t, dir, tc.file, tc.content)
			_, problems, err := i18n.LoadWith(i18n.Options{Default: "en", Dir: dir})
			if !errors.Is(err, i18n.ErrLanguageFiles) {
				t.Fatalf("err = %v, want ErrLanguageFiles", err)
			}
			want := strings.Replace(tc.want, tc.file, path, 1)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
			if len(problems) == 0 || !problems[0].Fatal || problems[0].File != path {
				t.Errorf("problems = %v", problems)
			}
		})
	}
	if _, _, err := i18n.LoadWith(i18n.Options{Default: "en", Dir: "/nonexistent/sspr-languages"}); !errors.Is(err, i18n.ErrLanguageFiles) {
		t.Errorf("missing folder: %v", err)
	}
}

func TestCheckMessageHTML(t *testing.T) {
	t.Parallel()
	for text, ok := range map[string]bool{
		"plain":                         true,
		"a <b>bold</b> word":            true,
		`<a href="https://x">x</a><br>`: true,
		"<br/>":                         true,
		"<b><i>x</b></i>":               false,
		"x < y":                         false,
		"<b>open":                       false,
		"</b>":                          false,
		"<a href=x>":                    false,
	} {
		if err := i18n.CheckMessage(text, text); (err == nil) != ok {
			t.Errorf("CheckMessage(%q) = %v, want ok=%v", text, err, ok)
		}
	}
}

func FuzzCheckMessage(f *testing.F) {
	for _, s := range []string{"Hello {name},", "<b>x</b>", "{n|one|other}", "{digits:a}", "<a href=\"#\">x</a>", "x < y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		// Never panics; a text always passes against itself unless empty
		// or its HTML is broken, and never against a different set of
		// placeholders.
		err := i18n.CheckMessage(text, text)
		if err != nil && strings.TrimSpace(text) != "" && !strings.Contains(text, "<") {
			t.Fatalf("CheckMessage(%q, itself) = %v", text, err)
		}
		if len(i18n.Placeholders(text)) > 0 && i18n.CheckMessage("no placeholders", text) == nil {
			t.Fatalf("%q passed against a text without placeholders", text)
		}
	})
}
