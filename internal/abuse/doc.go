// Package abuse keeps attackers from getting anywhere, quietly: rate limits
// and blocks on identify requests, code sends, failed verifications and
// resets, an optional proof-of-work brake, and the hook for a CAPTCHA.
//
// # Where the state lives
//
// Every counter and block is a row in the store (abuse_events,
// abuse_blocks), never process memory, so a limit holds across restarts and
// across all nodes sharing the database, and an attacker gains nothing by
// spreading attempts over nodes or waiting for a deploy. Counters are sliding
// windows: "5 failures in the last hour" counts the rows of the last hour at
// the moment of the check, so there is no window edge to burst across.
//
// The Limiter's methods take the caller's *store.Tx: a flow step checks, acts
// and records in one transaction, so a failed verification and its count
// commit together (or not at all), and two nodes cannot both slip under a
// limit. Limiter.In gives the same methods, each in a transaction of its own,
// for callers outside a flow step.
//
// # What is stored
//
// Keys are never secrets. Logins are case-folded, NFKC-normalised and
// trimmed; IP addresses are stored as text (IPv6 as its /64 by default,
// because one host easily owns a whole /64); phone numbers and mail
// addresses only as an HMAC under the limiter's key, so a copy of the
// database holds no contact data.
//
// # Staying quiet
//
// Check only reads; it never touches the directory or any counter. Its
// Decision says whether the refusal is Quiet: a refusal about an account or
// a destination must not show, or it would tell an attacker that the account
// exists or was targeted. The flow answers exactly as if allowed ("a code is
// on its way", "wrong code") and simply does not act. Refusals about a client
// IP say nothing about any account and may be shown plainly (HTTP 429 with
// Retry-After).
//
// # Never lock the directory account
//
// An attacker's guesses must never lock the real account: that would turn a
// reset portal into a denial-of-service tool against every user. The limiter
// is what stops guessing, and it must stop first: configure the per-user
// failure limit below the directory's lockout threshold (AD's "account
// lockout threshold", ppolicy's pwdMaxFailure), leaving room for the user's
// own typos at the login screen, and a window at least as long as the
// directory's observation window ("reset account lockout counter after",
// pwdFailureCountInterval). Policy.Validate reports a limit that is not below
// the threshold.
//
// # Proof of work and CAPTCHA
//
// PoW (off unless configured) makes each identify request cost the client a
// little CPU: a stateless MAC'd challenge, solved in the browser by PoWScript,
// whose nonce is remembered as used until it expires. Captcha is the
// interface a CAPTCHA provider would implement.
package abuse
