package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Branding is the organisation's look (portal.branding), read by app at
// start and on reload: nothing here is compiled in.
type Branding struct {
	// Logo and Favicon are served from memory under /static/brand/ with a
	// content hash in the URL, so a new file shows after a reload without
	// a stale cache.
	Logo, Favicon *Asset
	// CSS is the generated stylesheet of the brand colours, served as
	// /static/brand.css after sspr.css (the CSP allows no inline styles).
	CSS        string
	CSSVersion string
	// FooterText and FooterLinks appear under every page.
	FooterText  string
	FooterLinks []Link
	// Templates is a folder of page templates that replace the built-in
	// ones of the same name (CheckTemplates).
	Templates string
}

// Asset is an image already checked by the brand package.
type Asset struct {
	Data        []byte
	ContentType string
	Version     string
}

// Link is one footer link.
type Link struct{ Text, URL string }

// LogoURL is the logo's versioned address ("" without a logo), also used by
// the admin console's header.
func (b *Branding) LogoURL() string {
	if b == nil || b.Logo == nil {
		return ""
	}
	return "/static/brand/logo?v=" + b.Logo.Version
}

// FaviconURL is the favicon's versioned address ("" without one).
func (b *Branding) FaviconURL() string {
	if b == nil || b.Favicon == nil {
		return ""
	}
	return "/static/brand/favicon?v=" + b.Favicon.Version
}

// CSSURL is the brand stylesheet's versioned address ("" without colours).
func (b *Branding) CSSURL() string {
	if b == nil || b.CSS == "" {
		return ""
	}
	return "/static/brand.css?v=" + b.CSSVersion
}

// registerBranding serves the brand's files. The routes exist only for what
// is configured, so a portal without branding answers 404 there.
func (p *Portal) registerBranding(mux *http.ServeMux) {
	b := p.opts.Branding
	if b == nil {
		return
	}
	if b.CSS != "" {
		mux.HandleFunc("GET /static/brand.css", func(w http.ResponseWriter, r *http.Request) {
			serveBrand(w, r, "text/css; charset=utf-8", []byte(b.CSS))
		})
	}
	for name, a := range map[string]*Asset{"logo": b.Logo, "favicon": b.Favicon} {
		if a == nil {
			continue
		}
		mux.HandleFunc("GET /static/brand/"+name, func(w http.ResponseWriter, r *http.Request) {
			if a.ContentType == "image/svg+xml" {
				// Opened on its own, an SVG is a document: even though the
				// brand package refused any with active content, let it
				// run nothing and load nothing.
				w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
			}
			serveBrand(w, r, a.ContentType, a.Data)
		})
	}
}

func serveBrand(w http.ResponseWriter, r *http.Request, contentType string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	// The URL carries the content's hash: a changed file is a new URL.
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// overlay serves templates/<name> from the operator's folder when it has
// that file, else the built-in one (portal.branding.templates).
type overlay struct{ dir string }

func (o overlay) Open(name string) (fs.File, error) {
	if o.dir != "" {
		if f, err := os.DirFS(o.dir).Open(strings.TrimPrefix(name, "templates/")); err == nil {
			return f, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return templateFS.Open(name)
}

// CheckTemplates checks an operator's template folder: every .html file
// must be named after a portal template (a misspelt name would silently do
// nothing) and every page must parse with the overrides in place. Errors
// name the file. Data the templates use is not checked here: a template
// that asks for a field the page lacks fails when that page is shown, so
// overrides are to be tried on each page before going live.
func CheckTemplates(dir string) error {
	if dir == "" {
		return nil
	}
	known := map[string]bool{}
	entries, _ := fs.ReadDir(templateFS, "templates")
	for _, e := range entries {
		known[e.Name()] = true
	}
	own, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range own {
		if strings.HasSuffix(e.Name(), ".html") && !known[e.Name()] {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("%s is not a portal template (they are %s)", filepath.Join(dir, e.Name()), strings.Join(names, ", "))
		}
	}
	_, err = parsePages(dir)
	return err
}

// parsePages parses every page, with the folder's overrides.
func parsePages(dir string) (map[string]*template.Template, error) {
	funcs := template.FuncMap{"join": strings.Join, "json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}}
	src := overlay{dir: dir}
	pages := map[string]*template.Template{}
	all := append([]string{"start", "code", "choose", "password", "unlock", "done", "change", "message", "mailbox", "approve", "continue"}, enrollPages...)
	for _, page := range all {
		files := []string{"templates/layout.html", "templates/" + page + ".html"}
		if page == "code" {
			files = append(files, "templates/redirect.html") // the OIDC, SAML and certificate steps
		}
		t, err := template.New("").Funcs(funcs).ParseFS(src, files...)
		if err != nil {
			if dir != "" {
				return nil, fmt.Errorf("%s (with the templates of %s): %w", page, dir, err)
			}
			return nil, err
		}
		pages[page] = t
	}
	return pages, nil
}
