package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sspr/sspr/internal/flow"
)

// The three expiry reports (passwords expiring within N days, passwords
// expired, accounts expiring within N days) share one walk of the
// directories (flow.Admin.Expiry) and one page template.

// expiryKind picks one of the three reports.
type expiryKind struct {
	slug, title, what, empty string
	rows                     func(*flow.ExpiryReport) []flow.ExpiryRow
	// chart: expiring reports draw a bar per day ahead.
	chart bool
}

var (
	expiringPasswords = expiryKind{slug: "expiring", title: "Passwords expiring", what: "Password expires",
		empty: "No password expires in this period.", rows: func(e *flow.ExpiryReport) []flow.ExpiryRow { return e.Expiring }, chart: true}
	expiredPasswords = expiryKind{slug: "expired", title: "Expired passwords", what: "Password expired",
		empty: "No password has expired.", rows: func(e *flow.ExpiryReport) []flow.ExpiryRow { return e.Expired }}
	expiringAccounts = expiryKind{slug: "accounts-expiring", title: "Accounts expiring", what: "Account expires",
		empty: "No account expires in this period.", rows: func(e *flow.ExpiryReport) []flow.ExpiryRow { return e.Accounts }, chart: true}
)

// expiryRoutes are the reports' routes: the help desk reads them too (it
// takes the calls of people whose password ran out).
func (c *Console) expiryRoutes() []Route {
	var out []Route
	for _, k := range []expiryKind{expiringPasswords, expiredPasswords, expiringAccounts} {
		base := "/admin/reports/" + k.slug
		name := "report." + k.slug
		out = append(out,
			Route{Method: "GET", Path: base, Name: name, Label: k.title, Roles: anyRole, Nav: true, handler: c.expiry(k, "html")},
			Route{Method: "GET", Path: base + ".csv", Name: name + "_csv", Roles: anyRole, handler: c.expiry(k, "csv")},
			Route{Method: "GET", Path: base + ".json", Name: name + "_json", Roles: anyRole, handler: c.expiry(k, "json")},
			Route{Method: "GET", Path: base + ".pdf", Name: name + "_pdf", Roles: anyRole, handler: c.expiry(k, "pdf")})
	}
	return out
}

// expiryChart counts the rows per day ahead, one bar per day of the
// period.
func expiryChart(rows []flow.ExpiryRow, days int, from time.Time) ([]string, []Series) {
	s := Series{Name: "Accounts", Colour: "#c9692c", Values: make([]float64, days)}
	var labels []string
	for i := range days {
		labels = append(labels, from.AddDate(0, 0, i).Format("Jan 2"))
	}
	for _, r := range rows {
		if i := r.DaysLeft - 1; i >= 0 && i < days {
			s.Values[i]++
		}
	}
	return labels, []Series{s}
}

func (c *Console) expiry(k expiryKind, format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		days, err := strconv.Atoi(r.URL.Query().Get("days"))
		if err != nil || days < 1 || days > 366 {
			days = 30
		}
		rep, err := c.flow.Expiry(r.Context(), time.Duration(days)*24*time.Hour)
		if err != nil {
			c.fail(w, err)
			return
		}
		rows := k.rows(rep)
		subtitle := fmt.Sprintf("%d of %d accounts, as of %s.", len(rows), rep.People, rep.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"))
		if k.chart {
			subtitle = fmt.Sprintf("%d of %d accounts within %d days, as of %s.", len(rows), rep.People, days, rep.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"))
		}
		switch format {
		case "json":
			writeJSON(w, map[string]any{"generated_at": rep.GeneratedAt, "days": days, "people": rep.People, "rows": rows, "unlisted": rep.Unlisted})
		case "csv":
			cw := csvWriter(w, k.slug+".csv")
			_ = cw.Write([]string{"directory", "login", "display name", "dn", "manager", "at", "days left"})
			for _, x := range rows {
				_ = cw.Write([]string{csvSafe(x.Directory), csvSafe(x.Login), csvSafe(x.DisplayName), csvSafe(x.DN), csvSafe(x.Manager), csvTime(x.At), strconv.Itoa(x.DaysLeft)})
			}
			cw.Flush()
		case "pdf":
			rep := pdfReport{Title: k.title, Subtitle: subtitle}
			if k.chart {
				rep.Labels, rep.Series = expiryChart(rows, days, rep0(c))
			}
			var table [][]string
			for _, x := range rows {
				table = append(table, []string{x.Directory, x.Login, x.DisplayName, x.At.UTC().Format("2006-01-02 15:04"), strconv.Itoa(x.DaysLeft)})
			}
			rep.Tables = []pdfTable{{Title: k.title, Header: []string{"Directory", "Login", "Name", k.what + " (UTC)", "Days"}, Widths: []float64{30, 35, 55, 40, 20}, Rows: table}}
			w.Header().Set("Content-Type", "application/pdf")
			w.Header().Set("Content-Disposition", `attachment; filename="`+k.slug+`.pdf"`)
			if err := rep.write(w); err != nil {
				c.log.Error("writing an expiry PDF failed", "report", k.slug, "err", err)
			}
		default:
			data := map[string]any{"Title": k.title, "Kind": k.slug, "What": k.what, "Empty": k.empty, "Days": days, "Rows": rows,
				"Report": rep, "Subtitle": subtitle, "Windowed": k.chart}
			if k.chart {
				labels, series := expiryChart(rows, days, rep0(c))
				data["Chart"] = barChart(fmt.Sprintf("%s per day, next %d days", k.title, days), labels, series, 0)
			}
			c.render(w, "expiry", p, data)
		}
	}
}

// rep0 is the first day of an expiry chart: tomorrow's bar holds what
// expires within one day.
func rep0(c *Console) time.Time { return c.opts.Now().UTC().AddDate(0, 0, 1) }
