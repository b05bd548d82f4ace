package brand_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/brand"
)

func TestParseColour(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"#fff": "#ffffff", "#1D2330": "#1d2330", " rgb(37, 87, 214) ": "#2557d6", "#abc": "#aabbcc"} {
		c, err := brand.ParseColour(in)
		if err != nil || c.Hex() != want {
			t.Errorf("ParseColour(%q) = %s, %v; want %s", in, c.Hex(), err, want)
		}
	}
	for _, in := range []string{"", "red", "#ffff", "#ggg", "#12345678", "rgb(1,2)", "rgb(1,2,256)", "rgba(1,2,3,0.5)", "url(x)", "#fff;}body{x:y"} {
		if _, err := brand.ParseColour(in); err == nil {
			t.Errorf("ParseColour(%q) accepted", in)
		}
	}
}

func TestContrast(t *testing.T) {
	t.Parallel()
	black, white := brand.RGB{}, brand.RGB{255, 255, 255}
	if r := brand.Contrast(black, white); r < 20.99 || r > 21.01 {
		t.Errorf("black on white = %.2f, want 21", r)
	}
	if r := brand.Contrast(white, white); r != 1 {
		t.Errorf("white on white = %.2f, want 1", r)
	}
}

func TestColoursCheck(t *testing.T) {
	t.Parallel()
	if p := brand.Defaults.Check(); len(p) != 0 {
		t.Errorf("the portal's own colours fail: %v", p)
	}
	if p := (brand.Colours{}).Check(); len(p) != 0 {
		t.Errorf("no brand colours fail: %v", p)
	}
	ok := brand.Colours{Primary: "#7a1f5c", Accent: "#7a1f5c", Background: "#fbf7f9"}
	if p := ok.Check(); len(p) != 0 {
		t.Errorf("a readable brand fails: %v", p)
	}
	for _, tc := range []struct {
		c       brand.Colours
		key, in string
	}{
		{brand.Colours{Primary: "#ffcc00"}, "primary", "button text"},     // white on yellow
		{brand.Colours{Accent: "#8fb3ff"}, "accent", "links"},             // light blue links
		{brand.Colours{Text: "#999999"}, "text", "body text"},             // grey text
		{brand.Colours{Background: "#333333"}, "background", "body text"}, // dark page, dark text
		{brand.Colours{Primary: "not-a-colour"}, "primary", "not a colour"},
	} {
		problems := tc.c.Check()
		found := false
		for _, p := range problems {
			if p.Key == tc.key && strings.Contains(p.Message, tc.in) {
				found = true
			}
		}
		if !found {
			t.Errorf("%+v: problems %v, want one for %s about %q", tc.c, problems, tc.key, tc.in)
		}
	}
}

func TestCSS(t *testing.T) {
	t.Parallel()
	css := brand.Colours{Primary: "#7a1f5c", Accent: "#7a1f5c"}.CSS()
	for _, want := range []string{"--btn:#7a1f5c", "--accent:#7a1f5c", "--fg:#1d2330", "prefers-color-scheme:dark"} {
		if !strings.Contains(css, want) {
			t.Errorf("CSS lacks %s:\n%s", want, css)
		}
	}
}

func TestReadImage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	svg := `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"/></defs><rect width="10" height="10" style="fill:url(#g)"/></svg>`
	for name, tc := range map[string]struct {
		data []byte
		ct   string // "" = refused
		why  string
	}{
		"logo.png":       {png, "image/png", ""},
		"logo.svg":       {[]byte(svg), "image/svg+xml", ""},
		"favicon.ico":    {[]byte{0, 0, 1, 0, 1, 0, 16, 16}, "image/x-icon", ""},
		"script.svg":     {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "", "<script>"},
		"onload.svg":     {[]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "", "event handler"},
		"href.svg":       {[]byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="javascript:alert(1)"><rect/></a></svg>`), "", "refers to"},
		"external.svg":   {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>`), "", "refers to"},
		"foreign.svg":    {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>`), "", "foreignObject"},
		"entity.svg":     {[]byte(`<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>`), "", "DOCTYPE"},
		"import.svg":     {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example/a.css);</style></svg>`), "", "@import"},
		"stylesheet.svg": {[]byte(`<?xml-stylesheet href="x.css"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "", "processing instruction"},
		"text.png":       {[]byte("just text, not an image"), "", "not a PNG"},
		"empty.png":      {nil, "", "empty"},
		"big.png":        {append(png, make([]byte, brand.MaxImageBytes)...), "", "larger than"},
	} {
		img, err := brand.ReadImage(write(name, tc.data))
		if tc.ct == "" {
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("%s: err = %v, want one saying %q", name, err, tc.why)
			}
			continue
		}
		if err != nil || img.ContentType != tc.ct || len(img.Version) != 12 {
			t.Errorf("%s: %+v, %v; want %s", name, img, err, tc.ct)
		}
	}
	if _, err := brand.ReadImage(filepath.Join(dir, "missing.png")); err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParseColour(f *testing.F) {
	for _, s := range []string{"#fff", "#123456", "rgb(1,2,3)", "rgb(", "#", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := brand.ParseColour(s)
		if err != nil {
			return
		}
		// Whatever is accepted is written back as a plain #rrggbb, so no
		// input can carry anything else into the stylesheet.
		if h := c.Hex(); len(h) != 7 || h[0] != '#' || strings.Trim(h[1:], "0123456789abcdef") != "" {
			t.Fatalf("ParseColour(%q).Hex() = %q", s, h)
		}
	})
}

func FuzzCheckSVG(f *testing.F) {
	for _, s := range []string{`<svg xmlns="http://www.w3.org/2000/svg"/>`, `<svg><script/></svg>`, `<svg onload="x"/>`, `<svg><style>a{b:url(#c)}</style></svg>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if brand.CheckSVG(data) != nil {
			return
		}
		// Read again on its own: an accepted document has no element that
		// runs or embeds code and no event handler.
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			tok, err := d.Token()
			if err != nil {
				return
			}
			if se, ok := tok.(xml.StartElement); ok {
				switch strings.ToLower(se.Name.Local) {
				case "script", "foreignobject", "iframe", "embed", "object":
					t.Fatalf("accepted %q with <%s>", data, se.Name.Local)
				}
				for _, a := range se.Attr {
					if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
						t.Fatalf("accepted %q with %s", data, a.Name.Local)
					}
				}
			}
		}
	})
}
