package admin

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/web"
)

// TestHeaderShowsTheLogo: the configured logo is in the console's header
// (signed in or not); without one, no image.
func TestHeaderShowsTheLogo(t *testing.T) {
	for logo, want := range map[string]string{"/static/brand/logo?v=0123456789ab": `<img class="logo" src="/static/brand/logo?v=0123456789ab" alt="">`, "": ""} {
		c, err := New(auditPages{}, web.ClientIPs{}, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{LogoURL: logo})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		c.render(rec, "signin", nil, nil)
		body := rec.Body.String()
		if want != "" && !strings.Contains(body, want) {
			t.Errorf("header lacks the logo:\n%.600s", body)
		}
		if want == "" && strings.Contains(body, `class="logo"`) {
			t.Errorf("a logo without one configured:\n%.600s", body)
		}
	}
}
