#!/bin/bash
# Drives spop-probe against a private Dovecot (tests/harness) and checks its
# exit status, JSON object, report, trail and saved files.
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
holder_pid=
failures=0
checks=0

cleanup() {
	[ -z "$holder_pid" ] || kill "$holder_pid" 2>/dev/null
	"$harness" stop "$dovecot_dir" || true
}
trap cleanup EXIT

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

pass() {
	echo "ok: $*"
}

# run NAME ARGS...: runs the probe, keeping stdout, stderr and the status
# (in $status) under $work/NAME.*.
run() {
	local name=$1
	shift
	json_flush
	"$probe" "$@" >"$work/$name.out" 2>"$work/$name.err"
	status=$?
	last=$name
}

show_last() {
	echo "---- $last: status $status; stdout:" >&2
	head -c 4000 "$work/$last.out" >&2
	echo "---- stderr:" >&2
	head -c 4000 "$work/$last.err" >&2
	echo "----" >&2
}

# check DESCRIPTION COMMAND...: one assertion about the last run. A
# "json EXPR" assertion is queued and evaluated by json_flush.
check() {
	local what=$1
	shift
	checks=$((checks + 1))
	if [ "$1" = json ]; then
		json_what+=("$what")
		json_expr+=("$2")
		return
	fi
	if "$@"; then
		pass "$last: $what"
	else
		fail "$last: $what"
		show_last
	fi
}

status_is() {
	[ "$status" -eq "$1" ]
}

# The JSON checks of the last run, queued by check: all of them are
# evaluated in one python3 process, since starting python3 once per check
# took most of this suite's time.
json_what=()
json_expr=()

# json_flush: evaluates the queued checks and passes or fails each. An
# EXPR is Python over j (the last stdout as JSON), mbox (the main mailbox
# as [(number, size, subject)]) and env (os.environ); it passes if it is
# true. A stdout that is not exactly one JSON object fails them all, and
# an EXPR that raises fails.
json_flush() {
	local i failed=0 results=()
	[ ${#json_expr[@]} -gt 0 ] || return 0
	mapfile -t results < <(python3 - "$work/$last.out" "$dovecot_dir/mailbox.txt" "${json_expr[@]}" <<'EOF'
import json, os, sys
problem = None
try:
    with open(sys.argv[1]) as f:
        j = json.load(f)
    if not isinstance(j, dict):
        problem = "not a JSON object"
except ValueError as e:
    problem = "not JSON: %s" % e
mbox = []
with open(sys.argv[2]) as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        n, size, _, subject = line.rstrip("\n").split("\t", 3)
        mbox.append((int(n), int(size), subject))
# One line per expression, in order: "ok", or why not.
for expr in sys.argv[3:]:
    if problem:
        print(problem.replace("\n", " "))
        continue
    try:
        ok = eval(expr, {"j": j, "mbox": mbox, "env": os.environ})
    except Exception as e:
        print(("raised %r" % e).replace("\n", " "))
        continue
    print("ok" if ok else "false")
EOF
	)
	for i in "${!json_expr[@]}"; do
		if [ "${results[i]:-}" = ok ]; then
			pass "$last: ${json_what[i]}"
		else
			fail "$last: ${json_what[i]} (${results[i]:-no result}: ${json_expr[i]})"
			failed=1
		fi
	done
	[ "$failed" -eq 0 ] || show_last
	json_what=()
	json_expr=()
}

stdout_has() {
	grep -qF -- "$1" "$work/$last.out"
}

stderr_has() {
	grep -qF -- "$1" "$work/$last.err"
}

stdout_lacks() {
	! grep -qF -- "$1" "$work/$last.out"
}

stderr_lacks() {
	! grep -qF -- "$1" "$work/$last.err"
}

stdout_empty() {
	[ ! -s "$work/$last.out" ]
}

mkdir -p "$work"
"$harness" start "$dovecot_dir" || exit 1
port=$(cat "$dovecot_dir/port")
server=(--server 127.0.0.1 --port "$port")
login=("${server[@]}" --user "$user" --password "$password")

# ---- command line -----------------------------------------------------------

run help --help
check "exit 0" status_is 0
for opt in server port user password password-file auth tls ca-file \
	accept-cert insecure proxy list retrieve headers-only max-lines output \
	decrypt verify cert cert-type cert-password cert-subject signer-cert \
	delete config trail json list-plugins; do
	check "--help lists --$opt" stdout_has "--$opt"
done

run no-server --list
check "no --server: exit 2" status_is 2
check "no --server: says so" stderr_has "--server is required"

run bad-retrieve "${login[@]}" --retrieve first
check "--retrieve first: exit 2" status_is 2

run both-passwords "${server[@]}" --user "$user" --password x --password-file /dev/null
check "--password with --password-file: exit 2" status_is 2

run bad-option --frobnicate
check "unknown option: exit 2" status_is 2

for opt in "--tls implicit" "--tls explicit" "--tls auto"; do
	# shellcheck disable=SC2086 # the option and its value are two words
	run tls "${login[@]}" --json $opt
	check "$opt: exit 2" status_is 2
	check "$opt: not available yet" \
		stderr_has "spop-probe: $opt is not available yet: TLS support arrives in a later libspop release"
	check "$opt: no JSON on stdout" stdout_empty
done
run tls-none "${login[@]}" --json --tls none
check "--tls none: exit 0" status_is 0
check "--tls none: tls status none" json 'j["server"]["tls"]["status"] == "none" and j["server"]["tls"]["verified"] is False'

for args in "--ca-file /dev/null" "--accept-cert /dev/null" --insecure \
	"--proxy socks5://127.0.0.1:1080" --decrypt --verify "--cert x.pfx" \
	"--signer-cert x.pem"; do
	# shellcheck disable=SC2086
	run later "${login[@]}" $args
	check "$args: exit 2" status_is 2
	check "$args: not available yet" stderr_has "is not available yet"
done

# ---- plugins -----------------------------------------------------------------

run plugins --list-plugins --json
check "--list-plugins: exit 0" status_is 0
check "--list-plugins: transport direct" json \
	'any(p["kind"] == "transport" and p["name"] == "direct" and p["error"] is None for p in j["plugins"])'
check "--list-plugins: auth user and apop" json \
	'{"user", "apop"} <= {p["name"] for p in j["plugins"] if p["kind"] == "auth" and p["error"] is None}'
check "--list-plugins: paths under SPOP_PLUGIN_PATH" json \
	'all(p["path"].startswith(env["SPOP_PLUGIN_PATH"]) for p in j["plugins"] if p["name"] in ("direct", "user", "apop"))'
check "--list-plugins: every field present" json \
	'all(set(p) == {"kind", "name", "version", "description", "path", "error"} for p in j["plugins"])'
check "--list-plugins alone: no server section" json '"server" not in j and j["error"] is None'

run plugins-text --list-plugins
check "--list-plugins report: exit 0" status_is 0
check "--list-plugins report: names direct" stdout_has direct

# ---- listing -----------------------------------------------------------------

run list "${login[@]}" --json --list
check "--list: exit 0" status_is 0
check "--list: no error, logged in" json 'j["error"] is None and j["auth"] == {"mechanism": "user", "ok": True}'
check "--list: greeting" json 'j["server"]["greeting"].startswith("+OK")'
check "--list: capabilities" json '"UIDL" in j["server"]["capabilities"] and "USER" in j["server"]["capabilities"]'
check "--list: tls none" json \
	'j["server"]["tls"] == {"version": None, "cipher": None, "cert_subject": None, "cert_issuer": None, "verified": False, "status": "none"}'
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
# can take it while the check runs.
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
		Proto => "tcp") or die "$!\n";
	$| = 1;
	print $s->sockport, "\n";
	sleep 300;' >"$work/closed-port" &
holder_pid=$!
for _ in $(seq 50); do
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
	'j["error"] is None and j["auth"] == {"mechanism": "plain", "ok": True}'

run cram "${login[@]}" --json --auth cram-md5
check "--auth cram-md5 (no plugin yet): exit 1" status_is 1
check "--auth cram-md5: library's no-plugin error" json \
	'j["error"]["code"] == 1201 and j["auth"] == {"mechanism": "cram-md5", "ok": False}'

run apop "${login[@]}" --json --auth apop
check "--auth apop: exit 0" status_is 0
check "--auth apop: logged in" json 'j["auth"] == {"mechanism": "apop", "ok": True}'

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

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
