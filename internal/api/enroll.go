package api

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/web"
)

// Enroll is the enrollment flow the API drives (web.EnrollFlow).
type Enroll = web.EnrollFlow

// EnrollRoutes are the enrollment API's routes.
var EnrollRoutes = []string{
	"POST /api/v1/enroll/signin",
	"POST /api/v1/enroll/view",
	"POST /api/v1/enroll/verify/start",
	"POST /api/v1/enroll/verify",
	"POST /api/v1/enroll/add",
	"POST /api/v1/enroll/add/finish",
	"POST /api/v1/enroll/cancel",
	"POST /api/v1/enroll/remove",
	"POST /api/v1/enroll/signout",
}

type enrollRequest struct {
	SessionID    string          `json:"session_id"`
	Login        string          `json:"login"`
	Password     string          `json:"password"`
	EnrollmentID string          `json:"enrollment_id"`
	Factor       string          `json:"factor"`
	Name         string          `json:"name"`
	Code         string          `json:"code"`
	Input        json.RawMessage `json:"input"`
}

// SessionResponse is a session as the API shows it.
type SessionResponse struct {
	SessionID string `json:"session_id,omitempty"`
	flow.SessionView
}

func (a *API) registerEnroll(mux *http.ServeMux) {
	if a.enroll == nil {
		return
	}
	handlers := []func(context.Context, *http.Request, enrollRequest) (string, flow.SessionView, error){
		func(ctx context.Context, r *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			return a.enroll.SignIn(ctx, q.Login, q.Password, a.clientOf(r), web.Language(r, a.cat))
		},
		func(ctx context.Context, _ *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			v, err := a.enroll.View(ctx, q.SessionID)
			return "", v, err
		},
		func(ctx context.Context, _ *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			v, err := a.enroll.StartVerify(ctx, q.SessionID, q.EnrollmentID)
			return "", v, err
		},
		func(ctx context.Context, _ *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			v, err := a.enroll.FinishVerify(ctx, q.SessionID, response(q))
			return "", v, err
		},
		func(ctx context.Context, _ *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			v, err := a.enroll.Begin(ctx, q.SessionID, factor.Kind(q.Factor), response(q))
			return "", v, err
		},
		func(ctx context.Context, _ *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			v, err := a.enroll.Finish(ctx, q.SessionID, response(q), q.Name)
			return "", v, err
		},
		func(ctx context.Context, _ *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			v, err := a.enroll.Cancel(ctx, q.SessionID)
			return "", v, err
		},
		func(ctx context.Context, _ *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			v, err := a.enroll.Remove(ctx, q.SessionID, q.EnrollmentID)
			return "", v, err
		},
		func(ctx context.Context, _ *http.Request, q enrollRequest) (string, flow.SessionView, error) {
			return "", flow.SessionView{}, a.enroll.SignOut(ctx, q.SessionID)
		},
	}
	for i, route := range EnrollRoutes {
		h := handlers[i]
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			var q enrollRequest
			if !a.decodeInto(w, r, &q) {
				return
			}
			token, v, err := h(r.Context(), r, q)
			if err != nil {
				a.reply(w, r, 0, "", flow.Status{}, err)
				return
			}
			if route == "POST /api/v1/enroll/signout" {
				a.write(w, http.StatusOK, struct{}{}) // nothing of the session is left to show
				return
			}
			// Lists are lists, never null, as documented.
			if v.Factors == nil {
				v.Factors = []flow.EnrolledFactor{}
			}
			if v.CanAdd == nil {
				v.CanAdd = []factor.Kind{}
			}
			a.write(w, http.StatusOK, SessionResponse{SessionID: token, SessionView: v})
		})
	}
}

// response turns a request's code and input into a factor response: input
// is an object of strings (an address, a phone number, answers) or any
// other JSON (a passkey attestation or assertion).
func response(q enrollRequest) factor.Response {
	resp := factor.Response{Values: map[string]string{}}
	if q.Code != "" {
		resp.Values["code"] = q.Code
	}
	if len(q.Input) > 0 {
		var values map[string]string
		if err := json.Unmarshal(q.Input, &values); err == nil {
			maps.Copy(resp.Values, values)
		} else {
			resp.JSON = q.Input
		}
	}
	return resp
}
