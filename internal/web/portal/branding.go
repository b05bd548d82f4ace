package portal

import (
	"net/http"
	"strconv"
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
