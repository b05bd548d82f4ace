package sms

import (
	"context"
	"errors"
	"fmt"
)

// Sender sends one text message. to is an E.164 number ("+14155550142");
// body is plain text. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, to, body string) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, to, body string) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, to, body string) error { return f(ctx, to, body) }

// PermanentError reports a message that can never be delivered as sent:
// the number is invalid, not a mobile, unreachable, or its owner opted out.
// Retrying it is pointless; every other error from a Sender is worth a
// retry.
type PermanentError struct {
	// Reason is a short machine-friendly cause: "invalid_number",
	// "not_mobile", "unsubscribed", "unreachable", "rejected".
	Reason string
	// Err is the provider's own error.
	Err error
}

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "sms: permanent failure (" + e.Reason + ")"
	}
	return fmt.Sprintf("sms: permanent failure (%s): %v", e.Reason, e.Err)
}

// Unwrap returns the provider's error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports true. The outbox recognises "give up, do not retry" by
// this behaviour (errors.As to interface{ Permanent() bool }), so this
// package needs nothing from it.
func (e *PermanentError) Permanent() bool { return true }

// Permanent wraps err as a *PermanentError with reason.
func Permanent(reason string, err error) error {
	return &PermanentError{Reason: reason, Err: err}
}

// IsPermanent tells whether err (or an error it wraps) is a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Reasons carried by PermanentError.
const (
	ReasonInvalidNumber = "invalid_number"
	ReasonNotMobile     = "not_mobile"
	ReasonUnsubscribed  = "unsubscribed"
	ReasonUnreachable   = "unreachable"
	ReasonRejected      = "rejected"
)

// ErrUnauthorized is wrapped by errors of providers that refused sspr's
// credentials. It is not permanent (the message itself is fine, and it may
// go out once an operator fixes the configuration) but it deserves an
// alert rather than a silent retry.
var ErrUnauthorized = errors.New("sms: the provider refused the credentials")
