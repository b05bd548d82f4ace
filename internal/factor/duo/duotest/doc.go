// Package duotest is a local Duo Auth API v2 server for tests: preauth,
// auth (push, asynchronous, and passcode) and auth_status, answering in
// Duo's JSON format and refusing requests whose v2 signature or Date does
// not verify, as Duo does.
package duotest
