package flow

import (
	"context"
	"slices"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/policy"
	"github.com/sspr/sspr/internal/store"
)

// Policies by population (docs/policies.md), as the flows apply them.
//
// Nothing about a policy may show before a first factor is verified:
// choosing one asks the directory about the person (groups, filters), and
// its factors, counts and refusals are the person's own. So the first step
// is everybody's — the kinds of verification.factors, the global count,
// decoys for kinds a person lacks — and the policy is chosen in the step
// that verifies the first factor, recorded in the flow (record.Flow.Policy),
// and from then on decides the choices, the count, the mandatory kinds,
// whether the action is allowed at all, the password rules and the notices.
// A decoy never verifies a factor, so it never reaches a policy.

// policyOf is the policy a flow recorded, nil before the first factor or
// without policies.
func (c *Catalogue) policyOf(f *record.Flow) *policy.Policy {
	if c == nil || c.Policies == nil || f.Policy == "" {
		return nil
	}
	return c.Policies.ByName(f.Policy)
}

// evaluatePolicy chooses the policy for user; the request is passed on for
// conditional access. nil without policies.
func (k *Kit) evaluatePolicy(ctx context.Context, set *policy.Set, user *directory.User, clientIP string) (*policy.Decision, error) {
	if set == nil || user == nil {
		return nil, nil
	}
	return set.Evaluate(ctx, policy.Request{ClientIP: clientIP, At: k.now()}, user, k.Directories)
}

// policyVerdict is what a chosen policy decides for a flow whose first
// factor was just verified.
type policyVerdict struct {
	policy *policy.Policy
	// refusal, when set, ends the flow: the action is off for this
	// population, or the person has not enrolled what it needs.
	refusal Code
	reason  string
}

// choosePolicy chooses the policy for the person of a flow whose first
// factor (of kind first) verified. It reads the person (carried by the
// challenge: no directory read) and their enrollments, and asks the
// directory what the policies' scopes need. A directory that cannot answer
// is CodeDirectoryDown: the person may try again, nothing is counted.
func (r *Reset) choosePolicy(ctx context.Context, f *record.Flow, first factor.Kind, clientIP string) (*policyVerdict, *Error) {
	if r.Policies == nil || !f.Known {
		return nil, nil
	}
	user, available, fe := r.lookup(ctx, f, nil)
	if fe != nil {
		return nil, fe
	}
	d, err := r.evaluatePolicy(ctx, r.Policies, user, clientIP)
	if err != nil {
		return nil, &Error{Code: CodeDirectoryDown, Err: err}
	}
	p := d.Policy
	v := &policyVerdict{policy: p}
	if !p.Allows(policy.Action(f.Kind)) {
		v.refusal, v.reason = CodeActionNotAllowed, "policy_action_off"
		return v, nil
	}
	// Can the person complete what the policy asks with what they have?
	have := map[factor.Kind]bool{}
	for _, e := range available {
		if p.Offers(e.Kind) {
			have[e.Kind] = true
		}
	}
	need := p.Needs(policy.Action(f.Kind))
	enough := len(have) >= need
	for _, m := range p.Mandatory {
		if !have[m] {
			enough = false
		}
	}
	if !enough {
		v.refusal, v.reason = CodeNotEnrolled, "policy_not_enrolled"
	}
	return v, nil
}

// applyPolicy records the chosen policy in f and sets how many factors
// the flow needs: the policy's count for the action, one more when the
// first factor is not among the policy's kinds (it proved enough to learn
// the policy, but does not count for this population), and never fewer
// than PrivilegedMinimum for a privileged account.
func applyPolicy(f *record.Flow, p *policy.Policy, first factor.Kind) {
	f.Policy = p.Name
	need := p.Needs(policy.Action(f.Kind))
	if !p.Offers(first) {
		need++
	}
	if f.Privileged {
		need = max(need, PrivilegedMinimum)
	}
	f.FactorsRequired = need
}

// enough reports whether f has verified all it needs: the count, and every
// mandatory kind of its policy.
func (r *Reset) enough(f *record.Flow) bool {
	if len(f.FactorsDone) < f.FactorsRequired {
		return false
	}
	return len(r.missingMandatory(f)) == 0
}

func (r *Reset) missingMandatory(f *record.Flow) []factor.Kind {
	var out []factor.Kind
	if p := r.policyOf(f); p != nil {
		for _, m := range p.Mandatory {
			if !slices.Contains(f.FactorsDone, string(m)) {
				out = append(out, m)
			}
		}
	}
	// A kind a conditional-access rule requires (access.go).
	if k := r.accessKind(f); k != "" && !slices.Contains(out, k) {
		out = append(out, k)
	}
	return out
}

// policyOffers reports whether kind k may be chosen now under f's policy:
// one of its kinds (or the kind an access rule requires), and, when the factors left to verify are only enough
// for the mandatory kinds still missing, one of those.
func (r *Reset) policyOffers(f *record.Flow, k factor.Kind) bool {
	if p := r.policyOf(f); p != nil && !p.Offers(k) && k != r.accessKind(f) {
		return false
	}
	missing := r.missingMandatory(f)
	if len(missing) > 0 && f.FactorsRequired-len(f.FactorsDone) <= len(missing) {
		return slices.Contains(missing, k)
	}
	return true
}

// policyStatus adds what the policy says to a status shown after the
// first factor.
func (r *Reset) policyStatus(f *record.Flow, st *Status) {
	if len(f.FactorsDone) == 0 {
		return
	}
	if p := r.policyOf(f); p != nil {
		st.Notices = p.Notices
	}
}

// rulesOf are the password rules for f: its policy's preset, else the
// global rules.
func (r *Reset) rulesOf(f *record.Flow) PasswordRules {
	if p := r.policyOf(f); p != nil && p.PasswordPreset != "" {
		if rules, ok := r.PresetRules[p.PasswordPreset]; ok {
			return rules
		}
	}
	return r.Rules
}

// policyRefuses reports, for a face's sign-in outside the recovery flow
// (password change, enrollment), whether the person's policy switched
// action off. It is asked only once the person's password was proven, so
// it tells nobody else anything; the refusal is audited. A directory that
// cannot answer the policy's questions refuses as a directory outage.
func (k *Kit) policyRefuses(ctx context.Context, set *policy.Set, user *directory.User, a policy.Action, base audit.Event) *Error {
	if set == nil || user == nil {
		return nil
	}
	d, err := k.evaluatePolicy(ctx, set, user, base.ClientIP)
	if err != nil {
		k.log().Error("choosing the policy failed", "err", err)
		return &Error{Code: CodeDirectoryDown, Err: err}
	}
	if d.Policy.Allows(a) {
		return nil
	}
	ev := base
	ev.At, ev.Outcome, ev.Reason = k.now(), audit.Denied, "policy_action_off"
	ev.Detail = map[string]any{"policy": d.Policy.Name}
	if err := k.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return k.Audit.Append(tx, ev) }); err != nil {
		return &Error{Code: CodeInternal, Err: err}
	}
	return refuse(CodeActionNotAllowed)
}

// refuseUnenrolled answers, with enrollment.redirect_unenrolled on, a known
// person who has not enrolled enough to recover: plainly, so the face can
// send them to enroll. Audited; no flow is stored.
func (r *Reset) refuseUnenrolled(ctx context.Context, f *record.Flow, in StartInput) *Error {
	err := r.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		return r.Audit.Append(tx, audit.Event{At: r.now(), Event: f.Kind + ".identify", Actor: r.flowActor(f, in.Login), Subject: f.SubjectDN,
			Directory: f.Directory, ClientIP: in.ClientIP, Outcome: audit.Denied, Reason: "not_enrolled_redirected"})
	})
	if err != nil {
		return &Error{Code: CodeInternal, Err: err}
	}
	return refuse(CodeNotEnrolled)
}

// policyCheck asks, for a password change, whether the person's policy
// switched change off. Only then is the old password proven first, with a
// bind: a wrong one comes back as proven (answered like any wrong
// password), a right one as the plain refusal. So the refusal tells only
// the person who knows the password.
func (c *Change) policyCheck(ctx context.Context, d directory.Directory, user *directory.User, old string, base audit.Event) (refusal *Error, proven error) {
	if c.Policies == nil {
		return nil, nil
	}
	dec, err := c.evaluatePolicy(ctx, c.Policies, user, base.ClientIP)
	if err != nil {
		c.log().Error("choosing the policy failed", "err", err)
		// "Directory down" only for the person who knows the password: an
		// unknown login is answered "wrong credentials", so saying
		// anything else to a wrong password would tell a stranger the
		// account exists.
		if verr := d.VerifyPassword(ctx, user, old); verr != nil {
			return nil, verr
		}
		return &Error{Code: CodeDirectoryDown, Err: err}, nil
	}
	if dec.Policy.Allows(policy.Change) {
		return nil, nil
	}
	if err := d.VerifyPassword(ctx, user, old); err != nil {
		return nil, err
	}
	ev := base
	ev.At, ev.Outcome, ev.Reason = c.now(), audit.Denied, "policy_action_off"
	ev.Detail = map[string]any{"policy": dec.Policy.Name}
	if err := c.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return c.Audit.Append(tx, ev) }); err != nil {
		return &Error{Code: CodeInternal, Err: err}, nil
	}
	return refuse(CodeActionNotAllowed), nil
}

// ExplainPolicy looks login up and chooses its policy, for operators
// (`sspr policy explain`): the decision lists every rule checked.
func (i *Inspector) ExplainPolicy(ctx context.Context, set *policy.Set, login string) (*directory.User, *policy.Decision, error) {
	u, err := i.Directories.FindUser(ctx, login)
	if err != nil {
		return nil, nil, err
	}
	d, err := set.Evaluate(ctx, policy.Request{}, u, i.Directories)
	return u, d, err
}

// EnrollRequirements are what a person's policy asks them to enroll, and
// what is still missing.
type EnrollRequirements struct {
	// Required kinds must be enrolled; Minimum distinct kinds in all.
	Required []factor.Kind `json:"required,omitempty"`
	Minimum  int           `json:"minimum,omitempty"`
	// Missing are the required kinds not enrolled yet; Met is true when
	// nothing is missing and the minimum is reached.
	Missing []factor.Kind `json:"missing,omitempty"`
	Met     bool          `json:"met"`
}

// policyView adds the person's enrollment requirements to an enrollment
// session's view (the person proved their password: this is their own).
// The policy is chosen afresh, so a change of group shows at once; a
// directory that cannot answer leaves the requirements out (logged).
func (e *Enroll) policyView(ctx context.Context, s *store.Session, v *SessionView) {
	if e.Policies == nil {
		return
	}
	u := &directory.User{Directory: s.Directory, DN: s.SubjectDN, Login: s.Login}
	d, err := e.evaluatePolicy(ctx, e.Policies, u, s.ClientIP)
	if err != nil {
		e.log().Warn("choosing the policy for the enrollment page failed", "directory", s.Directory, "err", err)
		return
	}
	p := d.Policy
	if len(p.EnrollRequired) == 0 && p.EnrollMinimum == 0 {
		return
	}
	have := map[factor.Kind]bool{}
	for _, f := range v.Factors {
		have[f.Kind] = true
	}
	r := &EnrollRequirements{Required: p.EnrollRequired, Minimum: p.EnrollMinimum}
	for _, k := range p.EnrollRequired {
		if !have[k] {
			r.Missing = append(r.Missing, k)
		}
	}
	r.Met = len(r.Missing) == 0 && len(have) >= p.EnrollMinimum
	v.Requirements = r
}
