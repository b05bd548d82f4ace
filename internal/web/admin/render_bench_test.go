package admin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/web"
)

// fixedCoverage is a Flow whose coverage report is given; only the
// rendering is measured (BenchmarkCoverage100k in internal/flow measures
// computing it from the real directory).
type fixedCoverage struct {
	Flow
	cov *flow.Coverage
}

func (f fixedCoverage) Coverage(context.Context) (*flow.Coverage, error) { return f.cov, nil }

// BenchmarkRenderCoverage100k renders the coverage page, CSV and PDF for
// 100,000 people in 10 OUs, two thirds of them not enrolled.
func BenchmarkRenderCoverage100k(b *testing.B) {
	cov := &flow.Coverage{GeneratedAt: time.Now(), Users: 100000}
	for p := 0; p < 10; p++ {
		cov.OUs = append(cov.OUs, flow.CoverageRow{Directory: "corp", OU: fmt.Sprintf("ou=part%d,dc=example,dc=test", p), Users: 10000, Enrolled: 3334})
	}
	for i := 0; i < 100000; i++ {
		if i%3 != 0 {
			cov.NotEnrolled = append(cov.NotEnrolled, flow.NotEnrolled{Directory: "corp", Login: fmt.Sprintf("bench%06d", i),
				DisplayName: fmt.Sprintf("Bench Person %d", i), DN: fmt.Sprintf("uid=bench%06d,ou=part%d,dc=example,dc=test", i, i%10)})
		}
	}
	cov.Enrolled = 33334
	c, err := New(fixedCoverage{cov: cov}, web.ClientIPs{}, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"html", "csv", "pdf"} {
		b.Run(format, func(b *testing.B) {
			h := c.coverage(format)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h(rec, httptest.NewRequest(http.MethodGet, "/admin/reports/coverage", nil), &flow.Principal{Login: "a", Roles: []flow.Role{flow.RoleAdmin}})
				if rec.Code != http.StatusOK || rec.Body.Len() < 1000 {
					b.Fatalf("%d, %d bytes", rec.Code, rec.Body.Len())
				}
			}
		})
	}
}
