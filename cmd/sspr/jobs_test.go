package main

import (
	"os"
	"strings"
	"testing"
)

// TestJobsListAndRun: `sspr jobs list` shows the enabled jobs with their
// schedules; `sspr jobs run` refuses an unknown name, and a run whose
// directory is down fails, says why, and is audited as a failed job.run.
func TestJobsListAndRun(t *testing.T) {
	cfgPath, _ := auditSetup(t, 0)
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte("jobs:\n  reminders: {enabled: true, schedule: \"30 8 * * *\"}\n  expiry: {enabled: true}\n")...)
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runSSPR(t, "jobs", "list", "-c", cfgPath)
	if err != nil {
		t.Fatalf("jobs list: %v\n%s", err, out)
	}
	for _, want := range []string{"enrollment_reminders", "30 8 * * *", "password_expiry", "0 7 * * *"} {
		if !strings.Contains(out, want) {
			t.Errorf("jobs list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "enrollment_reconfirm") {
		t.Errorf("jobs list shows a job that is not enabled:\n%s", out)
	}
	if out, err := runSSPR(t, "jobs", "run", "nosuch", "-c", cfgPath); err == nil || !strings.Contains(out, `no enabled job is called "nosuch"`) {
		t.Fatalf("jobs run nosuch: %v\n%s", err, out)
	}
	if out, err := runSSPR(t, "jobs", "run", "password_expiry", "-c", cfgPath); err == nil || !strings.Contains(out, "listing the users of corp") {
		t.Fatalf("jobs run with the directory down: %v\n%s", err, out)
	}
	out, err = runSSPR(t, "audit", "export", "-c", cfgPath)
	if err != nil {
		t.Fatalf("audit export: %v\n%s", err, out)
	}
	if !strings.Contains(out, `"job.run"`) || !strings.Contains(out, `\"job\":\"password_expiry\"`) || !strings.Contains(out, `"outcome":"failure"`) {
		t.Fatalf("the failed run is not in the audit log:\n%s", out)
	}
}
