package flow

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/store"
)

// UserLister is a directory that can list its users a page at a time (the
// LDAP connectors' ListUsers).
type UserLister interface {
	ListUsers(ctx context.Context, fn func(u *directory.User) error) error
}

// CoverageRow is the enrollment coverage of one OU of one directory.
type CoverageRow struct {
	Directory string `json:"directory"`
	OU        string `json:"ou"`
	Users     int    `json:"users"`
	Enrolled  int    `json:"enrolled"`
}

// Percent is the share of people enrolled, 0..100.
func (r CoverageRow) Percent() float64 {
	if r.Users == 0 {
		return 0
	}
	return 100 * float64(r.Enrolled) / float64(r.Users)
}

// NotEnrolled is one person without any enrolled factor.
type NotEnrolled struct {
	Directory   string `json:"directory"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	DN          string `json:"dn"`
}

// Coverage is the enrollment coverage report: per directory and OU, and
// the people not enrolled.
type Coverage struct {
	GeneratedAt time.Time     `json:"generated_at"`
	Users       int           `json:"users"`
	Enrolled    int           `json:"enrolled"`
	Directories []CoverageRow `json:"directories"`
	OUs         []CoverageRow `json:"ous"`
	NotEnrolled []NotEnrolled `json:"not_enrolled"`
	// Unlisted names directories that cannot list their users.
	Unlisted []string `json:"unlisted,omitempty"`
}

// Percent is the share of people enrolled, 0..100.
func (c *Coverage) Percent() float64 {
	return CoverageRow{Users: c.Users, Enrolled: c.Enrolled}.Percent()
}

// Coverage walks every directory's users (paged) and matches them with the
// people who have at least one stored enrollment. A pre-enrolled directory
// mail or mobile does not count: the report is about people who chose
// their factors.
func (a *Admin) Coverage(ctx context.Context) (*Coverage, error) {
	r := a.Enroll
	var enrolled map[string]map[string][]string
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		enrolled, err = tx.EnrolledKinds()
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	c := &Coverage{GeneratedAt: r.now()}
	ous := map[[2]string]*CoverageRow{}
	for _, d := range a.Directories {
		l, ok := d.(UserLister)
		if !ok {
			c.Unlisted = append(c.Unlisted, d.Name())
			continue
		}
		row := CoverageRow{Directory: d.Name()}
		have := enrolled[d.Name()]
		err := l.ListUsers(ctx, func(u *directory.User) error {
			key := [2]string{d.Name(), u.OU}
			ou := ous[key]
			if ou == nil {
				ou = &CoverageRow{Directory: d.Name(), OU: u.OU}
				ous[key] = ou
			}
			ou.Users++
			row.Users++
			if len(have[strings.ToLower(u.DN)]) > 0 {
				ou.Enrolled++
				row.Enrolled++
				return nil
			}
			c.NotEnrolled = append(c.NotEnrolled, NotEnrolled{Directory: d.Name(), Login: u.Login, DisplayName: u.DisplayName, DN: u.DN})
			return nil
		})
		if err != nil {
			return nil, &Error{Code: CodeDirectoryDown, Err: err}
		}
		c.Directories = append(c.Directories, row)
		c.Users += row.Users
		c.Enrolled += row.Enrolled
	}
	for _, ou := range ous {
		c.OUs = append(c.OUs, *ou)
	}
	sort.Slice(c.OUs, func(i, j int) bool {
		if c.OUs[i].Directory != c.OUs[j].Directory {
			return c.OUs[i].Directory < c.OUs[j].Directory
		}
		return c.OUs[i].OU < c.OUs[j].OU
	})
	sort.Slice(c.NotEnrolled, func(i, j int) bool {
		if c.NotEnrolled[i].Directory != c.NotEnrolled[j].Directory {
			return c.NotEnrolled[i].Directory < c.NotEnrolled[j].Directory
		}
		return c.NotEnrolled[i].Login < c.NotEnrolled[j].Login
	})
	return c, nil
}

// ActivityBucket counts what happened in one period.
type ActivityBucket struct {
	Start time.Time `json:"start"`
	// Resets, Unlocks and Changes count successful actions.
	Resets  int `json:"resets"`
	Unlocks int `json:"unlocks"`
	Changes int `json:"changes"`
	// Failures counts failed verifications and sign-ins; Blocks counts
	// refusals by the abuse controls.
	Failures int `json:"failures"`
	Blocks   int `json:"blocks"`
}

// Activity is the reset / unlock / change activity report with the failed
// verifications and blocks beside it.
type Activity struct {
	From    time.Time        `json:"from"`
	To      time.Time        `json:"to"`
	Step    time.Duration    `json:"step_ns"`
	Buckets []ActivityBucket `json:"buckets"`
	// FailureReasons counts failures and blocks by reason over the whole
	// period.
	FailureReasons map[string]int `json:"failure_reasons"`
}

// Activity counts the audit log's actions in buckets of step between from
// and to (to exclusive). It reads counts the database computed, not rows.
func (a *Admin) Activity(ctx context.Context, from, to time.Time, step time.Duration) (*Activity, error) {
	if step <= 0 || !to.After(from) {
		return nil, errors.New("flow: activity needs from < to and a positive step")
	}
	if to.Sub(from)/step > 1000 {
		step = to.Sub(from) / 1000
	}
	r := a.Enroll
	var counts []store.AuditCount
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		counts, err = tx.CountAudit(store.AuditFilter{From: from, To: to}, step)
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	act := &Activity{From: from, To: to, Step: step, FailureReasons: map[string]int{}}
	n := int((to.Sub(from) + step - 1) / step)
	for i := 0; i < n; i++ {
		act.Buckets = append(act.Buckets, ActivityBucket{Start: from.Add(time.Duration(i) * step)})
	}
	for _, c := range counts {
		i := int(c.Bucket.Sub(from) / step)
		if i < 0 || i >= n {
			continue
		}
		b := &act.Buckets[i]
		switch {
		case c.Outcome == "success" && c.Event == "reset.password":
			b.Resets += c.Count
		case c.Outcome == "success" && c.Event == "unlock.unlock":
			b.Unlocks += c.Count
		case c.Outcome == "success" && c.Event == "change.password":
			b.Changes += c.Count
		case c.Outcome == "denied" && c.Reason == "rate_limited":
			b.Blocks += c.Count
			act.FailureReasons["blocked"] += c.Count
		case c.Outcome == "failure" && strings.HasPrefix(c.Event, "admin."):
			// the console's own sign-ins are in the admin actions, not here
		case c.Outcome == "failure":
			b.Failures += c.Count
			act.FailureReasons[firstNonEmpty(c.Reason, "unspecified")] += c.Count
		}
	}
	return act, nil
}

// AuditQuery selects audit rows for the console's viewer; empty fields
// select everything.
type AuditQuery struct {
	// Event matches events that start with it ("reset." or "admin.").
	Event    string
	Actor    string
	Subject  string
	Outcome  string
	From, To time.Time // To is exclusive
	// BeforeID pages backwards (0: from the newest).
	BeforeID int64
	Limit    int
}

// AuditRow is one audit record as the console shows it.
type AuditRow struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Flow      string    `json:"flow,omitempty"`
	Actor     string    `json:"actor"`
	Subject   string    `json:"subject,omitempty"`
	Directory string    `json:"directory,omitempty"`
	ClientIP  string    `json:"client_ip,omitempty"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// AuditPage is one page of the audit viewer.
type AuditPage struct {
	Records []AuditRow `json:"records"`
	// Verified is the number of rows the chain check walked; VerifyError
	// says what is wrong when it failed.
	Verified    int    `json:"verified"`
	VerifyError string `json:"verify_error,omitempty"`
}

// Audit lists the audit rows q selects, newest first, and verifies the
// whole chain, so the viewer says whether what it shows can be trusted.
func (a *Admin) Audit(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	r := a.Enroll
	page := &AuditPage{Records: []AuditRow{}}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 500
	}
	f := store.AuditFilter{EventPrefix: q.Event, Actor: q.Actor, Subject: q.Subject, Outcome: q.Outcome, From: q.From, To: q.To, BeforeID: q.BeforeID, Limit: q.Limit}
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		rows, err := tx.SearchAudit(f)
		for _, x := range rows {
			page.Records = append(page.Records, AuditRow{ID: x.ID, At: x.At, Event: x.Event, Flow: x.Flow, Actor: x.Actor, Subject: x.Subject,
				Directory: x.Directory, ClientIP: x.ClientIP, Outcome: x.Outcome, Reason: x.Reason, Detail: x.Detail})
		}
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	// Each view walks only the rows added since the last good check (and
	// checks that the last good row is still there), so a long log costs
	// its full walk once per process, not on every page.
	a.verifyMu.Lock()
	defer a.verifyMu.Unlock()
	pos, n, err := r.Audit.VerifyFrom(ctx, r.Store, a.verified)
	if err != nil {
		a.verified, a.verifiedRows = audit.Position{}, 0 // walk it all again next time
		page.VerifyError = err.Error()
		return page, nil
	}
	a.verified, a.verifiedRows = pos, a.verifiedRows+n
	page.Verified = a.verifiedRows
	return page, nil
}

// LockedLister is a directory that can list the accounts whose entries
// show a lockout (the LDAP connectors' ListLocked).
type LockedLister interface {
	ListLocked(ctx context.Context, fn func(u *directory.User) error) error
}

// LockedAccount is one account locked out now.
type LockedAccount struct {
	Directory   string    `json:"directory"`
	Login       string    `json:"login"`
	DisplayName string    `json:"display_name"`
	DN          string    `json:"dn"`
	LockedAt    time.Time `json:"locked_at,omitzero"`
	// LockoutEnds is zero when the lock lasts until someone unlocks it.
	LockoutEnds    time.Time `json:"lockout_ends,omitzero"`
	FailedAttempts int       `json:"failed_attempts"`
}

// Locked is the "accounts locked out now" report.
type Locked struct {
	GeneratedAt time.Time       `json:"generated_at"`
	Accounts    []LockedAccount `json:"accounts"`
	// Unlisted names directories that cannot list their locked accounts.
	Unlisted []string `json:"unlisted,omitempty"`
}

// Locked lists the accounts locked out now: the directory's own filter
// finds candidates, and each one's status, read fresh, confirms it (a
// lockout that ran out is left out).
func (a *Admin) Locked(ctx context.Context) (*Locked, error) {
	r := a.Enroll
	out := &Locked{GeneratedAt: r.now(), Accounts: []LockedAccount{}}
	for _, d := range a.Directories {
		l, ok := d.(LockedLister)
		sr, ok2 := d.(directory.StatusReader)
		if !ok || !ok2 {
			out.Unlisted = append(out.Unlisted, d.Name())
			continue
		}
		var candidates []*directory.User
		err := l.ListLocked(ctx, func(u *directory.User) error {
			candidates = append(candidates, u)
			return nil
		})
		if directory.KindOf(err) == directory.KindUnsupported {
			out.Unlisted = append(out.Unlisted, d.Name())
			continue
		}
		if err != nil {
			return nil, &Error{Code: CodeDirectoryDown, Err: err}
		}
		for _, u := range candidates {
			st, err := sr.AccountStatus(ctx, u)
			if err != nil {
				return nil, &Error{Code: CodeDirectoryDown, Err: err}
			}
			if !st.Locked {
				continue
			}
			out.Accounts = append(out.Accounts, LockedAccount{Directory: d.Name(), Login: u.Login, DisplayName: u.DisplayName, DN: u.DN,
				LockedAt: st.LockedAt, LockoutEnds: st.LockoutEnds, FailedAttempts: st.FailedAttempts})
		}
	}
	sort.Slice(out.Accounts, func(i, j int) bool { return out.Accounts[i].LockedAt.After(out.Accounts[j].LockedAt) })
	return out, nil
}
