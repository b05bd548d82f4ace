// Package config loads sspr's one YAML configuration file.
//
// Loading is strict and reports every problem at once: unknown keys, wrong
// types and invalid values each become a Problem naming the key path
// (for example "directories[0].urls[1]"), so an operator fixes the file in
// one pass instead of one error per restart. After the file, SSPR_*
// environment variables override any scalar key (SSPR_SERVER_BASE_URL,
// SSPR_DIRECTORIES_0_BIND_PASSWORD, ...), and every secret may instead be
// read from a file with the "_file" suffix (bind_password_file), which is how
// container secrets are usually mounted.
package config
