package flow

import (
	"context"
	"slices"

	"github.com/sspr/sspr/internal/access"
	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/store"
)

// Conditional access (docs/policies.md), as the recovery flows apply it.
//
// Rules look only at the request — address, time, country, device — so
// deciding them tells nobody anything about an account. Rules for
// everybody are decided at the identify step, where a refusal (a denied
// country) is given at once, the same for every login, known or not, and
// before the directory is asked. Every rule is decided again, with the
// person's policy, in the step that verifies the first factor: there a
// refusal ends the flow, one more factor raises factors_required, and a
// required kind becomes mandatory (recorded in the flow, record.Flow.Access,
// so later steps apply the same rule). Every decision is audited with its
// reason.

// accessRequest is the request as the rules see it: the device comes from
// the face (a known-device cookie, a registered agent) through ctx.
func (k *Kit) accessRequest(ctx context.Context, clientIP string) access.Request {
	return access.Request{ClientIP: clientIP, At: k.now(), Device: access.DeviceOf(ctx)}
}

// accessDetail is a decision as the audit log records it.
func accessDetail(d access.Decision) map[string]any {
	m := map[string]any{"access": string(d.Effect), "access_reason": d.Reason}
	if d.Rule != "" {
		m["access_rule"] = d.Rule
	}
	return m
}

// refuseByAccess is the refusal of a rule: its message and the help desk.
func (c *Catalogue) refuseByAccess(d access.Decision) *Error {
	return accessRefusal(d, c.AccessContact)
}

func accessRefusal(d access.Decision, contact string) *Error {
	msg := d.Message
	if contact != "" {
		if msg != "" {
			msg += " "
		}
		msg += contact
	}
	return &Error{Code: CodeAccessRefused, Detail: msg}
}

// accessAtIdentify decides the rules for everybody at the identify step.
// A refusal is audited and returned; any other decision is returned for
// the identify event's record.
func (r *Reset) accessAtIdentify(ctx context.Context, in StartInput, login string) (access.Decision, *Error) {
	d := r.Access.Decide(r.accessRequest(ctx, in.ClientIP), "")
	if d.Effect != access.Refuse {
		return d, nil
	}
	ev := audit.Event{At: r.now(), Event: string(in.Action) + ".identify", Actor: r.typedActor(login), ClientIP: in.ClientIP,
		Outcome: audit.Denied, Reason: "access_refused", Detail: accessDetail(d)}
	if err := r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return r.Audit.Append(tx, ev) }); err != nil {
		return d, &Error{Code: CodeInternal, Err: err}
	}
	return d, r.refuseByAccess(d)
}

// accessVerdict is what the rules decide once the first factor verified.
type accessVerdict struct {
	decision access.Decision
	refusal  *Error
	reason   string
}

// chooseAccess decides the rules for a flow whose first factor (first)
// just verified, with the person's policy (policyName, "" without
// policies). An effect the person cannot meet with what they enrolled (one
// more factor than they have, a kind they lack) is refused as
// not_enrolled, as a policy's is.
func (r *Reset) chooseAccess(ctx context.Context, f *record.Flow, first factor.Kind, clientIP, policyName string, need int) (*accessVerdict, *Error) {
	if r.Access == nil || !f.Known {
		return nil, nil
	}
	d := r.Access.Decide(r.accessRequest(ctx, clientIP), policyName)
	v := &accessVerdict{decision: d}
	switch d.Effect {
	case access.Refuse:
		v.refusal, v.reason = r.refuseByAccess(d), "access_refused"
	case access.AddFactor, access.RequireKind:
		_, available, fe := r.lookup(ctx, f, nil)
		if fe != nil {
			return nil, fe
		}
		have := map[factor.Kind]bool{first: true}
		for _, e := range available {
			have[e.Kind] = true
		}
		if (d.Effect == access.AddFactor && len(have) < need+1) || (d.Effect == access.RequireKind && !have[d.Kind]) {
			v.refusal, v.reason = refuse(CodeNotEnrolled), "access_not_enrolled"
		}
	}
	return v, nil
}

// applyAccess records the decision in f: one more factor, or a required
// kind (looked up by rule name in later steps).
func applyAccess(f *record.Flow, v *accessVerdict) {
	switch v.decision.Effect {
	case access.AddFactor:
		f.FactorsRequired++
	case access.RequireKind:
		f.Access = v.decision.Rule
	}
}

// accessKind is the kind f's access rule requires and f has not verified
// yet; "" when none.
func (r *Reset) accessKind(f *record.Flow) factor.Kind {
	if f.Access == "" {
		return ""
	}
	rule := r.Access.Rule(f.Access)
	if rule == nil || rule.Effect != access.RequireKind || slices.Contains(f.FactorsDone, string(rule.Kind)) {
		return ""
	}
	return rule.Kind
}

// withAccess adds a decision to an audit detail when rules are configured.
func withAccess(detail map[string]any, set *access.Set, d access.Decision) map[string]any {
	if set == nil {
		return detail
	}
	for k, v := range accessDetail(d) {
		detail[k] = v
	}
	return detail
}

// decideAccess runs chooseAccess in the verify step, after the policy was
// chosen; a directory that cannot answer is audited as the policy's is.
func (r *Reset) decideAccess(ctx context.Context, f *record.Flow, first factor.Kind, clientIP string, pv *policyVerdict) (*accessVerdict, *Error) {
	name, need := "", f.FactorsRequired
	if pv != nil {
		probe := *f
		applyPolicy(&probe, pv.policy, first)
		name, need = pv.policy.Name, probe.FactorsRequired
	}
	v, fe := r.chooseAccess(ctx, f, first, clientIP, name, need)
	if fe != nil {
		r.log().Error("deciding conditional access failed; the person may try again", "err", fe.Err)
		_ = r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			return r.Audit.Append(tx, r.event(f, "verify", clientIP, audit.Failure, "access_unavailable"))
		})
	}
	return v, fe
}

// accessRefusesSignIn decides the rules for everybody before enrollment's
// sign-in checks the directory password (a stolen password must not enroll
// its own factor from where recovery is refused).
func (e *Enroll) accessRefusesSignIn(ctx context.Context, login, clientIP string) *Error {
	return e.refusedForEverybody(ctx, e.Access, e.AccessContact, "enroll.signin", login, clientIP)
}

// refusedForEverybody decides the rules for everybody (no policy: the
// account is not known yet, and must not be) for a step that proves a
// directory password (enrollment's sign-in, password change). Only a
// refusal applies there, as there is no factor count to raise; it is
// audited as event and returned, the same for every login.
func (k *Kit) refusedForEverybody(ctx context.Context, rules *access.Set, contact, event, login, clientIP string) *Error {
	if rules == nil {
		return nil
	}
	d := rules.Decide(k.accessRequest(ctx, clientIP), "")
	if d.Effect != access.Refuse {
		return nil
	}
	ev := audit.Event{At: k.now(), Event: event, Actor: k.typedActor(login), ClientIP: clientIP,
		Outcome: audit.Denied, Reason: "access_refused", Detail: accessDetail(d)}
	if err := k.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return k.Audit.Append(tx, ev) }); err != nil {
		return &Error{Code: CodeInternal, Err: err}
	}
	return accessRefusal(d, contact)
}
