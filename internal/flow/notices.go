package flow

import (
	"context"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// NoticeAction names what a notice tells of (notifications.<action>).
type NoticeAction string

// The actions notices are chosen for.
const (
	NoticeReset      NoticeAction = "reset"
	NoticeUnlock     NoticeAction = "unlock"
	NoticeChange     NoticeAction = "change"
	NoticeEnrollment NoticeAction = "enrollment"
	// NoticeBlock: the abuse controls refused a step of a known account
	// (told once per FailureWindow).
	NoticeBlock NoticeAction = "block"
	// NoticeFailures: FailureThreshold failed verifications of one
	// account within FailureWindow (told once per window).
	NoticeFailures NoticeAction = "failures"
)

// NoticeRule says who hears of one action. Person is the person's mail
// addresses (the directory's and those enrolled), SMS their enrolled
// phones, Manager the mail address of the entry their manager attribute
// names (read when the notice is sent), Admins fixed addresses.
type NoticeRule struct {
	Person, SMS, Manager bool
	Admins               []string
}

// Notices chooses who hears of what. A nil *Notices in the Kit keeps the
// built-in choice (DefaultNotices).
type Notices struct {
	Rules map[NoticeAction]NoticeRule
	// FailureThreshold failed verifications of one account within
	// FailureWindow raise the "failures" notice, once per window; zero
	// never does. FailureWindow also spaces "block" notices.
	FailureThreshold int
	FailureWindow    time.Duration
	// Language is the language of notices to managers and admins (the
	// portal's default).
	Language string
}

// DefaultNotices is what sspr tells without a notifications section: the
// person, on every channel they have, of every change to their account.
func DefaultNotices() *Notices {
	person := NoticeRule{Person: true, SMS: true}
	return &Notices{Rules: map[NoticeAction]NoticeRule{
		NoticeReset: person, NoticeUnlock: person, NoticeEnrollment: person, NoticeChange: {Person: true},
	}, FailureThreshold: 5, FailureWindow: 15 * time.Minute}
}

// Roles of notice recipients besides the person.
const (
	roleManager = "manager"
	roleAdmin   = "admin"
	// rolePersonByDN is the person reached through the mail address of
	// their entry, read when sent (for block and failures, which are
	// noticed without looking the person up).
	rolePersonByDN = "person"
)

func (k *Kit) notices() *Notices {
	if k.Notices != nil {
		return k.Notices
	}
	return DefaultNotices()
}

// recipients lists who hears of action on user's account: the person's
// channels the rule chooses (c may be nil: the directory's mail only),
// the manager, the admins.
func (k *Kit) recipients(ctx context.Context, c *Catalogue, user *directory.User, action NoticeAction) []noticeTarget {
	rule := k.notices().Rules[action]
	var out []noticeTarget
	if rule.Person || rule.SMS {
		var mine []noticeTarget
		if c != nil {
			mine = c.noticeTargets(ctx, k, user)
		} else if user.Email != "" {
			mine = []noticeTarget{{channel: "email", to: user.Email}}
		}
		for _, t := range mine {
			if (t.channel == "sms" && rule.SMS) || (t.channel != "sms" && rule.Person) {
				out = append(out, t)
			}
		}
	}
	if rule.Manager && user.Manager != "" {
		out = append(out, noticeTarget{channel: "manager_approval", to: ApprovalRecipient(user.Directory, user.Manager), role: roleManager})
	}
	for _, a := range rule.Admins {
		out = append(out, noticeTarget{channel: "email", to: a, role: roleAdmin})
	}
	return out
}

// wants reports whether the rule of action lets a person's own channel
// (an enrollment's new address or phone) hear of it.
func (k *Kit) wants(action NoticeAction, channel string) bool {
	rule := k.notices().Rules[action]
	if channel == "sms" {
		return rule.SMS
	}
	return rule.Person
}

// actionNotice builds the notice to a manager, an admin or (for block and
// failures) the person reached by DN.
func (k *Kit) actionNotice(t noticeTarget, d notify.NoticeMail, now time.Time) (*store.Message, error) {
	mail, err := k.Composer.ActionNotice(k.notices().Language, d)
	if err != nil {
		return nil, err
	}
	m, err := k.newMail(d.Action+"_notice_"+t.role, t.to, mail, now)
	if err != nil {
		return nil, err
	}
	m.Channel = t.channel
	return m, nil
}

// windowNotice counts one occurrence of action (block or failures) for a
// known account, in the step's transaction, and once the rule's moment in
// the window comes (the first block; the FailureThreshold-th failure)
// queues its notices and audits that it did. An unknown login (ev.Subject
// is empty) is counted the same way under a key of its flow, so a
// stranger's step does the same store work as a real account's; nothing is
// ever sent for it.
func (k *Kit) windowNotice(tx *store.Tx, action NoticeAction, ev audit.Event, name string) error {
	n := k.notices()
	rule, ok := n.Rules[action]
	if !ok || (!rule.Person && len(rule.Admins) == 0) {
		return nil
	}
	threshold := 1
	if action == NoticeFailures {
		if threshold = n.FailureThreshold; threshold <= 0 {
			return nil
		}
	}
	window := n.FailureWindow
	if window <= 0 {
		window = time.Hour
	}
	now := ev.At
	if now.IsZero() {
		now = k.now()
	}
	if ev.Subject == "" || ev.Directory == "" {
		_, _, err := tx.BumpNoticeWindow(string(action), "unknown|"+ev.Flow, now, window)
		return err
	}
	account := ev.Directory + "|" + ev.Subject
	count, notified, err := tx.BumpNoticeWindow(string(action), account, now, window)
	if err != nil || notified || count < threshold {
		return err
	}
	if err := tx.MarkNoticeSent(string(action), account); err != nil {
		return err
	}
	d := notify.NoticeMail{Action: string(action), Name: firstNonEmpty(name, ev.Actor), Login: ev.Actor, At: now, ClientIP: ev.ClientIP,
		Count: count, WindowMinutes: int(window / time.Minute)}
	var targets []noticeTarget
	if rule.Person {
		targets = append(targets, noticeTarget{channel: "manager_approval", to: ApprovalRecipient(ev.Directory, ev.Subject), role: rolePersonByDN})
	}
	for _, a := range rule.Admins {
		targets = append(targets, noticeTarget{channel: "email", to: a, role: roleAdmin})
	}
	for _, t := range targets {
		m, err := k.actionNotice(t, d, now)
		if err != nil {
			return err
		}
		if err := k.enqueue(tx, m); err != nil {
			return err
		}
	}
	if k.Enqueued != nil {
		tx.AfterCommit(k.Enqueued)
	}
	alert := audit.Event{At: now, Event: "notice." + string(action), Actor: ev.Actor, Subject: ev.Subject, Directory: ev.Directory,
		ClientIP: ev.ClientIP, Flow: ev.Flow, Outcome: audit.Info, Detail: map[string]any{"count": count, "window_s": int64(window / time.Second),
			"admins": len(rule.Admins), "person": rule.Person}}
	return k.Audit.Append(tx, alert)
}
