package flow

import (
	"context"
	"fmt"

	"github.com/sspr/sspr/internal/directory"
)

// Inspector answers operators' questions about the directories (start-up
// checks, `sspr directory check`, `sspr user show`). It only reads.
type Inspector struct {
	Directories interface {
		Directories
		All() []directory.Directory
	}
}

// CheckDirectories runs every directory's health check. A directory that
// cannot check itself gets a report saying so.
func (i *Inspector) CheckDirectories(ctx context.Context) []*directory.Report {
	var out []*directory.Report
	for _, d := range i.Directories.All() {
		hc, ok := d.(directory.HealthChecker)
		if !ok {
			out = append(out, &directory.Report{Directory: d.Name(), Findings: []directory.Finding{{
				Severity: directory.SeverityWarning, ID: "check.unsupported",
				Message: "this connector cannot check its connection and rights",
			}}})
			continue
		}
		out = append(out, hc.Check(ctx))
	}
	return out
}

// UserView is what sspr sees of one account.
type UserView struct {
	User   *directory.User
	Status *directory.AccountStatus
	Policy *directory.PasswordPolicy
	Groups []string
	// Can lists what self-service can do for this account's directory.
	Can []string
	// Problems lists reads that failed, in plain words.
	Problems []string
}

// ShowUser reads everything sspr knows of the account behind login.
func (i *Inspector) ShowUser(ctx context.Context, login string) (*UserView, error) {
	u, err := i.Directories.FindUser(ctx, login)
	if err != nil {
		return nil, err
	}
	v := &UserView{User: u}
	d, ok := i.Directories.Directory(u.Directory)
	if !ok {
		return v, nil
	}
	if _, ok := d.(directory.PasswordResetter); ok {
		v.Can = append(v.Can, "reset")
	}
	if _, ok := d.(directory.Unlocker); ok {
		v.Can = append(v.Can, "unlock")
	}
	if _, ok := d.(directory.PasswordChanger); ok {
		v.Can = append(v.Can, "change")
	}
	if _, ok := d.(directory.ForceChanger); ok {
		v.Can = append(v.Can, "must-change")
	}
	if sr, ok := d.(directory.StatusReader); ok {
		if v.Status, err = sr.AccountStatus(ctx, u); err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("account status: %v", err))
		}
	}
	if pr, ok := d.(directory.PolicyReader); ok {
		if v.Policy, err = pr.EffectivePolicy(ctx, u); err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("password policy: %v", err))
		}
	}
	if gr, ok := d.(directory.GroupResolver); ok {
		if v.Groups, err = gr.Groups(ctx, u); err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("groups: %v", err))
		}
	}
	return v, nil
}
