// Package notify composes the mails sspr sends (one-time codes, "your
// password was changed" notices) from templates and the message catalogue,
// and delivers the outbox: a worker that takes due messages from the store,
// hands them to a Sender (SMTP), and retries with exponential backoff until
// the relay accepts them. Because messages are written to the outbox in the
// same transaction as the flow step that caused them, a relay that is down
// only delays mail; it never loses it or fails the step.
package notify
