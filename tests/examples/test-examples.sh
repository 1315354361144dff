#!/bin/bash
# shellcheck disable=SC2317 # the helpers are called through check()
# Runs every program of examples/ against a private Dovecot (tests/harness,
# with TLS and the harness's certificates) and checks what each one did,
# against the server and the files, so that no example rots:
#   list-uids      its listing equals LIST and UIDL as Python's poplib
#                  reads them; a wrong password is 171
#   fetch-maildir  every message in new/, byte for byte the server's file
#                  (LF line ends), tmp/ empty; --keep leaves the mailbox,
#                  otherwise it is emptied; a message that cannot be written
#                  (a file size limit) stays on the server, the rest is
#                  stored and deleted
#   tls-fetch      implicit TLS and STLS verify the harness certificate
#                  against its CA and fetch message 1; another CA is 280,
#                  with no file written and no login
#   smime-decrypt  messages made by tests/integration/make-smime-mail.sh
#                  decrypted with bob's PEM key, from files and from the
#                  server; signatures good with the test CA, not trusted
#                  without it; carol's message is 284
#   plugin         examples/plugin built with its Makefile from plugin.h
#                  alone; list-uids logs in through it (SASL LOGIN, the
#                  server logs method=LOGIN) with its declared setting on;
#                  without it on the path, 1201
#
# usage: test-examples.sh EXAMPLES_BUILDDIR SOURCEDIR
# SPOP_PLUGIN_PATH must name the built plugins. Exit 77 (skipped) when no
# private Dovecot can run here, 1 if SPOP_REQUIRE_INTEGRATION=1 (CI).

set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 EXAMPLES_BUILDDIR SOURCEDIR" >&2
	exit 2
fi
bin=$(realpath -- "$1")
srcdir=$(realpath -- "$2")
harness=$srcdir/tests/harness/dovecot-harness.sh
work=$bin/work
dovecot_dir=$work/dovecot

"$harness" check || exit $?
for tool in python3 openssl certtool make cc nm readelf; do
	command -v "$tool" >/dev/null || {
		echo "FAIL: $tool is needed" >&2
		exit 1
	}
done
[ -n "${SPOP_PLUGIN_PATH:-}" ] || {
	echo "FAIL: SPOP_PLUGIN_PATH is not set" >&2
	exit 1
}
builtin_plugins=$SPOP_PLUGIN_PATH

rm -rf -- "$work"
mkdir -p "$work"

cleanup() {
	"$harness" stop "$dovecot_dir" >/dev/null || true
}
trap cleanup EXIT

# shellcheck source=tests/assert.sh
. "$(dirname "$0")/../assert.sh"

# run NAME ENV... -- PROGRAM ARGS...: runs an example with its stdout and
# stderr in $work/NAME.out and .err; $status is its exit status.
run() {
	local name=$1
	shift
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env "${envs[@]}" "$@" >"$work/$name.out" 2>"$work/$name.err"
	status=$?
	evidence=("$work/$name.out" "$work/$name.err")
}

status_is() { [ "$status" -eq "$1" ]; }
lacks() { ! grep -qF -- "$2" "$1"; }           # FILE TEXT
same() { [ "$1" = "$2" ]; }
count_files() { find "$1" -mindepth 1 -maxdepth 1 -type f | wc -l; }

# The bytes a Maildir reader should find for a server-side file: the same,
# with a final newline (POP3 ends every message with CRLF).
expected() {
	cat -- "$1"
	[ -z "$(tail -c1 -- "$1")" ] || echo
}

# poplib NAME PORT USER PASSWORD [stat]: the mailbox as Python's poplib sees
# it, "NUMBER SIZE UID" per line (or the message count with stat), into
# $work/NAME.
poplib() {
	"$srcdir/tests/harness/poplib-listing.py" "$2" "$3" "$4" ${5:+"$5"} \
		>"$work/$1" 2>&1
}

# ---- S/MIME mail, made before Dovecot starts ----------------------------------

smime=$work/smime
made_smime() {
	"$srcdir/tests/integration/make-smime-mail.sh" "$smime" >"$work/make-smime.log" 2>&1
}
evidence=("$work/make-smime.log")
check "make-smime-mail.sh made the S/MIME test mail" made_smime
# The user "smime" gets three of them: 1 encrypted to bob, 2 signed by alice
# then encrypted to bob, 3 encrypted to carol only.
mkdir -p "$work/smime-mail"
for m in m03-encrypted m04-sign-encrypt m10-to-carol; do
	cp -- "$smime/$m.eml" "$work/smime-mail/"
done
check "the smime user's mailbox holds m03, m04 and m10" \
	same "$(count_files "$work/smime-mail")" 3
[ "$failed" -eq 0 ] || finish

# ---- the private Dovecot ---------------------------------------------------------

if ! HARNESS_USERS="alice:alice-secret:main
bob:bob-secret:small
smime:smime-secret:files" HARNESS_MAIL_FILES_DIR=$work/smime-mail \
	HARNESS_TLS=good "$harness" start "$dovecot_dir"; then
	fail "private Dovecot with TLS started"
	finish
fi
port=$(cat "$dovecot_dir/port")
tls_port=$(cat "$dovecot_dir/port-tls")
certs=$dovecot_dir/certs
mail=$dovecot_dir/mail
# The examples read the server and the password from the environment.
conn=(POP3_SERVER=127.0.0.1 POP3_PORT="$port")
alice=("${conn[@]}" POP3_USER=alice POP3_PASSWORD=alice-secret)
bob=("${conn[@]}" POP3_USER=bob POP3_PASSWORD=bob-secret)
# mailbox-USER.txt: number, size, file (under mail/USER), subject.
file_of() { # USER NUMBER: the server's file of message NUMBER
	awk -F'\t' -v n="$2" '$1 == n { print $3 }' "$dovecot_dir/mailbox-$1.txt"
}
# The server's files, kept before any example deletes them.
mkdir -p "$work/orig"
for user in alice bob; do
	mkdir -p "$work/orig/$user"
	while IFS=$'\t' read -r n _ f _; do
		case $n in '#'* | '') continue ;; esac
		cp -- "$mail/$user/$f" "$work/orig/$user/$n"
	done <"$dovecot_dir/mailbox-$user.txt"
done
alice_count=$(grep -vc '^#' "$dovecot_dir/mailbox-alice.txt")
bob_count=$(grep -vc '^#' "$dovecot_dir/mailbox-bob.txt")

# ---- list-uids ---------------------------------------------------------------------

run list "${alice[@]}" -- "$bin/list-uids"
check "list-uids: exit 0" status_is 0
poplib poplib-alice "$port" alice alice-secret
evidence=("$work/list.out" "$work/poplib-alice")
check "list-uids: its listing equals poplib's LIST and UIDL" \
	cmp -s "$work/list.out" "$work/poplib-alice"
check "list-uids: $alice_count messages, as the harness made" \
	same "$(wc -l <"$work/list.out")" "$alice_count"
awk -F'\t' '!/^#/ { print $1, $2 }' "$dovecot_dir/mailbox-alice.txt" >"$work/alice-sizes"
check "list-uids: the sizes are mailbox-alice.txt's" \
	same "$(cut -d' ' -f1,2 "$work/list.out")" "$(cat "$work/alice-sizes")"

run list-options "${conn[@]}" POP3_PASSWORD=alice-secret -- \
	"$bin/list-uids" --server 127.0.0.1 --port "$port" --user alice
check "list-uids: the same with --server/--port/--user" \
	cmp -s "$work/list-options.out" "$work/list.out"

run list-wrong "${conn[@]}" POP3_USER=alice POP3_PASSWORD=wrong-secret -- \
	"$bin/list-uids"
check "list-uids: wrong password: exit 1" status_is 1
check "list-uids: wrong password: error 171 named" \
	has "$work/list-wrong.err" "Connect failed: error 171: "
check "list-uids: wrong password: no listing" test ! -s "$work/list-wrong.out"

run list-refused POP3_SERVER=127.0.0.1 POP3_PORT=1 POP3_USER=alice \
	POP3_PASSWORD=x -- "$bin/list-uids"
check "list-uids: port 1 refused: error 10061 named" \
	has "$work/list-refused.err" "Connect failed: error 10061: "

# ---- fetch-maildir -------------------------------------------------------------------

# check_maildir NAME DIR USER NUMBERS...: DIR/new holds exactly the given
# messages of USER, each byte for byte the server's file (as fetch-maildir
# printed: "NUMBER UID new/FILE"), and DIR/tmp is empty.
check_maildir() {
	local name=$1 dir=$2 user=$3 n f bad=0
	shift 3
	check "$name: $# files in new/" same "$(count_files "$dir/new")" "$#"
	check "$name: tmp/ is empty" same "$(count_files "$dir/tmp")" 0
	for n in "$@"; do
		f=$(awk -v n="$n" '$1 == n { print $3 }' "$work/$name.out")
		if [ -z "$f" ] || ! cmp -s <(expected "$work/orig/$user/$n") "$dir/$f"; then
			echo "message $n: '$f' differs from the server's file" >&2
			bad=1
		fi
	done
	check "$name: every file is the server's message, LF line ends" same "$bad" 0
}

run fetch-keep "${alice[@]}" -- "$bin/fetch-maildir" --keep "$work/maildir-keep"
check "fetch-maildir --keep: exit 0" status_is 0
check_maildir fetch-keep "$work/maildir-keep" alice $(seq "$alice_count")
poplib keep-stat "$port" alice alice-secret stat
check "fetch-maildir --keep: the server still has $alice_count messages" \
	same "$(cat "$work/keep-stat")" "$alice_count"
check "fetch-maildir --keep: cur/ made" test -d "$work/maildir-keep/cur"

run fetch "${bob[@]}" -- "$bin/fetch-maildir" "$work/maildir-bob"
check "fetch-maildir: exit 0" status_is 0
check_maildir fetch "$work/maildir-bob" bob $(seq "$bob_count")
check "fetch-maildir: reports $bob_count stored and deleted" \
	has "$work/fetch.err" "$bob_count stored, $bob_count deleted, 0 failed"
poplib fetch-stat "$port" bob bob-secret stat
check "fetch-maildir: the server's mailbox is empty after QUIT" \
	same "$(cat "$work/fetch-stat")" 0

run fetch-again "${bob[@]}" -- "$bin/fetch-maildir" "$work/maildir-bob"
check "fetch-maildir: an empty mailbox: exit 0, nothing added" \
	same "$status $(count_files "$work/maildir-bob/new")" "0 $bob_count"

# ---- tls-fetch ---------------------------------------------------------------------

logins() { grep -c 'Login: user=<alice>' "$dovecot_dir/log/dovecot.log"; }
first=$(sed 's/$/\r/' <(expected "$work/orig/alice/1"))

run tls-implicit "${alice[@]}" POP3_PORT="$tls_port" -- "$bin/tls-fetch" \
	--tls implicit --ca-file "$certs/ca.pem" --output "$work/tls-1.eml"
check "tls-fetch implicit: exit 0" status_is 0
check "tls-fetch implicit: message 1 written, as the server has it (CRLF)" \
	same "$(cat "$work/tls-1.eml" 2>/dev/null)" "$first"
check "tls-fetch implicit: shows the certificate for localhost" \
	has "$work/tls-implicit.err" "server certificate: CN=localhost"
check "tls-fetch implicit: the certificate was accepted" \
	has "$work/tls-implicit.err" "(accepted)"
check "tls-fetch implicit: reports the TLS version" \
	has "$work/tls-implicit.err" "tls-fetch: SSLNegotiatedVersion: TLS1."

run tls-explicit "${alice[@]}" -- "$bin/tls-fetch" --tls explicit \
	--ca-file "$certs/ca.pem" --message 1
check "tls-fetch explicit (STLS): exit 0" status_is 0
check "tls-fetch explicit: message 1 on stdout" \
	same "$(cat "$work/tls-explicit.out")" "$first"
check "tls-fetch explicit: the certificate was accepted" \
	has "$work/tls-explicit.err" "(accepted)"

sleep 1 # Dovecot logs a login a moment after it
before=$(logins)
run tls-wrong-ca "${alice[@]}" POP3_PORT="$tls_port" -- "$bin/tls-fetch" \
	--tls implicit --ca-file "$certs/client-ca.pem" --output "$work/tls-x.eml"
check "tls-fetch, another CA: exit 1" status_is 1
check "tls-fetch, another CA: error 280" \
	has "$work/tls-wrong-ca.err" "Connect failed: error 280: "
check "tls-fetch, another CA: the event saw the refusal" \
	has "$work/tls-wrong-ca.err" "(refused)"
check "tls-fetch, another CA: no file written" test ! -e "$work/tls-x.eml"
run tls-wrong-ca-stls "${alice[@]}" -- "$bin/tls-fetch" --tls explicit \
	--ca-file "$certs/client-ca.pem"
check "tls-fetch STLS, another CA: error 280" \
	has "$work/tls-wrong-ca-stls.err" "Connect failed: error 280: "
check "tls-fetch STLS, another CA: nothing on stdout" \
	test ! -s "$work/tls-wrong-ca-stls.out"
sleep 1
check "tls-fetch, another CA: the server saw no login" \
	same "$(logins)" "$before"

# ---- smime-decrypt ---------------------------------------------------------------

run smime-enc -- "$bin/smime-decrypt" --key "$smime/bob.pem" \
	--file "$smime/m03-encrypted.eml" --output "$work/m03.out"
check "smime-decrypt m03 (to bob): exit 0" status_is 0
check "smime-decrypt m03: the text is there" \
	grep -q '^this is the secret\.' "$work/m03.out"
check "smime-decrypt m03: the outer Subject is kept" \
	grep -q '^Subject: encrypted' "$work/m03.out"
check "smime-decrypt m03: one enveloped layer, decrypted" \
	has "$work/smime-enc.err" "layers: enveloped; decrypted with AES-256-CBC"
check "smime-decrypt m03: no encrypted data left" \
	lacks "$work/m03.out" "application/pkcs7-mime"

run smime-signed -- "$bin/smime-decrypt" --key "$smime/bob.pem" \
	--ca "$smime/ca.crt" --file "$smime/m04-sign-encrypt.eml"
check "smime-decrypt m04 (signed, encrypted), test CA: exit 0" status_is 0
check "smime-decrypt m04: two layers" \
	has "$work/smime-signed.err" "layers: enveloped,signed"
check "smime-decrypt m04: signed by alice" \
	has "$work/smime-signed.err" "CN=alice"
check "smime-decrypt m04: the signature is good" \
	has "$work/smime-signed.err" "signature: good"
check "smime-decrypt m04: the text is there" \
	grep -q '^this is the secret\.' "$work/smime-signed.out"

run smime-untrusted SMIME_KEY_PASSWORD= -- "$bin/smime-decrypt" \
	--key "$smime/bob.pem" --file "$smime/m04-sign-encrypt.eml"
check "smime-decrypt m04 without the CA: exit 3" status_is 3
check "smime-decrypt m04 without the CA: NOT trusted" \
	has "$work/smime-untrusted.err" "NOT trusted"

run smime-carol -- "$bin/smime-decrypt" --key "$smime/bob.pem" \
	--file "$smime/m10-to-carol.eml"
check "smime-decrypt m10 (to carol) with bob's key: exit 1" status_is 1
check "smime-decrypt m10: error 284" \
	has "$work/smime-carol.err" "failed: error 284: "
check "smime-decrypt m10: nothing written" test ! -s "$work/smime-carol.out"

smime_login=("${conn[@]}" POP3_USER=smime POP3_PASSWORD=smime-secret)
run smime-server "${smime_login[@]}" -- "$bin/smime-decrypt" \
	--key "$smime/bob.pem" --message 1 --output "$work/m03-server.out"
check "smime-decrypt from the server, message 1: exit 0" status_is 0
evidence=("$work/m03-server.out" "$work/m03.out")
check "smime-decrypt: the server's message 1 decrypts as m03's file does" \
	cmp -s "$work/m03-server.out" "$work/m03.out"
run smime-server-2 "${smime_login[@]}" -- "$bin/smime-decrypt" \
	--key "$smime/bob.pem" --ca "$smime/ca.crt" --message 2
check "smime-decrypt from the server, message 2: signature good" \
	has "$work/smime-server-2.err" "signature: good"

# ---- the third-party auth plugin ---------------------------------------------------

# Built from a copy, with its own Makefile and nothing but plugin.h: the
# compiler sees include/ only through PLUGIN_CFLAGS (what pkg-config
# spop-plugin gives an installed SDK).
plugin_dir=$work/plugin
mkdir -p "$plugin_dir"
cp -- "$srcdir/examples/plugin/Makefile" "$srcdir/examples/plugin/example-auth.c" \
	"$srcdir/examples/plugin/spop-auth-example.plugin" "$plugin_dir/"
run plugin-make -- make -C "$plugin_dir" PLUGIN_CFLAGS="-I$srcdir/include" \
	CFLAGS="-O2 -Wall -Wextra -Werror"
check "plugin: make builds spop-auth-example.so with -Wall -Wextra -Werror" \
	test "$status" -eq 0 -a -f "$plugin_dir/spop-auth-example.so"
nm -D --defined-only "$plugin_dir/spop-auth-example.so" 2>&1 | awk '{ print $NF }' |
	grep -vxE '_init|_fini|_edata|_end|__bss_start' >"$work/plugin-symbols"
evidence=("$work/plugin-symbols")
check "plugin: exports spop_plugin_entry only" \
	same "$(cat "$work/plugin-symbols")" spop_plugin_entry
readelf -d "$plugin_dir/spop-auth-example.so" >"$work/plugin-dynamic" 2>&1
evidence=("$work/plugin-dynamic")
check "plugin: does not link libspop" lacks "$work/plugin-dynamic" libspop

sleep 1
logins_login=$(grep -c 'Login: user=<alice>, method=LOGIN' "$dovecot_dir/log/dovecot.log")
run plugin-login "${alice[@]}" SPOP_PLUGIN_PATH="$builtin_plugins:$plugin_dir" -- \
	"$bin/list-uids" --auth example --config ExampleLoginTrace=True --trail
check "plugin: list-uids --auth example: exit 0" status_is 0
check "plugin: the same listing as with USER/PASS" \
	cmp -s "$work/plugin-login.out" "$work/list.out"
check "plugin: AUTH LOGIN sent" has "$work/plugin-login.err" "C: AUTH LOGIN"
check "plugin: its declared setting traced the prompts" \
	has "$work/plugin-login.err" "*: example: the server asks 'Username:'"
check "plugin: and the second prompt" \
	has "$work/plugin-login.err" "*: example: the server asks 'Password:'"
check "plugin: AuthMechanismUsed names it" \
	has "$work/plugin-login.err" "*: logged in with example"
check "plugin: the password never shows" \
	lacks "$work/plugin-login.err" alice-secret
check "plugin: nor in base64" \
	lacks "$work/plugin-login.err" "$(printf alice-secret | base64)"
sleep 1
check "plugin: Dovecot logged a SASL LOGIN login for alice" \
	test "$(grep -c 'Login: user=<alice>, method=LOGIN' "$dovecot_dir/log/dovecot.log")" -gt "$logins_login"

run plugin-missing "${alice[@]}" SPOP_PLUGIN_PATH="$builtin_plugins" -- \
	"$bin/list-uids" --auth example
check "plugin not on the path: exit 1" status_is 1
check "plugin not on the path: error 1201" \
	has "$work/plugin-missing.err" "error 1201: "

run plugin-wrong "${conn[@]}" POP3_USER=alice POP3_PASSWORD=wrong-secret \
	SPOP_PLUGIN_PATH="$builtin_plugins:$plugin_dir" -- \
	"$bin/list-uids" --auth example
check "plugin, wrong password: error 171" \
	has "$work/plugin-wrong.err" "Connect failed: error 171: "

# ---- fetch-maildir when a message cannot be stored ------------------------------------

# Last: it deletes from alice's mailbox. A file size limit (RLIMIT_FSIZE,
# with SIGXFSZ ignored so that write() fails with EFBIG) makes every
# message larger than the limit fail while it is written; those must stay
# on the server, the others be stored and deleted.
limit_kib=16
big=()
small=()
for n in $(seq "$alice_count"); do
	if [ "$(stat -c %s "$work/orig/alice/$n")" -gt $((limit_kib * 1024 - 1)) ]; then
		big+=("$n")
	else
		small+=("$n")
	fi
done
check "the ${limit_kib} KiB limit leaves messages on both sides (small ${small[*]}; big ${big[*]})" \
	test ${#big[@]} -gt 0 -a ${#small[@]} -gt 0
: >"$work/expected-left"
for n in "${big[@]}"; do
	awk -v n="$n" '$1 == n { print $3 }' "$work/poplib-alice" >>"$work/expected-left"
done
# shellcheck disable=SC2016 # expanded by the inner shell
run fetch-limited "${alice[@]}" -- bash -c 'trap "" XFSZ; ulimit -f "$1"; exec "$2" "$3"' \
	_ "$limit_kib" "$bin/fetch-maildir" "$work/maildir-limited"
check "fetch-maildir, file size limit: exit 1" status_is 1
check "fetch-maildir, file size limit: each big message reported" \
	same "$(grep -c 'not stored: ' "$work/fetch-limited.err")" "${#big[@]}"
check "fetch-maildir, file size limit: error 302 from the library, EFBIG from write()" \
	has "$work/fetch-limited.err" "error 302: "
check_maildir fetch-limited "$work/maildir-limited" alice "${small[@]}"
poplib left "$port" alice alice-secret
evidence=("$work/left" "$work/expected-left")
check "fetch-maildir, file size limit: exactly the big messages stay on the server" \
	same "$(cut -d' ' -f3 "$work/left")" "$(cat "$work/expected-left")"

finish
