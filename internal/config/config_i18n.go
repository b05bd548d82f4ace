package config

import "github.com/sspr/sspr/internal/brand"

// Branding makes the portal, the mails and the admin console look like the
// organisation's own, without a rebuild: files and colours are read at start
// and on reload (SIGHUP).
type Branding struct {
	// Logo is an image file (PNG, JPEG, GIF, WebP or a plain SVG, at most
	// 512 KiB) shown in the portal's and the admin console's header and at
	// the top of HTML mails. Its alt text is the portal title.
	Logo string `yaml:"logo"`
	// Favicon is the browser tab's icon (ICO, PNG or a plain SVG).
	Favicon string `yaml:"favicon"`
	// Colors replace the portal's own colours; each must be readable on the
	// others (WCAG AA), which config check verifies.
	Colors brand.Colours `yaml:"colors"`
	// Footer adds a line and links under every portal page and mail.
	Footer BrandFooter `yaml:"footer"`
	// Templates is a folder of portal page templates (start.html,
	// layout.html, ...) that replace the built-in ones of the same name.
	Templates string `yaml:"templates"`
}

// BrandFooter is the organisation's footer: a text and links such as the
// privacy notice or the imprint.
type BrandFooter struct {
	Text  string      `yaml:"text"`
	Links []BrandLink `yaml:"links"`
}

// BrandLink is one footer link.
type BrandLink struct {
	Text string `yaml:"text"`
	URL  string `yaml:"url"`
}

// IsZero reports whether no branding is configured.
func (b Branding) IsZero() bool {
	return b.Logo == "" && b.Favicon == "" && b.Colors.IsZero() && b.Footer.Text == "" && len(b.Footer.Links) == 0 && b.Templates == ""
}
