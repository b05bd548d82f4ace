package directory

import "context"

// MailReader reads the mail address of an entry named by DN (a manager,
// named by a person's manager attribute), for messages to people who are
// not the one recovering. An entry without an address is an *Error of kind
// KindNotFound.
type MailReader interface {
	MailOf(ctx context.Context, dn string) (string, error)
}
