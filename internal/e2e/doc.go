// Package e2e holds end-to-end tests: a whole sspr instance, configured from
// YAML the way an operator would, served over real HTTP, mailing through a
// real SMTP server (mailsink), resetting passwords in real directories
// (Samba AD and OpenLDAP started by scripts/testenv, or the embedded demo
// directory). The package has no production code.
package e2e
