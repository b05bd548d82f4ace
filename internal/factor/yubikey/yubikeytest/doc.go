// Package yubikeytest is a Yubico validation protocol 2.0 server for
// tests, with simulated YubiKeys (Token): it checks request signatures,
// decrypts each OTP with its key's AES key, checks the CRC and private ID,
// refuses counters it has seen (REPLAYED_OTP) and signs every response,
// as yubikey-val does. SignResponsesWith makes it a forger.
package yubikeytest
