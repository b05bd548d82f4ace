package flow

import (
	"context"
	"errors"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/store"
)

// approvalFactor is what the flow needs of the manager-approval factor
// beyond factor.Factor (package managerapproval).
type approvalFactor interface {
	approvalLinker
	RequestOf(token string) string
	RequestOfState(state []byte) string
	DecisionOf(signed string) (requestID, choice string, ok bool)
}

// awaitApproval is the person's side of a manager approval. The person
// (their page polls, or they press "check again") asks Verify; while the
// manager has not decided, the answer is the same waiting status, and no
// attempt is counted, since nobody answered wrongly. Once the manager
// decided, resp carries the signed decision for the factor's Verify; a
// denial ends the flow here, with its own message. A decoy challenge (a
// person without a manager) waits the same way until it expires.
// handled is true when the step is answered here.
func (r *Reset) awaitApproval(ctx context.Context, f *record.Flow, kind factor.Kind, resp factor.Response, clientIP string,
	now time.Time) (out factor.Response, handled bool, err error) {
	af, ok := r.Factors[kind].(approvalFactor)
	if !ok {
		return resp, false, nil
	}
	ch, oerr := r.openChallenge(f)
	if oerr != nil || len(ch.parts()) == 0 {
		return resp, true, refuse(CodeWrongState)
	}
	id := af.RequestOfState(ch.parts()[0].State)
	var signed string
	rerr := r.read(ctx, func(tx *store.Tx) error {
		var err error
		if id == "" {
			return store.ErrNotFound
		}
		signed, err = tx.ApprovalDecision(id, now)
		return err
	})
	switch {
	case errors.Is(rerr, store.ErrNotFound):
		return resp, true, nil // still waiting
	case rerr != nil:
		return resp, true, r.wrap(rerr)
	}
	if _, choice, ok := af.DecisionOf(signed); ok && choice != "approve" {
		// Denied: the flow ends, and says why.
		err := r.Store.InTx(ctx, func(tx *store.Tx) error {
			if err := moveTo(f, StateFailed); err != nil {
				return err
			}
			f.ChallengeState, f.UpdatedAt = nil, now
			if err := tx.UpdateFlow(f); err != nil {
				return err
			}
			ev := r.event(f, "verify", clientIP, audit.Denied, "manager_denied")
			ev.Detail = map[string]any{"factor": string(kind)}
			return r.Audit.Append(tx, ev)
		})
		if err != nil {
			return resp, true, r.wrap(err)
		}
		return resp, true, refuse(CodeApprovalDenied)
	}
	out = factor.Response{Values: map[string]string{"decision": signed}}
	return out, false, nil
}

// ApprovalDecider is the manager-approval factor's side for managers
// (package managerapproval): check a link's token, and decide on it.
type ApprovalDecider interface {
	Inspect(ctx context.Context, token string) (ApprovalTicket, error)
	Decide(ctx context.Context, token, choice string) (signed, managerDN string, err error)
}

// ApprovalTicket is what a valid link's token names.
type ApprovalTicket struct {
	ID        string
	ManagerDN string
}

// Approvals serves the page a manager's approve or deny link opens.
//
// The manager does not sign in: the link came to the address the
// directory holds for them, is signed, names one request, works once and
// expires, which is the proof an emailed code gives a person too; and an
// approval never counts alone (the person proved another factor first).
// What stops a link opened by a mail scanner from deciding is that
// opening it only shows the request; deciding takes a POST from the page.
type Approvals struct {
	*Kit
	Factor ApprovalDecider
}

// ApprovalView is what the page shows: who asks, for what, when and from
// where, and, after a decision, which one. No secret is in it.
type ApprovalView struct {
	Login       string
	Name        string
	Action      string
	ClientIP    string
	RequestedAt time.Time
	ExpiresAt   time.Time
	// Decided is "approve" or "deny" once the manager decided here.
	Decided string
}

// Show checks the token of a link and returns the request it names. A
// link altered or unknown is CodeFlowNotFound, expired CodeCodeExpired,
// used CodeCodeUsed.
func (a *Approvals) Show(ctx context.Context, token string) (ApprovalView, error) {
	if a == nil || a.Factor == nil {
		return ApprovalView{}, refuse(CodeFlowNotFound)
	}
	t, err := a.Factor.Inspect(ctx, token)
	if err != nil {
		return ApprovalView{}, approvalRefusal(err)
	}
	var req *store.ApprovalRequest
	err = a.read(ctx, func(tx *store.Tx) error {
		var err error
		req, err = tx.ApprovalRequestByID(t.ID, a.now())
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ApprovalView{}, refuse(CodeCodeExpired)
	case err != nil:
		return ApprovalView{}, a.wrap(err)
	case req.Decision != "":
		return ApprovalView{}, refuse(CodeCodeUsed)
	}
	return ApprovalView{Login: req.Login, Name: req.Name, Action: req.Action, ClientIP: req.ClientIP, RequestedAt: req.RequestedAt,
		ExpiresAt: req.ExpiresAt}, nil
}

// Decide records the manager's choice ("approve" or "deny") on the
// request the token names, for the person's flow, and audits it. The
// token is spent: a second use, with either choice, is CodeCodeUsed.
func (a *Approvals) Decide(ctx context.Context, token, choice, clientIP string) (ApprovalView, error) {
	v, err := a.Show(ctx, token)
	if err != nil {
		a.auditDecision(ctx, "", "", clientIP, audit.Failure, string(asError(err).Code), choice)
		return v, err
	}
	signed, managerDN, err := a.Factor.Decide(ctx, token, choice)
	if err != nil {
		fe := approvalRefusal(err)
		a.auditDecision(ctx, "", v.Login, clientIP, audit.Failure, string(fe.Code), choice)
		return v, fe
	}
	now := a.now()
	err = a.Store.InTx(ctx, func(tx *store.Tx) error {
		id := requestIDOf(a.Factor, signed)
		ok, err := tx.DecideApprovalRequest(id, signed, now)
		if err != nil {
			return err
		}
		if !ok {
			return refuse(CodeCodeUsed)
		}
		ev := audit.Event{At: now, Event: "approval.decide", Actor: managerDN, ClientIP: clientIP, Outcome: audit.Success, Reason: choice,
			Detail: map[string]any{"login": v.Login, "action": v.Action, "request_ip": v.ClientIP}}
		return a.Audit.Append(tx, ev)
	})
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			return v, fe
		}
		return v, a.wrap(err)
	}
	v.Decided = choice
	return v, nil
}

// requestIDOf reads the request of a signed decision.
func requestIDOf(d ApprovalDecider, signed string) string {
	if r, ok := d.(interface {
		DecisionOf(signed string) (requestID, choice string, ok bool)
	}); ok {
		id, _, _ := r.DecisionOf(signed)
		return id
	}
	return ""
}

func (a *Approvals) auditDecision(ctx context.Context, managerDN, login, clientIP string, outcome audit.Outcome, reason, choice string) {
	now := a.now()
	_ = a.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		return a.Audit.Append(tx, audit.Event{At: now, Event: "approval.decide", Actor: managerDN, ClientIP: clientIP, Outcome: outcome,
			Reason: reason, Detail: map[string]any{"login": login, "choice": choice}})
	})
}

// approvalRefusal maps the factor's errors on a link to refusals.
func approvalRefusal(err error) *Error {
	switch {
	case errors.Is(err, factor.ErrExpired):
		return &Error{Code: CodeCodeExpired, Err: err}
	case errors.Is(err, factor.ErrReplayed):
		return &Error{Code: CodeCodeUsed, Err: err}
	case errors.Is(err, factor.ErrBadInput):
		return &Error{Code: CodeWrongState, Err: err}
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return &Error{Code: CodeInternal, Err: err}
}
