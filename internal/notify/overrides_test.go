package notify_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/notify"
)

// TestTemplateOverrides: a file named like a built-in template replaces
// it, for every language or (in a language's folder) for that language;
// the other templates stay built-in.
func TestTemplateOverrides(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"changed.txt":    {Data: []byte("ACME notice: {{.Data.Login}} changed at {{.Data.ChangedAt.Format \"15:04\"}}.\n{{template \"footer.txt\" .}}")},
		"changed.html":   {Data: []byte("<p>ACME notice for {{.Data.Login}}</p>")},
		"de/changed.txt": {Data: []byte("ACME Hinweis: {{.Data.Login}}")},
		"README.md":      {Data: []byte("not a template: ignored")},
	}
	c, err := notify.NewComposer(cat, brand, notify.WithOverrides(fsys, "/etc/sspr/templates"))
	if err != nil {
		t.Fatal(err)
	}
	d := notify.ChangedMail{Name: "Jane", Login: "jdoe", ChangedAt: t0, ClientIP: "192.0.2.1"}
	en, err := c.PasswordChanged("en", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.Text, "ACME notice: jdoe changed at ") || !strings.Contains(en.Text, "Example Corp") || en.HTML != "<p>ACME notice for jdoe</p>" {
		t.Errorf("en override not used: text %q html %q", en.Text, en.HTML)
	}
	de, err := c.PasswordChanged("de-CH", d)
	if err != nil {
		t.Fatal(err)
	}
	if de.Text != "ACME Hinweis: jdoe\n" || de.HTML != "<p>ACME notice for jdoe</p>" {
		t.Errorf("de override not used: text %q html %q", de.Text, de.HTML)
	}
	un, err := c.AccountUnlocked("en", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(un.Text, "ACME") || !strings.Contains(un.Text, "jdoe") {
		t.Errorf("a template without override changed: %q", un.Text)
	}
}

// TestTemplateOverrideProblems: a template that does not parse, or a file
// named like no built-in template, is refused with its file name.
func TestTemplateOverrideProblems(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fsys fstest.MapFS
		want string
	}{
		{fstest.MapFS{"changed.txt": {Data: []byte("{{.Data.Login")}}, "/etc/sspr/templates/changed.txt does not parse"},
		{fstest.MapFS{"fr/code.html": {Data: []byte("{{if}}")}}, "/etc/sspr/templates/fr/code.html does not parse"},
		{fstest.MapFS{"chnaged.txt": {Data: []byte("typo")}}, "/etc/sspr/templates/chnaged.txt is not the name of a built-in template"},
	} {
		_, err := notify.NewComposer(cat, brand, notify.WithOverrides(tc.fsys, "/etc/sspr/templates"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error with %q", err, tc.want)
		}
	}
}
