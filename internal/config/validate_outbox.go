package config

import (
	"strings"
	"unicode"
)

// validateOutboxDelivery checks the outbox's delivery settings: how many
// workers, who this node is, how long rows stay.
func validateOutboxDelivery(p *Problems, o Outbox) {
	if o.Workers < 1 || o.Workers > 64 {
		p.addf("mail.outbox.workers", "%d is outside 1..64", o.Workers)
	}
	if len(o.NodeID) > 64 || strings.IndexFunc(o.NodeID, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		p.add("mail.outbox.node_id", "must be at most 64 printable characters without spaces")
	}
	if o.SentRetention < 0 {
		p.add("mail.outbox.sent_retention", "must not be negative (0 deletes sent messages at once)")
	}
	if o.FailedRetention < 0 {
		p.add("mail.outbox.failed_retention", "must not be negative (0 erases failed messages' contents at the next clean-up)")
	}
}
