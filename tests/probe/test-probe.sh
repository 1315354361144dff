#!/bin/bash
# Drives spop-probe against a private Dovecot (tests/harness) and checks its
# exit status, JSON object, report, trail and saved files. The Dovecot
# serves TLS (STLS on its port, implicit TLS on port-tls) with the
# harness's "good" certificate, so one instance serves every check but the
# client-certificate ones, which need a second that requires a certificate.
#
# usage: test-probe.sh SPOP_PROBE DOVECOT_HARNESS WORKDIR
# SPOP_PLUGIN_PATH must name the built plugins. Exit 77 (skipped) when no
# private Dovecot can run here, 1 if SPOP_REQUIRE_INTEGRATION=1 (CI).

set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 SPOP_PROBE DOVECOT_HARNESS WORKDIR" >&2
	exit 2
fi
probe=$1
harness=$2
work=$3

"$harness" check || exit $?
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
[ -n "${SPOP_PLUGIN_PATH:-}" ] || { echo "SPOP_PLUGIN_PATH is not set" >&2; exit 1; }

# The users of tests/harness (harness.h and dovecot-harness.sh).
user=alice
password='alice-secret'
small_user=bob
small_password='bob-secret'

dovecot_dir=$work/dovecot
cc_dir=$work/dovecot-client-cert
holder_pid=

cleanup() {
	[ -z "$holder_pid" ] || kill "$holder_pid" 2>/dev/null
	"$harness" stop "$cc_dir" || true
	"$harness" stop "$dovecot_dir" || true
}
trap cleanup EXIT

# shellcheck source=tests/probe/checks.sh
. "$(dirname "$0")/checks.sh"

# run NAME ARGS...: runs the probe, keeping stdout, stderr and the status
# (in $status) under $work/NAME.*.
run() {
	local name=$1
	shift
	run_command "$name" "$probe" "$@"
}

# stderr_order FIRST THEN: both lines are on stderr, FIRST before THEN.
stderr_order() {
	local a b
	a=$(grep -nF -m1 -- "$1" "$work/$last.err" | cut -d: -f1)
	b=$(grep -nF -m1 -- "$2" "$work/$last.err" | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

stdout_empty() {
	[ ! -s "$work/$last.out" ]
}

mkdir -p "$work"

# ---- S/MIME certificates and messages -----------------------------------------

# Made here by openssl before Dovecot starts: a CA, signer alice
# (alice@example.org in the SAN), recipient bob and a stranger carol, a CRL
# revoking alice, an expired signer dave, and messages 1-11 in $smime/mail, which the harness's
# "files" profile delivers to the user "smime" (the checks are in "S/MIME"
# below).
smime=$work/smime

# smime_cert NAME: NAME.crt, NAME.key, NAME.pem (both) signed by the CA.
smime_cert() {
	openssl req -newkey rsa:2048 -nodes -keyout "$smime/$1.key" \
		-out "$smime/$1.csr" -subj "/O=libspop tests/CN=$1" 2>/dev/null &&
		printf '%s\n' "subjectAltName=email:$1@example.org" \
			"keyUsage=critical,digitalSignature,keyEncipherment" \
			"extendedKeyUsage=emailProtection" "basicConstraints=CA:FALSE" \
			>"$smime/$1.ext" &&
		openssl x509 -req -in "$smime/$1.csr" -CA "$smime/ca.pem" \
			-CAkey "$smime/ca.key" -CAcreateserial -days 30 \
			-out "$smime/$1.crt" -extfile "$smime/$1.ext" 2>/dev/null &&
		cat "$smime/$1.crt" "$smime/$1.key" >"$smime/$1.pem"
}

from_alice='"Alice Example" <alice@example.org>'
# sign ARGS...: openssl smime -sign as alice, content.txt in, stdout out.
sign() {
	openssl smime -sign -signer "$smime/alice.crt" -inkey "$smime/alice.key" \
		-in "$smime/content.txt" "$@"
}

smime_setup() {
	rm -rf "$smime" && mkdir -p "$smime/mail" || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$smime/ca.key" \
		-out "$smime/ca.pem" -subj "/O=libspop tests/CN=spop SMIME test CA" \
		-days 30 -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || return 1
	for who in alice bob carol; do
		smime_cert "$who" || return 1
	done
	cp "$smime/alice.crt" "$smime/alice-cert.pem" || return 1
	# bob's key as OpenSSL 3 exports PKCS#12 (AES-256, PBKDF2).
	openssl pkcs12 -export -in "$smime/bob.crt" -inkey "$smime/bob.key" \
		-name bob -passout pass:bob-p12-secret -out "$smime/bob.p12" || return 1
	# openssl ca: dave's certificate expired in 2021; a CRL revokes alice.
	: >"$smime/index.txt" && echo 01 >"$smime/crlnumber" &&
		echo 1000 >"$smime/serial" && mkdir -p "$smime/newcerts" &&
		printf '%s\n' '[ca]' 'default_ca = d' '[d]' \
			"database = $smime/index.txt" "crlnumber = $smime/crlnumber" \
			"new_certs_dir = $smime/newcerts" "serial = $smime/serial" \
			'default_md = sha256' 'default_crl_days = 30' 'policy = p' \
			'copy_extensions = copy' '[p]' 'commonName = supplied' \
			'organizationName = optional' >"$smime/ca.cnf" &&
		openssl req -newkey rsa:2048 -nodes -keyout "$smime/dave.key" \
			-out "$smime/dave.csr" -subj "/O=libspop tests/CN=dave" \
			-addext subjectAltName=email:dave@example.org 2>/dev/null &&
		openssl ca -batch -config "$smime/ca.cnf" -keyfile "$smime/ca.key" \
			-cert "$smime/ca.pem" -in "$smime/dave.csr" -out "$smime/dave.crt" \
			-startdate 20200101000000Z -enddate 20210101000000Z -notext 2>/dev/null &&
		openssl ca -config "$smime/ca.cnf" -keyfile "$smime/ca.key" \
			-cert "$smime/ca.pem" -revoke "$smime/alice.crt" 2>/dev/null &&
		openssl ca -config "$smime/ca.cnf" -keyfile "$smime/ca.key" \
			-cert "$smime/ca.pem" -gencrl -out "$smime/crl.pem" 2>/dev/null ||
		return 1

	# The MIME entity signed and encrypted; a dot line tests unstuffing.
	printf '%s\n' 'Content-Type: text/plain; charset=us-ascii' '' 'Hello Bob,' \
		'.a line with a leading dot' 'this text is from Alice.' >"$smime/content.txt"
	# Its body as decryption must give it back: CRLF line ends.
	sed -n '3,$p' "$smime/content.txt" | sed 's/$/\r/' >"$smime/plain-body"

	# 1: signed, whole message.
	sign -from "$from_alice" -to bob@example.org -subject "S/MIME signed" \
		>"$smime/1.eml" || return 1
	# 2: signed by alice, From someone else.
	sign -from "Mallory <mallory@example.org>" -to bob@example.org \
		-subject "S/MIME signed, other sender" >"$smime/2.eml" || return 1
	# 3: a signed part inside an unsigned multipart.
	{
		printf '%s\n' "From: $from_alice" "To: bob@example.org" \
			"Subject: S/MIME signed part" "MIME-Version: 1.0" \
			'Content-Type: multipart/mixed; boundary="spop-outer"' '' \
			'--spop-outer' 'Content-Type: text/plain; charset=us-ascii' '' \
			'This part is not signed: anyone could have written it.' \
			'--spop-outer'
		sign | tr -d '\r'
		printf '%s\n' '--spop-outer--'
	} >"$smime/3.eml" || return 1
	# 4: enveloped for bob.
	openssl smime -encrypt -aes256 -in "$smime/content.txt" -from "$from_alice" \
		-to bob@example.org -subject "S/MIME enveloped" "$smime/bob.crt" \
		>"$smime/4.eml" || return 1
	# 5: signed, then encrypted for bob.
	sign >"$smime/inner.txt" &&
		openssl smime -encrypt -aes256 -in "$smime/inner.txt" \
			-from "$from_alice" -to bob@example.org \
			-subject "S/MIME signed and enveloped" "$smime/bob.crt" \
			>"$smime/5.eml" || return 1
	# 6: 1 with its signed text changed afterwards.
	sed 's/^Hello Bob,/Hello Eve,/' "$smime/1.eml" >"$smime/6.eml" &&
		! cmp -s "$smime/1.eml" "$smime/6.eml" || return 1
	# 7: plain text.
	printf '%s\n' "From: $from_alice" "To: bob@example.org" "Subject: plain" \
		"MIME-Version: 1.0" "Content-Type: text/plain; charset=us-ascii" '' \
		'Not S/MIME.' >"$smime/7.eml" || return 1
	# 8: signed without the signer's certificate in the message.
	sign -nocerts -from "$from_alice" -to bob@example.org \
		-subject "S/MIME signed, no certificate" >"$smime/8.eml" || return 1
	# 9: signed with SHA-1.
	sign -md sha1 -from "$from_alice" -to bob@example.org \
		-subject "S/MIME signed with SHA-1" >"$smime/9.eml" || return 1
	# 10: signed by alice and by carol, From alice.
	sign -signer "$smime/carol.crt" -inkey "$smime/carol.key" -from "$from_alice" \
		-to bob@example.org -subject "S/MIME signed twice" >"$smime/10.eml" || return 1
	# 11: signed by dave, whose certificate has expired.
	openssl smime -sign -signer "$smime/dave.crt" -inkey "$smime/dave.key" \
		-in "$smime/content.txt" -from "Dave <dave@example.org>" -to bob@example.org \
		-subject "S/MIME signed, expired signer" >"$smime/11.eml" || return 1

	# openssl's own verdicts, so a wrong message is caught here.
	openssl smime -verify -CAfile "$smime/ca.pem" -in "$smime/1.eml" \
		-out /dev/null 2>/dev/null &&
		! openssl smime -verify -CAfile "$smime/ca.pem" -in "$smime/6.eml" \
			-out /dev/null 2>/dev/null &&
		openssl smime -decrypt -in "$smime/4.eml" -recip "$smime/bob.crt" \
			-inkey "$smime/bob.key" | sed -n '3,$p' |
		cmp -s - "$smime/plain-body" || return 1

	# The harness delivers them in name order.
	for n in 1 2 3 4 5 6 7 8 9 10 11; do
		cp "$smime/$n.eml" "$smime/mail/$(printf %02d "$n").eml" || return 1
	done
}
checks=$((checks + 1))
if smime_setup; then
	pass "openssl made the S/MIME certificates and messages 1-11"
else
	# The harness then refuses the empty mailbox: the suite stops.
	fail "openssl could not make the S/MIME certificates and messages"
fi

# The certificates as openssl reads them, in libspop's format (as
# openssl_field below does for the TLS client certificate).
smime_field() {
	openssl x509 -in "$smime/$1" -noout -nameopt RFC2253 "-$2" 2>/dev/null |
		sed "s/^$2=//"
}
export PROBE_ALICE_SUBJECT PROBE_ALICE_ISSUER PROBE_ALICE_SERIAL PROBE_SMIME=$smime
PROBE_ALICE_SUBJECT=$(smime_field alice.crt subject | sed 's/,/, /g')
PROBE_ALICE_ISSUER=$(smime_field alice.crt issuer | sed 's/,/, /g')
PROBE_ALICE_SERIAL=$(smime_field alice.crt serial | tr a-f A-F)

# The harness's users plus "smime", whose mailbox holds the S/MIME messages
# made above.
smime_user=smime
smime_password='smime-secret'
HARNESS_USERS="alice:alice-secret:main
empty:empty-secret:empty
bob:bob-secret:small
$smime_user:$smime_password:files" HARNESS_MAIL_FILES_DIR=$smime/mail \
	HARNESS_TLS=good "$harness" start "$dovecot_dir" || exit 1
port=$(cat "$dovecot_dir/port")
tls_port=$(cat "$dovecot_dir/port-tls")
certs=$dovecot_dir/certs
server=(--server 127.0.0.1 --port "$port")
login=("${server[@]}" --user "$user" --password "$password")

# ---- command line -----------------------------------------------------------

run help --help
check "exit 0" status_is 0
for opt in server port user password password-file auth tls tls-provider \
	ca-file accept-cert insecure proxy list retrieve headers-only max-lines output \
	decrypt verify smime-engine smime-file smime-ca smime-crl allow-weak \
	cert cert-type cert-password cert-subject signer-cert \
	delete config trail json list-plugins list-certs; do
	check "--help lists --$opt" stdout_has "--$opt"
done
check "--help: default TLS ports" stdout_has "995 for implicit and auto, 110 for explicit"
check "--help: --cert is for S/MIME too" stdout_has "S/MIME decryption (--decrypt) uses the same options"
check "--help: --allow-weak says what it accepts" stdout_has "accept MD5 and SHA-1 signatures"
check "--help: no option is 'not available yet'" \
	stdout_lacks 'not available yet'
check "--help: --list-certs needs no --server" stdout_has "no --server needed"

run no-server --list
check "no --server: exit 2" status_is 2
check "no --server: says so" stderr_has "--server is required"

run bad-retrieve "${login[@]}" --retrieve first
check "--retrieve first: exit 2" status_is 2

run both-passwords "${server[@]}" --user "$user" --password x --password-file /dev/null
check "--password with --password-file: exit 2" status_is 2

run bad-option --frobnicate
check "unknown option: exit 2" status_is 2

run tls-none "${login[@]}" --json --tls none
check "--tls none: exit 0" status_is 0
check "--tls none: tls status none" json \
	'j["server"]["tls"] == {"provider": None, "version": None, "cipher": None, "cert_subject": None, "cert_issuer": None, "verified": False, "status": "none"}'

# usage_error NAME MESSAGE ARGS...: the probe refuses ARGS with exit 2,
# says MESSAGE on stderr and prints nothing on stdout.
usage_error() {
	local name=$1 message=$2
	shift 2
	run "$name" "$@"
	check "exit 2" status_is 2
	check "says: $message" stderr_has "spop-probe: $message"
	check "nothing on stdout" stdout_empty
}
usage_error bad-tls "--tls must be none, implicit, explicit or auto, not 'starttls'" \
	"${login[@]}" --json --tls starttls
usage_error bad-provider "--tls-provider must be gnutls or openssl, not 'nss'" \
	"${login[@]}" --json --tls implicit --tls-provider nss
usage_error insecure-no-tls "--insecure needs --tls implicit, explicit or auto" \
	"${login[@]}" --json --insecure
usage_error ca-file-tls-none "--ca-file needs --tls implicit, explicit or auto" \
	"${login[@]}" --json --tls none --ca-file "$certs/ca.pem"
usage_error ca-file-missing "cannot read --ca-file: " \
	"${login[@]}" --json --tls implicit --ca-file "$work/no-such-ca.pem"
check "names the missing --ca-file" stderr_has "$work/no-such-ca.pem"
usage_error ca-file-not-pem "--ca-file $dovecot_dir/mailbox.txt holds no PEM certificate" \
	"${login[@]}" --json --tls implicit --ca-file "$dovecot_dir/mailbox.txt"
usage_error accept-cert-missing "cannot read --accept-cert: " \
	"${login[@]}" --json --tls implicit --accept-cert "$work/no-such-cert.pem"
usage_error pin-and-insecure "give --accept-cert or --insecure, not both" \
	"${login[@]}" --json --tls implicit --accept-cert "$certs/good.pem" --insecure
usage_error cert-type-alone "--cert-type, --cert-password and --cert-subject need --cert" \
	"${login[@]}" --json --tls implicit --cert-type pem
usage_error bad-cert-type "--cert-type must be pfx, pem, publickey, p7b, pkcs11, user, machine or auto, not 'jks'" \
	"${login[@]}" --json --tls implicit --cert "$certs/client.pem" --cert-type jks

usage_error proxy-scheme "--proxy 'ftp://127.0.0.1:21': expected socks4://" \
	"${login[@]}" --json --proxy ftp://127.0.0.1:21
usage_error proxy-path "--proxy 'http://127.0.0.1:3128/x': expected socks4://" \
	"${login[@]}" --json --proxy http://127.0.0.1:3128/x
usage_error proxy-url "--proxy 'socks5://[::1': " \
	"${login[@]}" --json --proxy 'socks5://[::1'

# S/MIME options that would be ignored are refused.
usage_error decrypt-no-retrieve "--decrypt and --verify need --retrieve" \
	"${login[@]}" --json --decrypt
usage_error verify-headers-only "--decrypt and --verify need whole messages" \
	"${login[@]}" --json --verify --retrieve 1 --headers-only
usage_error verify-max-lines "--decrypt and --verify need whole messages" \
	"${login[@]}" --json --verify --retrieve 1 --max-lines 3
usage_error signer-cert-no-verify "--signer-cert needs --verify" \
	"${login[@]}" --json --decrypt --retrieve 1 --signer-cert x.pem
usage_error smime-ca-no-verify "--smime-ca needs --verify" \
	"${login[@]}" --json --retrieve 1 --smime-ca x.pem
usage_error smime-crl-no-verify "--smime-crl needs --verify" \
	"${login[@]}" --json --decrypt --retrieve 1 --smime-crl x.pem
usage_error allow-weak-no-verify "--allow-weak needs --verify" \
	"${login[@]}" --json --retrieve 1 --allow-weak
usage_error smime-engine-alone "--smime-engine needs --decrypt or --verify" \
	"${login[@]}" --json --retrieve 1 --smime-engine cms
usage_error smime-file-server "--smime-file reads a local file: give it without --server" \
	"${login[@]}" --json --verify --smime-file x.eml
usage_error smime-file-alone "--smime-file needs --decrypt, --verify or both" \
	--json --smime-file x.eml
usage_error smime-file-tls "--tls needs --server" \
	--json --verify --smime-file x.eml --tls implicit
usage_error smime-file-retrieve "--retrieve needs --server" \
	--json --verify --smime-file x.eml --retrieve 1

# ---- plugins -----------------------------------------------------------------

run plugins --list-plugins --json
check "--list-plugins: exit 0" status_is 0
check "--list-plugins: transport direct" json \
	'any(p["kind"] == "transport" and p["name"] == "direct" and p["error"] is None for p in j["plugins"])'
check "--list-plugins: auth user and apop" json \
	'{"user", "apop"} <= {p["name"] for p in j["plugins"] if p["kind"] == "auth" and p["error"] is None}'
check "--list-plugins: paths under SPOP_PLUGIN_PATH" json \
	'all(any(p["path"].startswith(d) for d in env["SPOP_PLUGIN_PATH"].split(":")) for p in j["plugins"] if p["name"] in ("direct", "user", "apop"))'
check "--list-plugins: every field present" json \
	'all(set(p) == {"kind", "name", "version", "description", "path", "error"} for p in j["plugins"])'
check "--list-plugins alone: no server section" json '"server" not in j and j["error"] is None'

run plugins-text --list-plugins
check "--list-plugins report: exit 0" status_is 0
check "--list-plugins report: names direct" stdout_has direct

# ---- listing certificate stores (no server) ----------------------------------

# The client certificate as openssl reads it, in libspop's format: RFC 4514
# order with ", " between the attributes (none of these names holds a
# comma, which would be escaped) and the serial number in upper-case hex.
openssl_field() {
	openssl x509 -in "$certs/client-cert.pem" -noout -nameopt RFC2253 "-$1" |
		sed "s/^$1=//"
}
client_subject=$(openssl_field subject | sed 's/,/, /g')
client_issuer=$(openssl_field issuer | sed 's/,/, /g')
client_serial=$(openssl_field serial | tr a-f A-F)
export PROBE_CLIENT_SUBJECT=$client_subject PROBE_CLIENT_ISSUER=$client_issuer \
	PROBE_CLIENT_SERIAL=$client_serial
export PROBE_CERTS=$certs PROBE_WORK=$work
checks=$((checks + 1))
if [ -z "$client_subject" ] || [ -z "$client_issuer" ] || [ -z "$client_serial" ] ||
	[[ $client_subject$client_issuer == *\\* ]]; then
	fail "openssl gave subject '$client_subject', issuer '$client_issuer', serial '$client_serial': not comparable"
else
	pass "openssl: client certificate $client_subject, issuer $client_issuer, serial $client_serial"
fi
p12_password=$(cat "$certs/client.p12.password")

# The client certificate alone, as JSON: the contract's members are there,
# empty, since nothing was connected to.
client_listed='j["certificates"] == [{"subject": env["PROBE_CLIENT_SUBJECT"], "issuer": env["PROBE_CLIENT_ISSUER"], "serial": env["PROBE_CLIENT_SERIAL"], "has_key": True}]'
no_connection='j["server"] is None and j["auth"] is None and j["mailbox"] is None and j["messages"] == [] and j["deleted"] is None and "plugins" not in j'

run list-certs-pem --list-certs --cert "$certs/client.pem" --cert-type pem
check "exit 0" status_is 0
check "one certificate" stdout_has "certificates 1 in $certs/client.pem"
check "subject as openssl reads it" stdout_has "  subject    $client_subject"
check "issuer as openssl reads it" stdout_has "  issuer     $client_issuer"
check "serial as openssl reads it" stdout_has "  serial     $client_serial"
check "with its private key" stdout_has "  has key    yes"
check "no server report" stdout_lacks "greeting"
check "no error" stdout_lacks "error "

run list-certs-pem-json --list-certs --cert "$certs/client.pem" --cert-type pem --json
check "exit 0" status_is 0
check "the client certificate with its key" json "$client_listed"
check "nothing connected, no error" json "$no_connection and j[\"error\"] is None"
check "top-level members" json \
	'list(j) == ["server", "auth", "mailbox", "messages", "deleted", "certificates", "error"]'

run list-certs-pfx-json --list-certs --cert "$certs/client.p12" --cert-type pfx \
	--cert-password "$p12_password" --json
check "exit 0" status_is 0
check "the client certificate with its key" json "$client_listed"
check "nothing connected, no error" json "$no_connection and j[\"error\"] is None"

run list-certs-pfx --list-certs --cert "$certs/client.p12" --cert-type pfx \
	--cert-password "$p12_password"
check "exit 0" status_is 0
check "subject" stdout_has "  subject    $client_subject"
check "serial" stdout_has "  serial     $client_serial"
check "with its private key" stdout_has "  has key    yes"

for f in client.pem client.p12; do
	run "list-certs-auto-$f" --list-certs --cert "$certs/$f" --cert-type auto \
		--cert-password "$p12_password" --json
	check "auto: exit 0" status_is 0
	check "auto finds the client certificate" json "$client_listed and j[\"error\"] is None"
done

# Without --cert-type the name says pfx.
run list-certs-guess --list-certs --cert "$certs/client.p12" \
	--cert-password "$p12_password" --json
check "exit 0" status_is 0
check ".p12 read as PFX" json "$client_listed"

run list-certs-wrong-password --list-certs --cert "$certs/client.p12" \
	--cert-type pfx --cert-password wrong --json
check "exit 1" status_is 1
check "the library's 273 naming the file, nothing listed" json \
	'j["error"]["code"] == 273 and env["PROBE_CERTS"] + "/client.p12" in j["error"]["message"] and j["certificates"] == []'
check "nothing connected" json "$no_connection"

run list-certs-wrong-password-text --list-certs --cert "$certs/client.p12" \
	--cert-type pfx --cert-password wrong
check "exit 1" status_is 1
check "says the store was not read" stdout_has "certificates - ($certs/client.p12 could not be read)"
check "error 273 line" stdout_has "error 273: "

run list-certs-missing --list-certs --cert "$work/no-such-store.pem" --cert-type pem --json
check "exit 1" status_is 1
check "the library's 271 naming the file" json \
	'j["error"]["code"] == 271 and env["PROBE_WORK"] + "/no-such-store.pem" in j["error"]["message"] and j["certificates"] == []'

# User stores: a directory store plugin ("dirstore") serves them when
# it is built; without it the library says no plugin serves the type.
# Either way the store is a private one under $work, never the user's.
certstores=$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(" ".join(p["name"] for p in j["plugins"] if p["kind"] == "certstore" and p["error"] is None))' \
	"$work/plugins.out")
user_certs=$work/user-certs
rm -rf "$user_certs"
mkdir -p "$user_certs/MY" "$user_certs/CA"
cp "$certs/client.pem" "$user_certs/CA/alice.pem"
user_env=(env SPOP_CERT_DIR="$user_certs" XDG_DATA_HOME="$user_certs/xdg" HOME="$user_certs/home")
case " $certstores " in
*" dirstore "*)
	run_command list-certs-user-empty "${user_env[@]}" "$probe" --list-certs \
		--cert MY --cert-type user --json
	check "dirstore: exit 0" status_is 0
	check "dirstore: the empty MY store lists nothing" json \
		"j[\"certificates\"] == [] and j[\"error\"] is None and $no_connection"
	run_command list-certs-user "${user_env[@]}" "$probe" --list-certs \
		--cert CA --cert-type user --json
	check "dirstore: exit 0" status_is 0
	check "dirstore: the CA store holds the client certificate" json "$client_listed"
	run_command list-certs-user-missing "${user_env[@]}" "$probe" --list-certs \
		--cert ROOT --cert-type user --json
	check "dirstore: exit 1" status_is 1
	check "dirstore: 271 naming the missing directory" json \
		'j["error"]["code"] == 271 and env["PROBE_WORK"] + "/user-certs" in j["error"]["message"]'
	;;
*)
	run_command list-certs-user "${user_env[@]}" "$probe" --list-certs \
		--cert MY --cert-type user --json
	check "no directory store plugin: exit 1" status_is 1
	check "no directory store plugin: the library's error naming the type" json \
		'j["error"]["code"] in (1201, 1212) and "SSLCertStoreType=0" in j["error"]["message"] and j["certificates"] == []'
	;;
esac

# A store that does not exist: an error whether or not a plugin serves it.
run_command list-certs-user-text "${user_env[@]}" "$probe" --list-certs \
	--cert ROOT --cert-type user
check "--cert-type user, no such store: exit 1" status_is 1
check "--cert-type user, no such store: an error line" stdout_has "error "

usage_error list-certs-no-cert "--list-certs needs --cert" --list-certs --json
usage_error list-certs-subject "--cert-subject needs --server" \
	--list-certs --cert "$certs/client.pem" --cert-subject alice
usage_error list-certs-tls "--tls needs --server" \
	--list-certs --cert "$certs/client.pem" --tls implicit
usage_error list-plugins-list "--list needs --server" --list-plugins --list
json_flush

# ---- listing -----------------------------------------------------------------

run list "${login[@]}" --json --list
check "--list: exit 0" status_is 0
check "--list: no error, logged in" json 'j["error"] is None and j["auth"] == {"mechanism": "user", "ok": True, "plaintext_without_tls": True}'
check "--list: USER/PASS without TLS is warned about" stderr_has \
	"spop-probe: warning: user sent a reusable secret without TLS"
check "--list: greeting" json 'j["server"]["greeting"].startswith("+OK")'
check "--list: capabilities" json '"UIDL" in j["server"]["capabilities"] and "USER" in j["server"]["capabilities"]'
check "--list: tls none" json \
	'j["server"]["tls"] == {"provider": None, "version": None, "cipher": None, "cert_subject": None, "cert_issuer": None, "verified": False, "status": "none"}'
check "--list: count matches mailbox.txt" json 'j["mailbox"]["count"] == len(mbox)'
check "--list: total size" json 'j["mailbox"]["total_size"] == sum(m[1] for m in mbox)'
check "--list: one entry per message, in order" json \
	'[m["number"] for m in j["messages"]] == [m[0] for m in mbox]'
check "--list: sizes match mailbox.txt" json \
	'[m["size"] for m in j["messages"]] == [m[1] for m in mbox]'
check "--list: distinct UIDs" json \
	'all(m["uid"] for m in j["messages"]) and len({m["uid"] for m in j["messages"]}) == len(mbox)'
check "--list: nothing retrieved" json \
	'all(m["subject"] is None and m["file"] is None and m["smime"] is None and m["signed"] is None for m in j["messages"])'

run list-text "${login[@]}" --list
check "report: exit 0" status_is 0
check "report: mailbox line" stdout_has "mailbox      $(grep -vc '^#' "$dovecot_dir/mailbox.txt") messages"
check "report: greeting" stdout_has "greeting     +OK"
check "report: no error" stdout_lacks "error "

# ---- retrieving --------------------------------------------------------------

rm -rf "$work/out"
export PROBE_OUT=$work/out
run retrieve "${login[@]}" --json --retrieve 1 --output "$work/out"
check "--retrieve 1: exit 0" status_is 0
check "--retrieve 1: file written" test -f "$work/out/1.eml"
size1=$(awk -F'\t' '$1 == 1 { print $2 }' "$dovecot_dir/mailbox.txt")
check "--retrieve 1: file has the LIST size ($size1)" \
	test "$(stat -c %s "$work/out/1.eml" 2>/dev/null)" = "$size1"
file1=$(awk -F'\t' '$1 == 1 { print $3 }' "$dovecot_dir/mailbox.txt")
check "--retrieve 1: file is the message with CRLF line ends" \
	cmp -s "$work/out/1.eml" <(sed 's/$/\r/' "$dovecot_dir/mail/$user/$file1")
check "--retrieve 1: only DIR/1.eml" test "$(ls "$work/out")" = 1.eml
check "--retrieve 1: file field" json \
	'[m["file"] for m in j["messages"]] == [env["PROBE_OUT"] + "/1.eml"]'
check "--retrieve 1: headers" json \
	'j["messages"][0]["subject"] == "Simple message" and "alice@example.org" in j["messages"][0]["from"] and "john.doe@example.com" in j["messages"][0]["to"] and "carol@example.com" in j["messages"][0]["cc"] and j["messages"][0]["date"]'
check "--retrieve 1: uid and size without --list" json \
	'j["messages"][0]["uid"] and j["messages"][0]["size"] == mbox[0][1]'
check "--retrieve 1: plain message" json \
	'j["messages"][0]["signed"] is False and j["messages"][0]["encrypted"] is False and j["messages"][0]["smime"] is None'

run retrieve-smime "${login[@]}" --json --list --retrieve 5
check "--retrieve 5: exit 0" status_is 0
check "--retrieve 5: signed" json 'j["messages"][4]["signed"] is True and j["messages"][4]["subject"] == "Signed"'
check "--retrieve 5: listing kept" json 'len(j["messages"]) == len(mbox)'
check "--retrieve 5: no file without --output" json 'j["messages"][4]["file"] is None'
run retrieve-6 "${login[@]}" --json --retrieve 6 --headers-only
check "--retrieve 6 --headers-only: encrypted" json 'j["messages"][0]["encrypted"] is True'

run retrieve-all "${server[@]}" --user "$small_user" --password "$small_password" --json --retrieve all --headers-only
check "--retrieve all --headers-only: exit 0" status_is 0
check "--retrieve all: every message" json \
	'[m["subject"] for m in j["messages"]] == ["bob-1", "bob-2", "bob-3"]'

run retrieve-text "${login[@]}" --retrieve 1 --max-lines 1
check "--max-lines report: exit 0" status_is 0
check "--max-lines report: subject" stdout_has "Simple message"

run retrieve-missing "${login[@]}" --json --list --retrieve 99
check "--retrieve 99: exit 1" status_is 1
check "--retrieve 99: error reported, listing kept" json \
	'j["error"] is not None and j["error"]["code"] != 0 and len(j["messages"]) == len(mbox)'

# ---- saving partial retrievals -----------------------------------------------

# expected_top USER N LINES: message N of USER as "TOP N LINES" serves it,
# from the Maildir file the harness generated: the header block, the empty
# line, then at most LINES body lines, each ending in CRLF (also a last line
# that has no newline in the file).
expected_top() {
	local file
	file=$(awk -F'\t' -v n="$2" '$1 == n { print $3 }' "$dovecot_dir/mailbox-$1.txt")
	[ -n "$file" ] || return 1
	awk -v max="$3" 'body && n++ >= max { exit }
		{ printf "%s\r\n", $0 }
		!body && $0 == "" { body = 1 }' "$dovecot_dir/mail/$1/$file"
}

# saved_is FILE USER N LINES: FILE holds exactly what expected_top gives.
saved_is() {
	[ -f "$1" ] && cmp -s "$1" <(expected_top "$2" "$3" "$4")
}

rm -rf "$work/partial"
export PROBE_PARTIAL=$work/partial
run output-headers "${login[@]}" --json --retrieve 1 --headers-only --output "$work/partial"
check "--output --headers-only: exit 0" status_is 0
check "--output --headers-only: DIR/1.eml is the header block" \
	saved_is "$work/partial/1.eml" "$user" 1 0
check "--output --headers-only: only DIR/1.eml" test "$(ls -A "$work/partial")" = 1.eml
check "--output --headers-only: file field" json \
	'[m["file"] for m in j["messages"]] == [env["PROBE_PARTIAL"] + "/1.eml"] and j["messages"][0]["subject"] == "Simple message"'

# Message 2 has lines of dots, one a lone ".", and no newline at its end:
# 5 body lines end on the lone dot, 99 reach past the end.
run output-max-lines "${login[@]}" --retrieve 2 --max-lines 5 --output "$work/partial"
check "--output --max-lines 5: exit 0" status_is 0
check "--output --max-lines 5: DIR/2.eml is headers and 5 body lines, unstuffed" \
	saved_is "$work/partial/2.eml" "$user" 2 5
check "--output --max-lines 5: report names the file" stdout_has "file       $work/partial/2.eml"
run output-max-lines-all "${login[@]}" --retrieve 2 --max-lines 99 --output "$work/partial"
check "--output --max-lines 99: exit 0" status_is 0
check "--output --max-lines 99: DIR/2.eml is the whole message, CRLF added at the end" \
	saved_is "$work/partial/2.eml" "$user" 2 99
check "--output: no temporary files left" test "$(ls -A "$work/partial")" = "$(printf '1.eml\n2.eml')"

rm -rf "$work/partial-all"
run output-all-headers "${server[@]}" --user "$small_user" --password "$small_password" \
	--retrieve all --headers-only --output "$work/partial-all"
check "--retrieve all --headers-only --output: exit 0" status_is 0
for n in 1 2 3; do
	check "--retrieve all --headers-only --output: DIR/$n.eml is the header block" \
		saved_is "$work/partial-all/$n.eml" "$small_user" "$n" 0
done

# ---- failures ----------------------------------------------------------------

run wrong-password "${server[@]}" --user "$user" --password wrong --json
check "wrong password: exit 1" status_is 1
check "wrong password: error 171" json 'j["error"]["code"] == 171 and j["error"]["message"]'
check "wrong password: auth not ok" json 'j["auth"]["ok"] is False and j["mailbox"]["count"] is None and j["messages"] == []'
check "wrong password: greeting known" json '(j["server"]["greeting"] or "").startswith("+OK")'

run wrong-password-text "${server[@]}" --user "$user" --password wrong
check "wrong password report: exit 1" status_is 1
check "wrong password report: error line" stdout_has "error 171: "

# A bound socket that never listens: the port is refused, and nothing else
# can take it while the check runs. An earlier run's file would pass the
# wait below before perl's redirection empties it.
rm -f -- "$work/closed-port"
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
		Proto => "tcp") or die "$!\n";
	$| = 1;
	print $s->sockport, "\n";
	sleep 300;' >"$work/closed-port" &
holder_pid=$!
# Up to 30 s: on a loaded machine perl has taken more than 5 s to start.
for _ in $(seq 300); do
	[ -s "$work/closed-port" ] && break
	sleep 0.1
done
closed=$(cat "$work/closed-port")
run closed-port --server 127.0.0.1 --port "$closed" --user "$user" --password "$password" --json --list
check "closed port: exit 1" status_is 1
check "closed port: error 10061" json 'j["error"]["code"] == 10061 and j["auth"]["ok"] is False and j["server"]["greeting"] is None'
kill "$holder_pid" 2>/dev/null
wait "$holder_pid" 2>/dev/null
holder_pid=

run bad-config "${login[@]}" --json --config NoSuchSetting=1
check "unknown --config: exit 1" status_is 1
check "unknown --config: error 1210" json 'j["error"]["code"] == 1210'

run plain "${login[@]}" --json --auth plain
check "--auth plain: exit 0" status_is 0
check "--auth plain: logged in through SASL" json \
	'j["error"] is None and j["auth"] == {"mechanism": "plain", "ok": True, "plaintext_without_tls": True}'
check "--auth plain: warned about" stderr_has "warning: plain sent a reusable secret without TLS"

run cram "${login[@]}" --json --auth cram-md5
check "--auth cram-md5: exit 0" status_is 0
check "--auth cram-md5: logged in through SASL" json \
	'j["error"] is None and j["auth"] == {"mechanism": "cram-md5", "ok": True, "plaintext_without_tls": False}'
check "--auth cram-md5: no warning" stderr_lacks "warning:"

run auto "${login[@]}" --json --auth auto
check "--auth auto: exit 0" status_is 0
check "--auth auto: names the mechanism it chose" json \
	'j["error"] is None and j["auth"] == {"mechanism": "scram-sha-256", "ok": True, "plaintext_without_tls": False}'

run no-plugin "${login[@]}" --json --auth x-no-such-mechanism
check "--auth x-no-such-mechanism: exit 1" status_is 1
check "--auth x-no-such-mechanism: library's no-plugin error" json \
	'j["error"]["code"] == 1201 and j["auth"] == {"mechanism": "x-no-such-mechanism", "ok": False, "plaintext_without_tls": False}'

# Dovecot has no NTLM: refused before anything is sent (Cyrus's NTLM is
# tested in tests/integration/test-auth-ntlm.c).
run ntlm "${login[@]}" --json --auth ntlm
check "--auth ntlm against Dovecot: exit 1" status_is 1
check "--auth ntlm: not offered, nothing sent" json \
	'j["error"]["code"] == 171 and "does not offer SASL mechanism NTLM" in j["error"]["message"] and j["auth"] == {"mechanism": "ntlm", "ok": False, "plaintext_without_tls": False}'

run apop "${login[@]}" --json --auth apop
check "--auth apop: exit 0" status_is 0
check "--auth apop: logged in" json 'j["auth"] == {"mechanism": "apop", "ok": True, "plaintext_without_tls": False}'

# every mechanism Dovecot has, by the names the contract lists
for mech in login digest-md5 scram-sha-1 scram-sha-256; do
	run "auth-$mech" "${login[@]}" --json --auth "$mech"
	check "--auth $mech: exit 0" status_is 0
	check "--auth $mech: logged in, named" json \
		"j['error'] is None and j['auth']['mechanism'] == '$mech' and j['auth']['ok'] is True"
done

# ---- password file and trail ---------------------------------------------

printf '%s\n' "$password" >"$work/password"
run password-file "${server[@]}" --user "$user" --password-file "$work/password" --json
check "--password-file: exit 0" status_is 0
check "--password-file: logged in" json 'j["auth"]["ok"] is True and j["error"] is None'

run password-file-missing "${server[@]}" --user "$user" --password-file "$work/no-such-file" --json
check "unreadable --password-file: exit 2" status_is 2
check "unreadable --password-file: says so" stderr_has "password file"

run trail "${login[@]}" --trail --list
check "--trail: exit 0" status_is 0
check "--trail: client lines" stderr_has "C: USER $user"
check "--trail: server lines" stderr_has "S: +OK"
check "--trail: password masked" stderr_has "C: PASS ********"
check "--trail: password never shown" stderr_lacks "$password"
check "--trail: report still on stdout" stdout_has "mailbox "

# ---- TLS ---------------------------------------------------------------------

# Checks for a session that verified the harness's "good" certificate
# through --ca-file or the pin, with provider $1.
tls_ok_checks() {
	export PROBE_PROVIDER=$1
	check "exit 0" status_is 0
	check "logged in, no error" json 'j["error"] is None and j["auth"]["ok"] is True and j["mailbox"]["count"] == len(mbox)'
	check "tls provider, version, IANA suite" json \
		'(t := j["server"]["tls"]) and t["provider"] == env["PROBE_PROVIDER"] and t["version"] in ("TLS1.2", "TLS1.3") and t["cipher"].startswith("TLS_")'
	check "tls certificate and verdict" json \
		'(t := j["server"]["tls"]) and t["cert_subject"] == "CN=localhost, O=libspop tests" and t["cert_issuer"] == "CN=spop test CA, O=libspop tests" and t["verified"] is True and t["status"] == "OK"'
}

# The same certificate refused: 280 from the library, nothing logged in.
tls_refused_checks() {
	check "exit 1" status_is 1
	check "error 280 naming the server" json \
		'j["error"]["code"] == 280 and "127.0.0.1:" + env["PROBE_TLS_PORT"] in j["error"]["message"] and "rejected" in j["error"]["message"]'
	check "not logged in, not verified" json \
		'(t := j["server"]["tls"]) and j["auth"]["ok"] is False and t["verified"] is False and t["status"] not in (None, "OK", "none") and t["version"] is None'
}
export PROBE_TLS_PORT=$tls_port
tls=(--server 127.0.0.1 --port "$tls_port" --user "$user" --password "$password")

for provider in gnutls openssl; do
	with=(--tls-provider "$provider")
	run "tls-implicit-$provider" "${tls[@]}" "${with[@]}" --json \
		--tls implicit --ca-file "$certs/ca.pem" --list
	tls_ok_checks "$provider"
	check "the mailbox over TLS" json \
		'[m["size"] for m in j["messages"]] == [m[1] for m in mbox]'

	# STLS on the plain port; the trail shows the TLS layer apart.
	run "tls-explicit-$provider" "${login[@]}" "${with[@]}" --json --trail \
		--tls explicit --ca-file "$certs/ca.pem"
	tls_ok_checks "$provider"
	check "capabilities read again after STLS" json '"STLS" not in j["server"]["capabilities"] and "USER" in j["server"]["capabilities"]'
	check "trail: STLS sent" stderr_has "C: STLS"
	check "trail: the library ran provider $provider" stderr_has "started ($provider)"
	check "trail: SSLStatus lines marked TLS:" stderr_has "TLS: TLS established with 127.0.0.1:$port: TLS1."
	check "trail: login only after TLS" stderr_order "TLS: TLS established" "C: USER $user"

	run "tls-no-ca-$provider" "${tls[@]}" "${with[@]}" --json --tls implicit
	tls_refused_checks

	run "tls-pin-$provider" "${tls[@]}" "${with[@]}" --json --tls implicit \
		--accept-cert "$certs/good.pem"
	tls_ok_checks "$provider"

	run "tls-pin-other-$provider" "${tls[@]}" "${with[@]}" --json --tls implicit \
		--ca-file "$certs/ca.pem" --accept-cert "$certs/other.pem"
	tls_refused_checks
	check "the pin is the reason" json '"pinned" in j["server"]["tls"]["status"]'

	run "tls-insecure-$provider" "${tls[@]}" "${with[@]}" --json --tls implicit --insecure
	check "exit 0" status_is 0
	check "warning on stderr" stderr_has "spop-probe: WARNING: --insecure accepts any certificate, so the identity of 127.0.0.1 is NOT checked"
	check "says what it accepted anyway" stderr_has "WARNING: --insecure: accepting the certificate of 127.0.0.1"
	check "logged in, verified false with the reason" json \
		'(t := j["server"]["tls"]) and j["error"] is None and j["auth"]["ok"] is True and t["verified"] is False and t["status"] not in (None, "OK", "none") and t["version"] in ("TLS1.2", "TLS1.3")'

	run "tls-text-$provider" "${tls[@]}" "${with[@]}" --tls implicit --ca-file "$certs/ca.pem"
	check "report: exit 0" status_is 0
	check "report: tls line" stdout_has "tls          $provider, TLS1."
	check "report: verified" stdout_has "  verified   yes (OK)"
done

# auto on a port other than 110 is implicit; without --tls-provider the
# library's Automatic choice, gnutls, serves it.
run tls-auto "${tls[@]}" --json --trail --tls auto --ca-file "$certs/ca.pem"
tls_ok_checks gnutls
check "trail: implicit TLS (no STLS), provider gnutls" stderr_order "started (gnutls)" "S: +OK"
check "trail: no STLS" stderr_lacks "C: STLS"

# Without --port, --tls picks 995 or 110. Run in a network namespace of
# its own, where nothing listens, so no service of this machine is
# reached; the refusal names the port tried.
for mode in implicit:995 auto:995 explicit:110; do
	run_command "tls-default-port-${mode%:*}" unshare --net sh -c \
		'ip link set lo up && exec "$@"' sh "$probe" --server 127.0.0.1 \
		--user "$user" --password "$password" --json --tls "${mode%:*}"
	export PROBE_EXPECT="port ${mode#*:}:"
	check "--tls ${mode%:*} without --port: connects to ${mode#*:}" json \
		'j["error"]["code"] == 10061 and env["PROBE_EXPECT"] in j["error"]["message"]'
done
json_flush

# ---- TLS client certificates (a second Dovecot requires one) -----------------

HARNESS_TLS=good HARNESS_TLS_CLIENT_CERT=1 HARNESS_CERTS_DIR=$certs \
	"$harness" start "$cc_dir" || fail "starting the client-certificate Dovecot"
cc_port=$(cat "$cc_dir/port-tls" 2>/dev/null)
cc=(--server 127.0.0.1 --port "$cc_port" --user "$user" --password "$password"
	--tls implicit --ca-file "$certs/ca.pem")
export PROBE_CC_PORT=$cc_port

for provider in gnutls openssl; do
	with=(--tls-provider "$provider")
	run "cert-pem-$provider" "${cc[@]}" "${with[@]}" --json \
		--cert "$certs/client.pem" --cert-type pem
	check "exit 0" status_is 0
	check "logged in with the certificate" json 'j["error"] is None and j["auth"]["ok"] is True and j["server"]["tls"]["verified"] is True'

	run "cert-pfx-$provider" "${cc[@]}" "${with[@]}" --json \
		--cert "$certs/client.p12" --cert-type pfx \
		--cert-password "$(cat "$certs/client.p12.password")" --cert-subject alice
	check "exit 0" status_is 0
	check "logged in with the PFX certificate" json 'j["error"] is None and j["auth"]["ok"] is True'
done

# --list-certs with --server: the listing, then the session with the
# certificate chosen from it.
run cert-list-login "${cc[@]}" --json --list-certs --cert "$certs/client.p12" \
	--cert-type pfx --cert-password "$p12_password"
check "exit 0" status_is 0
check "listed, then logged in with the certificate" json \
	"$client_listed and j[\"error\"] is None and j[\"auth\"][\"ok\"] is True and j[\"server\"][\"tls\"][\"verified\"] is True"

# The listing is what tells a user the subject to ask for.
run cert-list-wrong-subject "${cc[@]}" --json --list-certs \
	--cert "$certs/client.pem" --cert-subject "CN=nobody"
check "exit 1" status_is 1
check "listed; the library's 272 naming the subject; not connected" json \
	"$client_listed and j[\"error\"][\"code\"] == 272 and \"CN=nobody\" in j[\"error\"][\"message\"] and j[\"auth\"][\"ok\"] is False and j[\"server\"][\"greeting\"] is None"

run cert-list-wrong-password "${cc[@]}" --list-certs --cert "$certs/client.p12" \
	--cert-password wrong
check "exit 1" status_is 1
check "273 reported once" test "$(grep -c '^error ' "$work/$last.out")" = 1
check "the 273 line" stdout_has "error 273: "
check "not connected" stdout_has "greeting     -"

run cert-none "${cc[@]}" --tls-provider openssl --json
check "exit 1" status_is 1
check "Dovecot refuses the login without a certificate" json \
	'j["auth"]["ok"] is False and j["error"]["code"] == 171 and "certificate" in j["error"]["message"]'

run cert-wrong-password "${cc[@]}" --json --cert "$certs/client.p12" \
	--cert-password wrong
check "exit 1" status_is 1
check "the library's 273 naming the file" json \
	'j["error"]["code"] == 273 and "client.p12" in j["error"]["message"] and j["auth"]["ok"] is False'

run cert-wrong-subject "${cc[@]}" --json --cert "$certs/client.pem" \
	--cert-subject "CN=nobody"
check "exit 1" status_is 1
check "the library's 272 naming the subject" json \
	'j["error"]["code"] == 272 and "CN=nobody" in j["error"]["message"]'

run cert-pkcs11 "${cc[@]}" --json --cert "$certs/client.pem" --cert-type pkcs11
check "exit 1" status_is 1
case " $certstores " in
*" pkcs11 "*)
	check "a PEM file is no PKCS#11 module: 271 naming it" json \
		'j["error"]["code"] == 271 and env["PROBE_CERTS"] + "/client.pem" in j["error"]["message"]'
	;;
*)
	check "no cert-store plugin for PKCS#11: 1201 naming the type" json \
		'j["error"]["code"] == 1201 and "SSLCertStoreType=23" in j["error"]["message"]'
	;;
esac
json_flush
"$harness" stop "$cc_dir" || fail "stopping the client-certificate Dovecot"

# ---- S/MIME ------------------------------------------------------------------

sm=("${server[@]}" --user "$smime_user" --password "$smime_password")
trust=(--smime-ca "$smime/ca.pem")

# The signer and verdicts of a whole message signed by alice (From alice)
# and checked against the test CA, with engine $PROBE_ENGINE.
alice_signed='s["engine"] == env["PROBE_ENGINE"] and s["verified"] is True and s["trusted"] is True and s["from_matches"] is True and s["signed_part"] == "" and s["signer_subject"] == env["PROBE_ALICE_SUBJECT"] and s["signer_issuer"] == env["PROBE_ALICE_ISSUER"] and s["signer_serial"] == env["PROBE_ALICE_SERIAL"] and s["error"] is None'
# s: the smime object of message N (the only one retrieved).
smime_of() {
	printf '(s := [m for m in j["messages"] if m["number"] == %d][0]["smime"]) is not None and ' "$1"
}
# The body of the unwrapped file is the plaintext's, byte for byte.
body_recovered='open(s["file"], "rb").read().split(b"\r\n\r\n", 1)[1] == open(env["PROBE_SMIME"] + "/plain-body", "rb").read()'

# The mailbox as delivered, without S/MIME options: no smime objects.
run smime-mailbox "${sm[@]}" --json --retrieve all
check "exit 0" status_is 0
check "the eleven messages, signed and encrypted as made, smime null" json \
	'[(m["number"], m["signed"], m["encrypted"], m["smime"]) for m in j["messages"]] == [(1, True, False, None), (2, True, False, None), (3, False, False, None), (4, False, True, None), (5, False, True, None), (6, True, False, None), (7, False, False, None), (8, True, False, None), (9, True, False, None), (10, True, False, None), (11, True, False, None)]'
check "subjects" json \
	'[m["subject"] for m in j["messages"]] == ["S/MIME signed", "S/MIME signed, other sender", "S/MIME signed part", "S/MIME enveloped", "S/MIME signed and enveloped", "S/MIME signed", "plain", "S/MIME signed, no certificate", "S/MIME signed with SHA-1", "S/MIME signed twice", "S/MIME signed, expired signer"]'

# Every case runs with both engines; then their objects must agree.
for engine in cms openssl; do
	export PROBE_ENGINE=$engine
	eng=(--smime-engine "$engine")

	rm -rf "$smime/out-$engine-verify"
	run "smime-verify-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve 1 \
		--output "$smime/out-$engine-verify"
	check "exit 0" status_is 0
	check "the signed content unwrapped beside the raw message" json \
		"$(smime_of 1)"'s["file"] == j["messages"][0]["file"][:-len(".eml")] + ".smime.eml" and '"$body_recovered"
	check "verified, trusted, from matches, whole message, signer alice" json \
		"$(smime_of 1)$alice_signed"
	check "SHA-256, nothing decrypted, no warning, no error" json \
		"$(smime_of 1)"'s["algorithm"] == "SHA-256" and s["decrypted"] is None and s["warnings"] == [] and j["error"] is None'
	check "the message itself: signed, not encrypted" json \
		'j["messages"][0]["signed"] is True and j["messages"][0]["encrypted"] is False'

	run "smime-verify-untrusted-$engine" "${sm[@]}" "${eng[@]}" --json --verify --retrieve 1
	check "exit 0: the signature holds" status_is 0
	check "verified, not trusted, with the warning" json \
		"$(smime_of 1)"'s["verified"] is True and s["trusted"] is False and s["error"] is None and any("not trusted" in w for w in s["warnings"])'

	run "smime-verify-text-$engine" "${sm[@]}" "${eng[@]}" --verify --retrieve 1
	check "report: exit 0" status_is 0
	check "report: the verdict line" stdout_has "  smime      $engine: decrypted -, verified yes, trusted no, from matches yes, signed part whole message"
	check "report: the warning" stdout_has "  WARNING: the signature holds, but the signer is not trusted"

	run "smime-verify-crl-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" \
		--smime-crl "$smime/crl.pem" --retrieve 1
	check "exit 0: the signature holds" status_is 0
	check "the signer's trust failure: revoked" json \
		"$(smime_of 1)"'[g["trust_failures"] for g in s["signers"]] == [["revoked"]]'
	check "revoked signer: exit 0, verified, not trusted, revoked" json \
		"$(smime_of 1)"'s["verified"] is True and s["trusted"] is False and any("revoked" in w for w in s["warnings"])'

	run "smime-other-sender-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve 2
	check "exit 0" status_is 0
	check "From is not the signer: from_matches false, warned" json \
		"$(smime_of 2)"'s["verified"] is True and s["trusted"] is True and s["from_matches"] is False and any("mallory@example.org" in w and "alice@example.org" in w for w in s["warnings"])'
	run "smime-other-sender-text-$engine" "${sm[@]}" "${eng[@]}" --verify "${trust[@]}" --retrieve 2
	check "report: the warning" stdout_has "  WARNING: the sender (From: "

	run "smime-signed-part-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve 3
	check "exit 0" status_is 0
	check "not signed at the top, but part 2 is: signed_part 2, warned" json \
		"$(smime_of 3)"'j["messages"][0]["signed"] is False and s["verified"] is True and s["signed_part"] == "2" and any("covers only part 2" in w for w in s["warnings"])'
	run "smime-signed-part-text-$engine" "${sm[@]}" "${eng[@]}" --verify "${trust[@]}" --retrieve 3
	check "report: the warning" stdout_has "  WARNING: the signature covers only part 2"

	rm -rf "$smime/out-$engine"
	export PROBE_SMIME_OUT=$smime/out-$engine
	run "smime-decrypt-$engine" "${sm[@]}" "${eng[@]}" --json --decrypt \
		--cert "$smime/bob.pem" --retrieve 4 --output "$smime/out-$engine"
	check "exit 0" status_is 0
	check "decrypted, nothing verified, AES-256-CBC" json \
		"$(smime_of 4)"'s["engine"] == env["PROBE_ENGINE"] and s["decrypted"] is True and s["verified"] is None and s["trusted"] is None and s["signed_part"] is None and s["cipher"] == "AES-256-CBC" and s["error"] is None'
	check "raw message and unwrapped one side by side" json \
		"$(smime_of 4)"'j["messages"][0]["file"] == env["PROBE_SMIME_OUT"] + "/4.eml" and s["file"] == env["PROBE_SMIME_OUT"] + "/4.smime.eml"'
	check "the plaintext recovered byte for byte" json "$(smime_of 4)$body_recovered"
	check "the unwrapped message keeps Subject, has the inner Content-Type" \
		grep -q $'^Content-Type: text/plain; charset=us-ascii\r$' "$smime/out-$engine/4.smime.eml"
	check "... and the outer Subject" grep -q $'^Subject: S/MIME enveloped\r$' "$smime/out-$engine/4.smime.eml"

	run "smime-decrypt-pfx-$engine" "${sm[@]}" "${eng[@]}" --json --decrypt \
		--cert "$smime/bob.p12" --cert-password bob-p12-secret --retrieve 4 \
		--output "$smime/out-$engine-pfx"
	check "--cert from a PFX: exit 0" status_is 0
	check "--cert from a PFX: decrypted, plaintext recovered" json \
		"$(smime_of 4)"'s["decrypted"] is True and '"$body_recovered"
	run "smime-decrypt-pfx-password-$engine" "${sm[@]}" "${eng[@]}" --json --decrypt \
		--cert "$smime/bob.p12" --cert-password wrong --retrieve 4
	check "--cert PFX, wrong password: exit 1" status_is 1
	check "--cert PFX, wrong password: the store's 273, before any message" json \
		'j["error"]["code"] == 273 and "bob.p12" in j["error"]["message"] and j["messages"] == []'

	run "smime-decrypt-wrong-cert-$engine" "${sm[@]}" "${eng[@]}" --json --decrypt \
		--cert "$smime/carol.pem" --retrieve 4 --output "$smime/out-$engine-carol"
	check "exit 1" status_is 1
	check "284 in smime.error and as the run's error; nothing written" json \
		"$(smime_of 4)"'s["error"]["code"] == 284 and j["error"]["code"] == 284 and s["decrypted"] is False and s["file"] is None'
	check "no unwrapped file" test ! -e "$smime/out-$engine-carol/4.smime.eml"

	run "smime-both-$engine" "${sm[@]}" "${eng[@]}" --json --decrypt --verify \
		--cert "$smime/bob.pem" "${trust[@]}" --retrieve 5 --output "$smime/out-$engine"
	check "exit 0" status_is 0
	check "sign-then-encrypt: both layers, alice's signature" json \
		"$(smime_of 5)"'s["decrypted"] is True and s["layers"] == "enveloped,signed" and '"$alice_signed"
	check "the plaintext recovered" json "$(smime_of 5)$body_recovered"

	run "smime-tampered-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve 6
	check "exit 1" status_is 1
	check "verified false, 280" json \
		"$(smime_of 6)"'s["verified"] is False and s["error"]["code"] == 280 and j["error"]["code"] == 280'

	run "smime-no-cert-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve 8
	check "no certificate anywhere: exit 1" status_is 1
	check "272" json "$(smime_of 8)"'s["error"]["code"] == 272 and s["verified"] is False'
	run "smime-signer-cert-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" \
		--signer-cert "$smime/alice-cert.pem" --retrieve 8
	check "--signer-cert: exit 0" status_is 0
	check "--signer-cert: verified with it" json "$(smime_of 8)$alice_signed"

	run "smime-sha1-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve 9
	check "SHA-1 refused: exit 1" status_is 1
	check "SHA-1 refused: 280, not verified" json \
		"$(smime_of 9)"'s["verified"] is False and s["error"]["code"] == 280'
	run "smime-sha1-allowed-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" \
		--allow-weak --retrieve 9
	check "--allow-weak: exit 0" status_is 0
	check "--allow-weak: verified, SHA-1, warned" json \
		"$(smime_of 9)"'s["verified"] is True and s["algorithm"] == "SHA-1" and any("weak digest" in w for w in s["warnings"])'

	run "smime-two-signers-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve 10
	check "exit 0: both signatures hold" status_is 0
	check "verified and trusted, but From matches only one signer: from_matches false" json \
		"$(smime_of 10)"'s["verified"] is True and s["trusted"] is True and s["from_matches"] is False and s["error"] is None'
	check "each signer reported: alice matches From, carol does not" json \
		"$(smime_of 10)"'sorted((g["subject"], g["verified"], g["trusted"], g["from_matches"]) for g in s["signers"]) == [("CN=alice, O=libspop tests", True, True, True), ("CN=carol, O=libspop tests", True, True, False)]'
	check "the warning names carol" json \
		"$(smime_of 10)"'[w for w in s["warnings"] if "is not the signer" in w] == ["the sender (From: \"Alice Example\" <alice@example.org>) is not the signer CN=carol, O=libspop tests, whose certificate names carol@example.org"]'

	run "smime-expired-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve 11
	check "exit 0: the signature holds (VerifySignature does not judge validity)" status_is 0
	check "the signer's trust failure: expired" json \
		"$(smime_of 11)"'[g["trust_failures"] for g in s["signers"]] == [["expired"]]'
	check "verified, not trusted: expired, warned" json \
		"$(smime_of 11)"'s["verified"] is True and s["trusted"] is False and s["from_matches"] is True and any("not trusted (" in w and "CN=dave" in w and ": expired or not yet valid)" in w for w in s["warnings"])'

	# Every message: the method only where the message is S/MIME.
	run "smime-all-$engine" "${sm[@]}" "${eng[@]}" --json --verify "${trust[@]}" --retrieve all
	check "exit 1 (6, 8 and 9 fail)" status_is 1
	check "eleven messages; no smime for the enveloped (4, 5) and plain (7) ones" json \
		'len(j["messages"]) == 11 and [m["number"] for m in j["messages"] if m["smime"] is None] == [4, 5, 7]'
	check "the failures are 6, 8 and 9" json \
		'[m["number"] for m in j["messages"] if m["smime"] and m["smime"]["error"]] == [6, 8, 9]'

	run "smime-all-decrypt-$engine" "${sm[@]}" "${eng[@]}" --json --decrypt \
		--cert "$smime/bob.pem" --retrieve all
	check "--decrypt: exit 0" status_is 0
	check "--decrypt: only 4 and 5 decrypted" json \
		'[m["number"] for m in j["messages"] if m["smime"]] == [4, 5] and all(m["smime"]["decrypted"] is True for m in j["messages"] if m["smime"])'

	# A local file, no server: message 0.
	export PROBE_SMIME_FILE=$smime/4.eml
	run "smime-file-$engine" "${eng[@]}" --json --decrypt --cert "$smime/bob.pem" \
		--smime-file "$smime/4.eml" --output "$smime/out-$engine-file"
	check "exit 0" status_is 0
	check "no server; one message, number 0, file F" json \
		'j["server"] is None and j["auth"] is None and j["mailbox"] is None and [(m["number"], m["file"], m["subject"], m["encrypted"]) for m in j["messages"]] == [(0, env["PROBE_SMIME_FILE"], "S/MIME enveloped", True)] and j["error"] is None'
	check "decrypted into DIR/0.smime.eml, plaintext recovered" json \
		"$(smime_of 0)"'s["decrypted"] is True and s["file"].endswith("/0.smime.eml") and '"$body_recovered"
	run "smime-file-verify-$engine" "${eng[@]}" --json --verify "${trust[@]}" \
		--smime-file "$smime/1.eml"
	check "exit 0" status_is 0
	check "verified, trusted, signer alice" json "$(smime_of 0)$alice_signed"
	run "smime-file-text-$engine" "${eng[@]}" --verify --smime-file "$smime/6.eml"
	check "tampered file, report: exit 1" status_is 1
	check "report: not verified" stdout_has "verified no"
	check "report: the error" stdout_has "  smime error 280: "
	run "smime-file-plain-$engine" "${eng[@]}" --json --verify --smime-file "$smime/7.eml"
	check "a plain file: exit 1, the library says why" json \
		"$(smime_of 0)"'s["error"] is not None and s["verified"] is False and j["error"]["code"] == s["error"]["code"]'
	check "exit 1" status_is 1
done
json_flush

# The two engines agree on every verdict of every message.
checks=$((checks + 1))
if python3 - "$work" <<'PYEOF'; then
import json, sys
work = sys.argv[1]
bad = []
for case in ["verify", "verify-untrusted", "verify-crl", "other-sender", "signed-part",
             "decrypt", "decrypt-pfx", "decrypt-pfx-password", "decrypt-wrong-cert", "both", "tampered", "no-cert",
             "signer-cert", "sha1", "sha1-allowed", "two-signers", "expired", "all", "all-decrypt", "file",
             "file-verify", "file-plain"]:
    objs = []
    for engine in ("cms", "openssl"):
        with open("%s/smime-%s-%s.out" % (work, case, engine)) as f:
            j = json.load(f)
        v = []
        for m in j["messages"]:
            s = m["smime"]
            if s is not None:
                # The engines' own words (status, warnings quoting them)
                # differ; every verdict must not.
                s = {k: x for k, x in s.items() if k not in ("engine", "file", "error", "warnings", "signers")}
                s["signers"] = [{k: x for k, x in g.items() if k != "status"} for g in m["smime"]["signers"]]
                s["error"] = m["smime"]["error"]["code"] if m["smime"]["error"] else None
                if m["smime"]["file"]:
                    with open(m["smime"]["file"], "rb") as g:
                        s["file"] = g.read()
            v.append((m["number"], s))
        objs.append(v)
    if objs[0] != objs[1]:
        bad.append(case)
if bad:
    print("engines disagree on: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
PYEOF
	pass "cms and openssl agree on every S/MIME verdict and decrypted byte"
else
	fail "cms and openssl disagree (see above)"
fi

run smime-engine-unknown "${sm[@]}" --json --verify --smime-engine nosuch --retrieve 1
check "--smime-engine nosuch: exit 1" status_is 1
check "--smime-engine nosuch: the library's error names it" json \
	'"nosuch" in j["error"]["message"]'
json_flush

# ---- deleting (bob's mailbox, restored afterwards) -----------------------

bob=("${server[@]}" --user "$small_user" --password "$small_password")
run delete "${bob[@]}" --json --delete 1
check "--delete 1: exit 0" status_is 0
check "--delete 1: reported" json 'j["deleted"] == 1 and j["error"] is None'
run after-delete "${bob[@]}" --json --list --retrieve 1 --headers-only
check "after --delete: two messages left" json 'j["mailbox"]["count"] == 2'
check "after --delete: bob-1 is gone" json 'j["messages"][0]["subject"] == "bob-2"'
json_flush
"$harness" reset-mailbox "$dovecot_dir" "$small_user" || fail "reset-mailbox $small_user"

# --delete all: each message deleted once stored, through the batch API
usage_error delete-all-alone "--delete all needs --retrieve all and --output DIR" \
	"${bob[@]}" --delete all
usage_error delete-all-no-output "--delete all needs --retrieve all and --output DIR" \
	"${bob[@]}" --retrieve all --delete all
usage_error delete-all-headers "--delete all needs --retrieve all and --output DIR" \
	"${bob[@]}" --retrieve all --headers-only --output "$work/del" --delete all
usage_error delete-bad "--delete takes a message number (1 or more) or 'all', not 'x'" \
	"${bob[@]}" --delete x
rm -rf "$work/del"
run delete-all "${bob[@]}" --json --retrieve all --output "$work/del" --delete all --trail
check "--delete all: exit 0" status_is 0
check "--delete all: three rows, each stored and deleted" json \
	'[(m["number"], m["deleted"], m["file"] is not None) for m in j["messages"]] == [(1, True, True), (2, True, True), (3, True, True)] and j["error"] is None'
check "--delete all: DIR/3.eml is bob-3" grep -q "^Subject: bob-3" "$work/del/3.eml"
check "--delete all: RETR pipelined (two sent before the first answer)" \
	sh -c 'sed -n "/C: RETR 1/,/S: +OK/p" "$1" | grep -c "C: RETR" | grep -qv "^1$"' _ "$work/delete-all.err"
check "--delete all: DELE 1 after RETR 1" \
	awk '/^C: RETR 1$/ { r = NR } /^C: DELE 1$/ { d = NR } END { exit !(r && d > r) }' "$work/delete-all.err"
run after-delete-all "${bob[@]}" --json
check "after --delete all: empty" json 'j["mailbox"]["count"] == 0'
json_flush
"$harness" reset-mailbox "$dovecot_dir" "$small_user" || fail "reset-mailbox $small_user"
# Again into the same DIR: 1.eml is there (an earlier run's, whose message
# the server no longer has), so nothing is written over and nothing deleted.
echo "kept from an earlier run" >"$work/del/1.eml"
run delete-all-again "${bob[@]}" --json --retrieve all --output "$work/del" --delete all
check "--delete all over an existing file: fails" status_is 1
check "--delete all over an existing file: 302 names the file" json \
	'j["error"]["code"] == 302 and "del/1.eml exists" in j["error"]["message"]'
check "--delete all over an existing file: the file is not touched" \
	grep -qx "kept from an earlier run" "$work/del/1.eml"
run after-delete-all-again "${bob[@]}" --json
check "--delete all over an existing file: all three still on the server" json \
	'j["mailbox"]["count"] == 3'
json_flush

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
