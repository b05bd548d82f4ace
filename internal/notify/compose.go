package notify

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/sspr/sspr/internal/i18n"
)

//go:embed templates/*
var templateFS embed.FS

// Mail is a composed message, ready for the outbox.
type Mail struct {
	Subject string
	Text    string
	HTML    string
}

// Branding is what every mail carries besides its content.
type Branding struct {
	Title        string
	PortalURL    string
	HelpDeskText string
	HelpDeskURL  string
	HelpDesk     string // e-mail or phone, whatever is configured
	// LogoURL is the absolute address of the portal's logo, shown atop
	// HTML mails ("" shows the title only). Mail clients that block
	// remote images show the title as its alt text.
	LogoURL string
	// Colours of the HTML layout (#rrggbb, checked by config); empty ones
	// take sspr's own in NewComposer.
	Background, Surface, Text, Accent string
	// FooterText and FooterLinks are the organisation's footer.
	FooterText  string
	FooterLinks []FooterLink
}

// FooterLink is one link of the organisation's footer.
type FooterLink struct{ Text, URL string }

// CodeMail is the data of a one-time-code mail.
type CodeMail struct {
	// Action is what the code is for and picks the mail's texts: "reset"
	// (a forgotten password), "unlock" (a locked account), or "" (a
	// neutral verification code, such as confirming a new address).
	Action     string
	Name       string
	Code       string
	ValidFor   time.Duration
	RequestIP  string
	RequestAt  time.Time
	ContinueAt string // the page where the code is typed
}

// ChangedMail is the data of a "your password was changed" notice.
type ChangedMail struct {
	Name      string
	Login     string
	ChangedAt time.Time
	ClientIP  string
}

// Composer renders mails in the recipient's language.
type Composer struct {
	cat      *i18n.Catalogue
	brand    Branding
	textTmpl *texttemplate.Template
	htmlTmpl *htmltemplate.Template
	// byLang holds the templates of languages with overrides of their
	// own (overrides.go).
	byLang map[string]*templateSet
}

// NewComposer parses the embedded templates, and the operator's
// overrides when given (WithOverrides).
func NewComposer(cat *i18n.Catalogue, brand Branding, opts ...Option) (*Composer, error) {
	funcs := map[string]any{"t": func(p i18n.Printer, id string, kv ...any) string { return p.T(id, kv...) }}
	tt, err := texttemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	ht, err := htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		v   *string
		def string
	}{{&brand.Background, "#f4f5f7"}, {&brand.Surface, "#ffffff"}, {&brand.Text, "#1d2330"}, {&brand.Accent, "#3b4a6b"}} {
		if *c.v == "" {
			*c.v = c.def
		}
	}
	c := &Composer{cat: cat, brand: brand, textTmpl: tt, htmlTmpl: ht}
	var o composerOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := c.applyOverrides(o); err != nil {
		return nil, err
	}
	return c, nil
}

type view struct {
	P     i18n.Printer
	Brand Branding
	Data  any
}

func (c *Composer) render(name, lang, subjectID string, data any, subjectArgs ...any) (Mail, error) {
	p := c.cat.For(lang)
	v := view{P: p, Brand: c.brand, Data: data}
	var text, html bytes.Buffer
	textTmpl, htmlTmpl := c.templatesFor(lang)
	if err := textTmpl.ExecuteTemplate(&text, name+".txt", v); err != nil {
		return Mail{}, err
	}
	if err := htmlTmpl.ExecuteTemplate(&html, name+".html", v); err != nil {
		return Mail{}, err
	}
	subject := p.T(subjectID, append([]any{"title", c.brand.Title}, subjectArgs...)...)
	return Mail{Subject: subject, Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

// ResetCode composes the mail carrying a one-time code, worded for
// d.Action: an unlock code never speaks of resetting a password.
func (c *Composer) ResetCode(lang string, d CodeMail) (Mail, error) {
	return c.render("code", lang, "mail.code.subject"+codeSuffix(d.Action), d)
}

// codeSuffix selects a code mail's texts: mail.code.X for a reset,
// mail.code.X_unlock, mail.code.X_verify otherwise.
func codeSuffix(action string) string {
	switch action {
	case "reset":
		return ""
	case "unlock":
		return "_unlock"
	}
	return "_verify"
}

// Suffix is the ending of this mail's message IDs (see codeSuffix), for
// the templates.
func (d CodeMail) Suffix() string { return codeSuffix(d.Action) }

// EnrollmentMail is the data of a "your verification methods changed"
// notice.
type EnrollmentMail struct {
	Name      string
	Login     string
	Change    string // "added" or "removed"
	Factor    string // the factor kind
	ChangedAt time.Time
	ClientIP  string
}

// EnrollmentChanged composes the notice sent when a factor is added or
// removed.
func (c *Composer) EnrollmentChanged(lang string, d EnrollmentMail) (Mail, error) {
	return c.render("enrollment", lang, "mail.enrollment.subject", d)
}

// AccountUnlocked composes the notice sent after a self-service unlock.
func (c *Composer) AccountUnlocked(lang string, d ChangedMail) (Mail, error) {
	return c.render("unlocked", lang, "mail.unlocked.subject", d)
}

// PasswordChanged composes the notice sent after a successful reset or change.
func (c *Composer) PasswordChanged(lang string, d ChangedMail) (Mail, error) {
	return c.render("changed", lang, "mail.changed.subject", d)
}

// SMSCode is the text message carrying a one-time code: short, the code
// first, so phones can offer to fill it in.
func (c *Composer) SMSCode(lang, code string, validFor time.Duration) string {
	return c.cat.T(lang, "sms.code", "code", code, "title", c.brand.Title, "minutes", int(validFor.Minutes()))
}

// SMSNotice is the text message telling a person about a change to their
// account (event: "password", "unlock", "enrollment").
func (c *Composer) SMSNotice(lang, event, login string, at time.Time) string {
	return c.cat.T(lang, "sms.notice."+event, "title", c.brand.Title, "login", login, "time", at.Format("2006-01-02 15:04 MST"))
}
