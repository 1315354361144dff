#!/bin/bash
# Makes the certificates the TLS suites need, with certtool (gnutls-bin), at
# test time: nothing here is a checked-in key. Expiry comes from the
# templates' activation_date/expiration_date, so no clock is faked.
#
# usage: make-certs.sh DIR
#
# Writes into DIR (kept and reused while this script and the files are
# unchanged and the valid certificates stay valid for a while; remove DIR
# to start over):
#   ca.pem, ca-key.pem            test CA ("spop test CA") for servers
#   good.pem, good-key.pem        CN localhost, SAN DNS localhost, IP 127.0.0.1
#   good-chain.pem                good.pem followed by ca.pem (what Dovecot
#                                 sends as ssl_cert)
#   wronghost.pem (+ -key, -chain) CN/SAN wrong.example only, no IP SAN
#   expired.pem (+ -key, -chain)  as good, but valid 2020-01-01..2021-01-01
#   selfsigned.pem (+ -key)       as good, signed by itself
#   other.pem                     another CA-signed localhost certificate
#                                 (never served: a pin that matches nothing)
#   client-ca.pem, client-ca-key.pem   CA for client certificates
#   client.pem                    client certificate (CN alice) and its key
#                                 in one PEM file
#   client-cert.pem, client-key.pem    the same, apart
#   client.p12                    the same as PKCS#12, password in
#                                 client.p12.password
#   dh.pem                        RFC 7919 ffdhe2048 parameters for Dovecot
# All keys are RSA 2048: the TLS 1.2 suites the tests name are ECDHE_RSA.

set -eu

[ $# -eq 1 ] || {
	echo "usage: $0 DIR" >&2
	exit 2
}
command -v certtool >/dev/null || {
	echo "make-certs: certtool not found (gnutls-bin)" >&2
	exit 1
}
dir=$1
p12_password=spop-p12-secret
# A change to this script invalidates what an older version left behind.
stamp=$(cksum <"$0" | cut -d' ' -f1)
files="ca.pem ca-key.pem good.pem good-key.pem good-chain.pem wronghost.pem
wronghost-key.pem wronghost-chain.pem expired.pem expired-key.pem
expired-chain.pem selfsigned.pem selfsigned-key.pem other.pem other-key.pem
client-ca.pem client-ca-key.pem client.pem client-cert.pem client-key.pem
client.p12 client.p12.password dh.pem"

cached() {
	local f
	[ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ] || return 1
	for f in $files; do
		[ -s "$dir/$f" ] || return 1
	done
	# Leaf certificates are valid for 30 days; start over after 20.
	[ -z "$(find "$dir/.stamp" -mtime +20)" ]
}

if cached; then
	exit 0
fi

# Built aside and moved in at once, so a concurrent reader (or a run killed
# half-way) never sees a mix of old and new files.
mkdir -p -- "$(dirname -- "$dir")"
tmp=$(mktemp -d "${dir%/}.tmp.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

key() {
	certtool --generate-privkey --key-type rsa --bits 2048 --no-text \
		--outfile "$tmp/$1" 2>/dev/null
}

# $1 template name, then certtool arguments
cert() {
	local out=$1
	shift
	certtool "$@" --template "$tmp/$out.tmpl" --no-text \
		--outfile "$tmp/$out" 2>"$tmp/$out.err" || {
		cat "$tmp/$out.err" >&2
		echo "make-certs: certtool failed for $out" >&2
		exit 1
	}
}

# $1 output, $2 template text: a certificate signed by the CA of $3
signed() {
	printf '%s\n' "$2" >"$tmp/$1.tmpl"
	key "${1%.pem}-key.pem"
	cert "$1" --generate-certificate \
		--load-privkey "$tmp/${1%.pem}-key.pem" \
		--load-ca-certificate "$tmp/$3.pem" \
		--load-ca-privkey "$tmp/$3-key.pem"
}

# The CAs start before the expired certificate does: some verifiers also
# check that an issuer was valid when it signed.
ca_tmpl() {
	cat <<EOF
cn = "$1"
organization = "libspop tests"
serial = $2
ca
cert_signing_key
crl_signing_key
activation_date = "2019-01-01 00:00:00"
expiration_date = "2049-12-31 23:59:59"
EOF
}

server_tmpl() {
	cat <<EOF
cn = "$1"
organization = "libspop tests"
serial = $2
tls_www_server
signing_key
encryption_key
expiration_days = 30
EOF
}

ca_tmpl "spop test CA" 1 >"$tmp/ca.pem.tmpl"
key ca-key.pem
cert ca.pem --generate-self-signed --load-privkey "$tmp/ca-key.pem"

signed good.pem "$(server_tmpl localhost 10)
dns_name = localhost
ip_address = 127.0.0.1" ca

signed wronghost.pem "$(server_tmpl wrong.example 11)
dns_name = wrong.example" ca

signed expired.pem "$(server_tmpl localhost 12 | grep -v expiration_days)
dns_name = localhost
ip_address = 127.0.0.1
activation_date = \"2020-01-01 00:00:00\"
expiration_date = \"2021-01-01 00:00:00\"" ca

signed other.pem "$(server_tmpl localhost 13)
dns_name = localhost
ip_address = 127.0.0.1" ca

printf '%s\n' "$(server_tmpl localhost 14)
dns_name = localhost
ip_address = 127.0.0.1" >"$tmp/selfsigned.pem.tmpl"
key selfsigned-key.pem
cert selfsigned.pem --generate-self-signed --load-privkey "$tmp/selfsigned-key.pem"

for c in good wronghost expired; do
	cat "$tmp/$c.pem" "$tmp/ca.pem" >"$tmp/$c-chain.pem"
done

ca_tmpl "spop test client CA" 2 >"$tmp/client-ca.pem.tmpl"
key client-ca-key.pem
cert client-ca.pem --generate-self-signed --load-privkey "$tmp/client-ca-key.pem"

# CN is the test user, for a server that takes the name from the
# certificate (Dovecot's ssl_cert_username_field).
printf '%s\n' 'cn = "alice"
organization = "libspop tests"
serial = 20
email = "alice@localhost"
tls_www_client
signing_key
encryption_key
expiration_days = 30' >"$tmp/client-cert.pem.tmpl"
key client-key.pem
cert client-cert.pem --generate-certificate \
	--load-privkey "$tmp/client-key.pem" \
	--load-ca-certificate "$tmp/client-ca.pem" \
	--load-ca-privkey "$tmp/client-ca-key.pem"
cat "$tmp/client-cert.pem" "$tmp/client-key.pem" >"$tmp/client.pem"

printf '%s' "$p12_password" >"$tmp/client.p12.password"
certtool --to-p12 --load-certificate "$tmp/client-cert.pem" \
	--load-privkey "$tmp/client-key.pem" --p12-name alice \
	--password "$p12_password" --outder --outfile "$tmp/client.p12" \
	2>"$tmp/p12.err" || {
	cat "$tmp/p12.err" >&2
	echo "make-certs: certtool --to-p12 failed" >&2
	exit 1
}

# Named RFC 7919 group: nothing to generate, no slow prime search.
certtool --get-dh-params --bits 2048 --outfile "$tmp/dh.pem" 2>/dev/null

rm -f "$tmp"/*.tmpl "$tmp"/*.err
chmod 644 "$tmp"/*
echo "$stamp" >"$tmp/.stamp"
rm -rf -- "$dir"
mv -T -- "$tmp" "$dir"
trap - EXIT
