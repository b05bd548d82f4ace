package notify

import (
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"sort"
	"strings"
	texttemplate "text/template"
)

// Option adjusts a Composer.
type Option func(*composerOptions)

type composerOptions struct {
	overrides fs.FS
	dir       string // how the operator named the folder, for messages
}

// WithOverrides replaces built-in templates by the operator's
// (notifications.templates_dir): a file in fsys named like a built-in
// template (changed.txt, code.html, layout.html, ...) replaces it for every
// language, and one in a folder named after a language (de/changed.txt)
// replaces it for that language only. dir names the folder in errors.
func WithOverrides(fsys fs.FS, dir string) Option {
	return func(o *composerOptions) { o.overrides, o.dir = fsys, dir }
}

// templateSet is the parsed text and HTML templates of one language (or
// of all, the Composer's own).
type templateSet struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// BuiltinTemplates lists the names of the built-in mail templates, which
// override files must be named after.
func BuiltinTemplates() []string {
	entries, _ := fs.ReadDir(templateFS, "templates")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// applyOverrides parses the operator's templates into c: the folder's own
// files into the shared set, then each language folder into a copy of it.
// Every problem names the file.
func (c *Composer) applyOverrides(o composerOptions) error {
	if o.overrides == nil {
		return nil
	}
	builtin := map[string]bool{}
	for _, n := range BuiltinTemplates() {
		builtin[n] = true
	}
	entries, err := fs.ReadDir(o.overrides, ".")
	if err != nil {
		return fmt.Errorf("reading the templates folder %s: %w", o.dir, err)
	}
	base := &templateSet{text: c.textTmpl, html: c.htmlTmpl}
	if err := parseOverrides(base, o, ".", entries, builtin); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		lang := e.Name()
		langEntries, err := fs.ReadDir(o.overrides, lang)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path.Join(o.dir, lang), err)
		}
		set := &templateSet{}
		if set.text, err = base.text.Clone(); err != nil {
			return err
		}
		if set.html, err = base.html.Clone(); err != nil {
			return err
		}
		if err := parseOverrides(set, o, lang, langEntries, builtin); err != nil {
			return err
		}
		if c.byLang == nil {
			c.byLang = map[string]*templateSet{}
		}
		c.byLang[strings.ToLower(lang)] = set
	}
	return nil
}

// parseOverrides parses the template files of one folder into set.
func parseOverrides(set *templateSet, o composerOptions, dir string, entries []fs.DirEntry, builtin map[string]bool) error {
	for _, e := range entries {
		name := e.Name()
		ext := path.Ext(name)
		if e.IsDir() || (ext != ".txt" && ext != ".html") {
			continue
		}
		shown := path.Join(o.dir, dir, name)
		if !builtin[name] {
			return fmt.Errorf("%s is not the name of a built-in template (%s)", shown, strings.Join(BuiltinTemplates(), ", "))
		}
		b, err := fs.ReadFile(o.overrides, path.Join(dir, name))
		if err != nil {
			return fmt.Errorf("reading %s: %w", shown, err)
		}
		if ext == ".txt" {
			_, err = set.text.New(name).Parse(string(b))
		} else {
			_, err = set.html.New(name).Parse(string(b))
		}
		if err != nil {
			return fmt.Errorf("the template %s does not parse: %w", shown, err)
		}
	}
	return nil
}

// templatesFor picks the templates of lang ("de-CH" falls back to "de"),
// else the shared set.
func (c *Composer) templatesFor(lang string) (*texttemplate.Template, *htmltemplate.Template) {
	if c.byLang != nil {
		l := strings.ToLower(lang)
		for {
			if s, ok := c.byLang[l]; ok {
				return s.text, s.html
			}
			i := strings.LastIndexAny(l, "-_")
			if i < 0 {
				break
			}
			l = l[:i]
		}
	}
	return c.textTmpl, c.htmlTmpl
}
