package admin

import (
	"strings"
	"testing"
	"time"
)

func TestNiceMax(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 4}, {1, 4}, {3, 4}, {4, 4}, {5, 8}, {9, 12}, {37, 40}, {41, 80}, {100000, 100000}, {100001, 120000}, {0.5, 4},
	} {
		if got := niceMax(tc.in); got != tc.want {
			t.Errorf("niceMax(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestBarChartEscapesAndNeedsNoStyle: directory data in labels is escaped,
// and the SVG uses no style attributes (the CSP forbids inline styles).
func TestBarChartEscapesAndNeedsNoStyle(t *testing.T) {
	svg := string(barChart(`<b>"x"`, []string{`<script>alert(1)</script>`}, []Series{{Name: "A&B", Colour: "#123456", Values: []float64{3}}}, 0))
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<b>") || !strings.Contains(svg, "A&amp;B") {
		t.Fatalf("not escaped: %s", svg)
	}
	if strings.Contains(svg, "style=") {
		t.Fatalf("inline style: %s", svg)
	}
}

func TestMinutes(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Minute: "1 minute", 15 * time.Minute: "15 minutes", 60 * time.Minute: "60 minutes", 2 * time.Hour: "2 hours"} {
		if got := minutes(d); got != want {
			t.Errorf("minutes(%s) = %q, want %q", d, got, want)
		}
	}
}
