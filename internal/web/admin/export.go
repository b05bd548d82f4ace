package admin

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sspr/sspr/internal/flow"
)

// Export renders a report exactly as its console export (the same route,
// the same CSV or PDF) for a scheduled report: no session and no audit
// record of its own (the job's run is audited). report is the report's
// path name (coverage, expiring, ...), format csv or pdf, days its period.
func (c *Console) Export(ctx context.Context, report, format string, days int) (contentType string, data []byte, err error) {
	path := "/admin/reports/" + report + "." + format
	for _, rt := range c.Routes() {
		if rt.Method != http.MethodGet || rt.Path != path {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, path+"?days="+strconv.Itoa(days), nil)
		if err != nil {
			return "", nil, err
		}
		w := &bufferWriter{header: http.Header{}}
		rt.handler(w, req, &flow.Principal{Login: "sspr", DisplayName: "scheduled report", Roles: []flow.Role{flow.RoleAuditor}})
		if w.status >= 400 {
			return "", nil, fmt.Errorf("the %s report failed with HTTP status %d (the log says why)", report, w.status)
		}
		return w.header.Get("Content-Type"), w.buf.Bytes(), nil
	}
	return "", nil, fmt.Errorf("the console has no %s export of the %s report", format, report)
}

// bufferWriter collects a handler's response.
type bufferWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (w *bufferWriter) Header() http.Header { return w.header }
func (w *bufferWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *bufferWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.buf.Write(p)
}
