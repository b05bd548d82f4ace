package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/web"
)

type oneAgent struct{}

func (oneAgent) Register(context.Context, string, []byte, string, string) (flow.Machine, error) {
	return flow.Machine{}, errors.New("not here")
}

func (oneAgent) Authenticate(_ context.Context, id, _, sig, _, _ string, _ []byte, _, _ string) (flow.Machine, error) {
	if id == "ag-1" && sig == "good" {
		return flow.Machine{ID: id, Name: "PC-1"}, nil
	}
	return flow.Machine{}, &flow.Error{Code: flow.CodeCredentialsWrong}
}

// TestARegisteredAgentIsAKnownDevice: a request signed by a registered
// agent reaches the flows as from a known device (conditional access's
// device: known); an unsigned one does not.
func TestARegisteredAgentIsAKnownDevice(t *testing.T) {
	cat, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	var seen access.Device
	h := AgentIdentity(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = access.DeviceOf(r.Context()) }),
		oneAgent{}, web.ClientIPs{}, cat, slog.Default())
	ask := func(id, sig string) (int, access.Device) {
		seen = access.Device{}
		r := httptest.NewRequest("POST", "/api/v1/reset/start", strings.NewReader(`{"login":"alice"}`))
		if id != "" {
			r.Header.Set(HeaderAgentID, id)
			r.Header.Set(HeaderAgentSignature, sig)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code, seen
	}
	if code, d := ask("ag-1", "good"); code != http.StatusOK || !d.Known || d.Via != "agent ag-1" {
		t.Errorf("a signed request: %d %+v", code, d)
	}
	if code, d := ask("", ""); code != http.StatusOK || d.Known {
		t.Errorf("an unsigned request: %d %+v", code, d)
	}
	if code, d := ask("ag-1", "bad"); code != http.StatusUnauthorized || d.Known {
		t.Errorf("a badly signed request: %d %+v", code, d)
	}
}
