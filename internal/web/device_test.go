package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/secrets"
)

// TestKnownDevices: a cookie set by Remember marks later requests as from
// a known device; a forged, foreign or expired one does not.
func TestKnownDevices(t *testing.T) {
	ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: bytes.Repeat([]byte{3}, secrets.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	k := &KnownDevices{Devices: &access.Devices{Ring: ring, TTL: time.Hour}, Secure: true, Now: func() time.Time { return now }}
	rec := httptest.NewRecorder()
	k.Remember(rec)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != access.DeviceCookie || !cookies[0].HttpOnly || !cookies[0].Secure || cookies[0].MaxAge != 3600 {
		t.Fatalf("cookie: %+v", cookies)
	}
	var seen access.Device
	h := k.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = access.DeviceOf(r.Context()) }))
	ask := func(value string) access.Device {
		seen = access.Device{}
		r := httptest.NewRequest("GET", "/", nil)
		if value != "" {
			r.AddCookie(&http.Cookie{Name: access.DeviceCookie, Value: value})
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		return seen
	}
	if d := ask(cookies[0].Value); !d.Known || d.Via != "cookie" {
		t.Errorf("a remembered browser: %+v", d)
	}
	for name, v := range map[string]string{"none": "", "forged": "d1.1.9999999999.AAAA.AAAA", "truncated": cookies[0].Value[:20]} {
		if d := ask(v); d.Known {
			t.Errorf("%s cookie counted as known", name)
		}
	}
	now = now.Add(time.Hour)
	if d := ask(cookies[0].Value); d.Known {
		t.Error("an expired cookie counted as known")
	}
	var none *KnownDevices
	none.Remember(rec) // nil-safe
	if none.Middleware(h) == nil {
		t.Error("a nil KnownDevices has no middleware")
	}
}

// TestExplainAccessRefused: an access refusal is a 403 whose message is
// the catalogue's headline followed by the rule's message and the help
// desk.
func TestExplainAccessRefused(t *testing.T) {
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	m := Explain(cat, "en", &flow.Error{Code: flow.CodeAccessRefused, Detail: "Not from there. Help desk: +1 555 0100."})
	if m.Code != "access_refused" || m.Message != "Your organisation does not allow this request from here. Not from there. Help desk: +1 555 0100." {
		t.Errorf("message: %+v", m)
	}
	if HTTPStatus(flow.CodeAccessRefused) != http.StatusForbidden {
		t.Error("access_refused is not a 403")
	}
}
