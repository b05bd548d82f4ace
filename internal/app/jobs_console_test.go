package app

import (
	"context"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/jobs"
)

// TestConsoleListsTheScheduledJobs: the console's jobs page (admin
// ReportOptions.Jobs) lists every enabled job with its schedule and, after
// a run, when it ended and how — what `sspr jobs list` prints, from the
// same store rows.
func TestConsoleListsTheScheduledJobs(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	a := tidyApp(t, clock, "jobs:\n  reconfirm:\n    enabled: true\n    schedule: \"0 10 * * *\"\n")
	list := a.reportOptions().Jobs
	if list == nil {
		t.Fatal("the console gets no job list")
	}
	before, err := list(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := func(st []jobs.Status) map[string]jobs.Status {
		m := map[string]jobs.Status{}
		for _, s := range st {
			m[s.Name] = s
		}
		return m
	}
	got := byName(before)
	rc, ok := got[flow.JobReconfirm]
	if !ok || rc.Schedule != "0 10 * * *" || !rc.Next.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) || !rc.LastEnded.IsZero() {
		t.Fatalf("before any run: %+v", before)
	}
	if _, ok := got["jobs_tidy"]; !ok {
		t.Errorf("the daily tidy job is not listed: %+v", before)
	}

	r, err := a.JobRunner()
	if err != nil {
		t.Fatal(err)
	}
	// The tidy job needs no directory (there is none here).
	j, ok := r.Job("jobs_tidy")
	if !ok {
		t.Fatal("no tidy job")
	}
	clock.Add(time.Minute)
	if out, err := r.RunJob(context.Background(), j, true); err != nil || out != jobs.Ran {
		t.Fatalf("run: %s, %v", out, err)
	}
	after, err := list(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tidy := byName(after)["jobs_tidy"]
	if !tidy.LastEnded.Equal(clock.Now()) || tidy.LastResult == "" || tidy.Holder != "" {
		t.Errorf("after a run: %+v", tidy)
	}
	if rc := byName(after)[flow.JobReconfirm]; !rc.LastEnded.IsZero() {
		t.Errorf("a job that did not run shows a run: %+v", rc)
	}
}
