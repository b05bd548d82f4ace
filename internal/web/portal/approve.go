package portal

import (
	"context"
	"net/http"

	"github.com/sspr/sspr/internal/flow"
)

// Approvals is the flow behind the page a manager's approval link opens
// (flow.Approvals).
type Approvals interface {
	Show(ctx context.Context, token string) (flow.ApprovalView, error)
	Decide(ctx context.Context, token, choice, clientIP string) (flow.ApprovalView, error)
}

// approvalPage is what the manager sees: the request, the choice the link
// proposed, and the token for the confirming POST.
type approvalPage struct {
	View     flow.ApprovalView
	Token    string
	Proposed string
	Decided  string
	// Problem is the message key of a link that cannot be used.
	Problem string
}

func (p *Portal) registerApprove(mux *http.ServeMux) {
	if p.opts.Approvals == nil {
		return
	}
	mux.HandleFunc("GET /approve", p.approvePage)
	mux.HandleFunc("POST /approve", p.approve)
}

// approvePage shows the request a link names and asks the manager to
// confirm. Opening it decides nothing: mail scanners and previews open
// links, so only the form's POST decides.
func (p *Portal) approvePage(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	tok := r.URL.Query().Get("token")
	ap := &approvalPage{Token: tok, Proposed: r.URL.Query().Get("decision")}
	if ap.Proposed != "approve" && ap.Proposed != "deny" {
		ap.Proposed = "approve"
	}
	v, err := p.opts.Approvals.Show(r.Context(), tok)
	status := http.StatusOK
	if err != nil {
		ap.Problem, status = approvalProblem(err)
		ap.Token = ""
	}
	ap.View, pg.Approval = v, ap
	pg.PageTitle = pg.T("approve.title")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	p.render(w, status, "approve", pg)
}

// approve records the manager's confirmed decision.
func (p *Portal) approve(w http.ResponseWriter, r *http.Request) {
	pg := p.newPage(w, r)
	_ = r.ParseForm()
	ap := &approvalPage{}
	v, err := p.opts.Approvals.Decide(r.Context(), r.PostFormValue("token"), r.PostFormValue("decision"), p.ips.Of(r))
	status := http.StatusOK
	if err != nil {
		ap.Problem, status = approvalProblem(err)
	} else {
		ap.Decided = v.Decided
	}
	ap.View, pg.Approval = v, ap
	pg.PageTitle = pg.T("approve.title")
	p.render(w, status, "approve", pg)
}

// approvalProblem explains a link that cannot be used.
func approvalProblem(err error) (key string, status int) {
	switch asFlowError(err).Code {
	case flow.CodeCodeExpired:
		return "approve.expired", http.StatusGone
	case flow.CodeCodeUsed:
		return "approve.used", http.StatusConflict
	case flow.CodeFlowNotFound, flow.CodeWrongState:
		return "approve.invalid", http.StatusNotFound
	}
	return "flow.internal", http.StatusInternalServerError
}
