package admin

import (
	"context"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Flow is what the console needs from flow.Admin.
type Flow interface {
	SignIn(ctx context.Context, login, password, clientIP string) (string, flow.AdminView, error)
	View(ctx context.Context, token string) (flow.AdminView, error)
	ChooseFactor(ctx context.Context, token, enrollmentID string) (flow.AdminView, error)
	VerifyFactor(ctx context.Context, token string, resp factor.Response) (flow.AdminView, error)
	Authorize(ctx context.Context, token, clientIP, what string, roles ...flow.Role) (*flow.Principal, error)
	SignOut(ctx context.Context, token string) error
	Record(ctx context.Context, p *flow.Principal, event string, outcome audit.Outcome, reason string, detail map[string]any) error
	Coverage(ctx context.Context) (*flow.Coverage, error)
	Activity(ctx context.Context, from, to time.Time, step time.Duration) (*flow.Activity, error)
	Audit(ctx context.Context, q flow.AuditQuery) (*flow.AuditPage, error)
	Locked(ctx context.Context) (*flow.Locked, error)
	Expiry(ctx context.Context, within time.Duration) (*flow.ExpiryReport, error)
	CallerFind(ctx context.Context, token string, p *flow.Principal, login string) (flow.CallerCase, error)
	CallerView(ctx context.Context, token string) (flow.CallerCase, bool, error)
	CallerChallenge(ctx context.Context, token string, p *flow.Principal, methodID string) (flow.CallerCase, error)
	CallerVerify(ctx context.Context, token string, p *flow.Principal, code string) (flow.CallerCase, error)
	CallerUnlock(ctx context.Context, token string, p *flow.Principal) (flow.CallerCase, error)
	CallerReset(ctx context.Context, token string, p *flow.Principal) (string, flow.CallerCase, error)
	ImportEnrollments(ctx context.Context, in io.Reader, actor, clientIP string, dryRun bool) (*flow.ImportResult, error)
}

// Options configure the console.
type Options struct {
	// Secure marks the cookie Secure and names it __Host-… (HTTPS).
	Secure bool
	// IdleTimeout is shown on the home page.
	IdleTimeout time.Duration
	// Groups are the configured role groups, shown on the roles page.
	Groups map[flow.Role][]string
	// Now overrides the clock (tests).
	Now func() time.Time
	// Reports configure the further reports and the configuration page.
	Reports ReportOptions
	// LogoURL is the organisation's logo (portal.branding.logo, served by
	// the portal), shown in the header; "" shows none.
	LogoURL string
}

// Route is one console page or action and the roles that may use it.
type Route struct {
	Method, Path string
	// Name is the audit event (admin.<Name>) and the page's label.
	Name  string
	Label string
	// Roles may use the route; nil means anyone signed in.
	Roles []flow.Role
	// Nav puts the route in the menu.
	Nav     bool
	handler func(w http.ResponseWriter, r *http.Request, p *flow.Principal)
}

// Console serves /admin.
type Console struct {
	flow  Flow
	ips   web.ClientIPs
	log   *slog.Logger
	opts  Options
	pages map[string]*template.Template
}

// New parses the templates.
func New(f Flow, ips web.ClientIPs, log *slog.Logger, opts Options) (*Console, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{flow: f, ips: ips, log: log, opts: opts, pages: map[string]*template.Template{}}
	for _, page := range []string{"signin", "factor", "home", "coverage", "activity", "audit", "roles", "message", "locked", "helpdesk", "import", "report", "reports", "compliance", "config", "expiry", "jobs"} {
		t, err := template.New("").Funcs(template.FuncMap{"json": func(v any) string {
			b, _ := json.Marshal(v)
			return string(b)
		}}).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, err
		}
		c.pages[page] = t
	}
	return c, nil
}

var (
	readers = []flow.Role{flow.RoleAdmin, flow.RoleAuditor}
	admins  = []flow.Role{flow.RoleAdmin}
	desk    = []flow.Role{flow.RoleAdmin, flow.RoleHelpdesk}
	// anyRole: the help desk answers calls from locked-out people.
	anyRole = []flow.Role{flow.RoleAdmin, flow.RoleHelpdesk, flow.RoleAuditor}
)

// Routes is the console's route table: what Register serves and what the
// server checks. Sign-in routes are not in it: they open no data.
func (c *Console) Routes() []Route {
	return append([]Route{
		{Method: "GET", Path: "/admin/home", Name: "home", Label: "Home", handler: c.home},
		{Method: "GET", Path: "/admin/reports/coverage", Name: "report.coverage", Label: "Enrollment coverage", Roles: readers, Nav: true, handler: c.coverage("html")},
		{Method: "GET", Path: "/admin/reports/coverage.csv", Name: "report.coverage_csv", Roles: readers, handler: c.coverage("csv")},
		{Method: "GET", Path: "/admin/reports/coverage.json", Name: "report.coverage_json", Roles: readers, handler: c.coverage("json")},
		{Method: "GET", Path: "/admin/reports/coverage.pdf", Name: "report.coverage_pdf", Roles: readers, handler: c.coverage("pdf")},
		{Method: "GET", Path: "/admin/reports/activity", Name: "report.activity", Label: "Activity", Roles: readers, Nav: true, handler: c.activity("html")},
		{Method: "GET", Path: "/admin/reports/activity.csv", Name: "report.activity_csv", Roles: readers, handler: c.activity("csv")},
		{Method: "GET", Path: "/admin/reports/activity.json", Name: "report.activity_json", Roles: readers, handler: c.activity("json")},
		{Method: "GET", Path: "/admin/reports/activity.pdf", Name: "report.activity_pdf", Roles: readers, handler: c.activity("pdf")},
		{Method: "GET", Path: "/admin/reports/locked", Name: "report.locked", Label: "Locked out now", Roles: anyRole, Nav: true, handler: c.locked("html")},
		{Method: "GET", Path: "/admin/reports/locked.csv", Name: "report.locked_csv", Roles: anyRole, handler: c.locked("csv")},
		{Method: "GET", Path: "/admin/reports/locked.json", Name: "report.locked_json", Roles: anyRole, handler: c.locked("json")},
		{Method: "GET", Path: "/admin/audit", Name: "audit.view", Label: "Audit log", Roles: readers, Nav: true, handler: c.auditView("html")},
		{Method: "GET", Path: "/admin/audit.json", Name: "audit.view_json", Roles: readers, handler: c.auditView("json")},
		{Method: "GET", Path: "/admin/helpdesk", Name: "helpdesk.view", Label: "Help desk", Roles: desk, Nav: true, handler: c.helpdesk},
		{Method: "POST", Path: "/admin/helpdesk/find", Name: "helpdesk.find", Roles: desk, handler: c.helpdeskAction("find")},
		{Method: "POST", Path: "/admin/helpdesk/challenge", Name: "helpdesk.challenge", Roles: desk, handler: c.helpdeskAction("challenge")},
		{Method: "POST", Path: "/admin/helpdesk/verify", Name: "helpdesk.verify", Roles: desk, handler: c.helpdeskAction("verify")},
		{Method: "POST", Path: "/admin/helpdesk/unlock", Name: "helpdesk.unlock", Roles: desk, handler: c.helpdeskAction("unlock")},
		{Method: "POST", Path: "/admin/helpdesk/reset", Name: "helpdesk.reset", Roles: desk, handler: c.helpdeskAction("reset")},
		{Method: "GET", Path: "/admin/import", Name: "import.view", Label: "Import CSV", Roles: admins, Nav: true, handler: c.importPage},
		{Method: "POST", Path: "/admin/import", Name: "import.run", Roles: admins, handler: c.importRun},
		{Method: "GET", Path: "/admin/roles", Name: "roles", Label: "Roles", Roles: admins, Nav: true, handler: c.roles},
	}, append(c.reportRoutes(), c.expiryRoutes()...)...) // reports.go, expiry.go
}

// Register adds the console's routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /admin/static/", http.StripPrefix("/admin/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /admin/{$}", c.index)
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/admin/", http.StatusSeeOther) })
	mux.HandleFunc("POST /admin/signin", c.signIn)
	mux.HandleFunc("POST /admin/factor", c.verifyFactor)
	mux.HandleFunc("POST /admin/factor/choose", c.chooseFactor)
	mux.HandleFunc("POST /admin/signout", c.signOut)
	for _, rt := range c.Routes() {
		mux.HandleFunc(rt.Method+" "+rt.Path, c.guard(rt))
	}
}

// guard checks the session and the route's roles on the server, records
// the action in the audit log, then serves it.
func (c *Console) guard(rt Route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := c.token(r)
		p, err := c.flow.Authorize(r.Context(), token, c.ips.Of(r), rt.Name, rt.Roles...)
		var fe *flow.Error
		switch {
		case err == nil:
		case errors.As(err, &fe) && fe.Code == flow.CodeForbidden:
			w.WriteHeader(http.StatusForbidden)
			c.render(w, "message", nil, map[string]any{"Heading": "Not for your role",
				"Text": "Your role does not open this page. Ask an administrator if you need it."})
			return
		case errors.As(err, &fe) && fe.Code == flow.CodeSessionNotFound:
			// Back to the start, which asks for the password or, for a
			// session waiting for its second factor, for that.
			if r.Header.Get("Accept") == "application/json" || strings.HasSuffix(r.URL.Path, ".json") {
				http.Error(w, `{"code":"session_not_found"}`, http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/admin/", http.StatusSeeOther)
			return
		default:
			c.fail(w, err)
			return
		}
		detail := map[string]any{"path": r.URL.Path}
		if q := r.URL.RawQuery; q != "" {
			detail["query"] = q
		}
		if err := c.flow.Record(r.Context(), p, "admin."+rt.Name, audit.Success, "", detail); err != nil {
			c.fail(w, err) // nothing is served that is not in the audit log
			return
		}
		rt.handler(w, r, p)
	}
}

func (c *Console) cookieName() string {
	if c.opts.Secure {
		return "__Host-sspr_admin"
	}
	return "sspr_admin"
}

func (c *Console) token(r *http.Request) string {
	ck, err := r.Cookie(c.cookieName())
	if err != nil {
		return ""
	}
	return ck.Value
}

func (c *Console) setCookie(w http.ResponseWriter, token string) {
	// Path / for the __Host- prefix's sake; SameSite=Strict keeps it off
	// cross-site requests; the server-side idle timeout is what ends it.
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: token, Path: "/", HttpOnly: true, Secure: c.opts.Secure,
		SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: c.opts.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

type navItem struct{ Path, Label string }

func (c *Console) nav(p *flow.Principal) []navItem {
	var out []navItem
	for _, rt := range c.Routes() {
		if rt.Nav && (rt.Roles == nil || p.Has(rt.Roles...)) {
			out = append(out, navItem{rt.Path, rt.Label})
		}
	}
	return out
}

func (c *Console) render(w http.ResponseWriter, page string, p *flow.Principal, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["Principal"] = p
	data["Logo"] = c.opts.LogoURL
	if p != nil {
		data["Nav"] = c.nav(p)
	}
	if _, ok := data["Title"]; !ok {
		data["Title"] = "Console"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.pages[page].ExecuteTemplate(w, "layout", data); err != nil {
		c.log.Error("rendering an admin page failed", "page", page, "err", err)
	}
}

// fail answers an unexpected failure plainly; details go to the log.
func (c *Console) fail(w http.ResponseWriter, err error) {
	status, text := http.StatusInternalServerError, "Something went wrong on our side. Please try again; if it persists, check the server log."
	var fe *flow.Error
	if errors.As(err, &fe) && fe.Code == flow.CodeDirectoryDown {
		status, text = http.StatusServiceUnavailable, "The directory cannot be reached right now. Please try again in a minute."
	}
	c.log.Error("admin console request failed", "err", err)
	w.WriteHeader(status)
	c.render(w, "message", nil, map[string]any{"Heading": "Not available", "Text": text})
}

// signInMessage words a refused sign-in for the person.
func signInMessage(err error) (int, string) {
	var fe *flow.Error
	if !errors.As(err, &fe) {
		return http.StatusInternalServerError, "Something went wrong on our side. Please try again."
	}
	switch fe.Code {
	case flow.CodeCredentialsWrong:
		return http.StatusUnauthorized, "The user name or password is not right."
	case flow.CodeSecondFactorRequired:
		return http.StatusForbidden, "The console needs an authenticator app or a passkey, and you have none enrolled. " +
			"Enroll one in the self-service portal first, then sign in again."
	case flow.CodeNoRole:
		return http.StatusForbidden, "Your account is not in any group that may use the console."
	case flow.CodeCodeInvalid:
		return http.StatusUnauthorized, "That code is not right. Use the current code from your authenticator app."
	case flow.CodeRateLimited:
		return http.StatusTooManyRequests, "Too many attempts. Please wait a while before you try again."
	case flow.CodeDirectoryDown:
		return http.StatusServiceUnavailable, "The directory cannot be reached right now. Please try again in a minute."
	case flow.CodeSessionNotFound, flow.CodeWrongState:
		return http.StatusUnauthorized, "Your sign-in timed out. Please start again."
	}
	return web.HTTPStatus(fe.Code), "That did not work. Please start again."
}

func (c *Console) index(w http.ResponseWriter, r *http.Request) {
	token := c.token(r)
	if token != "" {
		if v, err := c.flow.View(r.Context(), token); err == nil {
			if v.Step == flow.AdminStepReady {
				http.Redirect(w, r, "/admin/home", http.StatusSeeOther)
				return
			}
			c.render(w, "factor", nil, map[string]any{"Title": "Confirm", "View": v})
			return
		}
	}
	c.render(w, "signin", nil, map[string]any{"Title": "Sign in"})
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	token, v, err := c.flow.SignIn(r.Context(), r.PostFormValue("login"), r.PostFormValue("password"), c.ips.Of(r))
	if err != nil {
		status, text := signInMessage(err)
		w.WriteHeader(status)
		c.render(w, "signin", nil, map[string]any{"Title": "Sign in", "Error": text})
		return
	}
	c.setCookie(w, token)
	w.WriteHeader(http.StatusOK)
	c.render(w, "factor", nil, map[string]any{"Title": "Confirm", "View": v})
}

func (c *Console) verifyFactor(w http.ResponseWriter, r *http.Request) {
	token := c.token(r)
	resp := factor.Response{Values: map[string]string{"code": strings.TrimSpace(r.PostFormValue("code"))}}
	if raw := r.PostFormValue("response_json"); raw != "" {
		resp.JSON = []byte(raw) // a passkey assertion, posted by the page's script (the portal's sspr.js)
	}
	v, err := c.flow.VerifyFactor(r.Context(), token, resp)
	if err != nil {
		status, text := signInMessage(err)
		w.WriteHeader(status)
		if view, verr := c.flow.View(r.Context(), token); verr == nil && view.Step == flow.AdminStepFactor {
			c.render(w, "factor", nil, map[string]any{"Title": "Confirm", "View": view, "Error": text})
			return
		}
		c.render(w, "signin", nil, map[string]any{"Title": "Sign in", "Error": text})
		return
	}
	if v.Step == flow.AdminStepReady {
		http.Redirect(w, r, "/admin/home", http.StatusSeeOther)
		return
	}
	c.render(w, "factor", nil, map[string]any{"Title": "Confirm", "View": v})
}

func (c *Console) chooseFactor(w http.ResponseWriter, r *http.Request) {
	v, err := c.flow.ChooseFactor(r.Context(), c.token(r), r.PostFormValue("id"))
	if err != nil {
		status, text := signInMessage(err)
		w.WriteHeader(status)
		c.render(w, "signin", nil, map[string]any{"Title": "Sign in", "Error": text})
		return
	}
	c.render(w, "factor", nil, map[string]any{"Title": "Confirm", "View": v})
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if err := c.flow.SignOut(r.Context(), c.token(r)); err != nil {
		c.log.Error("signing out of the console failed", "err", err)
	}
	c.clearCookie(w)
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
	c.render(w, "home", p, map[string]any{"Title": "Home", "IdleTimeout": minutes(c.opts.IdleTimeout)})
}

// minutes says a duration the way people do ("15 minutes", "2 hours").
func minutes(d time.Duration) string {
	switch m := int(d.Round(time.Minute) / time.Minute); {
	case m == 1:
		return "1 minute"
	case m%60 == 0 && m >= 120:
		return strconv.Itoa(m/60) + " hours"
	default:
		return strconv.Itoa(m) + " minutes"
	}
}

func (c *Console) roles(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
	type row struct {
		Role   flow.Role
		Pages  string
		Groups []string
	}
	var rows []row
	for _, role := range flow.AllRoles {
		var pages []string
		for _, rt := range c.Routes() {
			if rt.Label != "" && (rt.Roles == nil || containsRole(rt.Roles, role)) {
				pages = append(pages, rt.Label)
			}
		}
		rows = append(rows, row{role, strings.Join(pages, ", "), c.opts.Groups[role]})
	}
	c.render(w, "roles", p, map[string]any{"Title": "Roles", "Roles": rows})
}

func containsRole(roles []flow.Role, r flow.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func csvWriter(w http.ResponseWriter, name string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return csv.NewWriter(w)
}

// csvSafe keeps a spreadsheet from running a cell as a formula (a display
// name starting with "=" is the directory's data, not ours).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (c *Console) coverage(format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		cov, err := c.flow.Coverage(r.Context())
		if err != nil {
			c.fail(w, err)
			return
		}
		switch format {
		case "json":
			writeJSON(w, cov)
		case "csv":
			cw := csvWriter(w, "coverage.csv")
			_ = cw.Write([]string{"directory", "ou", "people", "enrolled", "percent"})
			for _, row := range cov.OUs {
				_ = cw.Write([]string{csvSafe(row.Directory), csvSafe(row.OU), strconv.Itoa(row.Users), strconv.Itoa(row.Enrolled),
					strconv.FormatFloat(row.Percent(), 'f', 1, 64)})
			}
			_ = cw.Write(nil)
			_ = cw.Write([]string{"not enrolled: directory", "login", "display name", "dn"})
			for _, n := range cov.NotEnrolled {
				_ = cw.Write([]string{csvSafe(n.Directory), csvSafe(n.Login), csvSafe(n.DisplayName), csvSafe(n.DN)})
			}
			cw.Flush()
		case "pdf":
			labels, series := coverageChart(cov)
			var rows [][]string
			for _, row := range cov.OUs {
				rows = append(rows, []string{row.Directory, row.OU, strconv.Itoa(row.Users), strconv.Itoa(row.Enrolled), fmt.Sprintf("%.1f", row.Percent())})
			}
			shown := cov.NotEnrolled[:min(len(cov.NotEnrolled), 500)]
			var people [][]string
			for _, n := range shown {
				people = append(people, []string{n.Directory, n.Login, n.DisplayName})
			}
			w.Header().Set("Content-Type", "application/pdf")
			w.Header().Set("Content-Disposition", `attachment; filename="coverage.pdf"`)
			err := pdfReport{Title: "Enrollment coverage",
				Subtitle: fmt.Sprintf("%.1f%% enrolled: %d of %d people, as of %s.", cov.Percent(), cov.Enrolled, cov.Users, cov.GeneratedAt.Format("2006-01-02 15:04 MST")),
				Labels:   labels, Series: series,
				Tables: []pdfTable{
					{Title: "By organisational unit", Header: []string{"Directory", "OU", "People", "Enrolled", "%"}, Widths: []float64{30, 90, 20, 20, 20}, Rows: rows},
					{Title: fmt.Sprintf("People not enrolled (%d)", len(cov.NotEnrolled)), Header: []string{"Directory", "Login", "Name"},
						Widths: []float64{40, 60, 80}, Rows: people, Note: coverageNote(len(shown), len(cov.NotEnrolled))},
				}}.write(w)
			if err != nil {
				c.log.Error("writing the coverage PDF failed", "err", err)
			}
		default:
			labels, series := coverageChart(cov)
			shown := cov.NotEnrolled[:min(len(cov.NotEnrolled), 200)]
			c.render(w, "coverage", p, map[string]any{"Title": "Enrollment coverage", "Data": cov, "NotEnrolledShown": shown,
				"Chart": barChart("Enrollment by organisational unit", labels, series, 0)})
		}
	}
}

// coverageChart is the coverage chart's data: the twenty largest OUs,
// enrolled and not.
func coverageChart(cov *flow.Coverage) ([]string, []Series) {
	rows := append([]flow.CoverageRow(nil), cov.OUs...)
	if len(rows) > 20 {
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Users > rows[j].Users })
		rows = rows[:20]
	}
	var labels []string
	enrolled, not := Series{Name: "Enrolled", Colour: "#1b7a3a"}, Series{Name: "Not enrolled", Colour: "#c9692c"}
	for _, row := range rows {
		labels = append(labels, ouLabel(row))
		enrolled.Values = append(enrolled.Values, float64(row.Enrolled))
		not.Values = append(not.Values, float64(row.Users-row.Enrolled))
	}
	return labels, []Series{enrolled, not}
}

// ouLabel is the OU's own name (its first RDN value), enough to tell the
// bars apart; the table below has the full DNs.
func ouLabel(row flow.CoverageRow) string {
	first, _, _ := strings.Cut(row.OU, ",")
	if _, v, ok := strings.Cut(first, "="); ok {
		return v
	}
	return row.Directory
}

func (c *Console) activity(format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		days, err := strconv.Atoi(r.URL.Query().Get("days"))
		if err != nil || days < 1 || days > 366 {
			days = 30
		}
		now := c.opts.Now().UTC()
		to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
		from := to.AddDate(0, 0, -days)
		act, err := c.flow.Activity(r.Context(), from, to, 24*time.Hour)
		if err != nil {
			c.fail(w, err)
			return
		}
		switch format {
		case "json":
			writeJSON(w, act)
		case "csv":
			cw := csvWriter(w, "activity.csv")
			_ = cw.Write([]string{"day", "resets", "unlocks", "changes", "failures", "blocks"})
			for _, b := range act.Buckets {
				_ = cw.Write([]string{b.Start.Format("2006-01-02"), strconv.Itoa(b.Resets), strconv.Itoa(b.Unlocks), strconv.Itoa(b.Changes),
					strconv.Itoa(b.Failures), strconv.Itoa(b.Blocks)})
			}
			cw.Flush()
		case "pdf":
			labels, series := activityChart(act)
			var rows [][]string
			for _, b := range act.Buckets {
				rows = append(rows, []string{b.Start.Format("2006-01-02"), strconv.Itoa(b.Resets), strconv.Itoa(b.Unlocks), strconv.Itoa(b.Changes),
					strconv.Itoa(b.Failures), strconv.Itoa(b.Blocks)})
			}
			var reasons [][]string
			for _, r := range sortedReasons(act.FailureReasons) {
				reasons = append(reasons, []string{r.Name, strconv.Itoa(r.Count)})
			}
			w.Header().Set("Content-Type", "application/pdf")
			w.Header().Set("Content-Disposition", `attachment; filename="activity.pdf"`)
			err := pdfReport{Title: "Resets, unlocks and changes",
				Subtitle: fmt.Sprintf("Per day from %s to %s (UTC).", act.From.Format("2006-01-02"), act.To.AddDate(0, 0, -1).Format("2006-01-02")),
				Labels:   labels, Series: series,
				Tables: []pdfTable{
					{Title: "Failed verifications and blocks by reason", Header: []string{"Reason", "Count"}, Widths: []float64{120, 30}, Rows: reasons},
					{Title: "Per day", Header: []string{"Day", "Resets", "Unlocks", "Changes", "Failures", "Blocks"}, Widths: []float64{40, 28, 28, 28, 28, 28}, Rows: rows},
				}}.write(w)
			if err != nil {
				c.log.Error("writing the activity PDF failed", "err", err)
			}
		default:
			labels, series := activityChart(act)
			c.render(w, "activity", p, map[string]any{"Title": "Activity", "Data": act, "Days": days, "Reasons": sortedReasons(act.FailureReasons),
				"Chart": barChart(fmt.Sprintf("Activity per day, last %d days", days), labels, series, 0)})
		}
	}
}

type reasonCount struct {
	Name  string
	Count int
}

func sortedReasons(m map[string]int) []reasonCount {
	var out []reasonCount
	for k, v := range m {
		out = append(out, reasonCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func activityChart(act *flow.Activity) ([]string, []Series) {
	var labels []string
	series := []Series{{Name: "Resets", Colour: "#1f5fa8"}, {Name: "Unlocks", Colour: "#1b7a3a"}, {Name: "Changes", Colour: "#7a4fb0"},
		{Name: "Failures", Colour: "#a61b1b"}, {Name: "Blocks", Colour: "#c9692c"}}
	for _, b := range act.Buckets {
		labels = append(labels, b.Start.Format("Jan 2"))
		for i, v := range []int{b.Resets, b.Unlocks, b.Changes, b.Failures, b.Blocks} {
			series[i].Values = append(series[i].Values, float64(v))
		}
	}
	return labels, series
}

func (c *Console) locked(format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		l, err := c.flow.Locked(r.Context())
		if err != nil {
			c.fail(w, err)
			return
		}
		switch format {
		case "json":
			writeJSON(w, l)
		case "csv":
			cw := csvWriter(w, "locked.csv")
			_ = cw.Write([]string{"directory", "login", "display name", "dn", "locked at", "lockout ends", "failed attempts"})
			for _, a := range l.Accounts {
				_ = cw.Write([]string{csvSafe(a.Directory), csvSafe(a.Login), csvSafe(a.DisplayName), csvSafe(a.DN), csvTime(a.LockedAt),
					csvTime(a.LockoutEnds), strconv.Itoa(a.FailedAttempts)})
			}
			cw.Flush()
		default:
			c.render(w, "locked", p, map[string]any{"Title": "Locked out now", "Data": l})
		}
	}
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (c *Console) helpdesk(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
	data := map[string]any{"Title": "Help desk"}
	v, ok, err := c.flow.CallerView(r.Context(), c.token(r))
	if err != nil {
		c.fail(w, err)
		return
	}
	if ok {
		data["Case"] = v
	}
	c.render(w, "helpdesk", p, data)
}

// helpdeskMessage words a refused help-desk step for the agent.
func helpdeskMessage(err error) (int, string) {
	var fe *flow.Error
	if !errors.As(err, &fe) {
		return http.StatusInternalServerError, "Something went wrong on our side. Please try again."
	}
	switch fe.Code {
	case flow.CodeLoginRequired:
		return http.StatusBadRequest, "Type the caller's user name."
	case flow.CodeCredentialsWrong:
		return http.StatusNotFound, "Nobody has that user name."
	case flow.CodeWrongState:
		return http.StatusConflict, "Look the caller up first."
	case flow.CodeStepUpRequired:
		return http.StatusConflict, "Verify the caller first: send them a code and type in what they read to you."
	case flow.CodeCodeInvalid:
		return http.StatusUnprocessableEntity, fmt.Sprintf("That code is not right. %d tries left.", fe.AttemptsLeft)
	case flow.CodeCodeExpired:
		return http.StatusUnprocessableEntity, "That code has expired. Send a new one."
	case flow.CodeTooManyAttempts:
		return http.StatusTooManyRequests, "Too many wrong codes: the case is closed. Look the caller up again if the call goes on."
	case flow.CodeProtectedAccount:
		return http.StatusForbidden, "This is a privileged account: only an administrator may reset or unlock it."
	case flow.CodeFactorNotAllowed:
		return http.StatusBadRequest, "That way of proving who they are cannot be used here."
	case flow.CodeRateLimited:
		return http.StatusTooManyRequests, "Too many codes were sent. Please wait before sending another."
	case flow.CodeResetNotPermitted:
		return http.StatusForbidden, "This directory does not allow that."
	case flow.CodePasswordRefused:
		return http.StatusUnprocessableEntity, "The directory refused the one-time password. Try again."
	case flow.CodeDirectoryDown:
		return http.StatusServiceUnavailable, "The directory cannot be reached right now. Please try again in a minute."
	}
	return web.HTTPStatus(fe.Code), "That did not work. Please try again."
}

func (c *Console) helpdeskAction(action string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		token, ctx := c.token(r), r.Context()
		var v flow.CallerCase
		var pw string
		var err error
		switch action {
		case "find":
			v, err = c.flow.CallerFind(ctx, token, p, r.PostFormValue("login"))
		case "challenge":
			v, err = c.flow.CallerChallenge(ctx, token, p, r.PostFormValue("method"))
		case "verify":
			v, err = c.flow.CallerVerify(ctx, token, p, r.PostFormValue("code"))
		case "unlock":
			v, err = c.flow.CallerUnlock(ctx, token, p)
		case "reset":
			pw, v, err = c.flow.CallerReset(ctx, token, p)
		}
		data := map[string]any{"Title": "Help desk"}
		if err != nil {
			status, text := helpdeskMessage(err)
			if status >= 500 {
				c.log.Error("a help-desk step failed", "step", action, "err", err)
			}
			w.WriteHeader(status)
			data["Error"] = text
			if cur, ok, verr := c.flow.CallerView(ctx, token); verr == nil && ok {
				data["Case"] = cur
			}
			c.render(w, "helpdesk", p, data)
			return
		}
		data["Case"] = v
		if pw != "" {
			data["Password"] = pw
		}
		c.render(w, "helpdesk", p, data)
	}
}

func (c *Console) importPage(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
	c.render(w, "import", p, map[string]any{"Title": "Import CSV"})
}

func (c *Console) importRun(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
	data := map[string]any{"Title": "Import CSV"}
	f, _, err := r.FormFile("file")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		data["Error"] = "Choose a CSV file of at most 60 KB. For larger files run “sspr enroll import FILE.csv” on the server."
		c.render(w, "import", p, data)
		return
	}
	defer f.Close()
	dry := r.FormValue("dry_run") != ""
	res, err := c.flow.ImportEnrollments(r.Context(), f, p.Login, p.ClientIP, dry)
	if err != nil {
		c.fail(w, err)
		return
	}
	if res.ProblemCount > 0 {
		w.WriteHeader(http.StatusUnprocessableEntity)
	}
	data["Result"], data["DryRun"] = res, dry
	c.render(w, "import", p, data)
}

// auditPageSize is how many audit records one page shows.
const auditPageSize = 200

var outcomes = []string{"", string(audit.Success), string(audit.Failure), string(audit.Denied), string(audit.Info)}

func (c *Console) auditView(format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		q := r.URL.Query()
		query := flow.AuditQuery{Event: strings.TrimSpace(q.Get("event")), Actor: strings.TrimSpace(q.Get("actor")),
			Subject: strings.TrimSpace(q.Get("subject"))}
		for _, o := range outcomes {
			if q.Get("outcome") == o {
				query.Outcome = o
			}
		}
		var problems []string
		if s := q.Get("from"); s != "" {
			if t, err := time.Parse("2006-01-02", s); err == nil {
				query.From = t
			} else {
				problems = append(problems, "“From” must be a date like 2026-01-31.")
			}
		}
		if s := q.Get("to"); s != "" {
			if t, err := time.Parse("2006-01-02", s); err == nil {
				query.To = t.AddDate(0, 0, 1) // the whole day
			} else {
				problems = append(problems, "“Until” must be a date like 2026-01-31.")
			}
		}
		if id, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil {
			query.BeforeID = id
		}
		query.Limit = auditPageSize
		page, err := c.flow.Audit(r.Context(), query)
		if err != nil {
			c.fail(w, err)
			return
		}
		if format == "json" {
			writeJSON(w, page)
			return
		}
		var older string
		if n := len(page.Records); n > 0 && n >= auditPageSize {
			next := r.URL.Query()
			next.Set("before", strconv.FormatInt(page.Records[n-1].ID, 10))
			older = "/admin/audit?" + next.Encode()
		}
		c.render(w, "audit", p, map[string]any{"Title": "Audit log", "Data": page, "Query": query, "Outcomes": outcomes,
			"From": q.Get("from"), "To": q.Get("to"), "Error": strings.Join(problems, " "), "Older": older})
	}
}

// RouteTable is the route table without a console behind it, for tests
// that walk every route for every role.
func RouteTable() []Route { return (&Console{}).Routes() }
