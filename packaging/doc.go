// Package packaging holds what turns sspr into something an operator
// installs: the nfpm description of the deb and rpm packages (nfpm.yaml),
// the hardened systemd unit (systemd/sspr.service), the configuration the
// packages install (etc/sspr.yaml), their maintainer scripts (scripts/) and
// the OCI image (image/Containerfile). scripts/package.sh builds all three
// artefacts.
//
// The Go code here is only the tests that build those artefacts and prove
// them the way an operator would meet them: the deb installed into a fresh
// Debian root made with mmdebstrap and its service started as the unit says
// (its user, its umask, its state directory); the unit checked by
// systemd-analyze; the image built with buildah and run.
package packaging
