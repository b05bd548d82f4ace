// Package config loads sspr's one YAML configuration file.
//
// Loading is strict and reports every problem at once: unknown keys, wrong
// types and invalid values each become a Problem naming the key path
// (for example "directories[0].urls[1]"), so an operator fixes the file in
// one pass instead of one error per restart. After the file, SSPR_*
// environment variables override any scalar key (SSPR_SERVER_BASE_URL,
// SSPR_DIRECTORIES_0_BIND_PASSWORD, ...), and every secret may instead be
// read from a file with the "_file" suffix (bind_password_file), which is how
// container secrets are usually mounted. An SSPR_* variable that matches no
// key is a problem too (SSPR_TEST_* belongs to the test suite), and only
// the secrets of what is switched on are read.
//
// Read returns a Report with problems and warnings side by side (what
// `sspr config check` prints); Load is Read that fails on any problem (what
// `sspr serve` uses). Each section's rules live in validate_<section>.go
// with a test table of their own; LDAP syntax (filters, DNs, attribute
// names) is checked here with go-ldap's parsers, so a directory's settings
// are validated once, under their key paths. What can only be checked by
// building a component (password rules, the breach corpus, the key ring,
// factors, senders, connectors) is checked by app.Check, which `config
// check` and `serve` share.
package config
