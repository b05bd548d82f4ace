package portal

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestColourContrast checks the stylesheet's colour pairs against WCAG 2.1
// AA in both schemes: 4.5:1 for text, 3:1 for input borders and the focus
// ring (1.4.11). axe-core checks rendered text in the browser tests; this
// covers what axe does not (borders, focus ring) and fails without Chromium.
func TestColourContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/sspr.css")
	if err != nil {
		t.Fatal(err)
	}
	light := cssVars(t, string(css), `(?s)^.*?:root\{([^}]*)\}`)
	dark := cssVars(t, string(css), `(?s)prefers-color-scheme:dark\)\{:root\{([^}]*)\}`)
	for k, v := range light {
		if _, ok := dark[k]; !ok {
			dark[k] = v
		}
	}
	text := [][2]string{
		{"fg", "card"}, {"fg", "bg"}, {"muted", "card"}, {"muted", "bg"}, {"muted", "info-bg"},
		{"accent", "card"}, {"accent", "bg"}, {"accent", "info-bg"}, {"accent", "banner-bg"},
		{"err", "err-bg"}, {"err", "card"}, {"ok", "card"}, {"fg", "banner-bg"}, {"fg", "input-bg"},
		{"btn-fg", "btn"}, {"btn-fg", "btn-hover"}, {"fg", "pre-bg"},
	}
	ui := [][2]string{{"border", "card"}, {"border", "input-bg"}, {"focus", "card"}, {"focus", "bg"}}
	for scheme, vars := range map[string]map[string]string{"light": light, "dark": dark} {
		check := func(pairs [][2]string, min float64) {
			for _, p := range pairs {
				fg, bg := vars[p[0]], vars[p[1]]
				if fg == "" || bg == "" {
					t.Errorf("%s: --%s or --%s is not defined", scheme, p[0], p[1])
					continue
				}
				if r := contrast(t, fg, bg); r < min {
					t.Errorf("%s: --%s %s on --%s %s has contrast %.2f:1, want at least %.1f:1", scheme, p[0], fg, p[1], bg, r, min)
				}
			}
		}
		check(text, 4.5)
		check(ui, 3)
	}
}

func cssVars(t *testing.T, css, block string) map[string]string {
	t.Helper()
	m := regexp.MustCompile(block).FindStringSubmatch(css)
	if m == nil {
		t.Fatalf("no block %s in sspr.css", block)
	}
	out := map[string]string{}
	for _, decl := range strings.Split(m[1], ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(decl), ":")
		if ok && strings.HasPrefix(name, "--") && strings.HasPrefix(value, "#") {
			out[strings.TrimPrefix(name, "--")] = value
		}
	}
	return out
}

func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(t *testing.T, hex string) float64 {
	h := strings.TrimPrefix(hex, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		t.Fatalf("colour %q", hex)
	}
	var c [3]float64
	for i := range c {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
