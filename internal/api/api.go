package api

import (
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/web"
)

// OpenAPI is the document describing this API.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Reset is the reset and unlock flow the API drives (web.ResetFlow).
type Reset = web.ResetFlow

// Change is the change-password flow the API drives (web.ChangeFlow).
type Change = web.ChangeFlow

// API serves /api/v1.
type API struct {
	reset  Reset
	change Change
	enroll Enroll
	cat    *i18n.Catalogue
	ips    web.ClientIPs
	log    *slog.Logger
	// KnownDevices, when set, remembers a browser whose verification
	// completed (conditional access's known device).
	KnownDevices *web.KnownDevices
	// CertificateHeader is the header a trusted proxy passes the client
	// certificate in (verification.certificate.proxy_header).
	CertificateHeader string
}

// New returns the API.
func New(reset Reset, change Change, enroll Enroll, cat *i18n.Catalogue, ips web.ClientIPs, log *slog.Logger) *API {
	return &API{reset: reset, change: change, enroll: enroll, cat: cat, ips: ips, log: log}
}

// Routes lists method and path of every route, for the OpenAPI test.
var Routes = []string{
	"POST /api/v1/reset",
	"POST /api/v1/reset/status",
	"POST /api/v1/reset/resend",
	"POST /api/v1/reset/verify",
	"POST /api/v1/reset/choose",
	"POST /api/v1/reset/password",
	"POST /api/v1/unlock",
	"POST /api/v1/unlock/confirm",
	"POST /api/v1/change",
	"POST /api/v1/password/check",
	"POST /api/v1/password/rules",
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/pow", func(w http.ResponseWriter, r *http.Request) {
		c, err := a.reset.PoWChallenge()
		if err != nil {
			a.reply(w, r, 0, "", flow.Status{}, err)
			return
		}
		a.write(w, http.StatusOK, map[string]any{"enabled": c != nil, "challenge": c})
	})
	mux.HandleFunc("GET /api/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	handlers := []http.HandlerFunc{a.start, a.status, a.resend, a.verify, a.choose, a.password, a.startUnlock, a.unlock, a.changePassword, a.checkPassword, a.passwordRules}
	for i, route := range Routes {
		mux.HandleFunc(route, handlers[i])
	}
	a.registerEnroll(mux)
	// Any other /api/ request answers in the documented error shape, not
	// the portal's HTML or net/http's plain text.
	mux.HandleFunc("/api/", a.noRoute)
}

// allowed maps each API path to the methods it answers, for 405's Allow.
func (a *API) allowed() map[string][]string {
	out := map[string][]string{"/api/v1/pow": {http.MethodGet}, "/api/openapi.yaml": {http.MethodGet}}
	routes := Routes
	if a.enroll != nil {
		routes = append(append([]string{}, Routes...), EnrollRoutes...)
	}
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		out[path] = append(out[path], method)
	}
	return out
}

// noRoute answers a request no API route took: 405 with Allow when the
// path exists for other methods, else 404.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	lang := web.Language(r, a.cat)
	if methods, ok := a.allowed()[r.URL.Path]; ok {
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		a.write(w, http.StatusMethodNotAllowed, map[string]any{"error": web.Message{Code: "method_not_allowed", Message: a.cat.T(lang, "web.method_not_allowed")}})
		return
	}
	a.write(w, http.StatusNotFound, map[string]any{"error": web.Message{Code: "not_found", Message: a.cat.T(lang, "web.api_not_found")}})
}

// Forbidden answers a cross-origin request to the API (see
// web.CrossOrigin) in the documented error shape.
func (a *API) Forbidden() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.write(w, http.StatusForbidden, map[string]any{"error": web.Message{Code: "forbidden_origin",
			Message: a.cat.T(web.Language(r, a.cat), "web.forbidden_origin")}})
	})
}

// StatusResponse is the flow as the API shows it.
type StatusResponse struct {
	FlowID          string         `json:"flow_id,omitempty"`
	Factor          factor.Kind    `json:"factor,omitempty"`
	Prompt          map[string]any `json:"prompt,omitempty"`
	Choices         []factor.Kind  `json:"choices,omitempty"`
	FactorsDone     int            `json:"factors_done"`
	FactorsRequired int            `json:"factors_required"`
	Action          flow.Action    `json:"action"`
	State           flow.State     `json:"state"`
	ExpiresAt       time.Time      `json:"expires_at"`
	CodeLength      int            `json:"code_length"`
	CodeExpiresAt   *time.Time     `json:"code_expires_at,omitempty"`
	AttemptsLeft    int            `json:"attempts_left,omitempty"`
	// Notices are the person's policy's, once a first factor is verified.
	Notices []string `json:"notices,omitempty"`
	// Sync lists each sync target's outcome once a reset is done (when
	// sync targets are configured); ask /reset/status again for news.
	Sync []SyncStatus `json:"sync,omitempty"`
}

type request struct {
	// PoWToken and PoWSolution answer the proof-of-work puzzle (GET
	// /api/v1/pow), when it is on.
	PoWToken    string `json:"pow_token"`
	PoWSolution string `json:"pow_solution"`
	// Directory picks the directory to look the login up in.
	Directory string `json:"directory"`
	// Factor is a factor kind to choose.
	Factor string `json:"factor"`
	// Response answers a challenge that is not a plain code: form-like
	// values (questions) or a JSON document (a passkey assertion).
	Response    json.RawMessage `json:"response"`
	Login       string          `json:"login"`
	OldPassword string          `json:"old_password"`
	FlowID      string          `json:"flow_id"`
	Code        string          `json:"code"`
	Password    string          `json:"password"`
}

// decode reads a JSON body of at most 16 KiB; it answers and returns false
// when the body is not acceptable.
func (a *API) decode(w http.ResponseWriter, r *http.Request, into *request) bool {
	return a.decodeInto(w, r, into)
}

// decodeInto reads a JSON body of at most 16 KiB into any request type.
func (a *API) decodeInto(w http.ResponseWriter, r *http.Request, into any) bool {
	lang := web.Language(r, a.cat)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		a.write(w, http.StatusUnsupportedMediaType, map[string]any{"error": web.Message{Code: "unsupported_media_type", Message: a.cat.T(lang, "web.bad_request")}})
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		a.write(w, http.StatusBadRequest, map[string]any{"error": web.Message{Code: "bad_request", Message: a.cat.T(lang, "web.bad_request")}})
		return false
	}
	return true
}

func (a *API) start(w http.ResponseWriter, r *http.Request) { a.startFlow(w, r, flow.ActionReset) }

func (a *API) startUnlock(w http.ResponseWriter, r *http.Request) {
	a.startFlow(w, r, flow.ActionUnlock)
}

func (a *API) startFlow(w http.ResponseWriter, r *http.Request, action flow.Action) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	token, st, err := a.reset.Start(r.Context(), flow.StartInput{Action: action, Login: req.Login, ClientIP: a.clientOf(r), Language: web.Language(r, a.cat),
		PoWToken: req.PoWToken, PoWSolution: req.PoWSolution, Directory: req.Directory})
	a.reply(w, r, http.StatusAccepted, token, st, err)
}

func (a *API) unlock(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	st, err := a.reset.Unlock(r.Context(), req.FlowID, a.clientOf(r))
	a.reply(w, r, http.StatusOK, "", st, err)
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	token, err := a.change.ChangeTracked(r.Context(), flow.ChangeInput{Login: req.Login, OldPassword: req.OldPassword, NewPassword: req.Password,
		Confirm: req.Password, ClientIP: a.clientOf(r), Language: web.Language(r, a.cat)})
	if err != nil {
		a.reply(w, r, 0, "", flow.Status{}, err)
		return
	}
	if token != "" {
		// Sync targets: the answer lists them, and flow_id reads their
		// outcomes later (/reset/status).
		if st, err := a.reset.Status(r.Context(), token); err == nil {
			a.reply(w, r, http.StatusOK, token, st, nil)
			return
		}
	}
	a.write(w, http.StatusOK, map[string]string{"state": string(flow.StateDone)})
}

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	st, err := a.reset.Status(r.Context(), req.FlowID)
	a.reply(w, r, http.StatusOK, "", st, err)
}

func (a *API) resend(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	st, err := a.reset.Resend(r.Context(), req.FlowID, a.clientOf(r))
	a.reply(w, r, http.StatusOK, "", st, err)
}

func (a *API) verify(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	resp := factor.Response{Values: map[string]string{}}
	if req.Code != "" {
		resp.Values["code"] = req.Code
	}
	if len(req.Response) > 0 {
		// An object of strings is a set of answers; anything else (a
		// passkey assertion) is handed to the factor as JSON.
		var values map[string]string
		if err := json.Unmarshal(req.Response, &values); err == nil {
			maps.Copy(resp.Values, values)
		} else {
			resp.JSON = req.Response
		}
	}
	// The certificate factor's answer is what the TLS handshake proved,
	// never a value in the body.
	a.ips.WithClientCertificate(r, a.CertificateHeader, resp.Values)
	st, err := a.reset.Verify(r.Context(), req.FlowID, resp, a.clientOf(r))
	if err == nil && st.State == flow.StateVerified {
		a.KnownDevices.Remember(w)
	}
	a.reply(w, r, http.StatusOK, "", st, err)
}

func (a *API) choose(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	st, err := a.reset.Choose(r.Context(), req.FlowID, factor.Kind(req.Factor), a.clientOf(r))
	a.reply(w, r, http.StatusOK, "", st, err)
}

func (a *API) password(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	st, err := a.reset.SetPassword(r.Context(), req.FlowID, req.Password, req.Password, a.clientOf(r))
	a.reply(w, r, http.StatusOK, "", st, err)
}

// checkPassword runs the password rules: a verified reset flow's (with its
// directory's policy and the person's names) when flow_id is given, else the
// rules that hold for everyone, with login as context.
func (a *API) checkPassword(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	var res password.Result
	var err error
	if req.FlowID != "" {
		res, err = a.reset.CheckPassword(r.Context(), req.FlowID, req.Password)
	} else {
		res, err = a.reset.CheckPasswordFor(r.Context(), req.Login, req.Password)
	}
	if err != nil {
		a.reply(w, r, 0, "", flow.Status{}, err)
		return
	}
	a.write(w, http.StatusOK, web.Result(a.cat, web.Language(r, a.cat), res))
}

// passwordRules lists the rules of a verified reset flow, to show before
// the person types.
func (a *API) passwordRules(w http.ResponseWriter, r *http.Request) {
	var req request
	if !a.decode(w, r, &req) {
		return
	}
	checks, err := a.reset.PasswordRules(r.Context(), req.FlowID)
	if err != nil {
		a.reply(w, r, 0, "", flow.Status{}, err)
		return
	}
	a.write(w, http.StatusOK, map[string]any{"rules": web.Checks(a.cat, web.Language(r, a.cat), checks)})
}

func (a *API) reply(w http.ResponseWriter, r *http.Request, okStatus int, token string, st flow.Status, err error) {
	if err != nil {
		var fe *flow.Error
		if !errors.As(err, &fe) {
			fe = &flow.Error{Code: flow.CodeInternal, Err: err}
		}
		if fe.Code == flow.CodeInternal {
			a.log.Error("api: step failed", "err", err)
		}
		switch {
		case fe.Code == flow.CodeDirectoryDown:
			w.Header().Set("Retry-After", "60")
		case fe.RetryAfter > 0:
			w.Header().Set("Retry-After", strconv.Itoa(int(fe.RetryAfter.Seconds())+1))
		}
		a.write(w, web.HTTPStatus(fe.Code), map[string]any{"error": web.Explain(a.cat, web.Language(r, a.cat), fe)})
		return
	}
	resp := StatusResponse{FlowID: token, Factor: st.Factor, Prompt: st.Prompt, Choices: st.Choices, FactorsDone: st.FactorsDone,
		FactorsRequired: st.FactorsRequired, Action: st.Action, State: st.State, ExpiresAt: st.ExpiresAt, CodeLength: st.CodeLength, AttemptsLeft: st.AttemptsLeft,
		Notices: st.Notices}
	if !st.CodeExpiresAt.IsZero() {
		resp.CodeExpiresAt = &st.CodeExpiresAt
	}
	if len(st.Sync) > 0 {
		resp.Sync = syncStatuses(a.cat.For(web.Language(r, a.cat)), st.Sync, time.Now())
	}
	a.write(w, okStatus, resp)
}

func (a *API) write(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
