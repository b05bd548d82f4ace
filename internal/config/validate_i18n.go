package config

import (
	"fmt"
	"net/url"
	"os"

	"github.com/sspr/sspr/internal/brand"
)

// validateBranding checks portal.branding: the images are read and checked
// as the portal will serve them, the colours parsed and checked for
// contrast, the footer links parsed. Each problem names the key and, for a
// file, the file.
func (c *Config) validateBranding(p *Problems) {
	b := c.Portal.Branding
	for key, path := range map[string]string{"portal.branding.logo": b.Logo, "portal.branding.favicon": b.Favicon} {
		if path == "" {
			continue
		}
		if _, err := brand.ReadImage(path); err != nil {
			p.addf(key, "%s %v", path, err)
		}
	}
	for _, cp := range b.Colors.Check() {
		p.add("portal.branding.colors."+cp.Key, cp.Message)
	}
	for i, l := range b.Footer.Links {
		key := fmt.Sprintf("portal.branding.footer.links[%d]", i)
		if l.Text == "" {
			p.add(key+".text", "is required: the words people see")
		}
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "mailto" && u.Scheme != "tel") || (u.Scheme != "mailto" && u.Scheme != "tel" && u.Host == "") {
			p.addf(key+".url", "%q is not an absolute https, http, mailto or tel URL", l.URL)
		}
	}
	for key, dir := range map[string]string{"portal.languages_dir": c.Portal.LanguagesDir, "portal.branding.templates": b.Templates} {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(dir); err != nil {
			p.addf(key, "cannot read %s: %v", dir, plainErr(err))
		} else if !st.IsDir() {
			p.addf(key, "%s is not a directory", dir)
		}
	}
}
