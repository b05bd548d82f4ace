package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// Values that differ between any two requests, whoever the account: the
// flow token, the timestamps it expires at, a passkey ceremony's random
// challenge, and the Date header.
var (
	tokenRE     = regexp.MustCompile(`"flow_id":"[A-Za-z0-9_-]{43}"`)
	timeRE      = regexp.MustCompile(`"(expires_at|code_expires_at)":"[^"]+"`)
	challengeRE = regexp.MustCompile(`"challenge":"[A-Za-z0-9_-]+"`)
	requestIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

func normaliseBody(b string) string {
	b = tokenRE.ReplaceAllString(b, `"flow_id":"T"`)
	b = challengeRE.ReplaceAllString(b, `"challenge":"C"`)
	return timeRE.ReplaceAllString(b, `"$1":"TIME"`)
}

func normaliseHeader(h http.Header) string {
	var lines []string
	for k, vs := range h {
		if k == "Date" {
			continue
		}
		if k == "X-Request-Id" {
			// A random nonce of every response (the access log's): the
			// same shape for everybody, never the same value.
			if len(vs) != 1 || !requestIDRE.MatchString(vs[0]) {
				lines = append(lines, "X-Request-Id: malformed "+strings.Join(vs, ","))
			} else {
				lines = append(lines, "X-Request-Id: ID")
			}
			continue
		}
		for _, v := range vs {
			if k == "Set-Cookie" {
				name, rest, _ := strings.Cut(v, "=")
				_, attrs, _ := strings.Cut(rest, ";")
				v = name + "=VALUE;" + attrs
			}
			lines = append(lines, k+": "+v)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

type answer struct {
	status int
	header string
	body   string
}

func same(t *testing.T, step string, known, unknown answer) {
	t.Helper()
	if known.status != unknown.status {
		t.Errorf("%s: status %d for a known login, %d for an unknown one", step, known.status, unknown.status)
	}
	if known.header != unknown.header {
		t.Errorf("%s: headers differ:\nknown:\n%s\nunknown:\n%s", step, known.header, unknown.header)
	}
	if known.body != unknown.body {
		t.Errorf("%s: bodies differ:\nknown:\n%s\nunknown:\n%s", step, known.body, unknown.body)
	}
}

// checkNoEnumeration drives the API and the portal for a known and an
// unknown login side by side and compares every answer.
func checkNoEnumeration(t *testing.T, in *instance, known string) {
	unknown := "no-such-user-" + strings.ToLower(t.Name()[len(t.Name())-3:])
	t.Run("api", func(t *testing.T) {
		run := func(login string) []answer {
			var out []answer
			rec := func(status int, h http.Header, raw []byte) {
				out = append(out, answer{status, normaliseHeader(h), normaliseBody(string(raw))})
			}
			status, body, h, raw := apiCall(t, in.URL, "/api/v1/reset", map[string]string{"login": login}, "")
			rec(status, h, raw)
			flowID, _ := body["flow_id"].(string)
			status, _, h, raw = apiCall(t, in.URL, "/api/v1/reset/status", map[string]string{"flow_id": flowID}, "")
			rec(status, h, raw)
			status, _, h, raw = apiCall(t, in.URL, "/api/v1/reset/resend", map[string]string{"flow_id": flowID}, "")
			rec(status, h, raw)
			for range 5 {
				status, _, h, raw = apiCall(t, in.URL, "/api/v1/reset/verify", map[string]string{"flow_id": flowID, "code": "00000000"}, "")
				rec(status, h, raw)
			}
			status, _, h, raw = apiCall(t, in.URL, "/api/v1/reset/password", map[string]string{"flow_id": flowID, "password": "Whatever-123"}, "")
			rec(status, h, raw)
			return out
		}
		k, u := run(known), run(unknown)
		steps := []string{"start", "status", "resend", "verify 1", "verify 2", "verify 3", "verify 4", "verify 5", "password"}
		for i := range steps {
			same(t, steps[i], k[i], u[i])
		}
	})
	t.Run("portal", func(t *testing.T) {
		run := func(login string) []answer {
			b := newBrowser(t, in.URL)
			var out []answer
			rec := func(p page) { out = append(out, answer{p.Status, normaliseHeader(p.Header), p.Body}) }
			rec(b.post("/reset/start", url.Values{"login": {login}}))
			rec(b.get("/reset/code"))
			rec(b.post("/reset/resend", nil))
			rec(b.get("/reset/code?resent=1"))
			for range 5 {
				rec(b.post("/reset/code", url.Values{"code": {"00000000"}}))
			}
			rec(b.get("/reset/password"))
			return out
		}
		k, u := run(known), run(unknown)
		steps := []string{"start", "code page", "resend", "code page after resend", "code 1", "code 2", "code 3", "code 4", "code 5", "password page"}
		for i := range steps {
			same(t, steps[i], k[i], u[i])
		}
	})
}

func TestNoEnumerationDemoDirectory(t *testing.T) {
	in := start(t, startDemoDirectory(t), "")
	checkNoEnumeration(t, in, "alice")
}

func TestNoEnumerationActiveDirectory(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	cfg.Name = "corp"
	in := start(t, directoryYAML("ad", cfg, ""), "")
	u := dirtest.CreateADUser(t, "Initial-Pass-1")
	checkNoEnumeration(t, in, u.Login)
}
