// Package flow holds sspr's self-service flows as persisted state machines,
// independent of HTTP: the portal, the JSON API and the login-screen agent
// all drive the same flow, so every rule is enforced once, here.
//
// The recovery flow (reset and unlock):
//
//	Start(login) ──► choose ──Choose──► challenged ──Verify (right, more needed)──► choose
//	                   (a first factor may be          │  ▲ Resend / Choose / Verify (wrong)
//	                    challenged at once)            │  └───┘
//	                                                   ├──Verify (right, enough)──► verified
//	                                                   └──the last wrong response──► failed
//
//	verified ──SetPassword──► resetting ──the directory wrote──► done (audit, notices)
//	         ──Unlock──────► unlocking ──┬─a password refused, directory down,
//	         ──refused before the write─┐│ or the process died first──► verified (try again)
//	                                    ▼└─refused for good──► failed
//	                                  failed
//
// Every state change goes through moveTo, which refuses a move the table in
// states.go does not list. The transitions, tested against that table:
//
//	choose      → challenged
//	challenged  → challenged, choose, verified, failed
//	verified    → verified, resetting, unlocking, failed
//	resetting   → done, verified, failed
//	unlocking   → done, verified, failed
//
// A flow is addressed by a random bearer token; only its SHA-256 is stored.
// Codes are drawn from crypto/rand, stored as an HMAC, valid for a short
// time, consumed when used, and a flow dies after too many wrong tries.
// An unknown login starts a "decoy" flow that answers exactly like a real
// one (and takes as long), but can never be verified: nobody learns from
// sspr which logins exist. "As long" is built, not hoped for: a decoy does
// the same directory and store reads as a real flow and checks an answer
// against a decoy enrollment of the same cost, and every step a stranger
// can reach (identify, choose, resend, verify) is padded to a minimum
// duration, an overrun to the next multiple of it.
//
// A challenge covers every enrollment of the kind chosen: each enrolled
// address gets a code, any authenticator app's code verifies, and a
// passkey ceremony lists every passkey of the person — except before the
// first factor, when it lists none (a discoverable-credential ceremony),
// so that its options are the same for everybody.
//
// The directory write survives a crash at any instant: the claim records
// the intent and queues the notices held, the outcome releases or discards
// them, and ResolveInterrupted settles what a dead process left (see act).
package flow
