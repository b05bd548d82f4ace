// Package duo is the Duo factor, through the Duo Auth API v2: /preauth
// (can Duo authenticate this user?), /auth with a push (asynchronous,
// then /auth_status polled until approved, denied or timed out) or a
// passcode (Duo Mobile, a hardware token, SMS passcodes).
//
// Every request is signed as Duo documents (signature v2): HTTP Basic with
// the integration key and the hex HMAC-SHA1, under the secret key, of the
// Date header, method, host, path and the sorted, percent-encoded
// parameters. Answers are checked: JSON with stat OK and a result the
// endpoint defines, or stat FAIL (an error); anything else is refused.
// A preauth "allow" (a bypass configured in Duo) never counts as a factor.
//
// The Duo user name comes from an enrollment (Config.Enroll: the person
// types it and proves it with one approved authentication) or from the
// directory (an attribute, or the login). Challenge sends nothing — the
// push goes out when the person picks it — so it looks the same for every
// person; decoy enrollments never reach Duo and never verify.
//
// duotest is a local server speaking the same format, checking signatures.
package duo
