// Package otp holds what the mailed-code and texted-code factors share: a
// random numeric code, and challenge state that proves a code without
// holding it.
//
// The state carries the destination, a nonce, the purpose and the expiry in
// clear, and an HMAC over them, the subject and the code. Checking a code
// recomputes the HMAC; the state never holds the code, so a leaked state (it
// is stored encrypted with the flow anyway) does not give the code away
// without a brute force against the server's key.
package otp
