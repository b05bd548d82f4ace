// Package when parses the conditions of conditional-access rules (daily
// hours, weekdays, CIDR networks, country codes). It sits in the platform
// layer so that internal/config can check a rule with the very parser
// internal/access decides it with.
package when
