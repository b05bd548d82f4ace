package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sspr/sspr/internal/brand"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/web/portal"
)

// catalogue loads the built-in languages and the operator's folder
// (portal.languages_dir). A file that cannot be used stops the start; the
// messages a file lacks fall back to English and are logged as one warning
// per file (config check lists each).
func catalogue(cfg *config.Config, log *slog.Logger) (*i18n.Catalogue, error) {
	cat, problems, err := i18n.LoadWith(i18n.Options{Default: cfg.Portal.DefaultLanguage, Dir: cfg.Portal.LanguagesDir,
		Extra: []map[string]map[string]string{password.Messages()}})
	if err != nil {
		return nil, fmt.Errorf("portal.languages_dir: %w", err)
	}
	missing := map[string]int{}
	for _, p := range problems {
		missing[p.File]++
	}
	for file, n := range missing {
		log.Warn("language file lacks messages; English is shown for them (sspr config check lists them)", "file", file, "missing", n)
	}
	return cat, nil
}

// languageProblems are config check's findings in the operator's
// languages: fatal ones are problems, missing messages warnings, listed
// per file and message (at most maxListed per file, then a count).
func languageProblems(cfg *config.Config) (cat *i18n.Catalogue, problems, warnings []config.Problem) {
	cat, found, err := i18n.LoadWith(i18n.Options{Default: cfg.Portal.DefaultLanguage, Dir: cfg.Portal.LanguagesDir,
		Extra: []map[string]map[string]string{password.Messages()}})
	const maxListed = 20
	perFile := map[string]int{}
	for _, p := range found {
		cp := config.Problem{Path: "portal.languages_dir", Message: p.String()}
		if p.Fatal {
			problems = append(problems, cp)
			continue
		}
		if perFile[p.File]++; perFile[p.File] <= maxListed {
			warnings = append(warnings, cp)
		}
	}
	for file, n := range perFile {
		if n > maxListed {
			warnings = append(warnings, config.Problem{Path: "portal.languages_dir",
				Message: fmt.Sprintf("%s: and %d more messages are missing: English is shown instead", file, n-maxListed)})
		}
	}
	if err != nil && len(problems) == 0 {
		key := "portal.default_language"
		problems = append(problems, config.Problem{Path: key, Message: plain(key, err)})
	}
	return cat, problems, warnings
}

// portalBranding reads portal.branding's files (already checked by config
// validation, checked again here since they may have changed since) into
// what the portal serves. nil when nothing is configured.
func portalBranding(cfg *config.Config) (*portal.Branding, error) {
	b := cfg.Portal.Branding
	if b.IsZero() {
		return nil, nil
	}
	if err := portal.CheckTemplates(b.Templates); err != nil {
		return nil, fmt.Errorf("portal.branding.templates: %w", err)
	}
	out := &portal.Branding{FooterText: b.Footer.Text, Templates: b.Templates}
	for _, l := range b.Footer.Links {
		out.FooterLinks = append(out.FooterLinks, portal.Link{Text: l.Text, URL: l.URL})
	}
	for key, f := range map[string]struct {
		path string
		dst  **portal.Asset
	}{"portal.branding.logo": {b.Logo, &out.Logo}, "portal.branding.favicon": {b.Favicon, &out.Favicon}} {
		if f.path == "" {
			continue
		}
		img, err := brand.ReadImage(f.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %v", key, f.path, err)
		}
		*f.dst = &portal.Asset{Data: img.Data, ContentType: img.ContentType, Version: img.Version}
	}
	if !b.Colors.IsZero() {
		if problems := b.Colors.Check(); len(problems) > 0 {
			return nil, fmt.Errorf("portal.branding.colors.%s: %s", problems[0].Key, problems[0].Message)
		}
		out.CSS = b.Colors.CSS()
		sum := sha256.Sum256([]byte(out.CSS))
		out.CSSVersion = hex.EncodeToString(sum[:6])
	}
	return out, nil
}

// brandMail adds portal.branding to the mails: the logo's absolute address,
// the colours (when valid: config check reports them otherwise) and footer.
func brandMail(b *notify.Branding, cfg *config.Config) {
	pb := cfg.Portal.Branding
	if pb.Logo != "" {
		if img, err := brand.ReadImage(pb.Logo); err == nil {
			b.LogoURL = strings.TrimRight(cfg.Server.BaseURL, "/") + "/static/brand/logo?v=" + img.Version
		}
	}
	if !pb.Colors.IsZero() && len(pb.Colors.Check()) == 0 {
		_, _, background, surface, text := pb.Colors.Mail()
		b.Background, b.Surface, b.Text = background, surface, text
		accent := pb.Colors.Accent
		if accent == "" {
			accent = brand.Defaults.Accent
		}
		if c, err := brand.ParseColour(accent); err == nil {
			b.Accent = c.Hex()
		}
	}
	b.FooterText = pb.Footer.Text
	for _, l := range pb.Footer.Links {
		b.FooterLinks = append(b.FooterLinks, notify.FooterLink{Text: l.Text, URL: l.URL})
	}
}
