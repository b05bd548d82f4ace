package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/web"
)

// auditPages is a Flow whose audit log holds ids 1..n (only paging is
// under test here; the filters run in the store, tested there).
type auditPages struct {
	Flow
	n     int64
	asked *flow.AuditQuery
}

func (a auditPages) Audit(_ context.Context, q flow.AuditQuery) (*flow.AuditPage, error) {
	*a.asked = q
	page := &flow.AuditPage{Verified: int(a.n)}
	top := a.n
	if q.BeforeID > 0 {
		top = q.BeforeID - 1
	}
	for id := top; id > 0 && len(page.Records) < q.Limit; id-- {
		page.Records = append(page.Records, flow.AuditRow{ID: id, At: time.Unix(id, 0).UTC(), Event: "reset.done", Actor: "ann", Outcome: "success"})
	}
	return page, nil
}

// TestAuditViewerPagesBackwards: a full page links to the older records,
// keeping the filters; the last page does not.
func TestAuditViewerPagesBackwards(t *testing.T) {
	var asked flow.AuditQuery
	c, err := New(auditPages{n: 250, asked: &asked}, web.ClientIPs{}, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := c.auditView("html")
	get := func(target string) string {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodGet, target, nil), &flow.Principal{Login: "a", Roles: []flow.Role{flow.RoleAuditor}})
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", target, rec.Code)
		}
		return rec.Body.String()
	}
	body := get("/admin/audit?actor=ann&outcome=success")
	if asked.Actor != "ann" || asked.Outcome != "success" || asked.Limit != auditPageSize {
		t.Fatalf("asked %+v", asked)
	}
	if !strings.Contains(body, `href="/admin/audit?actor=ann&amp;before=51&amp;outcome=success"`) {
		t.Fatalf("no link to the older records:\n%s", body)
	}
	body = get("/admin/audit?actor=ann&before=51&outcome=success")
	if asked.BeforeID != 51 || strings.Contains(body, `id="older"`) || !strings.Contains(body, "1970-01-01 00:00:50") {
		t.Fatalf("second page (asked %+v):\n%.500s", asked, body)
	}
}
