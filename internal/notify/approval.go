package notify

import "time"

// ApprovalMail is the data of the mail asking a manager to approve a
// report's request: who asks, for what, when and from where, and the two
// links. The links only open a confirmation page; nothing is decided by
// following one (mail scanners open links).
type ApprovalMail struct {
	// Name and Login are the person who asks.
	Name  string
	Login string
	// Action is "reset" or "unlock".
	Action      string
	RequestIP   string
	RequestAt   time.Time
	ValidFor    time.Duration
	ApproveLink string
	DenyLink    string
}

// ApprovalRequest composes the mail to a manager.
func (c *Composer) ApprovalRequest(lang string, d ApprovalMail) (Mail, error) {
	return c.render("approval", lang, "mail.approval.subject", d, "name", d.Name)
}
