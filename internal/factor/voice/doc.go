// Package voice is the voice-call factor: a person enrolls a phone number
// (a landline will do) and proves it by typing the code a phone call
// speaks. Codes are kept as HMACs in the challenge state, exactly as the
// SMS factor keeps them (internal/factor/internal/otp); Challenge asks for
// a Delivery on Channel "voice".
//
// Caller places that call through Twilio's Voice Calls API:
//
//	POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Calls.json
//
// with To, From and Twiml, a TwiML document that <Say>s the code digit by
// digit, pauses and says it again. Errors never carry the code or the
// TwiML. voicetest is a local server speaking that API, which reads the
// TwiML back to what a caller would hear.
package voice
