package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/jobs"
	"github.com/sspr/sspr/internal/web"
)

// TestJobsPageListsTheJobs: the jobs page shows each enabled job's
// schedule, next run, last result and the node running it now, as HTML and
// JSON; with no job enabled it says so; a failing list is an error page,
// not an empty list.
func TestJobsPageListsTheJobs(t *testing.T) {
	ended := time.Date(2026, 12, 7, 3, 30, 12, 0, time.UTC)
	listed := []jobs.Status{
		{Name: "reminders", Schedule: "0 9 * * 1-5", Next: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC),
			LastStarted: ended.Add(-time.Minute), LastEnded: ended, LastResult: "success: sent 12", Holder: "node-2"},
		{Name: "expiry", Schedule: "0 7 * * *", Next: time.Date(2026, 12, 8, 7, 0, 0, 0, time.UTC)},
	}
	var listErr error
	console := func(list JobList) *Console {
		c, err := New(auditPages{}, web.ClientIPs{}, slog.New(slog.NewTextHandler(io.Discard, nil)),
			Options{Reports: ReportOptions{Jobs: list}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	get := func(c *Console, format string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		c.jobsView(format)(rec, httptest.NewRequest(http.MethodGet, "/admin/jobs", nil),
			&flow.Principal{Login: "a", Roles: []flow.Role{flow.RoleAuditor}})
		return rec
	}
	c := console(func(context.Context) ([]jobs.Status, error) { return listed, listErr })

	rec := get(c, "html")
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{"<code>reminders</code>", "<code>0 9 * * 1-5</code>", "2026-12-08 09:00", "2026-12-07 03:30:12",
		"success: sent 12", "node-2", "<code>expiry</code>", "never ran", "not running"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}

	rec = get(c, "json")
	var got struct{ Jobs []jobs.Status }
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Jobs) != 2 || got.Jobs[0].Holder != "node-2" || !got.Jobs[0].LastEnded.Equal(ended) || !got.Jobs[1].LastEnded.IsZero() {
		t.Errorf("JSON: %+v", got.Jobs)
	}

	if body := get(console(nil), "html").Body.String(); !strings.Contains(body, "No scheduled job is enabled") {
		t.Errorf("with no jobs:\n%s", body)
	}
	var none map[string][]jobs.Status
	if err := json.Unmarshal(get(console(nil), "json").Body.Bytes(), &none); err != nil || none["jobs"] == nil || len(none["jobs"]) != 0 {
		t.Errorf("JSON with no jobs: %v %v", none, err)
	}

	listErr = errors.New("store down")
	if rec := get(c, "html"); rec.Code == http.StatusOK || strings.Contains(rec.Body.String(), "reminders") {
		t.Errorf("a failing list: %d\n%s", rec.Code, rec.Body.String())
	}
}
