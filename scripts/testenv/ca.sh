#!/usr/bin/env bash
# Creates a throw-away certificate authority and one server certificate for the
# test directories, in DIR:
#   DIR/ca.pem  DIR/ca.key        the CA (tests trust ca.pem)
#   DIR/server.pem DIR/server.key the server certificate, with SANs
#                                 127.0.0.1, ::1, localhost, dc1.example.test
# Go refuses certificates without SANs, which is why Samba's generated one
# cannot be used. Idempotent: an existing, still valid set is kept.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"

if [[ -s $dir/ca.pem && -s $dir/server.pem && -s $dir/server.key ]] &&
	openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" >/dev/null 2>&1 &&
	openssl x509 -checkend 86400 -noout -in "$dir/server.pem" >/dev/null 2>&1; then
	echo "ca.sh: reusing test CA in $dir"
	exit 0
fi

umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
	-subj "/CN=sspr test CA" \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -newkey rsa:2048 -nodes \
	-subj "/CN=dc1.example.test" \
	-keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null

cat >"$tmp/ext.cnf" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:dc1.example.test
EXT

openssl x509 -req -in "$tmp/server.csr" -days 825 -sha256 \
	-CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
	-extfile "$tmp/ext.cnf" -out "$tmp/server.pem" 2>/dev/null

# Samba insists the key is readable only by its owner; slapd runs as root here.
install -m 600 "$tmp/ca.key" "$dir/ca.key"
install -m 644 "$tmp/ca.pem" "$dir/ca.pem"
install -m 600 "$tmp/server.key" "$dir/server.key"
install -m 644 "$tmp/server.pem" "$dir/server.pem"
echo "ca.sh: created test CA and server certificate in $dir"
