#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (headless, driven over the
# DevTools protocol by chromedp). Quick and idempotent when it is there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
	echo "browser.sh: chromium already installed"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "browser.sh: must run as root to install chromium" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "browser.sh: installed $(chromium --version 2>/dev/null || echo chromium)"
