package admin

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/flow"
)

// Reports is what the further reports need from flow.Admin (issue 13). It
// is asked of the console's Flow by type assertion, so the small fakes
// the console's own tests use need not implement it.
type Reports interface {
	Failures(ctx context.Context, from, to time.Time, step time.Duration) (*flow.Failures, error)
	FactorUsage(ctx context.Context, from, to time.Time, step time.Duration) (*flow.FactorUsage, error)
	PrivilegedWeak(ctx context.Context) (*flow.PrivilegedWeak, error)
	PasswordRefusals(ctx context.Context, from, to time.Time, step time.Duration) (*flow.PasswordRefusals, error)
	CallsAvoided(ctx context.Context, from, to time.Time, cost float64, currency string) (*flow.CallsAvoided, error)
	AdminActions(ctx context.Context, from, to time.Time) (*flow.AdminActions, error)
	Agents(ctx context.Context) (*flow.AgentsReport, error)
	ConfigHistory(ctx context.Context, limit int) ([]flow.ConfigEvent, error)
}

// ReportOptions configure the further reports and the configuration page.
type ReportOptions struct {
	// CostPerCall and Currency value a help-desk call (admin.cost_per_call).
	CostPerCall float64
	Currency    string
	// EffectiveConfig renders the running configuration with every secret
	// hidden (config.EffectiveYAML); nil shows none.
	EffectiveConfig func() []byte
	// Jobs lists the enabled scheduled jobs (the jobs page); nil lists
	// none.
	Jobs JobList
}

// reportView is one report as every format shows it: the page, the CSV
// (its first table), the PDF and, beside them, the flow's data as JSON.
type reportView struct {
	Title string
	// Facts is the line under the title.
	Facts string
	// Notes explain how to read the report (what "weak" means, say).
	Notes      []string
	ChartTitle string
	Labels     []string
	Series     []Series
	Tables     []pdfTable
	// Period is the form's field ("days" or "months") and its value;
	// "" for a report of the present state.
	Period      string
	PeriodValue int
	PeriodMax   int
	Data        any
}

// reportDef is one of the further reports.
type reportDef struct {
	Slug, Label string
	// Period is "days", "months" or "" (no period), with its default and
	// its maximum.
	Period          string
	Default, Max    int
	build           func(c *Console, rep Reports, r *http.Request, n int) (*reportView, error)
	CSVName, Intent string
}

func (c *Console) reportDefs() []reportDef {
	return []reportDef{
		{Slug: "failures", Label: "Failed verifications and blocks", Period: "days", Default: 30, Max: 366, build: buildFailures,
			Intent: "Failed verifications and sign-ins, and the abuse controls' blocks, per day and by reason."},
		{Slug: "factors", Label: "Factor usage", Period: "days", Default: 30, Max: 366, build: buildFactors,
			Intent: "Which kinds of factor people enrolled, and which they proved themselves with to reset, unlock or change."},
		{Slug: "privileged", Label: "Privileged accounts with weak factors", build: buildPrivileged,
			Intent: "Privileged accounts with no authenticator app or passkey enrolled."},
		{Slug: "refusals", Label: "Passwords refused by rule", Period: "days", Default: 30, Max: 366, build: buildRefusals,
			Intent: "New passwords refused, by sspr's rules (breached, too short, ...) and by the directory's policy (history, complexity, ...)."},
		{Slug: "calls-avoided", Label: "Help-desk calls avoided", Period: "months", Default: 12, Max: 60, build: buildCalls,
			Intent: "Successful self-service resets, unlocks and changes per month, each a call the help desk did not take, at the configured cost per call."},
		{Slug: "admin-actions", Label: "Admin actions", Period: "days", Default: 30, Max: 366, build: buildAdminActions,
			Intent: "What each console user opened and did, from the audit log."},
		{Slug: "agents", Label: "Login-screen agents", build: buildAgents,
			Intent: "The registered login-screen agents, their version and when they were last seen."},
	}
}

// reportRoutes are the further reports, the compliance page and the
// configuration page: admins and auditors read them all.
func (c *Console) reportRoutes() []Route {
	out := []Route{
		{Method: "GET", Path: "/admin/reports", Name: "report.index", Label: "Reports", Roles: readers, Nav: true, handler: c.reportIndex},
	}
	for _, d := range c.reportDefs() {
		base := "/admin/reports/" + d.Slug
		name := "report." + strings.ReplaceAll(d.Slug, "-", "_")
		out = append(out,
			Route{Method: "GET", Path: base, Name: name, Label: d.Label, Roles: readers, handler: c.report(d, "html")},
			Route{Method: "GET", Path: base + ".csv", Name: name + "_csv", Roles: readers, handler: c.report(d, "csv")},
			Route{Method: "GET", Path: base + ".json", Name: name + "_json", Roles: readers, handler: c.report(d, "json")},
			Route{Method: "GET", Path: base + ".pdf", Name: name + "_pdf", Roles: readers, handler: c.report(d, "pdf")},
		)
	}
	return append(out,
		Route{Method: "GET", Path: "/admin/compliance", Name: "compliance", Label: "Compliance", Roles: readers, Nav: true, handler: c.compliance},
		Route{Method: "GET", Path: "/admin/config", Name: "config.view", Label: "Configuration", Roles: readers, Nav: true, handler: c.configView("html")},
		Route{Method: "GET", Path: "/admin/config.json", Name: "config.view_json", Roles: readers, handler: c.configView("json")},
		Route{Method: "GET", Path: "/admin/jobs", Name: "jobs.view", Label: "Scheduled jobs", Roles: readers, Nav: true, handler: c.jobsView("html")},
		Route{Method: "GET", Path: "/admin/jobs.json", Name: "jobs.view_json", Roles: readers, handler: c.jobsView("json")},
	)
}

func (c *Console) reports() (Reports, bool) {
	rep, ok := c.flow.(Reports)
	return rep, ok
}

func (c *Console) reportIndex(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
	c.render(w, "reports", p, map[string]any{"Title": "Reports", "Reports": c.reportDefs()})
}

// period reads the report's period from the query (its default when
// missing or out of range).
func period(r *http.Request, d reportDef) int {
	n, err := strconv.Atoi(r.URL.Query().Get(d.Period))
	if err != nil || n < 1 || n > d.Max {
		return d.Default
	}
	return n
}

// lastDays is the period of the last n whole days (UTC), today included.
func (c *Console) lastDays(n int) (time.Time, time.Time) {
	now := c.opts.Now().UTC()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	return to.AddDate(0, 0, -n), to
}

func (c *Console) report(d reportDef, format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		rep, ok := c.reports()
		if !ok {
			http.NotFound(w, r)
			return
		}
		n := 0
		if d.Period != "" {
			n = period(r, d)
		}
		v, err := d.build(c, rep, r, n)
		if err != nil {
			c.fail(w, err)
			return
		}
		v.Title, v.Period, v.PeriodValue, v.PeriodMax = d.Label, d.Period, n, d.Max
		switch format {
		case "json":
			writeJSON(w, v.Data)
		case "csv":
			cw := csvWriter(w, d.Slug+".csv")
			if len(v.Tables) > 0 {
				_ = cw.Write(v.Tables[0].Header)
				for _, row := range v.Tables[0].Rows {
					safe := make([]string, len(row))
					for i, cell := range row {
						safe[i] = csvSafe(cell)
					}
					_ = cw.Write(safe)
				}
			}
			cw.Flush()
		case "pdf":
			w.Header().Set("Content-Type", "application/pdf")
			w.Header().Set("Content-Disposition", `attachment; filename="`+d.Slug+`.pdf"`)
			sub := v.Facts
			if len(v.Notes) > 0 {
				sub += " " + strings.Join(v.Notes, " ")
			}
			if err := (pdfReport{Title: v.Title, Subtitle: sub, Labels: v.Labels, Series: v.Series, Tables: v.Tables}).write(w); err != nil {
				c.log.Error("writing a report PDF failed", "report", d.Slug, "err", err)
			}
		default:
			var chart template.HTML
			if len(v.Labels) > 0 {
				chart = barChart(v.ChartTitle, v.Labels, v.Series, 0)
			}
			query := ""
			if d.Period != "" {
				query = "?" + d.Period + "=" + strconv.Itoa(n)
			}
			c.render(w, "report", p, map[string]any{"Title": v.Title, "View": v, "Chart": chart, "Base": "/admin/reports/" + d.Slug, "Query": query})
		}
	}
}

// palette colours a report's series, in order.
var palette = []string{"#1f5fa8", "#a61b1b", "#c9692c", "#1b7a3a", "#7a4fb0", "#2c8c9c", "#8a6d1f", "#5b6775"}

// topKeys are the keys of m with the largest counts, at most n; the rest
// are summed as "other" by reasonSeries.
func topKeys(m map[string]int, n int) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// reasonSeries charts buckets of counts by key: one series per key of the
// six largest totals, the rest as "other".
func reasonSeries(buckets []flow.ReasonBucket, totals map[string]int, label func(time.Time) string) ([]string, []Series) {
	keys := topKeys(totals, 6)
	series := make([]Series, len(keys))
	for i, k := range keys {
		series[i] = Series{Name: k, Colour: palette[i%len(palette)]}
	}
	other := Series{Name: "other", Colour: palette[len(palette)-1]}
	hasOther := len(totals) > len(keys)
	var labels []string
	for _, b := range buckets {
		labels = append(labels, label(b.Start))
		rest := 0
		for _, v := range b.Counts {
			rest += v
		}
		for i, k := range keys {
			series[i].Values = append(series[i].Values, float64(b.Counts[k]))
			rest -= b.Counts[k]
		}
		other.Values = append(other.Values, float64(rest))
	}
	if hasOther {
		series = append(series, other)
	}
	return labels, series
}

func dayLabel(t time.Time) string { return t.Format("Jan 2") }

// countRows is a table of totals by key, largest first.
func countRows(m map[string]int) [][]string {
	var rows [][]string
	for _, k := range topKeys(m, len(m)) {
		rows = append(rows, []string{k, strconv.Itoa(m[k])})
	}
	return rows
}

// bucketRows is a table of counts per day and key (one row per day and
// key with a count), for the CSV.
func bucketRows(buckets []flow.ReasonBucket) [][]string {
	var rows [][]string
	for _, b := range buckets {
		keys := make([]string, 0, len(b.Counts))
		for k := range b.Counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rows = append(rows, []string{b.Start.Format("2006-01-02"), k, strconv.Itoa(b.Counts[k])})
		}
	}
	return rows
}

func buildFailures(c *Console, rep Reports, r *http.Request, days int) (*reportView, error) {
	from, to := c.lastDays(days)
	f, err := rep.Failures(r.Context(), from, to, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, n := range f.Reasons {
		total += n
	}
	labels, series := reasonSeries(f.Buckets, f.Reasons, dayLabel)
	return &reportView{Data: f,
		Facts:      fmt.Sprintf("%d failed verifications and blocks from %s to %s (UTC).", total, from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02")),
		Notes:      []string{`"blocked" counts refusals by the abuse controls (rate limits); the other reasons are failed verifications and sign-ins as the audit log records them.`},
		ChartTitle: fmt.Sprintf("Failures and blocks per day by reason, last %d days", days), Labels: labels, Series: series,
		Tables: []pdfTable{
			{Title: "Per day and reason", Header: []string{"day", "reason", "count"}, Widths: []float64{40, 100, 30}, Rows: bucketRows(f.Buckets)},
			{Title: "By reason", Header: []string{"reason", "count"}, Widths: []float64{130, 40}, Rows: countRows(f.Reasons)},
		}}, nil
}

func buildFactors(c *Console, rep Reports, r *http.Request, days int) (*reportView, error) {
	from, to := c.lastDays(days)
	u, err := rep.FactorUsage(r.Context(), from, to, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	kinds := map[string]bool{}
	for k := range u.EnrolledBy {
		kinds[k] = true
	}
	for k := range u.UsedTotals {
		kinds[k] = true
	}
	var names []string
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	enrolled, used := Series{Name: "People enrolled", Colour: "#1b7a3a"}, Series{Name: fmt.Sprintf("Used to recover (last %d days)", days), Colour: "#1f5fa8"}
	var rows [][]string
	for _, k := range names {
		enrolled.Values = append(enrolled.Values, float64(u.EnrolledBy[k]))
		used.Values = append(used.Values, float64(u.UsedTotals[k]))
		rows = append(rows, []string{k, strconv.Itoa(u.EnrolledBy[k]), strconv.Itoa(u.UsedTotals[k])})
	}
	return &reportView{Data: u,
		Facts:      fmt.Sprintf("%d people have enrolled at least one factor. Verifications from %s to %s (UTC).", u.PeopleTotal, from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02")),
		Notes:      []string{"Enrolled counts people who chose each kind (someone with two kinds counts under both); used counts successful verifications in resets, unlocks and changes."},
		ChartTitle: "Factors enrolled and used by kind", Labels: names, Series: []Series{enrolled, used},
		Tables: []pdfTable{
			{Title: "By kind", Header: []string{"kind", "people enrolled", "verifications"}, Widths: []float64{60, 50, 50}, Rows: rows},
			{Title: "Used per day", Header: []string{"day", "kind", "verifications"}, Widths: []float64{40, 100, 30}, Rows: bucketRows(u.Buckets)},
		}}, nil
}

func buildPrivileged(c *Console, rep Reports, r *http.Request, _ int) (*reportView, error) {
	pw, err := rep.PrivilegedWeak(r.Context())
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, a := range pw.Weak {
		factors := strings.Join(a.Factors, " ")
		if factors == "" {
			factors = "none"
		}
		rows = append(rows, []string{a.Directory, a.Login, a.DisplayName, a.Why, factors, a.DN})
	}
	v := &reportView{Data: pw,
		Facts: fmt.Sprintf("%d privileged accounts: %d with an authenticator app or passkey, %d with weak factors only, as of %s.",
			pw.Privileged, pw.Strong, len(pw.Weak), pw.GeneratedAt.UTC().Format("2006-01-02 15:04 MST")),
		Notes: []string{`Privileged is what the help desk checks: AD adminCount=1 or membership (nested) of a directory's protected_groups.`,
			`Weak: no authenticator app (TOTP) and no passkey or security key; only codes by mail or SMS, backup codes, questions or directory attributes, or nothing enrolled.`},
		ChartTitle: "Privileged accounts by strength of their factors", Labels: []string{"strong", "weak only"},
		Series: []Series{{Name: "Privileged accounts", Colour: "#a61b1b", Values: []float64{float64(pw.Strong), float64(len(pw.Weak))}}},
		Tables: []pdfTable{{Title: "Privileged accounts with weak factors only", Header: []string{"directory", "login", "name", "privileged because", "factors", "dn"},
			Widths: []float64{22, 26, 34, 34, 30, 34}, Rows: rows}}}
	if len(pw.Unlisted) > 0 {
		v.Notes = append(v.Notes, "Not listed (cannot list users or read their status): "+strings.Join(pw.Unlisted, ", ")+".")
	}
	return v, nil
}

func buildRefusals(c *Console, rep Reports, r *http.Request, days int) (*reportView, error) {
	from, to := c.lastDays(days)
	f, err := rep.PasswordRefusals(r.Context(), from, to, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, n := range f.Rules {
		total += n
	}
	labels, series := reasonSeries(f.Buckets, f.Rules, dayLabel)
	return &reportView{Data: f,
		Facts:      fmt.Sprintf("%d refusals from %s to %s (UTC).", total, from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02")),
		Notes:      []string{`"rule:" is a rule of sspr's own (breach, length.min, common, banned, ...), checked before the directory is asked; "directory:" is the directory's own policy refusing the password (history, complexity, too short, ...). One refused password can fail several rules.`},
		ChartTitle: fmt.Sprintf("Passwords refused per day by rule, last %d days", days), Labels: labels, Series: series,
		Tables: []pdfTable{
			{Title: "By rule", Header: []string{"rule", "refusals"}, Widths: []float64{130, 40}, Rows: countRows(f.Rules)},
			{Title: "Per day and rule", Header: []string{"day", "rule", "refusals"}, Widths: []float64{40, 100, 30}, Rows: bucketRows(f.Buckets)},
		}}, nil
}

func money(v float64, currency string) string {
	return strconv.FormatFloat(v, 'f', 2, 64) + " " + currency
}

func buildCalls(c *Console, rep Reports, r *http.Request, months int) (*reportView, error) {
	now := c.opts.Now().UTC()
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	from := to.AddDate(0, -months, 0)
	cost, cur := c.opts.Reports.CostPerCall, c.opts.Reports.Currency
	ca, err := rep.CallsAvoided(r.Context(), from, to, cost, cur)
	if err != nil {
		return nil, err
	}
	var labels []string
	calls := Series{Name: "Calls avoided", Colour: "#1b7a3a"}
	var rows [][]string
	for _, m := range ca.Months {
		labels = append(labels, m.Month)
		calls.Values = append(calls.Values, float64(m.Calls))
		row := []string{m.Month, strconv.Itoa(m.Resets), strconv.Itoa(m.Unlocks), strconv.Itoa(m.Changes), strconv.Itoa(m.Calls)}
		if cur != "" {
			row = append(row, strconv.FormatFloat(m.Saved, 'f', 2, 64), cur)
		}
		rows = append(rows, row)
	}
	header := []string{"month", "resets", "unlocks", "changes", "calls avoided"}
	widths := []float64{30, 25, 25, 25, 30}
	facts := fmt.Sprintf("%d calls avoided in the last %d months.", ca.Calls, months)
	notes := []string{"Each successful self-service reset, unlock and change counts as one call the help desk did not take; the help desk's own resets and unlocks do not count."}
	if cur != "" {
		header, widths = append(header, "saved", "currency"), append(widths, 25, 20)
		facts = fmt.Sprintf("%d calls avoided in the last %d months, worth %s at %s a call.", ca.Calls, months, money(ca.Saved, cur), money(cost, cur))
	} else {
		notes = append(notes, "Set admin.cost_per_call to see what they are worth.")
	}
	return &reportView{Data: ca, Facts: facts, Notes: notes,
		ChartTitle: fmt.Sprintf("Help-desk calls avoided per month, last %d months", months), Labels: labels, Series: []Series{calls},
		Tables: []pdfTable{{Title: "Per month", Header: header, Widths: widths, Rows: rows}}}, nil
}

func buildAdminActions(c *Console, rep Reports, r *http.Request, days int) (*reportView, error) {
	from, to := c.lastDays(days)
	aa, err := rep.AdminActions(r.Context(), from, to)
	if err != nil {
		return nil, err
	}
	var labels []string
	done, denied := Series{Name: "Served", Colour: "#1f5fa8"}, Series{Name: "Refused", Colour: "#a61b1b"}
	var rows, totals [][]string
	for i, a := range aa.Actors {
		if i < 20 {
			labels = append(labels, a.Actor)
			done.Values = append(done.Values, float64(a.Total-a.Denied))
			denied.Values = append(denied.Values, float64(a.Denied))
		}
		totals = append(totals, []string{a.Actor, strconv.Itoa(a.Total), strconv.Itoa(a.Denied)})
		for _, e := range topKeys(a.ByEvent, len(a.ByEvent)) {
			rows = append(rows, []string{a.Actor, e, strconv.Itoa(a.ByEvent[e])})
		}
	}
	return &reportView{Data: aa,
		Facts:      fmt.Sprintf("%d people used the console from %s to %s (UTC).", len(aa.Actors), from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02")),
		Notes:      []string{"Every page opened, export downloaded, help-desk step and refusal in the console is an admin.* audit event; the audit log has each one."},
		ChartTitle: "Console actions per person", Labels: labels, Series: []Series{done, denied},
		Tables: []pdfTable{
			{Title: "By person and action", Header: []string{"actor", "event", "count"}, Widths: []float64{60, 90, 25}, Rows: rows},
			{Title: "By person", Header: []string{"actor", "actions", "refused"}, Widths: []float64{90, 40, 40}, Rows: totals},
		}}, nil
}

func buildAgents(c *Console, rep Reports, r *http.Request, _ int) (*reportView, error) {
	ag, err := rep.Agents(r.Context())
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, a := range ag.Agents {
		rows = append(rows, []string{a.Name, a.ID, a.Version, a.State, csvTime(a.RegisteredAt), csvTime(a.LastSeenAt), a.LastIP, csvTime(a.RevokedAt)})
	}
	states := []string{"active", "silent", "revoked"}
	s := Series{Name: "Agents", Colour: "#1f5fa8"}
	for _, st := range states {
		s.Values = append(s.Values, float64(ag.States[st]))
	}
	return &reportView{Data: ag,
		Facts: fmt.Sprintf("%d agents registered: %d active, %d silent, %d revoked, as of %s.", len(ag.Agents), ag.States["active"], ag.States["silent"],
			ag.States["revoked"], ag.GeneratedAt.UTC().Format("2006-01-02 15:04 MST")),
		Notes:      []string{fmt.Sprintf("Active: seen in the last %d days; silent: not seen since; revoked: its key no longer works.", int(flow.AgentSilentAfter/(24*time.Hour)))},
		ChartTitle: "Login-screen agents by state", Labels: states, Series: []Series{s},
		Tables: []pdfTable{{Title: "Agents", Header: []string{"name", "id", "version", "state", "registered", "last seen", "last address", "revoked"},
			Widths: []float64{26, 26, 16, 16, 26, 26, 22, 22}, Rows: rows}}}, nil
}
