package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/web"
)

// Agents is the machine-identity flow of login-screen agents.
type Agents interface {
	Register(ctx context.Context, token string, publicKey []byte, version, clientIP string) (flow.Machine, error)
	Authenticate(ctx context.Context, agentID, timestamp, signature, method, requestURI string, body []byte, version, clientIP string) (flow.Machine, error)
}

// The headers a registered agent signs its requests with.
const (
	HeaderAgentID        = "X-SSPR-Agent"
	HeaderAgentTime      = "X-SSPR-Timestamp"
	HeaderAgentSignature = "X-SSPR-Signature"
	HeaderAgentVersion   = "X-SSPR-Agent-Version"
)

type machineKey struct{}

// MachineOf returns the registered agent a request came from, if it was
// signed by one.
func MachineOf(ctx context.Context) (flow.Machine, bool) {
	m, ok := ctx.Value(machineKey{}).(flow.Machine)
	return m, ok
}

// AgentIdentity checks the signature of every request that names an agent
// (HeaderAgentID) and refuses it with 401 when it does not verify; a
// request that names none passes unchanged (the portal, plain API
// clients). The body is read (it is bounded by the server's body limit)
// and handed on unchanged.
func AgentIdentity(next http.Handler, agents Agents, ips web.ClientIPs, cat *i18n.Catalogue, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderAgentID)
		if id == "" || !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			writeAgentRefusal(w, r, cat)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		m, err := agents.Authenticate(r.Context(), id, r.Header.Get(HeaderAgentTime), r.Header.Get(HeaderAgentSignature),
			r.Method, r.URL.RequestURI(), body, r.Header.Get(HeaderAgentVersion), ips.Of(r))
		if err != nil {
			var fe *flow.Error
			if errors.As(err, &fe) && fe.Code == flow.CodeInternal {
				log.Error("api: checking an agent's signature failed", "err", err)
			}
			writeAgentRefusal(w, r, cat)
			return
		}
		// A registered agent is a known device for conditional access.
		ctx := access.WithDevice(context.WithValue(r.Context(), machineKey{}, m), access.Device{Known: true, Via: "agent " + m.ID})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func writeAgentRefusal(w http.ResponseWriter, r *http.Request, cat *i18n.Catalogue) {
	lang := web.Language(r, cat)
	(&API{}).write(w, http.StatusUnauthorized, map[string]any{"error": web.Message{Code: "agent_unauthorized", Message: cat.T(lang, "web.agent_unauthorized")}})
}

// AgentRoutes lists the agents' routes, for the OpenAPI test.
var AgentRoutes = []string{"POST /api/v1/agents/register"}

// RegisterAgents adds the agents' registration route.
func RegisterAgents(mux *http.ServeMux, agents Agents, ips web.ClientIPs, cat *i18n.Catalogue) {
	mux.HandleFunc(AgentRoutes[0], func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Token     string `json:"token"`
			PublicKey string `json:"public_key"`
			Version   string `json:"version"`
		}
		a := &API{cat: cat, ips: ips, log: slog.Default()}
		if !a.decodeInto(w, r, &req) {
			return
		}
		key, err := base64.StdEncoding.DecodeString(req.PublicKey)
		if err != nil {
			key = nil
		}
		m, err := agents.Register(r.Context(), req.Token, key, req.Version, ips.Of(r))
		if err != nil {
			a.reply(w, r, 0, "", flow.Status{}, err)
			return
		}
		a.write(w, http.StatusCreated, map[string]string{"agent_id": m.ID, "name": m.Name})
	})
}

// clientOf is who a request is counted and audited as: the client address
// (behind trusted proxies), or, for a registered login-screen agent, the
// machine with its address ("agent:laptop-7/3f2a9c1e@203.0.113.5"), so the
// per-address limits become per-machine limits (many people behind one NAT
// address) and the audit log names the machine.
func (a *API) clientOf(r *http.Request) string {
	ip := a.ips.Of(r)
	if m, ok := MachineOf(r.Context()); ok {
		id := m.ID
		if len(id) > 8 {
			id = id[:8]
		}
		return "agent:" + m.Name + "/" + id + "@" + ip
	}
	return ip
}
