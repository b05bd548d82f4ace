package portal

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Reset is the reset and unlock flow the portal drives (web.ResetFlow).
type Reset = web.ResetFlow

// Enroll is the enrollment flow the portal drives (web.EnrollFlow).
type Enroll = web.EnrollFlow

// Change is the change-password flow the portal drives (web.ChangeFlow).
type Change = web.ChangeFlow

// Mail is one captured mail shown in the demo mailbox.
type Mail struct {
	From     string    `json:"from"`
	To       []string  `json:"to"`
	Subject  string    `json:"subject"`
	TextBody string    `json:"text"`
	Received time.Time `json:"received"`
}

// Mailbox lists captured mail, newest first (demo mode only).
type Mailbox interface {
	Mails() []Mail
}

// HelpDesk is shown in every page's footer.
type HelpDesk struct {
	Text, URL, Email, Phone string
}

// Any reports whether any contact is configured.
func (h HelpDesk) Any() bool { return h.Text != "" || h.URL != "" || h.Email != "" || h.Phone != "" }

// Options configure the portal.
type Options struct {
	Title    string
	HelpDesk HelpDesk
	// KnownDevices remembers a browser whose verification completed
	// (conditional access's known device); nil remembers none.
	KnownDevices *web.KnownDevices
	// Secure marks cookies Secure and names the flow cookie __Host-...;
	// true whenever the portal is reached over HTTPS.
	Secure bool
	// CodeTTL is shown on the code page.
	CodeTTL time.Duration
	// FlowTTL bounds the flow cookie's life. It is a fixed value, not the
	// time left, so the cookie reads the same for every answer.
	FlowTTL time.Duration
	// Mailbox, when set, turns on the demo mailbox pages and banner.
	Mailbox Mailbox
	// Directories lists the directories people may pick from on the start
	// page (the domain picker); shown when there are several.
	Directories []string
	// Approvals serves the page of managers' approval links (/approve);
	// nil leaves it out.
	Approvals Approvals
	// Redirects are the OIDC callback and SAML ACS routes and the client
	// certificate's proxy header (redirect.go).
	Redirects Redirects
	// Branding is the organisation's logo, favicon, colours and footer
	// (branding.go); nil shows sspr's own look.
	Branding *Branding
}

// Portal serves the HTML pages.
type Portal struct {
	reset  Reset
	change Change
	enroll Enroll
	cat    *i18n.Catalogue
	opts   Options
	ips    web.ClientIPs
	log    *slog.Logger
	pages  map[string]*template.Template
}

// New parses the templates.
func New(reset Reset, change Change, enroll Enroll, cat *i18n.Catalogue, ips web.ClientIPs, log *slog.Logger, opts Options) (*Portal, error) {
	p := &Portal{reset: reset, change: change, enroll: enroll, cat: cat, opts: opts, ips: ips, log: log}
	var dir string
	if opts.Branding != nil {
		dir = opts.Branding.Templates
	}
	if err := CheckTemplates(dir); err != nil {
		return nil, err
	}
	pages, err := parsePages(dir)
	if err != nil {
		return nil, err
	}
	p.pages = pages
	return p, nil
}

// Register adds the portal's routes to mux.
func (p *Portal) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	p.registerBranding(mux)
	mux.HandleFunc("GET /pow.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = io.WriteString(w, abuse.PoWScript)
	})
	mux.HandleFunc("GET /{$}", p.startPage)
	mux.HandleFunc("GET /reset", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusSeeOther) })
	mux.HandleFunc("POST /reset/start", p.start)
	mux.HandleFunc("GET /reset/code", p.codePage)
	mux.HandleFunc("POST /reset/code", p.verify)
	mux.HandleFunc("POST /reset/resend", p.resend)
	mux.HandleFunc("GET /reset/choose", p.choosePage)
	mux.HandleFunc("POST /reset/choose", p.choose)
	mux.HandleFunc("GET /reset/password", p.passwordPage)
	mux.HandleFunc("POST /reset/password", p.setPassword)
	mux.HandleFunc("POST /reset/password/check", p.checkPassword)
	mux.HandleFunc("GET /reset/unlock", p.unlockPage)
	mux.HandleFunc("POST /reset/unlock", p.unlock)
	mux.HandleFunc("GET /reset/done", p.donePage)
	p.registerRedirects(mux)
	mux.HandleFunc("GET /change", p.changePage)
	mux.HandleFunc("POST /change", p.changePassword)
	mux.HandleFunc("POST /change/check", p.checkChangePassword)
	p.registerEnroll(mux)
	if p.opts.Mailbox != nil {
		mux.HandleFunc("GET /demo/mailbox", p.mailbox)
		mux.HandleFunc("GET /demo/mailbox.json", p.mailboxJSON)
	}
	// Everything else: a page that says so, in the person's language.
	p.registerApprove(mux)
	mux.HandleFunc("/", p.notFound)
}

func (p *Portal) notFound(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	status := http.StatusNotFound
	pg.PageTitle = pg.T("web.not_found")
	if r.URL.Path == "/" {
		// The start page exists, for GET only.
		w.Header().Set("Allow", "GET, HEAD")
		status, pg.PageTitle = http.StatusMethodNotAllowed, pg.T("web.method_not_allowed")
	}
	p.render(w, status, "message", pg)
}

// page is everything a template sees.
type page struct {
	// Brand is the organisation's look (nil: sspr's own).
	Brand     *Branding
	Lang      string
	Title     string
	PageTitle string
	HelpDesk  HelpDesk
	Demo      bool
	Step      int
	Error     *web.Message
	Notice    string
	Login     string
	Action    string
	Status    flow.Status
	// More: a factor was verified and another is needed.
	More bool
	// Questions are the fields a question factor asks for.
	Questions []question
	// PoW is the puzzle the start form solves before it is sent (when on).
	PoW *flow.PoWChallenge
	// Directories feed the domain picker; Directory is the one picked.
	Directories []string
	Directory   string
	CodeMinutes int
	Mails       []Mail
	// Checks is the password checklist shown before the person types;
	// hidden items are in it too, shown by the script when they fail.
	Checks []web.CheckView
	// CheckURL is where the page's script asks for the live checklist.
	CheckURL string
	// InvalidField names the field the error is about ("confirm" for two
	// passwords that differ); the others are not marked invalid.
	InvalidField string
	Languages    []langLink
	// Sync lists each sync target's outcome on the done page;
	// SyncPending and SyncFailed say whether any is still being delivered
	// (the page offers "check again") or failed (it sends people to the
	// help desk).
	Sync        []syncView
	SyncPending bool
	SyncFailed  bool
	// Approval is the request on the manager's approval page.
	Approval *approvalPage
	// Returned is what an identity provider handed back (redirect.go).
	Returned []returned
	printer  i18n.Printer
}

// question is one field of a question factor's prompt.
type question struct{ ID, Label string }

// questionsOf reads the fields a question factor asks for from its prompt:
// prompt["questions"] is a list of {"id", and "text" or "label"} where a
// label may be one text or one per language; each is answered in the form
// field "answer.<id>".
func questionsOf(prompt map[string]any, lang string) []question {
	list, _ := prompt["questions"].([]any)
	var out []question
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["id"].(string)
		if id == "" {
			continue
		}
		label, _ := m["text"].(string)
		switch l := m["label"].(type) {
		case string:
			label = l
		case map[string]any:
			if t, ok := l[lang].(string); ok {
				label = t
			} else if t, ok := l["en"].(string); ok {
				label = t
			}
		}
		out = append(out, question{ID: "answer." + id, Label: label})
	}
	return out
}

type langLink struct {
	Code, Name string
	Current    bool
}

// T translates for templates.
func (pg *page) T(id string, kv ...any) string { return pg.printer.T(id, kv...) }

// FullTitle is the document title: "Step — Site", with "Error: " first
// when the page reports a refusal, so it is the first thing heard.
func (pg *page) FullTitle() string {
	t := pg.Title
	if pg.PageTitle != "" && pg.PageTitle != pg.Title {
		t = pg.PageTitle + " — " + pg.Title
	}
	if pg.Error != nil {
		t = pg.T("app.title_error", "title", t)
	}
	return t
}

// Invalid reports whether field is the one an error on the page is about:
// the named field, or, when none is named, the page's main field.
func (pg *page) Invalid(field string, main bool) bool {
	if pg.Error == nil {
		return false
	}
	if pg.InvalidField == "" {
		return main
	}
	return pg.InvalidField == field
}

// pageTitles names each page's title message, for pages whose handler did
// not set one.
func pageTitle(name string, pg *page) string {
	switch name {
	case "start":
		return pg.T("start.title")
	case "code":
		return pg.T("verify." + string(pg.Status.Factor) + ".title")
	case "choose":
		if pg.More {
			return pg.T("choose.title_more")
		}
		return pg.T("choose.title")
	case "password":
		return pg.T("password.title")
	case "unlock":
		return pg.T("unlock.title")
	case "change":
		return pg.T("change.title")
	case "done":
		switch pg.Action {
		case string(flow.ActionUnlock):
			return pg.T("done.title_unlock")
		case "change":
			return pg.T("change.done_title")
		}
		return pg.T("done.title")
	}
	return ""
}

func (p *Portal) newPage(w http.ResponseWriter, r *http.Request) *page {
	lang := web.Language(r, p.cat)
	if q := r.URL.Query().Get("lang"); q != "" && q == lang {
		http.SetCookie(w, &http.Cookie{Name: web.LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: p.opts.Secure, SameSite: http.SameSiteLaxMode})
	}
	pg := &page{Brand: p.opts.Branding, Lang: lang, Title: p.opts.Title, HelpDesk: p.opts.HelpDesk, Demo: p.opts.Mailbox != nil, Directories: p.opts.Directories,
		CodeMinutes: int(p.opts.CodeTTL.Minutes()), printer: p.cat.For(lang)}
	for _, l := range p.cat.Languages() {
		pg.Languages = append(pg.Languages, langLink{Code: l, Name: p.cat.Name(l), Current: l == lang})
	}
	return pg
}

func (p *Portal) render(w http.ResponseWriter, status int, name string, pg *page) {
	if name == "start" {
		// Every start form carries a fresh puzzle when proof of work is on.
		if c, err := p.reset.PoWChallenge(); err == nil {
			pg.PoW = c
		}
	}
	if pg.PageTitle == "" {
		pg.PageTitle = pageTitle(name, pg)
	}
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", pg); err != nil {
		p.log.Error("portal: rendering a page failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// bearerCookie carries a flow's or a session's token. Under HTTPS its name
// takes the __Host- prefix: the browser then refuses the cookie unless it is
// Secure, host-only and Path=/.
type bearerCookie struct {
	name   string
	secure bool
}

func (c bearerCookie) fullName() string {
	if c.secure {
		return "__Host-" + c.name
	}
	return c.name
}

// set sets the cookie (maxAge 0: for the browser session) or clears it
// (maxAge < 0).
func (c bearerCookie) set(w http.ResponseWriter, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: c.fullName(), Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode})
}

// value reads the token, "" when there is none.
func (c bearerCookie) value(r *http.Request) string {
	if k, err := r.Cookie(c.fullName()); err == nil {
		return k.Value
	}
	return ""
}

func (p *Portal) flowCookie() bearerCookie { return bearerCookie{"sspr_flow", p.opts.Secure} }

func (p *Portal) setFlowCookie(w http.ResponseWriter, token string, maxAge int) {
	p.flowCookie().set(w, token, maxAge)
}

func (p *Portal) token(r *http.Request) string { return p.flowCookie().value(r) }

func (p *Portal) startPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "start", p.newPage(w, r))
}

func (p *Portal) start(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	login := r.PostFormValue("login")
	action := flow.Action(r.PostFormValue("action"))
	if action != flow.ActionUnlock {
		action = flow.ActionReset
	}
	token, _, err := p.reset.Start(r.Context(), flow.StartInput{Action: action, Login: login, ClientIP: p.ips.Of(r), Language: pg.Lang,
		PoWToken: r.PostFormValue("pow_token"), PoWSolution: r.PostFormValue("pow_solution"), Directory: r.PostFormValue("directory")})
	if err != nil {
		pg.Login, pg.Action, pg.Directory = login, string(action), r.PostFormValue("directory")
		p.fail(w, pg, "start", err)
		return
	}
	p.setFlowCookie(w, token, int(p.opts.FlowTTL.Seconds()))
	http.Redirect(w, r, "/reset/code", http.StatusSeeOther)
}

// current loads the flow of this browser and sends it to the page that fits
// its state; it returns false when it already answered.
func (p *Portal) current(w http.ResponseWriter, r *http.Request, pg *page, want flow.State) (flow.Status, bool) {
	st, err := p.reset.Status(r.Context(), p.token(r))
	if err != nil {
		p.fail(w, pg, "start", err)
		return st, false
	}
	pg.Action = string(st.Action)
	if st.State == want {
		return st, true
	}
	switch st.State {
	case flow.StateChallenged:
		http.Redirect(w, r, "/reset/code", http.StatusSeeOther)
	case flow.StateChoose:
		http.Redirect(w, r, "/reset/choose", http.StatusSeeOther)
	case flow.StateVerified:
		http.Redirect(w, r, nextAfterCode(st), http.StatusSeeOther)
	case flow.StateDone:
		http.Redirect(w, r, "/reset/done", http.StatusSeeOther)
	default:
		p.fail(w, pg, "start", &flow.Error{Code: flow.CodeTooManyAttempts})
	}
	return st, false
}

func (p *Portal) codePage(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	st, ok := p.current(w, r, pg, flow.StateChallenged)
	if !ok {
		return
	}
	pg.Step, pg.Status, pg.Questions = 1, st, questionsOf(st.Prompt, pg.Lang)
	if r.URL.Query().Get("resent") == "1" {
		pg.Notice = pg.T("code.resent")
	}
	p.render(w, http.StatusOK, "code", pg)
}

func (p *Portal) verify(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	_ = r.ParseForm()
	resp := factor.Response{Values: map[string]string{}}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			resp.Values[k] = v[0]
		}
	}
	if raw := r.PostFormValue("response_json"); raw != "" {
		resp.JSON = []byte(raw) // a passkey assertion, posted by the page's script
	}
	// The certificate factor's answer is what the TLS handshake proved,
	// never a form field.
	p.ips.WithClientCertificate(r, p.opts.Redirects.CertificateHeader, resp.Values)
	st, err := p.reset.Verify(r.Context(), p.token(r), resp, p.ips.Of(r))
	if err != nil {
		pg.Step, pg.Status = 1, st
		page := "code"
		if fe := asFlowError(err); fe.Code != flow.CodeCodeInvalid && fe.Code != flow.CodeCodeExpired && fe.Code != flow.CodeFactorUnavailable && fe.Code != flow.CodeAnswerForeign {
			page = "start"
		}
		p.fail(w, pg, page, err)
		return
	}
	if st.State == flow.StateVerified {
		p.opts.KnownDevices.Remember(w)
	}
	switch {
	case st.State == flow.StateChallenged:
		// Still waiting (a manager's approval): the same page again.
		http.Redirect(w, r, "/reset/code", http.StatusSeeOther)
	case st.State == flow.StateChoose:
		http.Redirect(w, r, "/reset/choose?more=1", http.StatusSeeOther)
	case st.Action == flow.ActionUnlock:
		// Nothing more to ask: unlock at once.
		p.unlock(w, r)
	default:
		http.Redirect(w, r, nextAfterCode(st), http.StatusSeeOther)
	}
}

func (p *Portal) choosePage(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	st, err := p.reset.Status(r.Context(), p.token(r))
	if err != nil {
		p.fail(w, pg, "start", err)
		return
	}
	pg.Action = string(st.Action)
	if st.State != flow.StateChoose && st.State != flow.StateChallenged {
		p.current(w, r, pg, flow.StateChoose)
		return
	}
	pg.Step, pg.Status, pg.More = 1, st, r.URL.Query().Get("more") == "1"
	p.render(w, http.StatusOK, "choose", pg)
}

func (p *Portal) choose(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	st, err := p.reset.Choose(r.Context(), p.token(r), factor.Kind(r.PostFormValue("factor")), p.ips.Of(r))
	if err != nil {
		pg.Step, pg.Status = 1, st
		page := "start"
		if c := asFlowError(err).Code; c == flow.CodeFactorNotAllowed || c == flow.CodeTooManyCodes {
			page = "choose"
		}
		p.fail(w, pg, page, err)
		return
	}
	http.Redirect(w, r, "/reset/code", http.StatusSeeOther)
}

func nextAfterCode(st flow.Status) string {
	if st.Action == flow.ActionUnlock {
		return "/reset/unlock"
	}
	return "/reset/password"
}

func (p *Portal) unlockPage(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	if _, ok := p.current(w, r, pg, flow.StateVerified); !ok {
		return
	}
	if pg.Action != string(flow.ActionUnlock) {
		http.Redirect(w, r, "/reset/password", http.StatusSeeOther)
		return
	}
	pg.Step = 2
	p.render(w, http.StatusOK, "unlock", pg)
}

func (p *Portal) unlock(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	st, err := p.reset.Unlock(r.Context(), p.token(r), p.ips.Of(r))
	if err != nil {
		pg.Step, pg.Action = 2, string(flow.ActionUnlock)
		page := "start"
		if asFlowError(err).Code == flow.CodeDirectoryDown && st.State == flow.StateVerified {
			page = "unlock"
		}
		p.fail(w, pg, page, err)
		return
	}
	http.Redirect(w, r, "/reset/done", http.StatusSeeOther)
}

func (p *Portal) changePage(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	p.addChangeChecks(r, pg)
	p.render(w, http.StatusOK, "change", pg)
}

// changeField names the change form's field a refusal is about.
func changeField(c flow.Code) string {
	switch c {
	case flow.CodeLoginRequired:
		return "login"
	case flow.CodeCredentialsWrong:
		return "old"
	case flow.CodePasswordMismatch:
		return "confirm"
	case flow.CodePasswordRequired, flow.CodePasswordTooLong, flow.CodePasswordRefused:
		return "password"
	}
	return ""
}

// addChangeChecks lists the rules that hold for everyone on the change page
// (the person is not known until the directory checks the old password),
// best effort like addChecks. They come from the anonymous check of an
// empty password, which lists every rule in checklist order.
func (p *Portal) addChangeChecks(r *http.Request, pg *page) {
	pg.CheckURL = "/change/check"
	res, err := p.reset.CheckPasswordFor(r.Context(), "", "")
	if err != nil {
		return
	}
	for i := range res.Checks {
		res.Checks[i].Passed, res.Checks[i].Waived = false, false
	}
	pg.Checks = web.Checks(p.cat, pg.Lang, res.Checks)
}

// checkChangePassword answers the change page's live checklist: the rules
// that hold for everyone, with the login typed so far as context.
func (p *Portal) checkChangePassword(w http.ResponseWriter, r *http.Request) {
	p.answerCheck(w, r, func(req checkRequest) (password.Result, error) {
		return p.reset.CheckPasswordFor(r.Context(), req.Login, req.Password)
	})
}

func (p *Portal) changePassword(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	login := r.PostFormValue("login")
	token, err := p.change.ChangeTracked(r.Context(), flow.ChangeInput{Login: login, OldPassword: r.PostFormValue("old_password"),
		NewPassword: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm"), ClientIP: p.ips.Of(r), Language: pg.Lang})
	pg.Login, pg.Action = login, "change"
	if err != nil {
		p.addChangeChecks(r, pg)
		pg.InvalidField = changeField(asFlowError(err).Code)
		p.fail(w, pg, "change", err)
		return
	}
	if token != "" {
		// The new password goes on to sync targets: the done page shows
		// how far, read with this token like a reset's.
		p.setFlowCookie(w, token, int(p.opts.FlowTTL.Seconds()))
		http.Redirect(w, r, "/reset/done", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "done", pg)
}

func (p *Portal) resend(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	st, err := p.reset.Resend(r.Context(), p.token(r), p.ips.Of(r))
	if err != nil {
		pg.Step, pg.Status = 1, st
		page := "start"
		if c := asFlowError(err).Code; c == flow.CodeTooManyCodes || c == flow.CodeRateLimited {
			page = "code"
			pg.Status, _ = p.reset.Status(r.Context(), p.token(r))
		}
		p.fail(w, pg, page, err)
		return
	}
	http.Redirect(w, r, "/reset/code?resent=1", http.StatusSeeOther)
}

func (p *Portal) passwordPage(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	if _, ok := p.current(w, r, pg, flow.StateVerified); !ok {
		return
	}
	pg.Step = 2
	p.addChecks(r, pg)
	p.render(w, http.StatusOK, "password", pg)
}

// addChecks lists the password rules on the page, best effort: without
// them the form still works and the server still checks. Hidden rules (the
// breach list, common passwords, ...) are listed hidden: the script shows
// one as soon as the password typed breaks it.
func (p *Portal) addChecks(r *http.Request, pg *page) {
	pg.CheckURL = "/reset/password/check"
	checks, err := p.reset.PasswordRules(r.Context(), p.token(r))
	if err != nil {
		return
	}
	pg.Checks = web.Checks(p.cat, pg.Lang, checks)
}

// checkRequest is what the live checklist posts.
type checkRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// checkPassword answers the live checklist's requests (JSON in and out).
func (p *Portal) checkPassword(w http.ResponseWriter, r *http.Request) {
	p.answerCheck(w, r, func(req checkRequest) (password.Result, error) {
		return p.reset.CheckPassword(r.Context(), p.token(r), req.Password)
	})
}

func (p *Portal) answerCheck(w http.ResponseWriter, r *http.Request, check func(checkRequest) (password.Result, error)) {
	lang := web.Language(r, p.cat)
	var req checkRequest
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": web.Message{Code: "bad_request", Message: p.cat.T(lang, "web.bad_request")}})
		return
	}
	res, err := check(req)
	if err != nil {
		fe := asFlowError(err)
		w.WriteHeader(fe.Status())
		_ = json.NewEncoder(w).Encode(map[string]any{"error": web.Explain(p.cat, lang, fe.Error)})
		return
	}
	_ = json.NewEncoder(w).Encode(web.Result(p.cat, lang, res))
}

func (p *Portal) setPassword(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	st, err := p.reset.SetPassword(r.Context(), p.token(r), r.PostFormValue("password"), r.PostFormValue("confirm"), p.ips.Of(r))
	if err != nil {
		pg.Step = 2
		p.addChecks(r, pg)
		if asFlowError(err).Code == flow.CodePasswordMismatch {
			pg.InvalidField = "confirm"
		}
		page := "start"
		if c := asFlowError(err).Code; isPasswordInput(c) || (c == flow.CodeDirectoryDown && st.State == flow.StateVerified) {
			page = "password"
		}
		p.fail(w, pg, page, err)
		return
	}
	http.Redirect(w, r, "/reset/done", http.StatusSeeOther)
}

func isPasswordInput(c flow.Code) bool {
	return c == flow.CodePasswordRequired || c == flow.CodePasswordMismatch || c == flow.CodePasswordTooLong || c == flow.CodePasswordRefused
}

func (p *Portal) donePage(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	if r.URL.Query().Get("check") != "" {
		// "Check again" on a finished flow the janitor has deleted since
		// (reset.finished_retention): say so, instead of the start page's
		// "this reset has expired", which reads as if it had failed.
		if _, err := p.reset.Status(r.Context(), p.token(r)); asFlowError(err).Code == flow.CodeFlowNotFound {
			p.setFlowCookie(w, "", -1)
			pg.PageTitle = pg.T("sync.gone")
			p.render(w, http.StatusGone, "message", pg)
			return
		}
	}
	st, ok := p.current(w, r, pg, flow.StateDone)
	if !ok {
		return
	}
	if st.Action != flow.ActionChange {
		pg.Step = 3 // a change is one step: no progress bar, as on its own done page
	}
	pg.syncSummary(st.Sync, time.Now())
	if !pg.SyncPending {
		// Nothing left to watch: the browser forgets the flow. While a
		// sync target is pending the cookie stays, so "check again" (and
		// the page's script) can read the finished flow's status until
		// it is deleted; the flow can take no further step.
		p.setFlowCookie(w, "", -1)
	}
	p.render(w, http.StatusOK, "done", pg)
}

type flowError struct{ *flow.Error }

func (f flowError) Status() int { return web.HTTPStatus(f.Code) }

func asFlowError(err error) flowError {
	var fe *flow.Error
	if errors.As(err, &fe) {
		return flowError{fe}
	}
	return flowError{&flow.Error{Code: flow.CodeInternal, Err: err}}
}

// fail shows a refusal on the page where the person can act on it.
func (p *Portal) fail(w http.ResponseWriter, pg *page, name string, err error) {
	fe := asFlowError(err)
	if fe.Code == flow.CodeInternal {
		p.log.Error("portal: step failed", "err", err)
	}
	msg := web.Explain(p.cat, pg.Lang, fe.Error)
	redirectRefusal(pg, fe.Error, &msg)
	pg.Error = &msg
	if name == "start" {
		pg.Step = 0
	}
	if fe.Code == flow.CodeDirectoryDown {
		w.Header().Set("Retry-After", "60")
	}
	if name == "start" && pg.Action == "change" {
		name = "change"
	}
	p.render(w, fe.Status(), name, pg)
}

func (p *Portal) mailbox(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	pg.PageTitle = pg.T("demo.mailbox.title")
	pg.Mails = p.opts.Mailbox.Mails()
	p.render(w, http.StatusOK, "mailbox", pg)
}

func (p *Portal) mailboxJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	mails := p.opts.Mailbox.Mails()
	if mails == nil {
		mails = []Mail{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"messages": mails})
}

// Forbidden renders the cross-origin refusal as a page, or as JSON to the
// page scripts' JSON requests (the live checklist).
func (p *Portal) Forbidden() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
			lang := web.Language(r, p.cat)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": web.Message{Code: "forbidden_origin", Message: p.cat.T(lang, "web.forbidden_origin")}})
			return
		}
		pg := p.newPage(w, r)
		pg.Error = &web.Message{Code: "forbidden_origin", Message: pg.T("web.forbidden_origin")}
		p.render(w, http.StatusForbidden, "start", pg)
	})
}
