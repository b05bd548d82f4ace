// Package abuse keeps attackers from getting anywhere, quietly: rate limits
// and blocks on identify requests, code sends, failed verifications and
// resets, an optional proof-of-work brake, and the hook for a CAPTCHA.
//
// # Where the state lives
//
// Every counter and block is a row in the store (abuse_counters,
// abuse_blocks), never process memory, so a limit holds across restarts and
// across all nodes sharing the database, and an attacker gains nothing by
// spreading attempts over nodes or waiting for a deploy. A counter is a
// window cut into twelve time buckets: "5 failures in the last hour" is the
// sum of the (at most 13) five-minute buckets that reach into the last hour,
// so a check costs the same with 10 or 300,000 events behind it. A bucket
// counts while any part of it is in the window, so the limit is never
// exceeded; an event is forgotten up to one bucket late.
//
// # Reserve, then act
//
// Take checks blocks and windows and, if the action is allowed, counts it,
// in one writing transaction: no request can slip between another's check
// and count, so however many race, no more than the limit get through.
// Everything is counted before it happens: a verification takes a failure
// slot before the response is checked and gives it back (Refund) when the
// response was right, so only wrong answers stay counted; a code send is
// counted before it is queued; a reset before the directory is written (and
// refunded if the directory could not be reached). The slot that fills a
// window with a Block blocks the subject; its Refund lifts that block again.
// Limiter.In gives the methods each in a transaction of its own.
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
// A refusal touches neither the directory nor any counter. Its Decision
// says whether the refusal is Quiet: a refusal about an account or
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
// pwdFailureCountInterval). CheckAgainstLockout (for start-up) and
// Policy.Validate report a limit that is not below the threshold.
//
// # Proof of work and CAPTCHA
//
// PoW (off unless configured) makes each identify request cost the client a
// little CPU: a stateless MAC'd challenge, solved in the browser by PoWScript,
// whose nonce is remembered as used until it expires. Captcha is the
// interface a CAPTCHA provider would implement.
package abuse
