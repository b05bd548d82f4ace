package flow

import (
	"context"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/password"
	"github.com/sspr/sspr/internal/store"
)

// PasswordRules checks new passwords (password.Rules).
type PasswordRules interface {
	For(d *password.DirectoryPolicy) (*password.Checker, error)
}

// checkRules runs sspr's own password rules for the person behind a
// verified reset flow; a failure is audited and refused before the directory
// is asked (it does not count against the directory's attempts).
func (r *Reset) checkRules(ctx context.Context, token, pw, clientIP string) *Error {
	if r.Rules == nil {
		return nil
	}
	f, checker, u, err := r.rulesFor(ctx, token)
	if err != nil {
		return asError(err)
	}
	res := checker.Check(ctx, pw, u)
	var failed []password.Check
	for _, c := range res.Checks {
		if !c.Passed && !c.Optional {
			failed = append(failed, c)
		}
	}
	ev := r.event(f, "password", clientIP, audit.Failure, "password_rules")
	if res.OK {
		if len(res.Warnings) == 0 {
			return nil
		}
		ev.Outcome, ev.Reason = audit.Info, "password_rules_warning"
	}
	ids := make([]string, 0, len(failed))
	for _, c := range failed {
		ids = append(ids, c.ID)
	}
	ev.Detail = map[string]any{"failed": ids, "warnings": res.Warnings}
	if res.Scored {
		ev.Detail["score"] = res.Score
	}
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error { return r.Audit.Append(tx, ev) }); err != nil {
		return &Error{Code: CodeInternal, Err: err}
	}
	if res.OK {
		return nil
	}
	return &Error{Code: CodePasswordRefused, Checks: failed}
}

// CheckPassword runs the password rules for the person behind a verified
// reset flow, as the live checklist does while they type. Nothing is sent
// to the directory and nothing is recorded.
func (r *Reset) CheckPassword(ctx context.Context, token, pw string) (password.Result, error) {
	_, checker, u, err := r.rulesFor(ctx, token)
	if err != nil {
		return password.Result{}, err
	}
	return checker.CheckWithStrength(ctx, pw, u), nil
}

// CheckPasswordFor runs the rules that hold for everyone (no flow, no
// account: the API's anonymous check), with login as the only context.
func (r *Reset) CheckPasswordFor(ctx context.Context, login, pw string) (password.Result, error) {
	if r.Rules == nil {
		return password.Result{OK: true}, nil
	}
	checker, err := r.Rules.For(nil)
	if err != nil {
		return password.Result{}, &Error{Code: CodeInternal, Err: err}
	}
	return checker.CheckWithStrength(ctx, pw, password.ContextFromNames(login, "")), nil
}

// PasswordRules lists the rules to show before the person types.
func (r *Reset) PasswordRules(ctx context.Context, token string) ([]password.Check, error) {
	_, checker, _, err := r.rulesFor(ctx, token)
	if err != nil {
		return nil, err
	}
	return checker.Describe(), nil
}

func (r *Reset) rulesFor(ctx context.Context, token string) (*record.Flow, *password.Checker, password.Context, error) {
	if r.Rules == nil {
		return nil, nil, password.Context{}, refuse(CodeWrongState)
	}
	f, err := r.stepFlow(ctx, token)
	if err != nil {
		return nil, nil, password.Context{}, r.wrap(err)
	}
	if State(f.State) != StateVerified || f.Kind != string(ActionReset) {
		return nil, nil, password.Context{}, refuse(CodeWrongState)
	}
	var dp *password.DirectoryPolicy
	if d, ok := r.Directories.Directory(f.Directory); ok {
		if pr, ok := d.(directory.PolicyReader); ok {
			u := &directory.User{Directory: f.Directory, DN: f.SubjectDN, Login: f.Login}
			if found, err := r.stepUser(ctx, f); err == nil && found != nil {
				u = found // its status attributes name the policy
			}
			if p, err := pr.EffectivePolicy(ctx, u); err == nil && p != nil {
				dp = &password.DirectoryPolicy{MinLength: p.MinLength, MaxLength: p.MaxLength, Complexity: p.Complexity, HistoryLength: p.HistoryLength}
			} else if err != nil {
				r.log().Warn("reading the directory's password policy failed; showing sspr's rules only", "directory", f.Directory, "err", err)
			}
		}
	}
	checker, err := r.rulesOf(f).For(dp)
	if err != nil {
		return nil, nil, password.Context{}, &Error{Code: CodeInternal, Err: err}
	}
	return f, checker, password.ContextFromNames(f.Login, f.DisplayName), nil
}

// statusOf reports a flow's status for a refusal, best effort.
func (r *Reset) statusOf(ctx context.Context, token string) Status {
	st, _ := r.Status(ctx, token)
	return st
}
