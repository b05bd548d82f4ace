package brand

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// RGB is an opaque sRGB colour.
type RGB struct{ R, G, B uint8 }

// Hex writes c as #rrggbb.
func (c RGB) Hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// ParseColour reads a CSS colour in one of the forms operators copy from a
// style guide: #rgb, #rrggbb or rgb(r, g, b) with 0–255 components.
// Transparency is refused: a contrast ratio needs to know the colour behind.
func ParseColour(s string) (RGB, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(v, "#"):
		h := v[1:]
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		if len(h) != 6 {
			return RGB{}, fmt.Errorf("%q is not a colour: write #rgb or #rrggbb (no transparency)", s)
		}
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return RGB{}, fmt.Errorf("%q is not a colour: %q are not hexadecimal digits", s, h)
		}
		return RGB{uint8(n >> 16), uint8(n >> 8), uint8(n)}, nil
	case strings.HasPrefix(v, "rgb(") && strings.HasSuffix(v, ")"):
		parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(v, "rgb("), ")"), ",")
		if len(parts) != 3 {
			return RGB{}, fmt.Errorf("%q is not a colour: rgb() takes three numbers from 0 to 255", s)
		}
		var c [3]uint8
		for i, p := range parts {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 0 || n > 255 {
				return RGB{}, fmt.Errorf("%q is not a colour: rgb() takes three numbers from 0 to 255", s)
			}
			c[i] = uint8(n)
		}
		return RGB{c[0], c[1], c[2]}, nil
	}
	return RGB{}, fmt.Errorf("%q is not a colour: write #rrggbb, #rgb or rgb(r, g, b)", s)
}

// luminance is WCAG 2.1's relative luminance.
func luminance(c RGB) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// Contrast is the WCAG 2.1 contrast ratio of two colours, from 1 to 21.
func Contrast(a, b RGB) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// darken mixes c with black by f (0–1), for a button's hover state.
func darken(c RGB, f float64) RGB {
	m := func(v uint8) uint8 { return uint8(math.Round(float64(v) * (1 - f))) }
	return RGB{m(c.R), m(c.G), m(c.B)}
}

// Colours are the brand colours an operator may set; an empty one keeps the
// portal's own. Each maps to the stylesheet's custom properties (see CSS).
type Colours struct {
	// Primary fills buttons; PrimaryText is the text on them.
	Primary     string `yaml:"primary"`
	PrimaryText string `yaml:"primary_text"`
	// Background is the page behind the card; Surface the card itself.
	Background string `yaml:"background"`
	Surface    string `yaml:"surface"`
	// Text is body text; Accent links, the progress bar and the focus ring.
	Text   string `yaml:"text"`
	Accent string `yaml:"accent"`
}

// Defaults are the portal's own (light) colours, which stand in for any
// colour the operator leaves out, also when checking contrast.
var Defaults = Colours{Primary: "#2557d6", PrimaryText: "#ffffff", Background: "#f4f5f7", Surface: "#ffffff", Text: "#1d2330", Accent: "#2557d6"}

// IsZero reports whether no colour is set.
func (c Colours) IsZero() bool { return c == Colours{} }

// Problem is one thing wrong with the colours: Key is the YAML key
// ("primary"), Message says what and why.
type Problem struct{ Key, Message string }

type resolved struct {
	primary, primaryText, background, surface, text, accent RGB
}

func (c Colours) field(key string) (set, def string) {
	switch key {
	case "primary":
		return c.Primary, Defaults.Primary
	case "primary_text":
		return c.PrimaryText, Defaults.PrimaryText
	case "background":
		return c.Background, Defaults.Background
	case "surface":
		return c.Surface, Defaults.Surface
	case "text":
		return c.Text, Defaults.Text
	}
	return c.Accent, Defaults.Accent
}

var keys = []string{"primary", "primary_text", "background", "surface", "text", "accent"}

// resolve parses every colour, the defaults standing in for unset ones.
func (c Colours) resolve() (resolved, []Problem) {
	var out [6]RGB
	var problems []Problem
	for i, k := range keys {
		v, def := c.field(k)
		if v == "" {
			v = def
		}
		rgb, err := ParseColour(v)
		if err != nil {
			problems = append(problems, Problem{k, err.Error()})
		}
		out[i] = rgb
	}
	return resolved{out[0], out[1], out[2], out[3], out[4], out[5]}, problems
}

// Check parses the colours and checks every pair people read against WCAG
// 2.1 AA: 4.5:1 for text (body text and links on the page and on the card,
// button text on the button and on its hover shade) and 3:1 for the focus
// ring on the page and on the card (1.4.11). A pair is reported under the
// key of the colour the operator set, so the message names what to change;
// one problem per key, the first pair it fails.
func (c Colours) Check() []Problem {
	r, problems := c.resolve()
	if len(problems) > 0 {
		return problems
	}
	type pair struct {
		fg, bg       string
		fgRGB, bgRGB RGB
		min          float64
		what         string
	}
	hover := darken(r.primary, 0.2)
	muted, errText := RGB{0x4a, 0x55, 0x68}, RGB{0xb4, 0x23, 0x18}
	pairs := []pair{
		{"text", "background", r.text, r.background, 4.5, "body text on the page background"},
		{"text", "surface", r.text, r.surface, 4.5, "body text on the card"},
		{"accent", "background", r.accent, r.background, 4.5, "links on the page background"},
		{"accent", "surface", r.accent, r.surface, 4.5, "links on the card"},
		{"primary_text", "primary", r.primaryText, r.primary, 4.5, "button text on the button"},
		{"primary_text", "primary", r.primaryText, hover, 4.5, "button text on the button's hover shade (primary darkened by 20%)"},
		{"accent", "surface", r.accent, r.surface, 3, "the focus ring on the card"},
		// Fixed colours of the portal that sit on the brand's backgrounds.
		{"background", "background", muted, r.background, 4.5, "the portal's secondary text (#4a5568) on the page background"},
		{"surface", "surface", muted, r.surface, 4.5, "the portal's secondary text (#4a5568) on the card"},
		{"surface", "surface", errText, r.surface, 4.5, "the portal's error text (#b42318) on the card"},
	}
	seen := map[string]bool{}
	for _, p := range pairs {
		ratio := Contrast(p.fgRGB, p.bgRGB)
		if ratio >= p.min {
			continue
		}
		// Name a colour the operator set; if they set both, the foreground.
		key := p.fg
		if fgSet, _ := c.field(p.fg); fgSet == "" {
			key = p.bg
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		problems = append(problems, Problem{key, fmt.Sprintf("%s (%s on %s) has contrast %.2f:1, WCAG AA needs at least %.1f:1",
			p.what, p.fgRGB.Hex(), p.bgRGB.Hex(), ratio, p.min)})
	}
	return problems
}

// CSS is the generated stylesheet: the brand colours as the portal's custom
// properties, for both colour schemes (a brand is one palette: the portal's
// dark scheme would otherwise mix its own colours with the brand's). It is
// served after sspr.css, so its :root wins. c must have passed Check.
func (c Colours) CSS() string {
	r, _ := c.resolve()
	hover := darken(r.primary, 0.2)
	vars := fmt.Sprintf("--fg:%s;--bg:%s;--card:%s;--input-bg:%s;--accent:%s;--accent-dark:%s;--focus:%s;--btn:%s;--btn-hover:%s;--btn-fg:%s",
		r.text.Hex(), r.background.Hex(), r.surface.Hex(), r.surface.Hex(), r.accent.Hex(), darken(r.accent, 0.2).Hex(), r.accent.Hex(),
		r.primary.Hex(), hover.Hex(), r.primaryText.Hex())
	// The rest of the light palette, so dark-scheme values of colours the
	// brand does not set cannot meet the brand's light ones.
	light := "--muted:#4a5568;--err:#b42318;--err-bg:#fef3f2;--err-line:#fecdca;--ok:#067647;--info-bg:#eff4ff;--info-line:#c7d7fe;--border:#667085;--line:#d0d5dd;--pre-bg:#f9fafb;--banner-bg:#fffaeb;--banner-line:#fedf89"
	return "/* Generated by sspr from portal.branding.colors. */\n" +
		":root{" + vars + "}\n" +
		"@media (prefers-color-scheme:dark){:root{" + vars + ";" + light + ";color-scheme:light}}\n"
}

// Mail gives the colours for the HTML mail layout (inline styles there).
func (c Colours) Mail() (primary, primaryText, background, surface, text string) {
	r, _ := c.resolve()
	return r.primary.Hex(), r.primaryText.Hex(), r.background.Hex(), r.surface.Hex(), r.text.Hex()
}
