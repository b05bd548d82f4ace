package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/web"
)

// The enrollment pages: people sign in with their directory password, prove
// an enrolled factor when they have one (step-up), then add and remove the
// factors they will recover with. Like the reset pages, every step is a
// plain form POST answered by a redirect, so everything but passkeys works
// without JavaScript; the session token lives in an HttpOnly, SameSite=Strict
// cookie and never in a URL.

// enrollPages are the templates of the enrollment portal.
var enrollPages = []string{"enroll_signin", "enroll_home", "enroll_verify", "enroll_add", "enroll_confirm"}

// enrollPage is what the enrollment templates see: the common page plus the
// session and the step in progress.
type enrollPage struct {
	*page
	View flow.SessionView
	// Name greets the person.
	Name string
	// Rows are the enrolled factors, for the list and the step-up choice.
	Rows []enrolledRow
	// Kind is the kind being added or verified.
	Kind string
	// Value is what the person typed on the add page (address, number).
	Value string
	// Prompt is the pending step's prompt, prepared for display.
	Prompt promptView
}

// enrolledRow is one enrolled factor as the list shows it.
type enrolledRow struct {
	ID, Kind, Label string
	// FromDirectory marks a pre-enrolled method (the directory's mail or
	// mobile): shown read-only, the organisation keeps it.
	FromDirectory bool
	// Name is the kind's name with the label when it adds something, for
	// the remove button's accessible name.
	Name            string
	Added, LastUsed string
	AddedISO        string
	LastUsedISO     string
}

// promptView is a factor prompt read for the templates: each kind uses
// some of the fields.
type promptView struct {
	// Raw is the prompt itself, for scripts (passkey options).
	Raw map[string]any
	// To is a masked destination a code went to.
	To string
	// ServerMessage is a RADIUS server's own words after an
	// Access-Challenge (shown as they are).
	ServerMessage string
	// CodeLength is the number of characters of the code asked for.
	CodeLength int
	// QR, Secret, URI, Issuer, Account: a new authenticator app.
	QR      template.URL
	Secret  string
	URI     template.URL
	Issuer  string
	Account string
	// Codes, ConfirmPosition, Download: new backup codes.
	Codes           []string
	ConfirmPosition int
	Download        template.URL
	// Remaining: backup codes left (step-up).
	Remaining int
	// Questions to answer, fields named "answer.ID".
	Questions []question
	// Required answers and their minimum length (security questions).
	Required  int
	MinLength int
}

// registerEnroll parses the enrollment templates and adds their routes.
func (p *Portal) registerEnroll(mux *http.ServeMux) {
	// The templates were parsed by New (parsePages), overrides included.
	mux.HandleFunc("GET /enroll", p.enrollSignInPage)
	mux.HandleFunc("POST /enroll/signin", p.enrollSignIn)
	mux.HandleFunc("GET /enroll/home", p.enrollHome)
	mux.HandleFunc("POST /enroll/verify/start", p.enrollVerifyStart)
	mux.HandleFunc("POST /enroll/verify", p.enrollVerify)
	mux.HandleFunc("POST /enroll/add", p.enrollAdd)
	mux.HandleFunc("GET /enroll/add/{kind}", p.enrollAddPage)
	mux.HandleFunc("POST /enroll/add/start", p.enrollAddStart)
	mux.HandleFunc("POST /enroll/add/finish", p.enrollAddFinish)
	mux.HandleFunc("POST /enroll/cancel", p.enrollCancel)
	mux.HandleFunc("POST /enroll/remove", p.enrollRemove)
	mux.HandleFunc("POST /enroll/reconfirm", p.enrollReconfirm)
	mux.HandleFunc("POST /enroll/signout", p.enrollSignOut)
}

// sessionCookie carries the enrollment session's token; the server bounds
// the session's life, the cookie lasts the browser session.
func (p *Portal) sessionCookie() bearerCookie { return bearerCookie{"sspr_session", p.opts.Secure} }

func (p *Portal) setSessionCookie(w http.ResponseWriter, token string, maxAge int) {
	p.sessionCookie().set(w, token, maxAge)
}

func (p *Portal) sessionToken(r *http.Request) string { return p.sessionCookie().value(r) }

func (p *Portal) newEnrollPage(w http.ResponseWriter, r *http.Request) *enrollPage {
	return &enrollPage{page: p.newPage(w, r)}
}

func (p *Portal) renderEnroll(w http.ResponseWriter, status int, name string, pg *enrollPage) {
	if pg.PageTitle == "" {
		pg.PageTitle = pg.enrollTitle(name)
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

// enrollTitle is the title of an enrollment page: its heading.
func (pg *enrollPage) enrollTitle(name string) string {
	switch name {
	case "enroll_signin":
		return pg.T("enroll.signin.title")
	case "enroll_home":
		return pg.T("enroll.home.title")
	case "enroll_verify":
		if pg.Kind != "" {
			return pg.T("verify." + pg.Kind + ".title")
		}
		return pg.T("enroll.verify.title")
	case "enroll_add":
		return pg.T("enroll.add." + pg.Kind)
	case "enroll_confirm":
		return pg.T("enroll.confirm." + pg.Kind + ".title")
	}
	return pg.T("enroll.title")
}

// enrollStatus maps a refusal to its HTTP status, including the codes only
// the enrollment flow uses.
func enrollStatus(c flow.Code) int {
	switch c {
	case flow.CodeSessionNotFound:
		return http.StatusUnauthorized
	case flow.CodeStepUpRequired:
		return http.StatusForbidden
	case flow.CodeBadEnrollmentInput:
		return http.StatusUnprocessableEntity
	}
	return web.HTTPStatus(c)
}

// explain words a refusal for the enrollment pages.
func (p *Portal) explainEnroll(pg *enrollPage, fe flowError) *web.Message {
	msg := web.Explain(p.cat, pg.Lang, fe.Error)
	if fe.Code == flow.CodeCodeInvalid && fe.AttemptsLeft <= 0 {
		// The enrollment flow does not count attempts per step (the abuse
		// controls do): do not claim "0 left".
		msg.Message = pg.T("enroll.code_invalid")
	}
	return &msg
}

// enrollFail shows a refusal: on the sign-in page when the session is gone,
// else on the page of the session's current step.
func (p *Portal) enrollFail(w http.ResponseWriter, r *http.Request, pg *enrollPage, err error) {
	fe := asFlowError(err)
	if fe.Code == flow.CodeInternal {
		p.log.Error("portal: enrollment step failed", "err", err)
	}
	pg.Error = p.explainEnroll(pg, fe)
	status := enrollStatus(fe.Code)
	if fe.Code == flow.CodeDirectoryDown {
		w.Header().Set("Retry-After", "60")
	}
	if fe.Code == flow.CodeSessionNotFound {
		p.setSessionCookie(w, "", -1)
		p.renderEnroll(w, status, "enroll_signin", pg)
		return
	}
	v, verr := p.enroll.View(r.Context(), p.sessionToken(r))
	if verr != nil {
		if asFlowError(verr).Code == flow.CodeSessionNotFound {
			p.setSessionCookie(w, "", -1)
		}
		p.renderEnroll(w, status, "enroll_signin", pg)
		return
	}
	if v.PendingKind == factor.Questions && v.Step == flow.StepConfirm && (fe.Code == flow.CodeCodeInvalid || fe.Code == flow.CodeBadEnrollmentInput) {
		// The questions factor refuses answers, not a code: say what it wants.
		pv := readPrompt(pg, v.PendingKind, v.PendingPrompt)
		pg.Error.Message = pg.T("enroll.questions.invalid", "required", pv.Required, "min", pv.MinLength)
	}
	p.showStep(w, status, pg, v)
}

// showStep renders the page that fits the session's step.
func (p *Portal) showStep(w http.ResponseWriter, status int, pg *enrollPage, v flow.SessionView) {
	pg.View, pg.Name = v, firstOf(v.DisplayName, v.Login)
	pg.Rows = rowsOf(pg, v.Factors)
	pg.Kind = string(v.PendingKind)
	pg.Prompt = readPrompt(pg, v.PendingKind, v.PendingPrompt)
	switch v.Step {
	case flow.StepVerify:
		p.renderEnroll(w, status, "enroll_verify", pg)
	case flow.StepConfirm:
		p.renderEnroll(w, status, "enroll_confirm", pg)
	default:
		pg.Kind, pg.Prompt = "", promptView{}
		p.renderEnroll(w, status, "enroll_home", pg)
	}
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func rowsOf(pg *enrollPage, fs []flow.EnrolledFactor) []enrolledRow {
	out := make([]enrolledRow, 0, len(fs))
	for _, f := range fs {
		kindName := pg.T("enroll.kind." + string(f.Kind))
		row := enrolledRow{ID: f.ID, Kind: string(f.Kind), Label: f.Label, Name: kindName, Added: f.CreatedAt.Format("2006-01-02"),
			AddedISO: f.CreatedAt.UTC().Format(time.RFC3339), FromDirectory: f.Source == flow.SourceDirectory}
		if strings.EqualFold(f.Label, kindName) {
			row.Label = "" // "Authenticator app" twice says nothing
		} else if f.Label != "" && !strings.HasPrefix(f.Label, kindName) {
			row.Name += " " + f.Label
		} else if f.Label != "" {
			row.Name = f.Label
		}
		if !f.LastUsedAt.IsZero() {
			row.LastUsed, row.LastUsedISO = f.LastUsedAt.Format("2006-01-02 15:04"), f.LastUsedAt.UTC().Format(time.RFC3339)
		}
		out = append(out, row)
	}
	return out
}

// readPrompt prepares a factor's prompt for display.
func readPrompt(pg *enrollPage, kind factor.Kind, prompt map[string]any) promptView {
	pv := promptView{Raw: prompt}
	if prompt == nil {
		return pv
	}
	str := func(k string) string { s, _ := prompt[k].(string); return s }
	num := func(k string) int {
		switch n := prompt[k].(type) {
		case float64:
			return int(n)
		case int:
			return n
		case int64:
			return int(n)
		}
		return 0
	}
	pv.To = str("to")
	pv.ServerMessage = str("server_message")
	pv.CodeLength = max(num("length"), num("code_length"))
	pv.Issuer, pv.Account = str("issuer"), str("account")
	if qr := str("qr_png"); strings.HasPrefix(qr, "data:image/png;base64,") {
		pv.QR = template.URL(qr) // drawn by the totp factor, not typed by anyone
	}
	pv.Secret = str("secret_base32")
	if uri := str("otpauth_uri"); strings.HasPrefix(uri, "otpauth://") {
		pv.URI = template.URL(uri)
	}
	if list, ok := prompt["codes"].([]any); ok {
		for _, c := range list {
			if s, ok := c.(string); ok {
				pv.Codes = append(pv.Codes, s)
			}
		}
	} else if list, ok := prompt["codes"].([]string); ok {
		pv.Codes = list
	}
	if len(pv.Codes) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s\r\n\r\n", pg.T("enroll.backup_codes.file_title", "title", pg.Title))
		for i, c := range pv.Codes {
			fmt.Fprintf(&b, "%2d. %s\r\n", i+1, c)
		}
		fmt.Fprintf(&b, "\r\n%s\r\n", pg.T("enroll.backup_codes.file_note"))
		pv.Download = template.URL("data:text/plain;charset=utf-8," + url.PathEscape(b.String()))
	}
	pv.ConfirmPosition = num("confirm_position")
	pv.Remaining = num("remaining")
	pv.Required, pv.MinLength = num("required"), num("min_answer_length")
	if list, ok := prompt["questions"].([]any); ok {
		for _, item := range list {
			m, _ := item.(map[string]any)
			id, _ := m["id"].(string)
			if id == "" {
				continue
			}
			pv.Questions = append(pv.Questions, question{ID: id, Label: questionText(pg.Lang, m)})
		}
	}
	return pv
}

// questionText reads a question's words: "text" (security questions) or
// "label" (attribute questions: a string, or one per language).
func questionText(lang string, m map[string]any) string {
	for _, k := range []string{"text", "label"} {
		switch v := m[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case map[string]any:
			for _, l := range []string{lang, "en"} {
				if s, _ := v[l].(string); s != "" {
					return s
				}
			}
		}
	}
	id, _ := m["id"].(string)
	return id
}

// formResponse gathers a posted form as a factor response: every value,
// and the passkey script's JSON.
func formResponse(r *http.Request) factor.Response {
	_ = r.ParseForm()
	resp := factor.Response{Values: map[string]string{}}
	for k, v := range r.PostForm {
		if len(v) > 0 && k != "response_json" {
			resp.Values[k] = v[0]
		}
	}
	if raw := r.PostFormValue("response_json"); raw != "" {
		resp.JSON = []byte(raw)
	}
	return resp
}

func (p *Portal) enrollSignInPage(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	if tok := p.sessionToken(r); tok != "" {
		if _, err := p.enroll.View(r.Context(), tok); err == nil {
			http.Redirect(w, r, "/enroll/home", http.StatusSeeOther)
			return
		}
	}
	if r.URL.Query().Get("done") == "signedout" {
		pg.Notice = pg.T("enroll.notice.signedout")
	}
	p.renderEnroll(w, http.StatusOK, "enroll_signin", pg)
}

func (p *Portal) enrollSignIn(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	login := r.PostFormValue("login")
	token, _, err := p.enroll.SignIn(r.Context(), login, r.PostFormValue("password"), p.ips.Of(r), pg.Lang)
	if err != nil {
		fe := asFlowError(err)
		if fe.Code == flow.CodeInternal {
			p.log.Error("portal: enrollment sign-in failed", "err", err)
		}
		if fe.Code == flow.CodeDirectoryDown {
			w.Header().Set("Retry-After", "60")
		}
		pg.Error, pg.Value = p.explainEnroll(pg, fe), login
		p.renderEnroll(w, enrollStatus(fe.Code), "enroll_signin", pg)
		return
	}
	p.setSessionCookie(w, token, 0)
	http.Redirect(w, r, "/enroll/home", http.StatusSeeOther)
}

// notices are the "done" query values the home page announces.
var notices = map[string]string{"added": "enroll.notice.added", "removed": "enroll.notice.removed", "verified": "enroll.notice.verified",
	"reconfirmed": "enroll.home.reconfirmed"}

// currentSession shows this browser's session, or sends it to the sign-in
// page; it returns false when it already answered.
func (p *Portal) currentSession(w http.ResponseWriter, r *http.Request, pg *enrollPage) (flow.SessionView, bool) {
	tok := p.sessionToken(r)
	if tok == "" {
		http.Redirect(w, r, "/enroll", http.StatusSeeOther)
		return flow.SessionView{}, false
	}
	v, err := p.enroll.View(r.Context(), tok)
	if err != nil {
		p.enrollFail(w, r, pg, err)
		return flow.SessionView{}, false
	}
	return v, true
}

func (p *Portal) enrollHome(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	v, ok := p.currentSession(w, r, pg)
	if !ok {
		return
	}
	if id, ok := notices[r.URL.Query().Get("done")]; ok {
		pg.Notice = pg.T(id)
	}
	p.showStep(w, http.StatusOK, pg, v)
}

func (p *Portal) enrollVerifyStart(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	if _, err := p.enroll.StartVerify(r.Context(), p.sessionToken(r), r.PostFormValue("enrollment")); err != nil {
		p.enrollFail(w, r, pg, err)
		return
	}
	http.Redirect(w, r, "/enroll/home", http.StatusSeeOther)
}

func (p *Portal) enrollVerify(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	if _, err := p.enroll.FinishVerify(r.Context(), p.sessionToken(r), formResponse(r)); err != nil {
		p.enrollFail(w, r, pg, err)
		return
	}
	http.Redirect(w, r, "/enroll/home?done=verified", http.StatusSeeOther)
}

// askFirst are the kinds whose enrollment starts with the person's input.
// RADIUS and Duo ask for the person's user name there (rounds.go).
func askFirst(k factor.Kind) bool {
	return k == factor.Email || k == factor.SMS || k == kindVoice || asksUsername(k)
}

// kindVoice is the voice factor (a number confirmed by a call), asked
// for like a mobile number.
const kindVoice factor.Kind = "voice"

func (p *Portal) enrollAdd(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	kind := factor.Kind(r.PostFormValue("kind"))
	if askFirst(kind) {
		http.Redirect(w, r, "/enroll/add/"+string(kind), http.StatusSeeOther)
		return
	}
	if _, err := p.enroll.Begin(r.Context(), p.sessionToken(r), kind, factor.Response{Values: map[string]string{}}); err != nil {
		p.enrollFail(w, r, pg, err)
		return
	}
	http.Redirect(w, r, "/enroll/home", http.StatusSeeOther)
}

// enrollAddPage asks for an address or a phone number.
func (p *Portal) enrollAddPage(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	v, ok := p.currentSession(w, r, pg)
	if !ok {
		return
	}
	kind := factor.Kind(r.PathValue("kind"))
	if v.Step != flow.StepReady || !askFirst(kind) || !slices.Contains(v.CanAdd, kind) {
		if v.Step == flow.StepReady {
			pg.Error = p.explainEnroll(pg, flowError{&flow.Error{Code: flow.CodeFactorNotAllowed}})
			p.showStep(w, http.StatusNotFound, pg, v)
			return
		}
		http.Redirect(w, r, "/enroll/home", http.StatusSeeOther)
		return
	}
	pg.View, pg.Name, pg.Kind = v, firstOf(v.DisplayName, v.Login), string(kind)
	p.renderEnroll(w, http.StatusOK, "enroll_add", pg)
}

func (p *Portal) enrollAddStart(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	kind := factor.Kind(r.PostFormValue("kind"))
	resp := formResponse(r)
	if _, err := p.enroll.Begin(r.Context(), p.sessionToken(r), kind, resp); err != nil {
		fe := asFlowError(err)
		if askFirst(kind) && (fe.Code == flow.CodeBadEnrollmentInput || fe.Code == flow.CodeRateLimited) {
			// Keep what was typed, on the page that asked for it.
			pg.Error, pg.Kind = p.explainEnroll(pg, fe), string(kind)
			pg.Value = resp.Values[map[factor.Kind]string{factor.Email: "email", factor.SMS: "phone", kindVoice: "phone", radiusKind: "username", duoKind: "username"}[kind]]
			if v, verr := p.enroll.View(r.Context(), p.sessionToken(r)); verr == nil {
				pg.View, pg.Name = v, firstOf(v.DisplayName, v.Login)
			}
			p.renderEnroll(w, enrollStatus(fe.Code), "enroll_add", pg)
			return
		}
		p.enrollFail(w, r, pg, err)
		return
	}
	http.Redirect(w, r, "/enroll/home", http.StatusSeeOther)
}

func (p *Portal) enrollAddFinish(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	resp := formResponse(r)
	if _, err := p.enroll.Finish(r.Context(), p.sessionToken(r), resp, resp.Values["name"]); err != nil {
		p.enrollFail(w, r, pg, err)
		return
	}
	http.Redirect(w, r, "/enroll/home?done=added", http.StatusSeeOther)
}

func (p *Portal) enrollCancel(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	if _, err := p.enroll.Cancel(r.Context(), p.sessionToken(r)); err != nil {
		p.enrollFail(w, r, pg, err)
		return
	}
	http.Redirect(w, r, "/enroll/home", http.StatusSeeOther)
}

func (p *Portal) enrollRemove(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	if _, err := p.enroll.Remove(r.Context(), p.sessionToken(r), r.PostFormValue("enrollment")); err != nil {
		p.enrollFail(w, r, pg, err)
		return
	}
	http.Redirect(w, r, "/enroll/home?done=removed", http.StatusSeeOther)
}

func (p *Portal) enrollSignOut(w http.ResponseWriter, r *http.Request) {
	if tok := p.sessionToken(r); tok != "" {
		if err := p.enroll.SignOut(r.Context(), tok); err != nil {
			p.log.Warn("portal: ending an enrollment session failed", "err", err)
		}
	}
	p.setSessionCookie(w, "", -1)
	http.Redirect(w, r, "/enroll?done=signedout", http.StatusSeeOther)
}
