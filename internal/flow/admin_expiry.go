package flow

import (
	"context"
	"sort"
	"time"

	"github.com/sspr/sspr/internal/directory"
)

// ExpiryRow is one account in the expiry reports.
type ExpiryRow struct {
	Directory   string    `json:"directory"`
	Login       string    `json:"login"`
	DisplayName string    `json:"display_name"`
	DN          string    `json:"dn"`
	Manager     string    `json:"manager,omitempty"`
	At          time.Time `json:"at"`
	// DaysLeft is the whole days until At, rounded up (0 or less: past).
	DaysLeft int `json:"days_left"`
}

// ExpiryReport holds the three expiry reports, read in one walk of the
// directories: passwords expiring within Within, passwords already
// expired, and accounts whose own expiry date falls within Within.
type ExpiryReport struct {
	GeneratedAt time.Time     `json:"generated_at"`
	Within      time.Duration `json:"within_ns"`
	// People is how many accounts were read.
	People   int         `json:"people"`
	Expiring []ExpiryRow `json:"expiring"`
	Expired  []ExpiryRow `json:"expired"`
	Accounts []ExpiryRow `json:"accounts_expiring"`
	// Unlisted names directories that cannot list their users or read
	// their status.
	Unlisted []string `json:"unlisted,omitempty"`
}

// Expiry reads each person's status from their directory — the
// directory's own expiry (AD: msDS-UserPasswordExpiryTimeComputed, which
// honours fine-grained PSOs; ppolicy: pwdChangedTime + the pwdMaxAge of
// the policy that applies) — and sorts the accounts into the three
// reports. Disabled accounts are left out: nobody can act on them.
func (a *Admin) Expiry(ctx context.Context, within time.Duration) (*ExpiryReport, error) {
	r := a.Enroll
	now := r.now()
	out := &ExpiryReport{GeneratedAt: now, Within: within, Expiring: []ExpiryRow{}, Expired: []ExpiryRow{}, Accounts: []ExpiryRow{}}
	var dirs []directory.Directory
	for _, d := range a.Directories {
		_, ok := d.(UserLister)
		_, ok2 := d.(directory.StatusReader)
		if !ok || !ok2 {
			out.Unlisted = append(out.Unlisted, d.Name())
			continue
		}
		dirs = append(dirs, d)
	}
	horizon := now.Add(within)
	err := walkPeople(ctx, dirs, nil, func(d directory.Directory, u *directory.User) error {
		out.People++
		st, err := d.(directory.StatusReader).AccountStatus(ctx, u)
		if err != nil {
			return err
		}
		if st.Disabled {
			return nil
		}
		row := func(at time.Time) ExpiryRow {
			return ExpiryRow{Directory: d.Name(), Login: u.Login, DisplayName: u.DisplayName, DN: u.DN, Manager: u.Manager, At: at, DaysLeft: daysLeft(now, at)}
		}
		switch pe := st.PasswordExpires; {
		case st.PasswordExpired || (!pe.IsZero() && !pe.After(now)):
			out.Expired = append(out.Expired, row(pe))
		case !pe.IsZero() && !pe.After(horizon):
			out.Expiring = append(out.Expiring, row(pe))
		}
		if ae := st.AccountExpires; ae.After(now) && !ae.After(horizon) {
			out.Accounts = append(out.Accounts, row(ae))
		}
		return nil
	})
	if err != nil {
		return nil, &Error{Code: CodeDirectoryDown, Err: err}
	}
	for _, rows := range [][]ExpiryRow{out.Expiring, out.Expired, out.Accounts} {
		sort.SliceStable(rows, func(i, j int) bool {
			if !rows[i].At.Equal(rows[j].At) {
				return rows[i].At.Before(rows[j].At)
			}
			return rows[i].Login < rows[j].Login
		})
	}
	return out, nil
}
