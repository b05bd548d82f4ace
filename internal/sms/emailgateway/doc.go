// Package emailgateway sends text messages through a carrier's (or an SMS
// provider's) email-to-SMS gateway: the number goes into an address built
// from a template such as "{{.Number}}@sms.example.net", and the message is
// handed to a mail-sending function (sspr wires it to the mail outbox, so it
// goes out with the same retries and SMTP settings as other mail).
package emailgateway
