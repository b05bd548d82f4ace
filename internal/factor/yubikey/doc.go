// Package yubikey is the YubiKey OTP factor: the 44-character one-time
// password a YubiKey types when touched, checked by a validation server
// speaking the Yubico validation protocol 2.0 (YubiCloud, or an own
// yubikey-val / yubiserver).
//
// Requests carry id, otp, a fresh random nonce and h, the HMAC-SHA1 under
// the API key of the sorted parameters. Every response must be signed the
// same way — an error status as much as OK — and an OK must repeat the
// OTP and nonce sent; anything else is refused (ErrBadSignature), because
// an unsigned answer could come from whoever sits between sspr and the
// server. REPLAYED_OTP becomes factor.ErrReplayed, BAD_OTP
// factor.ErrWrongResponse. The server keeps the counters that make an OTP
// single-use.
//
// Enrollment binds the key's public ID (the modhex characters before the
// last 32: the first 12 on YubiKeys as shipped), proved by one OTP the
// server accepts; Verify refuses an OTP from any other key before asking
// the server. Decoy enrollments challenge like real ones and never verify.
//
// yubikeytest is a validation server for tests: it decrypts OTPs with
// each key's AES key and keeps counters, as yubikey-val does.
package yubikey
