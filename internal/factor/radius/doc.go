// Package radius is the RADIUS factor: a passcode checked by a RADIUS
// server (RFC 2865), the way RSA SecurID, and most one-time-password
// servers (FreeRADIUS with an OTP module, Microsoft NPS extensions, privacyIDEA,
// LinOTP), are reached.
//
// The codec is written here, small, because the common Go library
// (layeh.com/radius) neither sends nor checks Message-Authenticator. Every
// Access-Request carries one as its first attribute (RFC 3579 section
// 3.2), and every reply must carry exactly one that verifies, besides a
// correct Response Authenticator; a reply without one is dropped. That is
// the defence against BlastRADIUS (CVE-2024-3596), where a man in the
// middle forges an Access-Accept by an MD5 chosen-prefix collision on the
// Response Authenticator alone. Configure the servers to require
// Message-Authenticator from sspr too (FreeRADIUS:
// require_message_authenticator = yes on the client).
//
// Challenge sends nothing; Verify sends the person's passcode. An
// Access-Challenge (a next tokencode, a new PIN, a second step) comes back
// as *ContinueError carrying the next challenge, whose state holds the
// server's State attribute; the caller shows its prompt (with the server's
// Reply-Message) and passes the next response to Verify again, at most
// Config.MaxRounds times. Replay protection is the server's: a one-time
// passcode it accepted once it refuses afterwards.
//
// The user name comes from an enrollment (Config.Enroll: the person types
// it and proves it with an accepted passcode) or from the directory (an
// attribute, or the login). Decoy enrollments challenge like real ones and
// never verify; the servers are never asked about them.
package radius
