// Package twilio sends text messages through Twilio's Programmable
// Messaging REST API (or any service that speaks it):
//
//	POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json
//
// form-encoded To, From (or MessagingServiceSid) and Body, authenticated
// with HTTP Basic auth as AccountSID:AuthToken or APIKeySID:APIKeySecret.
// Twilio answers 201 Created with the message resource, or an error
// document {code, message, more_info, status}; numbers that can never
// receive the message (21211 invalid, 21614 not a mobile, 21610
// unsubscribed, ...) become *sms.PermanentError, 429 and 5xx are retried.
package twilio
