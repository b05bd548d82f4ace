#!/usr/bin/env bash
# Installs the small tools some tests compare sspr against or check it with:
#   * oathtool (apt): an independent RFC 4226 / RFC 6238 implementation, used
#     by the TOTP factor's tests;
#   * pdftoppm (apt, poppler-utils): the admin reports' PDF export is
#     rendered to PNG and checked;
#   * axe-core (npm): the accessibility rules the portal test injects into
#     headless Chromium on every page, in both colour schemes;
#   * @redocly/cli (npm): lints internal/api/openapi.yaml;
#   * iptables and iproute2 (apt): the outbound-only connector's test
#     (internal/e2e/connector_test.go) runs it in a network namespace whose
#     firewall drops every new inbound connection.
# The npm packages are pinned to exact versions and installed into a
# project-local folder, $SSPR_TEST_STATE/node (default /tmp/sspr-testenv/node),
# never globally and never committed; the Go tests find them there (or where
# SSPR_TEST_NODE_DIR points). Idempotent: quick and silent when everything is
# there. Meant for a fresh Debian 12 CI machine (root).
set -euo pipefail

packages=(oathtool poppler-utils iptables iproute2)
commands=(oathtool pdftoppm iptables ip ss)

# Exact versions: a new rule in axe-core or redocly must be a reviewed change.
npm_packages=(axe-core@4.11.0 @redocly/cli@2.11.1)
node_dir=${SSPR_TEST_NODE_DIR:-${SSPR_TEST_STATE:-/tmp/sspr-testenv}/node}

have_apt() {
	local cmd pkg
	for cmd in "${commands[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || return 1
	done
	for pkg in "${packages[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] || return 1
	done
	return 0
}

# have_npm: every pinned package is installed at its pinned version.
have_npm() {
	local spec name version file
	for spec in "${npm_packages[@]}"; do
		name=${spec%@*}
		version=${spec##*@}
		file="$node_dir/node_modules/$name/package.json"
		[[ -f $file ]] || return 1
		grep -q "\"version\": *\"$version\"" "$file" || return 1
	done
	return 0
}

if ! have_apt; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "tools.sh: must run as root to install: ${packages[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${packages[@]}"; then
		apt-get update
		apt-get install -y --no-install-recommends "${packages[@]}"
	fi
	have_apt || {
		echo "tools.sh: ${packages[*]} installed but not usable" >&2
		exit 1
	}
	echo "tools.sh: installed ${packages[*]}"
fi

if ! have_npm; then
	if ! command -v npm >/dev/null 2>&1; then
		# Redocly CLI wants Node 20.19 or newer: Debian 12's nodejs is older,
		# so a machine without Node gets it from the distribution only as a
		# last resort (axe-core still works there).
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y --no-install-recommends nodejs npm || {
			apt-get update
			apt-get install -y --no-install-recommends nodejs npm
		}
	fi
	mkdir -p "$node_dir"
	[[ -f $node_dir/package.json ]] || echo '{"name":"sspr-test-tools","private":true}' >"$node_dir/package.json"
	npm install --prefix "$node_dir" --no-audit --no-fund --save-exact --loglevel=error "${npm_packages[@]}"
	have_npm || {
		echo "tools.sh: ${npm_packages[*]} installed but not found in $node_dir" >&2
		exit 1
	}
	echo "tools.sh: installed ${npm_packages[*]} into $node_dir"
fi
echo "tools.sh: test tools ready"
