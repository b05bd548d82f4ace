package flow

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/store"
)

// This file holds the console's further reports (issue 13): failed
// verifications and blocks by reason, factor usage, privileged accounts
// with weak factors, password refusals by rule, help-desk calls avoided,
// admin actions and login-screen agents. Each reads counts the database
// computed (or a directory walk), never the audit log row by row.

// ReasonBucket counts failures and blocks by reason in one period.
type ReasonBucket struct {
	Start  time.Time      `json:"start"`
	Counts map[string]int `json:"counts"`
}

// Failures is the failed verifications and blocks report: per period and
// reason, and the totals per reason.
type Failures struct {
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Step    time.Duration  `json:"step_ns"`
	Buckets []ReasonBucket `json:"buckets"`
	Reasons map[string]int `json:"reasons"`
}

// window checks a report's period and caps it at 1000 buckets.
func window(from, to time.Time, step time.Duration) (time.Duration, int, error) {
	if step <= 0 || !to.After(from) {
		return 0, 0, errors.New("flow: a report needs from < to and a positive step")
	}
	if to.Sub(from)/step > 1000 {
		step = to.Sub(from) / 1000
	}
	return step, int((to.Sub(from) + step - 1) / step), nil
}

func reasonBuckets(from time.Time, step time.Duration, n int) []ReasonBucket {
	out := make([]ReasonBucket, n)
	for i := range out {
		out[i] = ReasonBucket{Start: from.Add(time.Duration(i) * step), Counts: map[string]int{}}
	}
	return out
}

// Failures counts failed verifications and sign-ins by reason, and the
// abuse controls' blocks (reason "blocked"), as Activity classifies them.
func (a *Admin) Failures(ctx context.Context, from, to time.Time, step time.Duration) (*Failures, error) {
	step, n, err := window(from, to, step)
	if err != nil {
		return nil, err
	}
	var counts []store.AuditCount
	if err := a.Enroll.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		counts, err = tx.CountAudit(store.AuditFilter{From: from, To: to}, step)
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	out := &Failures{From: from, To: to, Step: step, Buckets: reasonBuckets(from, step, n), Reasons: map[string]int{}}
	for _, c := range counts {
		i := int(c.Bucket.Sub(from) / step)
		if i < 0 || i >= n {
			continue
		}
		var reason string
		switch {
		case c.Outcome == "denied" && c.Reason == "rate_limited":
			reason = "blocked"
		case c.Outcome == "failure" && strings.HasPrefix(c.Event, "admin."):
			continue // the console's own sign-ins are admin actions
		case c.Outcome == "failure":
			reason = firstNonEmpty(c.Reason, "unspecified")
		default:
			continue
		}
		out.Buckets[i].Counts[reason] += c.Count
		out.Reasons[reason] += c.Count
	}
	return out, nil
}

// FactorUsage is the factor usage report: how many people have enrolled
// each kind, and which kinds they verified with to reset, unlock or
// change, per period.
type FactorUsage struct {
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	Step        time.Duration  `json:"step_ns"`
	EnrolledBy  map[string]int `json:"enrolled_people_by_kind"`
	Buckets     []ReasonBucket `json:"used_by_kind"`
	UsedTotals  map[string]int `json:"used_totals"`
	PeopleTotal int            `json:"enrolled_people"`
}

// FactorUsage counts enrolled kinds (people, not enrollments) and the
// successful verifications of the reset, unlock and change flows by kind.
func (a *Admin) FactorUsage(ctx context.Context, from, to time.Time, step time.Duration) (*FactorUsage, error) {
	step, n, err := window(from, to, step)
	if err != nil {
		return nil, err
	}
	out := &FactorUsage{From: from, To: to, Step: step, EnrolledBy: map[string]int{}, Buckets: reasonBuckets(from, step, n), UsedTotals: map[string]int{}}
	var counts []store.ValueCount
	if err := a.Enroll.Store.InTx(ctx, func(tx *store.Tx) error {
		kinds, err := tx.EnrolledKinds()
		if err != nil {
			return err
		}
		for _, people := range kinds {
			for _, ks := range people {
				out.PeopleTotal++
				for _, k := range ks {
					out.EnrolledBy[k]++
				}
			}
		}
		counts, err = tx.CountAuditValues(store.AuditValueQuery{AuditFilter: store.AuditFilter{From: from, To: to, Outcome: "success"},
			EventSuffix: ".verify", Path: "$.factor"}, step)
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	for _, c := range counts {
		i := int(c.Bucket.Sub(from) / step)
		if i < 0 || i >= n || c.Value == "" {
			continue
		}
		out.Buckets[i].Counts[c.Value] += c.Count
		out.UsedTotals[c.Value] += c.Count
	}
	return out, nil
}

// StrongFactors are the kinds that prove a device the person holds
// (an authenticator app, a passkey or security key). A privileged account
// with none of them is "weak": a code sent to a mailbox or phone, backup
// codes, questions or directory attributes can be read, guessed or
// redirected by someone else.
var StrongFactors = []factor.Kind{factor.TOTP, factor.Passkey}

// PrivilegedAccount is one privileged account whose factors are all weak.
type PrivilegedAccount struct {
	Directory   string   `json:"directory"`
	Login       string   `json:"login"`
	DisplayName string   `json:"display_name"`
	DN          string   `json:"dn"`
	Why         string   `json:"privileged_because"`
	Factors     []string `json:"factors"`
}

// PrivilegedWeak is the report of privileged accounts with weak factors
// only.
type PrivilegedWeak struct {
	GeneratedAt time.Time           `json:"generated_at"`
	Privileged  int                 `json:"privileged"`
	Strong      int                 `json:"strong"`
	Weak        []PrivilegedAccount `json:"weak"`
	// Unlisted names directories that cannot list their users or read
	// their status.
	Unlisted []string `json:"unlisted,omitempty"`
}

// PrivilegedWeak walks every directory's users and asks each one's status
// the way the help desk does (AccountStatus.Protected: AD adminCount=1,
// configured protected groups), then compares their enrolled kinds with
// StrongFactors. It reads each account's status, so it costs one directory
// search per person: run it, don't refresh it.
func (a *Admin) PrivilegedWeak(ctx context.Context) (*PrivilegedWeak, error) {
	r := a.Enroll
	var enrolled map[string]map[string][]string
	if err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		enrolled, err = tx.EnrolledKinds()
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	out := &PrivilegedWeak{GeneratedAt: r.now(), Weak: []PrivilegedAccount{}}
	for _, d := range a.Directories {
		l, ok := d.(UserLister)
		sr, ok2 := d.(directory.StatusReader)
		if !ok || !ok2 {
			out.Unlisted = append(out.Unlisted, d.Name())
			continue
		}
		var users []*directory.User
		if err := l.ListUsers(ctx, func(u *directory.User) error {
			users = append(users, u)
			return nil
		}); err != nil {
			return nil, &Error{Code: CodeDirectoryDown, Err: err}
		}
		for _, u := range users {
			st, err := sr.AccountStatus(ctx, u)
			if err != nil {
				return nil, &Error{Code: CodeDirectoryDown, Err: err}
			}
			if !st.Protected {
				continue
			}
			out.Privileged++
			kinds := enrolled[d.Name()][strings.ToLower(u.DN)]
			if slices.ContainsFunc(kinds, func(k string) bool { return slices.Contains(StrongFactors, factor.Kind(k)) }) {
				out.Strong++
				continue
			}
			out.Weak = append(out.Weak, PrivilegedAccount{Directory: d.Name(), Login: u.Login, DisplayName: u.DisplayName, DN: u.DN,
				Why: firstNonEmpty(st.ProtectedReason, "protected"), Factors: append([]string{}, kinds...)})
		}
	}
	sort.Slice(out.Weak, func(i, j int) bool {
		if out.Weak[i].Directory != out.Weak[j].Directory {
			return out.Weak[i].Directory < out.Weak[j].Directory
		}
		return out.Weak[i].Login < out.Weak[j].Login
	})
	return out, nil
}

// PasswordRefusals is the report of new passwords refused, by rule: sspr's
// own rules (breached, too short, ...: "rule:<id>") and the directory's
// policy ("directory:<reason>", history, complexity, ...).
type PasswordRefusals struct {
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Step    time.Duration  `json:"step_ns"`
	Buckets []ReasonBucket `json:"buckets"`
	Rules   map[string]int `json:"rules"`
}

// PasswordRefusals counts the failed rules of "password_rules" audit rows
// and the reasons of the directory's "policy_violation" rows.
func (a *Admin) PasswordRefusals(ctx context.Context, from, to time.Time, step time.Duration) (*PasswordRefusals, error) {
	step, n, err := window(from, to, step)
	if err != nil {
		return nil, err
	}
	out := &PasswordRefusals{From: from, To: to, Step: step, Buckets: reasonBuckets(from, step, n), Rules: map[string]int{}}
	add := func(prefix string, counts []store.ValueCount) {
		for _, c := range counts {
			i := int(c.Bucket.Sub(from) / step)
			if i < 0 || i >= n || c.Value == "" {
				continue
			}
			out.Buckets[i].Counts[prefix+c.Value] += c.Count
			out.Rules[prefix+c.Value] += c.Count
		}
	}
	var own, dir []store.ValueCount
	if err := a.Enroll.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		f := store.AuditFilter{From: from, To: to, Outcome: "failure"}
		if own, err = tx.CountAuditValues(store.AuditValueQuery{AuditFilter: f, Reason: "password_rules", Path: "$.failed"}, step); err != nil {
			return err
		}
		dir, err = tx.CountAuditValues(store.AuditValueQuery{AuditFilter: f, Reason: "policy_violation", Path: "$.reasons"}, step)
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	add("rule:", own)
	add("directory:", dir)
	return out, nil
}

// MonthSaving is one month of the help-desk calls avoided.
type MonthSaving struct {
	Month   string  `json:"month"` // 2026-01
	Resets  int     `json:"resets"`
	Unlocks int     `json:"unlocks"`
	Changes int     `json:"changes"`
	Calls   int     `json:"calls_avoided"`
	Saved   float64 `json:"saved"`
}

// CallsAvoided is the help-desk calls avoided report: each successful
// self-service reset, unlock and change is a call the help desk did not
// take, valued at the configured cost per call.
type CallsAvoided struct {
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	CostPerCall float64       `json:"cost_per_call"`
	Currency    string        `json:"currency"`
	Months      []MonthSaving `json:"months"`
	Calls       int           `json:"calls_avoided"`
	Saved       float64       `json:"saved"`
}

// CallsAvoided counts the successful self-service actions per calendar
// month (UTC) from the month of from to the month before to. Help-desk
// resets and unlocks (admin.caller.*) are calls taken, so they do not
// count.
func (a *Admin) CallsAvoided(ctx context.Context, from, to time.Time, cost float64, currency string) (*CallsAvoided, error) {
	from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	to = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC)
	if !to.After(from) {
		return nil, errors.New("flow: calls avoided needs at least one month")
	}
	var counts []store.AuditCount
	if err := a.Enroll.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		counts, err = tx.CountAudit(store.AuditFilter{From: from, To: to, Outcome: "success"}, 24*time.Hour)
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	out := &CallsAvoided{From: from, To: to, CostPerCall: cost, Currency: currency}
	index := map[string]int{}
	for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
		index[m.Format("2006-01")] = len(out.Months)
		out.Months = append(out.Months, MonthSaving{Month: m.Format("2006-01")})
	}
	for _, c := range counts {
		i, ok := index[c.Bucket.UTC().Format("2006-01")]
		if !ok {
			continue
		}
		m := &out.Months[i]
		switch c.Event {
		case "reset.password":
			m.Resets += c.Count
		case "unlock.unlock":
			m.Unlocks += c.Count
		case "change.password":
			m.Changes += c.Count
		default:
			continue
		}
		m.Calls += c.Count
	}
	for i := range out.Months {
		m := &out.Months[i]
		m.Saved = float64(m.Calls) * cost
		out.Calls += m.Calls
		out.Saved += m.Saved
	}
	return out, nil
}

// ActorActions is what one console user did, by event.
type ActorActions struct {
	Actor   string         `json:"actor"`
	Total   int            `json:"total"`
	Denied  int            `json:"denied"`
	ByEvent map[string]int `json:"by_event"`
}

// AdminActions is the admin actions report: the console's audit rows
// (events admin.*) per actor over a period.
type AdminActions struct {
	From   time.Time      `json:"from"`
	To     time.Time      `json:"to"`
	Actors []ActorActions `json:"actors"`
}

// AdminActions counts the admin.* audit rows per actor and event.
func (a *Admin) AdminActions(ctx context.Context, from, to time.Time) (*AdminActions, error) {
	var counts []store.ActorCount
	if err := a.Enroll.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		counts, err = tx.CountAuditByActor(store.AuditFilter{EventPrefix: "admin.", From: from, To: to})
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	out := &AdminActions{From: from, To: to, Actors: []ActorActions{}}
	for _, c := range counts {
		if n := len(out.Actors); n == 0 || out.Actors[n-1].Actor != c.Actor {
			out.Actors = append(out.Actors, ActorActions{Actor: c.Actor, ByEvent: map[string]int{}})
		}
		x := &out.Actors[len(out.Actors)-1]
		x.Total += c.Count
		x.ByEvent[c.Event] += c.Count
		if c.Outcome == "denied" {
			x.Denied += c.Count
		}
	}
	sort.SliceStable(out.Actors, func(i, j int) bool { return out.Actors[i].Total > out.Actors[j].Total })
	return out, nil
}

// AgentRow is one registered login-screen agent.
type AgentRow struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Version      string    `json:"version"`
	RegisteredAt time.Time `json:"registered_at"`
	LastSeenAt   time.Time `json:"last_seen_at,omitzero"`
	LastIP       string    `json:"last_ip,omitempty"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	// State is active (seen in the last 30 days), silent or revoked.
	State string `json:"state"`
}

// AgentsReport lists the registered login-screen agents.
type AgentsReport struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Agents      []AgentRow     `json:"agents"`
	States      map[string]int `json:"states"`
}

// AgentSilentAfter is how long an agent may go unseen before the report
// calls it silent.
const AgentSilentAfter = 30 * 24 * time.Hour

// Agents lists the registered login-screen agents and their state.
func (a *Admin) Agents(ctx context.Context) (*AgentsReport, error) {
	now := a.Enroll.now()
	out := &AgentsReport{GeneratedAt: now, Agents: []AgentRow{}, States: map[string]int{"active": 0, "silent": 0, "revoked": 0}}
	if err := a.Enroll.Store.InTx(ctx, func(tx *store.Tx) error {
		list, err := tx.Agents()
		for _, x := range list {
			row := AgentRow{ID: x.ID, Name: x.Name, Version: x.Version, RegisteredAt: x.RegisteredAt, LastSeenAt: x.LastSeenAt, LastIP: x.LastIP, RevokedAt: x.RevokedAt}
			switch {
			case !x.RevokedAt.IsZero():
				row.State = "revoked"
			case !x.LastSeenAt.IsZero() && now.Sub(x.LastSeenAt) < AgentSilentAfter:
				row.State = "active"
			default:
				row.State = "silent"
			}
			out.States[row.State]++
			out.Agents = append(out.Agents, row)
		}
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	return out, nil
}

// SettingChange is one setting's change as the audit log recorded it.
type SettingChange struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

// ConfigEvent is one start or reload that changed the configuration.
type ConfigEvent struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Event string    `json:"event"`
	// FirstStart: the first start, nothing to compare with.
	FirstStart bool            `json:"first_start,omitempty"`
	Changes    []SettingChange `json:"changes"`
	// LeftOut counts changes the audit row did not list (too many).
	LeftOut int `json:"changes_left_out,omitempty"`
}

// ConfigHistory lists the configuration changes the audit log recorded at
// starts ("config.start") and reloads ("config.reload"), newest first, at
// most limit of them.
func (a *Admin) ConfigHistory(ctx context.Context, limit int) ([]ConfigEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var rows []*store.AuditRecord
	if err := a.Enroll.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		rows, err = tx.SearchAudit(store.AuditFilter{EventPrefix: "config.", Limit: limit})
		return err
	}); err != nil {
		return nil, &Error{Code: CodeInternal, Err: err}
	}
	out := []ConfigEvent{}
	for _, r := range rows {
		if r.Event != "config.start" && r.Event != "config.reload" {
			continue
		}
		ev := ConfigEvent{ID: r.ID, At: r.At, Event: r.Event, Changes: []SettingChange{}}
		var d struct {
			FirstStart bool            `json:"first_start"`
			Changes    []SettingChange `json:"changes"`
			LeftOut    int             `json:"changes_left_out"`
		}
		if err := json.Unmarshal([]byte(r.Detail), &d); err == nil {
			ev.FirstStart, ev.LeftOut = d.FirstStart, d.LeftOut
			ev.Changes = append(ev.Changes, d.Changes...)
		}
		out = append(out, ev)
	}
	return out, nil
}
