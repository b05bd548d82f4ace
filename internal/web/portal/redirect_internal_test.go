package portal

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/web"
)

func redirectPortal(t *testing.T, r Redirects) *http.ServeMux {
	t.Helper()
	cat, err := i18n.Load("en", password.Messages())
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(nil, nil, nil, cat, web.ClientIPs{}, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Title: "T", Redirects: r})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	return mux
}

// TestProviderAnswersAreHandedOn: the OIDC callback and the SAML ACS
// verify nothing themselves; they answer with a same-origin form that
// posts exactly the provider's values (escaped) to /reset/code.
func TestProviderAnswersAreHandedOn(t *testing.T) {
	mux := redirectPortal(t, Redirects{OIDCCallback: "/oidc/cb", SAMLACS: "/saml/acs"})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oidc/cb?code=abc&state="+url.QueryEscape(`"><script>x</script>`), nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `<form method="post" action="/reset/code" id="continue-form" data-autosubmit>`) ||
		!strings.Contains(body, `name="code" value="abc"`) || !strings.Contains(body, `name="error" value=""`) || strings.Contains(body, "<script>x") {
		t.Fatalf("callback page (%d):\n%s", rec.Code, body)
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/saml/acs", strings.NewReader(url.Values{"SAMLResponse": {"PHNhbWw+"}, "RelayState": {"r1"}, "code": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	mux.ServeHTTP(rec, req)
	body = rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `name="SAMLResponse" value="PHNhbWw&#43;"`) || !strings.Contains(body, `name="RelayState" value="r1"`) ||
		strings.Contains(body, `name="code"`) {
		t.Fatalf("ACS page (%d):\n%s", rec.Code, body)
	}
}

// TestTakenReturnPathIsNoCrash: a redirect_url whose path is one of the
// portal's own is logged, not a panic at start-up.
func TestTakenReturnPathIsNoCrash(t *testing.T) {
	redirectPortal(t, Redirects{OIDCCallback: "/reset/code", SAMLACS: "/reset/code"})
}
