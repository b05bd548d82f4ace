// Package packaging holds what turns sspr into something an operator
// installs: the nfpm description of the deb and rpm packages (nfpm.yaml),
// the hardened systemd unit (systemd/sspr.service), the configuration the
// packages install (etc/sspr.yaml), their maintainer scripts (scripts/) and
// the OCI image (image/Containerfile). scripts/package.sh builds all three
// artefacts, and with `agent` the login-screen agent's deb (agent/: its nfpm
// description, the pam-auth-update profile, agent.yaml and its scripts).
//
// The Go code here is only the tests that build those artefacts and prove
// them the way an operator would meet them: the deb installed into a fresh
// Debian root made with mmdebstrap and its service started as the unit says
// (its user, its umask, its state directory); the unit checked by
// systemd-analyze; the image built with buildah and run; the agent's deb
// installed, its PAM profile enabled with pam-auth-update, a local login
// through it with pamtester while sspr is down, and a purge that leaves
// /etc/pam.d as it was.
package packaging
