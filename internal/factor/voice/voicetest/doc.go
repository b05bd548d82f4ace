// Package voicetest is a local server speaking Twilio's Voice Calls API
// (POST .../Calls.json with To, From and Twiml) for tests: it checks the
// credentials, numbers and TwiML as Twilio does and keeps each call with
// the text of its <Say> verbs, what the person would hear.
package voicetest
