package notify

import "time"

// NoticeMail is the data of a notice about somebody else's account, sent
// to their manager or to administrators (notifications.<action>), or about
// a refusal to the person: what happened, to whom, when, from where.
type NoticeMail struct {
	// Action is reset, unlock, change, enrollment, block or failures.
	Action   string
	Name     string
	Login    string
	At       time.Time
	ClientIP string
	// Count and WindowMinutes say, for "failures", how many failed
	// verifications within how long raised the alert.
	Count, WindowMinutes int
}

// ActionNotice composes a notice about d.Action on d.Login's account.
func (c *Composer) ActionNotice(lang string, d NoticeMail) (Mail, error) {
	return c.render("notice", lang, "mail.notice.subject_"+d.Action, d, "login", d.Login)
}
