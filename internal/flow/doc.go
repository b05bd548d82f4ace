// Package flow holds sspr's self-service flows as persisted state machines,
// independent of HTTP: the portal, the JSON API and (later) login-screen
// agents all drive the same flow, so every rule is enforced once, here.
//
// The reset flow:
//
//	         Start(login)
//	              │  (known user with mail: code mailed;
//	              ▼   anyone else: the same answer, no mail)
//	        ┌─ code_sent ──Resend──┐
//	        │     │  ▲─────────────┘
//	5 wrong │     │ VerifyCode(right code, in time)
//	codes   │     ▼
//	        │  verified ◄──────────────┐ directory refused the password:
//	        │     │ SetPassword         │ the rule is shown, try again
//	        │     ▼                     │
//	        │  resetting ───────────────┘
//	        ▼     │ directory accepted
//	     failed   ▼
//	            done   (notice mailed)
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
package flow
