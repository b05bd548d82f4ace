// Package target holds what every sync target shares: the Identity a
// target is handed, the Target interface and the Error that says whether a
// failure is worth retrying. It sits in the interfaces layer (like
// internal/sms) so that the target adapters under internal/sync/ and the
// domain package internal/sync can both use it without importing each
// other upwards.
package target
