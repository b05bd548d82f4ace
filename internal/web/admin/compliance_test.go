package admin

import (
	"slices"
	"testing"
)

// TestComplianceCoversEveryReport: every report in the console's table
// (and the audit log and configuration pages) has a row on the
// compliance page, and every row names every framework, in order.
func TestComplianceCoversEveryReport(t *testing.T) {
	var paths []string
	for _, r := range complianceMap {
		paths = append(paths, r.Path)
		var fws []string
		for _, c := range r.Controls {
			if c.Controls == "" {
				t.Errorf("%s: %s has no controls (write — for none)", r.Report, c.Framework)
			}
			fws = append(fws, c.Framework)
		}
		if !slices.Equal(fws, Frameworks) {
			t.Errorf("%s maps %v, want %v", r.Report, fws, Frameworks)
		}
	}
	for _, rt := range RouteTable() {
		if rt.Label == "" || rt.Path == "/admin/reports" || rt.Path == "/admin/compliance" || rt.Roles == nil {
			continue
		}
		if (slices.Contains([]string{"/admin/audit", "/admin/config"}, rt.Path) || len(rt.Path) > len("/admin/reports/") && rt.Path[:len("/admin/reports/")] == "/admin/reports/") &&
			!slices.Contains(paths, rt.Path) {
			t.Errorf("the compliance page lacks %s", rt.Path)
		}
	}
}
