// Package smstest holds local HTTP servers that stand in for SMS providers
// in tests: Twilio, speaking its documented Messages API, and a generic
// webhook receiver. Both record what they receive, can be told to fail, and
// listen on 127.0.0.1 only. It is a normal package so tests of any package
// (flows, the outbox, end-to-end) can use it.
package smstest
