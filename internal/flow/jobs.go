package flow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// JobComposer renders the scheduled jobs' messages (notify.Composer).
type JobComposer interface {
	EnrollmentReminder(lang string, d notify.ReminderMail) (notify.Mail, error)
	Reconfirm(lang string, d notify.ReconfirmMail) (notify.Mail, error)
	PasswordExpiry(lang string, d notify.ExpiryMail) (notify.Mail, error)
	ExpiryDigest(lang string, d notify.DigestMail) (notify.Mail, error)
	SMSReminder(lang, link string) string
	SMSExpiry(lang string, days int, link string) string
}

// Names of the scheduled jobs this file runs (and of their send records).
const (
	JobReminders = "enrollment_reminders"
	JobReconfirm = "enrollment_reconfirm"
	JobExpiry    = "password_expiry"
	// jobExpiryDigest records the managers' digests apart from the
	// notices, so a manager who is also warned about their own password
	// gets both.
	jobExpiryDigest = "password_expiry_digest"
)

// Notifier runs the scheduled mail jobs: enrollment reminders,
// reconfirmation requests and password-expiry notices with a digest to
// each manager. Each message is queued in the transaction that records it
// as sent for its person and slot (store.RecordJobSend), so a second
// runner or a resumed run never queues it again.
type Notifier struct {
	*Kit
	Jobs JobComposer
	// Directories are the directories whose people are walked (those
	// that can list their users).
	Directories []directory.Directory
	// Language is the language of the mails (the portal's default).
	Language string
	// BaseURL is the portal's public URL; links point to /enroll and
	// /change under it.
	BaseURL string
	// RatePerMinute spaces the messages one run queues (0: no limit), so
	// a campaign to thousands does not flood the relay or the help desk.
	RatePerMinute int

	// ReminderInterval is the least time between two reminders to one
	// person; ReminderSMS also texts people with a known mobile number.
	ReminderInterval time.Duration
	ReminderSMS      bool
	// ReconfirmAfter asks people whose enrollment (or last confirmation)
	// is older than this to confirm it (0: off).
	ReconfirmAfter time.Duration
	// ExpiryDays are the days before expiry a notice goes out, once per
	// person and day count; ExpirySMS also texts it; ManagerDigest mails
	// each manager the reports expiring within the largest day count.
	ExpiryDays    []int
	ExpirySMS     bool
	ManagerDigest bool
}

func (n *Notifier) link(path string) string {
	return strings.TrimRight(n.BaseURL, "/") + path
}

// pacer hands out the due times of one run's messages, RatePerMinute
// apart, starting now: the outbox sends each when it is due.
type pacer struct {
	start time.Time
	every time.Duration
	n     int
}

func (n *Notifier) pacer() *pacer {
	p := &pacer{start: n.now()}
	if n.RatePerMinute > 0 {
		p.every = time.Minute / time.Duration(n.RatePerMinute)
	}
	return p
}

func (p *pacer) next() time.Time {
	t := p.start.Add(time.Duration(p.n) * p.every)
	p.n++
	return t
}

func personKey(dir, dn string) string { return dir + "\n" + strings.ToLower(dn) }

// walk calls fn with every listed user of every directory that can list
// them, looked up again (FindUser) for the mail, mobile, manager and
// status attributes the list does not read. People no longer found
// (renamed meanwhile) are skipped; any other directory error ends the
// walk.
func (n *Notifier) walk(ctx context.Context, want func(d directory.Directory, u *directory.User) bool, fn func(d directory.Directory, u *directory.User) error) error {
	return walkPeople(ctx, n.Directories, want, fn)
}

func walkPeople(ctx context.Context, dirs []directory.Directory, want func(d directory.Directory, u *directory.User) bool, fn func(d directory.Directory, u *directory.User) error) error {
	for _, d := range dirs {
		l, ok := d.(UserLister)
		if !ok {
			continue
		}
		var listed []*directory.User
		err := l.ListUsers(ctx, func(u *directory.User) error {
			if want == nil || want(d, u) {
				listed = append(listed, u)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("listing the users of %s: %w", d.Name(), err)
		}
		for _, u := range listed {
			if err := ctx.Err(); err != nil {
				return err
			}
			full, err := d.FindUser(ctx, u.Login)
			switch k := directory.KindOf(err); {
			case err == nil:
			case k == directory.KindNotFound || k == directory.KindAmbiguous:
				continue // renamed or gone since the list was read
			default:
				// The directory went away mid-walk: the run fails and its
				// slot stays due, rather than pass over everyone left.
				return fmt.Errorf("looking up %s in %s: %w", u.DN, d.Name(), err)
			}
			if !strings.EqualFold(full.DN, u.DN) {
				continue
			}
			full.Directory = d.Name()
			if err := fn(d, full); err != nil {
				return err
			}
		}
	}
	return nil
}

// send queues the messages build returns for key in slot, unless job
// already sent key anything in slot or, with minGap, less than minGap
// ago. It reports whether it queued.
func (n *Notifier) send(ctx context.Context, job, key, slot string, minGap time.Duration, p *pacer, build func(due time.Time) ([]*store.Message, error)) (bool, error) {
	now := n.now()
	sent := false
	err := n.Store.InTx(ctx, func(tx *store.Tx) error {
		sent = false
		if minGap > 0 {
			last, err := tx.LastJobSend(job, key)
			if err != nil {
				return err
			}
			if !last.IsZero() && now.Sub(last) < minGap {
				return nil
			}
		}
		fresh, err := tx.RecordJobSend(job, key, slot, now)
		if err != nil || !fresh {
			return err
		}
		due := p.next()
		msgs, err := build(due)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			m.NextAttemptAt = due
			if err := n.enqueue(tx, m); err != nil {
				return err
			}
		}
		sent = len(msgs) > 0
		return nil
	})
	if sent {
		n.enqueued()
	}
	return sent, err
}

func personName(u *directory.User) string { return firstNonEmpty(u.DisplayName, u.Login) }

// Reminders mails (and texts) people who have enrolled no factor, at
// most once per ReminderInterval each.
func (n *Notifier) Reminders(ctx context.Context, slot time.Time) (map[string]int, error) {
	counts := map[string]int{"people": 0, "sent": 0, "skipped": 0, "unreachable": 0}
	var enrolled map[string]map[string][]string
	if err := n.read(ctx, func(tx *store.Tx) (err error) { enrolled, err = tx.EnrolledKinds(); return }); err != nil {
		return counts, err
	}
	p := n.pacer()
	link := n.link("/enroll")
	slotKey := slot.UTC().Format(time.RFC3339)
	err := n.walk(ctx, func(d directory.Directory, u *directory.User) bool {
		return len(enrolled[d.Name()][strings.ToLower(u.DN)]) == 0
	}, func(d directory.Directory, u *directory.User) error {
		counts["people"]++
		if u.Email == "" && (!n.ReminderSMS || u.Mobile == "") {
			counts["unreachable"]++
			return nil
		}
		sent, err := n.send(ctx, JobReminders, personKey(d.Name(), u.DN), slotKey, n.ReminderInterval, p, func(due time.Time) ([]*store.Message, error) {
			var out []*store.Message
			if u.Email != "" {
				m, err := n.Jobs.EnrollmentReminder(n.Language, notify.ReminderMail{Name: personName(u), Login: u.Login, Link: link})
				if err != nil {
					return nil, err
				}
				msg, err := n.newMail("enrollment_reminder", u.Email, m, due)
				if err != nil {
					return nil, err
				}
				out = append(out, msg)
			}
			if n.ReminderSMS && u.Mobile != "" {
				msg, err := n.newSMS("enrollment_reminder", u.Mobile, n.Jobs.SMSReminder(n.Language, link), due)
				if err != nil {
					return nil, err
				}
				out = append(out, msg)
			}
			return out, nil
		})
		if err != nil {
			return err
		}
		if sent {
			counts["sent"]++
		} else {
			counts["skipped"]++
		}
		return nil
	})
	return counts, err
}

// Reconfirm asks people whose enrollment (or last confirmation) is older
// than ReconfirmAfter to confirm their factors are still theirs: once per
// enrollment date, so a confirmation (which moves the date) starts a new
// period.
func (n *Notifier) Reconfirm(ctx context.Context, slot time.Time) (map[string]int, error) {
	counts := map[string]int{"people": 0, "sent": 0, "skipped": 0, "unreachable": 0}
	if n.ReconfirmAfter <= 0 {
		return counts, nil
	}
	var fresh map[string]map[string]time.Time
	if err := n.read(ctx, func(tx *store.Tx) (err error) { fresh, err = tx.EnrollmentFreshness(); return }); err != nil {
		return counts, err
	}
	now := n.now()
	p := n.pacer()
	link := n.link("/enroll")
	err := n.walk(ctx, func(d directory.Directory, u *directory.User) bool {
		at, ok := fresh[d.Name()][strings.ToLower(u.DN)]
		return ok && now.Sub(at) >= n.ReconfirmAfter
	}, func(d directory.Directory, u *directory.User) error {
		counts["people"]++
		if u.Email == "" {
			counts["unreachable"]++
			return nil
		}
		since := fresh[d.Name()][strings.ToLower(u.DN)]
		sent, err := n.send(ctx, JobReconfirm, personKey(d.Name(), u.DN), since.UTC().Format(time.RFC3339Nano), 0, p, func(due time.Time) ([]*store.Message, error) {
			m, err := n.Jobs.Reconfirm(n.Language, notify.ReconfirmMail{Name: personName(u), Login: u.Login, Since: since, Link: link})
			if err != nil {
				return nil, err
			}
			msg, err := n.newMail("enrollment_reconfirm", u.Email, m, due)
			return []*store.Message{msg}, err
		})
		if err != nil {
			return err
		}
		if sent {
			counts["sent"]++
		} else {
			counts["skipped"]++
		}
		return nil
	})
	return counts, err
}

// daysLeft is the whole days until at, rounded up (an expiry 30 hours away
// is "in 2 days").
func daysLeft(now, at time.Time) int {
	d := at.Sub(now)
	days := int(d / (24 * time.Hour))
	if d%(24*time.Hour) > 0 {
		days++
	}
	return days
}

// threshold is the smallest of days (a notice day count) that left is
// within, 0 when none.
func threshold(days []int, left int) int {
	best := 0
	for _, d := range days {
		if left <= d && (best == 0 || d < best) {
			best = d
		}
	}
	return best
}

type digestEntry struct {
	dir, managerDN string
	rows           []notify.DigestRow
}

// Expiry mails people whose password expires within one of ExpiryDays
// (once per person, threshold and expiry date: changing the password
// moves the date, so the next cycle is warned again) and, with
// ManagerDigest, each manager a digest of their reports expiring within
// the largest threshold (once a day).
func (n *Notifier) Expiry(ctx context.Context, slot time.Time) (map[string]int, error) {
	counts := map[string]int{"people": 0, "expiring": 0, "sent": 0, "skipped": 0, "unreachable": 0, "digests": 0}
	if len(n.ExpiryDays) == 0 {
		return counts, nil
	}
	now := n.now()
	horizon := slices.Max(n.ExpiryDays)
	p := n.pacer()
	link := n.link("/change")
	byDN := map[string]*directory.User{}
	digests := map[string]*digestEntry{}
	var order []string
	err := n.walk(ctx, nil, func(d directory.Directory, u *directory.User) error {
		counts["people"]++
		if n.ManagerDigest {
			byDN[personKey(d.Name(), u.DN)] = u
		}
		sr, ok := d.(directory.StatusReader)
		if !ok {
			return nil
		}
		st, err := sr.AccountStatus(ctx, u)
		if err != nil {
			n.log().Warn("reading an account's status for the expiry notices failed", "directory", d.Name(), "subject", u.DN, "err", err)
			return nil
		}
		if st.PasswordExpires.IsZero() || st.PasswordExpired || st.Disabled || !st.PasswordExpires.After(now) {
			return nil
		}
		left := daysLeft(now, st.PasswordExpires)
		if left > horizon {
			return nil
		}
		counts["expiring"]++
		if n.ManagerDigest && u.Manager != "" {
			k := personKey(d.Name(), u.Manager)
			e := digests[k]
			if e == nil {
				e = &digestEntry{dir: d.Name(), managerDN: u.Manager}
				digests[k] = e
				order = append(order, k)
			}
			e.rows = append(e.rows, notify.DigestRow{Name: personName(u), Login: u.Login, Expires: st.PasswordExpires})
		}
		th := threshold(n.ExpiryDays, left)
		if th == 0 {
			return nil
		}
		if u.Email == "" && (!n.ExpirySMS || u.Mobile == "") {
			counts["unreachable"]++
			return nil
		}
		slotKey := fmt.Sprintf("%dd@%s", th, st.PasswordExpires.UTC().Format(time.RFC3339))
		sent, err := n.send(ctx, JobExpiry, personKey(d.Name(), u.DN), slotKey, 0, p, func(due time.Time) ([]*store.Message, error) {
			var out []*store.Message
			if u.Email != "" {
				m, err := n.Jobs.PasswordExpiry(n.Language, notify.ExpiryMail{Name: personName(u), Login: u.Login, Expires: st.PasswordExpires, Days: left, Link: link})
				if err != nil {
					return nil, err
				}
				msg, err := n.newMail("password_expiry", u.Email, m, due)
				if err != nil {
					return nil, err
				}
				out = append(out, msg)
			}
			if n.ExpirySMS && u.Mobile != "" {
				msg, err := n.newSMS("password_expiry", u.Mobile, n.Jobs.SMSExpiry(n.Language, left, link), due)
				if err != nil {
					return nil, err
				}
				out = append(out, msg)
			}
			return out, nil
		})
		if err != nil {
			return err
		}
		if sent {
			counts["sent"]++
		} else {
			counts["skipped"]++
		}
		return nil
	})
	if err != nil {
		return counts, err
	}
	day := now.UTC().Format("2006-01-02")
	for _, k := range order {
		e := digests[k]
		mgr := byDN[k]
		if mgr == nil || mgr.Email == "" {
			counts["unreachable"]++
			continue
		}
		slices.SortFunc(e.rows, func(a, b notify.DigestRow) int { return a.Expires.Compare(b.Expires) })
		sent, err := n.send(ctx, jobExpiryDigest, k, day, 0, p, func(due time.Time) ([]*store.Message, error) {
			m, err := n.Jobs.ExpiryDigest(n.Language, notify.DigestMail{Name: personName(mgr), Reports: e.rows, Link: link})
			if err != nil {
				return nil, err
			}
			msg, err := n.newMail("password_expiry_digest", mgr.Email, m, due)
			return []*store.Message{msg}, err
		})
		if err != nil {
			return counts, err
		}
		if sent {
			counts["digests"]++
		}
	}
	return counts, nil
}

// ReportComposer composes the mail a scheduled report is attached to
// (notify.Composer).
type ReportComposer interface {
	ScheduledReport(lang string, d notify.ReportMail) (notify.Mail, error)
}

// MailReport mails file (a report rendered for slot) to each recipient as
// an attachment, once per recipient and slot: a resumed or second run of
// the job sends only to those not yet sent to.
func (n *Notifier) MailReport(ctx context.Context, job, title string, slot time.Time, recipients []string, file store.Attachment) (map[string]int, error) {
	counts := map[string]int{"recipients": len(recipients), "sent": 0, "skipped": 0, "bytes": len(file.Data)}
	rc, ok := n.Jobs.(ReportComposer)
	if !ok {
		return counts, fmt.Errorf("the composer cannot write report mails")
	}
	enc, err := store.EncodeAttachments([]store.Attachment{file})
	if err != nil {
		return counts, err
	}
	p := n.pacer()
	slotKey := slot.UTC().Format(time.RFC3339)
	for _, to := range recipients {
		sent, err := n.send(ctx, job, to, slotKey, 0, p, func(due time.Time) ([]*store.Message, error) {
			m, err := rc.ScheduledReport(n.Language, notify.ReportMail{Name: to, Report: title, At: n.now()})
			if err != nil {
				return nil, err
			}
			msg, err := n.newMail("scheduled_report", to, m, due)
			if err != nil {
				return nil, err
			}
			msg.Attachments = enc
			return []*store.Message{msg}, nil
		})
		if err != nil {
			return counts, err
		}
		if sent {
			counts["sent"]++
		} else {
			counts["skipped"]++
		}
	}
	return counts, nil
}
