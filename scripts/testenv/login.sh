#!/usr/bin/env bash
# login.sh start|stop STATE_DIR
#
# The login-screen environment of the agent's end-to-end tests
# (internal/e2e/login_screen_test.go): a "laptop" network namespace joined to
# the test Samba AD (started by samba.sh first), with a real SSSD
# (id_provider = ad, cache_credentials = True) running inside it, and a real
# VPN gateway (ocserv) on the host that the laptop reaches with openconnect.
#
#   host                                   netns sspr-laptop
#   127.0.0.1:88,389,464,636,3268 Samba    sssd, pamtester, pam_sspr, sspr-agent
#   10.77.0.1 (lo /32) --socat--> Samba    /etc/hosts: dc1.example.test = 10.77.0.1
#   10.88.0.1 veth sspr-lh  <--------->    10.88.0.2 veth sspr-ll
#   ocserv 10.88.0.1:4443 (pushes 10.77.0.1/32)
#
# The laptop reaches the DC through the route "10.77.0.1 via 10.88.0.1"
# (tests delete it to be offline) or through the VPN. The shared Samba binds
# loopback only and must not be restarted, so the DC address 10.77.0.1 is
# served by socat forwarders to 127.0.0.1 (skipped for a port where
# something already listens on 10.77.0.1).
#
# Everything is started by PID and stopped by PID: sssd, ocserv, socat, a
# left-over openconnect; `stop` removes the netns, the veth, the lo address,
# /etc/netns/sspr-laptop, SSSD's cache and logs, the test users' faillock
# tallies and Kerberos ccaches, and the computer account. No host file is
# changed (the namespace's hosts, resolv.conf, nsswitch.conf and sssd/ are
# overlaid by `ip netns exec` from /etc/netns/sspr-laptop).
#
# It also installs what the graphical greeter test needs (LightDM,
# lightdm-gtk-greeter, Xvfb, xdotool); that test starts and stops its own.
#
# Writes SSPR_TEST_LOGIN_* into STATE_DIR/env.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [[ $# -ne 2 || ($1 != start && $1 != stop) ]]; then
	echo "usage: $0 start|stop STATE_DIR" >&2
	exit 2
fi
action=$1
mkdir -p "$2"
state=$(cd "$2" && pwd)
dir=$state/login
smbconf=$state/samba/etc/smb.conf

NS=sspr-laptop
VH=sspr-lh # host end of the veth
VL=sspr-ll # laptop end
DC_IP=10.77.0.1
GW=10.88.0.1
LAPTOP_IP=10.88.0.2
VPN_NET=10.99.77.0
COMPUTER=SSPRLAPTOP1
DOMAIN=example.test
BELOG=/var/log/sssd/sssd_$DOMAIN.log
TCP_PORTS=(88 389 464 636 3268)
UDP_PORTS=(88 389 464)

packages=(sssd sssd-ad sssd-tools libpam-sss libnss-sss krb5-user adcli ocserv openconnect gnutls-bin ldb-tools socat pamtester libpam-wrapper libpam-modules iproute2
	# the graphical greeter test (greeter_test.go): LightDM on Xvfb, driven by xdotool
	lightdm lightdm-gtk-greeter xvfb xauth x11-apps netpbm xdotool dbus)

install_packages() {
	local missing=() pkg bak created_policy=
	for pkg in "${packages[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] || missing+=("$pkg")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	log "installing ${missing[*]} (the host's PAM common-* files and nsswitch.conf are restored afterwards)"
	# libpam-sss runs pam-auth-update (rewrites /etc/pam.d/common-*) and
	# libnss-sss adds sss to /etc/nsswitch.conf: the host must stay as it was.
	bak=$(mktemp -d)
	cp -a /etc/pam.d/common-auth /etc/pam.d/common-account /etc/pam.d/common-password \
		/etc/pam.d/common-session /etc/nsswitch.conf "$bak/"
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		# no package script may start Debian's default daemons (sssd, ocserv)
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created_policy=1
	fi
	local rc=0
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"; then
		apt-get update && apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" || rc=$?
	fi
	[[ -n $created_policy ]] && rm -f /usr/sbin/policy-rc.d
	for f in common-auth common-account common-password common-session; do cp -a "$bak/$f" /etc/pam.d/; done
	cp -a "$bak/nsswitch.conf" /etc/nsswitch.conf
	rm -rf "$bak"
	[[ $rc -eq 0 ]] || die "installing ${missing[*]} failed"
}

nsx() { ip netns exec "$NS" "$@"; }

listening_on_dc() { # PROTO PORT
	local flag=-Hltn
	[[ $1 == udp ]] && flag=-Hlun
	ss "$flag" "sport = :$2" 2>/dev/null | awk '{print $4}' | grep -qx "$DC_IP:$2"
}

start_forwarders() {
	local p
	for p in "${TCP_PORTS[@]}"; do
		listening_on_dc tcp "$p" && continue
		socat "TCP-LISTEN:$p,bind=$DC_IP,fork,reuseaddr" "TCP:127.0.0.1:$p" </dev/null >/dev/null 2>&1 &
		echo $! >"$dir/socat-tcp-$p.pid"
	done
	for p in "${UDP_PORTS[@]}"; do
		listening_on_dc udp "$p" && continue
		socat "UDP4-RECVFROM:$p,bind=$DC_IP,fork,reuseaddr" "UDP4-SENDTO:127.0.0.1:$p" </dev/null >/dev/null 2>&1 &
		echo $! >"$dir/socat-udp-$p.pid"
	done
}

add_spns() {
	# The test DC runs with -dnsupdate, so samba_spnupdate never registered
	# ldap/ SPNs for DC1$: GSSAPI LDAP binds (adcli, sssd's AD provider) fail
	# with "Server not found in Kerberos database" without them.
	local have s
	have=$(samba-tool spn list 'DC1$' -s "$smbconf" 2>/dev/null || true)
	for s in ldap/dc1.example.test ldap/DC1 ldap/dc1.example.test/example.test; do
		grep -qiF " $s" <<<"$have" || samba-tool spn add "$s" 'DC1$' -s "$smbconf" >/dev/null
	done
}

make_vpn_certs() {
	local v=$dir/vpn
	mkdir -p "$v"
	[[ -f $v/cli.pem ]] && return 0
	(
		cd "$v"
		certtool --generate-privkey --key-type=ecdsa --outfile ca-key.pem 2>/dev/null
		printf 'cn = "sspr test VPN CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >ca.tmpl
		certtool --generate-self-signed --load-privkey ca-key.pem --template ca.tmpl --outfile ca.pem >/dev/null 2>&1
		certtool --generate-privkey --key-type=ecdsa --outfile srv-key.pem 2>/dev/null
		printf 'cn = "vpn.example.test"\nip_address = "%s"\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 30\n' "$GW" >srv.tmpl
		certtool --generate-certificate --load-privkey srv-key.pem --load-ca-certificate ca.pem --load-ca-privkey ca-key.pem --template srv.tmpl --outfile srv.pem >/dev/null 2>&1
		# the machine certificate: the tunnel comes up before anyone logged in
		certtool --generate-privkey --key-type=ecdsa --outfile cli-key.pem 2>/dev/null
		printf 'cn = "laptop1"\ntls_www_client\nsigning_key\nexpiration_days = 30\n' >cli.tmpl
		certtool --generate-certificate --load-privkey cli-key.pem --load-ca-certificate ca.pem --load-ca-privkey ca-key.pem --template cli.tmpl --outfile cli.pem >/dev/null 2>&1
	)
}

start_ocserv() {
	local v=$dir/vpn
	# ocserv's workers run as nobody and must reach the socket file
	chmod 711 "$state" "$dir"
	chmod 755 "$v"
	cat >"$v/ocserv.conf" <<EOF
auth = "certificate"
cert-user-oid = 2.5.4.3
listen-host = $GW
tcp-port = 4443
udp-port = 4443
run-as-user = nobody
run-as-group = nogroup
socket-file = $v/ocserv.sock
occtl-socket-file = $v/occtl.sock
use-occtl = true
server-cert = $v/srv.pem
server-key = $v/srv-key.pem
ca-cert = $v/ca.pem
isolate-workers = true
max-clients = 8
max-same-clients = 4
keepalive = 300
dpd = 60
mobile-dpd = 300
try-mtu-discovery = false
auth-timeout = 60
cookie-timeout = 300
device = ssprvpn
predictable-ips = true
ipv4-network = $VPN_NET
ipv4-netmask = 255.255.255.0
route = $DC_IP/255.255.255.255
cisco-client-compat = true
EOF
	ocserv -f -c "$v/ocserv.conf" </dev/null >"$dir/ocserv.out" 2>&1 &
	echo $! >"$dir/ocserv.pid"
	local i
	for ((i = 0; i < 100; i++)); do
		ss -Hltn "sport = :4443" | grep -q "$GW:4443" && return 0
		sleep 0.1
	done
	tail -n 20 "$dir/ocserv.out" >&2
	die "ocserv did not start"
}

clean_sssd_state() {
	rm -f /var/lib/sss/db/* /var/lib/sss/mc/* /var/lib/sss/pubconf/kdcinfo.* \
		/var/lib/sss/pubconf/krb5.include.d/* /var/log/sssd/*.log 2>/dev/null || true
	find /var/lib/sss/pipes -type s -delete 2>/dev/null || true
}

start_sssd() {
	mkdir -p "/etc/netns/$NS/sssd"
	cat >"/etc/netns/$NS/sssd/sssd.conf" <<EOF
[sssd]
services = nss, pam
domains = $DOMAIN

[pam]
offline_credentials_expiration = 0
offline_failed_login_attempts = 3
offline_failed_login_delay = 1

[domain/$DOMAIN]
id_provider = ad
auth_provider = ad
chpass_provider = ad
# the default (ad) GPO access control needs SYSVOL over SMB
access_provider = permit
ad_domain = $DOMAIN
krb5_realm = EXAMPLE.TEST
ad_server = dc1.$DOMAIN
ad_hostname = ssprlaptop1.$DOMAIN
krb5_keytab = $dir/krb5.keytab
ldap_krb5_keytab = $dir/krb5.keytab
ldap_tls_cacert = $state/ca/ca.pem
cache_credentials = True
krb5_store_password_if_offline = True
use_fully_qualified_names = False
fallback_homedir = /home/%u
default_shell = /bin/bash
dyndns_update = False
# 0x3ff0: also "Backend is already online", which the tests' online check reads
debug_level = 0x3ff0
EOF
	chmod 600 "/etc/netns/$NS/sssd/sssd.conf"
	clean_sssd_state
	# started directly (not through a function in the background): ip netns
	# exec execs, so $! is sssd's monitor process
	ip netns exec "$NS" sssd -i --logger=files </dev/null >"$dir/sssd.out" 2>&1 &
	echo $! >"$dir/sssd.pid"
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -S /var/lib/sss/pipes/pam ]] && grep -q 'Backend is online' "$BELOG" 2>/dev/null && return 0
		alive "$(<"$dir/sssd.pid")" || break
		sleep 0.1
	done
	tail -n 30 "$dir/sssd.out" "$BELOG" >&2 || true
	die "sssd did not come online"
}

start() {
	[[ $(id -u) -eq 0 ]] || die "must run as root"
	if [[ -f $dir/sssd.pid ]] && alive "$(<"$dir/sssd.pid")"; then
		log "already running (sssd PID $(<"$dir/sssd.pid"))"
		return 0
	fi
	[[ -f $smbconf ]] && alive "$(cat "$state/samba.pid" 2>/dev/null)" || die "the test Samba is not running: run samba.sh start $state first"
	if pgrep -x sssd >/dev/null; then die "another sssd runs on this machine (one per machine: its pipes are in /var/lib/sss)"; fi
	install_packages
	ip netns list | grep -qw "$NS" && stop
	mkdir -p "$dir"

	if ! ip -4 addr show dev lo | grep -q " $DC_IP/32"; then
		ip addr add "$DC_IP/32" dev lo
		touch "$dir/lo-address-added"
	fi
	start_forwarders
	add_spns

	ip netns add "$NS"
	ip link add "$VH" type veth peer name "$VL"
	ip link set "$VL" netns "$NS"
	ip addr add "$GW/24" dev "$VH"
	ip link set "$VH" up
	ip -n "$NS" addr add "$LAPTOP_IP/24" dev "$VL"
	ip -n "$NS" link set "$VL" up
	ip -n "$NS" link set lo up
	ip -n "$NS" route add "$DC_IP/32" via "$GW"

	mkdir -p "/etc/netns/$NS"
	printf '127.0.0.1 localhost\n%s dc1.%s dc1\n%s ssprlaptop1.%s ssprlaptop1\n' "$DC_IP" "$DOMAIN" "$LAPTOP_IP" "$DOMAIN" >"/etc/netns/$NS/hosts"
	echo "nameserver 127.0.0.1" >"/etc/netns/$NS/resolv.conf"
	sed -E 's/^(passwd|group|shadow):.*/\1: files sss/' /etc/nsswitch.conf >"/etc/netns/$NS/nsswitch.conf"

	local i
	for ((i = 0; i < 50; i++)); do
		nsx timeout 2 bash -c "exec 3<>/dev/tcp/$DC_IP/389" 2>/dev/null && break
		sleep 0.1
	done
	rm -f "$dir/krb5.keytab"
	# inside the namespace: dc1.example.test resolves there (no DNS, no
	# krb5.conf: adcli writes its own)
	nsx adcli join --domain="$DOMAIN" --domain-controller="dc1.$DOMAIN" --computer-name="$COMPUTER" \
		--host-fqdn="ssprlaptop1.$DOMAIN" --host-keytab="$dir/krb5.keytab" -U Administrator \
		--stdin-password <"$state/samba/adminpass" >"$dir/adcli.out" 2>&1 || {
		cat "$dir/adcli.out" >&2
		die "adcli join failed"
	}
	start_sssd
	make_vpn_certs
	start_ocserv

	set_env "$state" SSPR_TEST_LOGIN_ \
		SSPR_TEST_LOGIN_NS="$NS" SSPR_TEST_LOGIN_DIR="$dir" \
		SSPR_TEST_LOGIN_SSSD_PID="$(<"$dir/sssd.pid")" SSPR_TEST_LOGIN_SSSD_LOG="$BELOG" \
		SSPR_TEST_LOGIN_SSSD_CACHE="/var/lib/sss/db/cache_$DOMAIN.ldb" \
		SSPR_TEST_LOGIN_DC_IP="$DC_IP" SSPR_TEST_LOGIN_GW="$GW" SSPR_TEST_LOGIN_DOMAIN="$DOMAIN" \
		SSPR_TEST_LOGIN_VPN_URL="https://$GW:4443/" SSPR_TEST_LOGIN_VPN_CA="$dir/vpn/ca.pem" \
		SSPR_TEST_LOGIN_VPN_CERT="$dir/vpn/cli.pem" SSPR_TEST_LOGIN_VPN_KEY="$dir/vpn/cli-key.pem"
	log "laptop namespace $NS joined as $COMPUTER, sssd PID $(<"$dir/sssd.pid"), ocserv on $GW:4443"
}

stop() {
	local f
	# an openconnect a test left behind (its pid file is in the login dir)
	for f in "$dir"/openconnect*.pid; do
		[[ -f $f ]] && stop_pid "$f" openconnect
	done
	[[ -f $dir/sssd.pid ]] && stop_pid "$dir/sssd.pid" sssd
	[[ -f $dir/ocserv.pid ]] && stop_pid "$dir/ocserv.pid" ocserv
	for f in "$dir"/socat-*.pid; do
		[[ -f $f ]] && stop_pid "$f" "socat ${f##*/socat-}"
	done
	ip netns del "$NS" 2>/dev/null || true
	# the namespace goes away asynchronously; the host end must go now
	ip link del "$VH" 2>/dev/null || true
	if [[ -f $dir/lo-address-added ]]; then
		ip addr del "$DC_IP/32" dev lo 2>/dev/null || true
		rm -f "$dir/lo-address-added"
	fi
	rm -rf "/etc/netns/$NS"
	rmdir /etc/netns 2>/dev/null || true
	clean_sssd_state
	# the test users' faillock tallies and Kerberos ccaches (ID-mapped uids
	# of the example.test domain are above 100000000)
	rm -f /run/faillock/sspr[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]
	for f in /tmp/krb5cc_[0-9]*_*; do
		[[ -e $f ]] || continue
		f=${f#/tmp/krb5cc_}
		[[ ${f%%_*} -ge 100000000 ]] && rm -f "/tmp/krb5cc_$f"
	done
	if [[ -f $smbconf ]] && alive "$(cat "$state/samba.pid" 2>/dev/null)"; then
		samba-tool computer delete "$COMPUTER" -s "$smbconf" >/dev/null 2>&1 || true
	fi
	unset_env "$state" SSPR_TEST_LOGIN_
	log "stopped"
}

case $action in
start) start ;;
stop) stop ;;
esac
