#!/bin/bash
# Drives spop-probe --proxy through real proxies in front of a private
# Dovecot (tests/harness): a private Dante (SOCKS4 and SOCKS5; socks5h
# lets Dante resolve the server's name; Dante 1.4.2 has no SOCKS4A, so
# there socks4a is checked for its refusal) and two private tinyproxies
# (HTTP CONNECT, one open, one with BasicAuth). For each: login and RETR, STLS and implicit
# TLS through the proxy, the JSON server.proxy object, the proxy's own log
# naming the target; the proxy down (10061 naming the proxy, never a direct
# connection), a target refused behind the proxy (118), and the proxy
# password in no output (stdout, stderr, the trail).
#
# A second Dante asks for username/password (socks5://USER:PASS@, right
# and wrong), and OpenSSH's ssh -D through a private Dropbear
# (ssh-socks-harness.sh) is the SOCKS4A proxy that resolves the name.
#
# usage: test-probe-proxy.sh SPOP_PROBE DOVECOT_HARNESS DANTE_HARNESS \
#        TINYPROXY_HARNESS SSH_SOCKS_HARNESS WORKDIR
# SPOP_PLUGIN_PATH must name the built plugins. Exit 77 (skipped) when a
# server cannot run here, 1 if SPOP_REQUIRE_INTEGRATION=1 (CI).

set -u

if [ $# -ne 6 ]; then
	echo "usage: $0 SPOP_PROBE DOVECOT_HARNESS DANTE_HARNESS TINYPROXY_HARNESS SSH_SOCKS_HARNESS WORKDIR" >&2
	exit 2
fi
probe=$1
harness=$2
dante_harness=$3
tinyproxy_harness=$4
ssh_socks_harness=$5
work=$6

# Skipped (77) with the reason, or failed when SPOP_REQUIRE_INTEGRATION is
# set (as the harness scripts' own "check" does).
cannot_run() {
	if [ "${SPOP_REQUIRE_INTEGRATION:-0}" != 0 ]; then
		echo "FAIL: cannot run: $1; SPOP_REQUIRE_INTEGRATION=$SPOP_REQUIRE_INTEGRATION makes this a failure, not a skip" >&2
		exit 1
	fi
	echo "SKIP: $1" >&2
	exit 77
}

"$harness" check || exit $?
"$dante_harness" check userpass || cannot_run "no private Dante (dante-server) with username/password can run here"
"$ssh_socks_harness" check || exit $?
"$tinyproxy_harness" check || cannot_run "no private tinyproxy can run here"
command -v python3 >/dev/null || cannot_run "python3 is needed"
[ -n "${SPOP_PLUGIN_PATH:-}" ] || { echo "SPOP_PLUGIN_PATH is not set" >&2; exit 1; }

# The harness's main user (harness.h and dovecot-harness.sh).
user=alice
password='alice-secret'
# The BasicAuth tinyproxy's credentials; the secret must never be shown.
proxy_user=puser
proxy_password='p-secret-4711'
proxy_basic=$(printf '%s' "$proxy_user:$proxy_password" | base64)
wrong_password='wrong-secret-0815'

dovecot_dir=$work/dovecot
dante_dir=$work/dante
dante_up_dir=$work/dante-userpass
ssh_dir=$work/ssh-socks
open_dir=$work/tinyproxy-open
auth_dir=$work/tinyproxy-auth
holder_pid=

cleanup() {
	[ -z "$holder_pid" ] || kill "$holder_pid" 2>/dev/null
	"$tinyproxy_harness" stop "$auth_dir" || true
	"$tinyproxy_harness" stop "$open_dir" || true
	"$ssh_socks_harness" stop "$ssh_dir" || true
	"$dante_harness" stop "$dante_up_dir" || true
	"$dante_harness" stop "$dante_dir" || true
	"$harness" stop "$dovecot_dir" || true
}
trap cleanup EXIT

# shellcheck source=tests/probe/checks.sh
. "$(dirname "$0")/checks.sh"

# The proxies' logs as lines; run notes how many each had before the run,
# so a check sees only what the last run caused.
log_lines() {
	if [ -r "$1" ]; then
		wc -l <"$1"
	else
		echo 0
	fi
}

# run NAME ARGS...: runs the probe, keeping stdout, stderr and the status
# (in $status) under $work/NAME.*.
run() {
	local name=$1
	shift
	json_flush
	dante_mark=$(log_lines "$dante_dir/danted.log")
	dante_up_mark=$(log_lines "$dante_up_dir/danted.log")
	ssh_mark=$(log_lines "$ssh_dir/ssh.log")
	open_mark=$(log_lines "$open_dir/tinyproxy.log")
	auth_mark=$(log_lines "$auth_dir/tinyproxy.log")
	run_command "$name" "$probe" "$@"
}


# nowhere SECRET: neither stdout nor stderr (the trail, with --trail) of
# the last run holds SECRET.
nowhere() {
	! grep -qF -- "$1" "$work/$last.out" "$work/$last.err"
}

# The lines a log gained since the last run started ($1 log, $2 mark).
log_since() {
	tail -n +"$(($2 + 1))" "$1" 2>/dev/null
}

# dante_connected PORT [DIR MARK]: Dante (the one in DIR, default the
# first) logged a connection to 127.0.0.1:PORT for the last run. Dante
# writes its lines from a child process, possibly after the client has
# gone: up to 10 s for it to appear.
dante_connected() {
	local i
	for ((i = 0; i < 100; i++)); do
		log_since "${2:-$dante_dir}/danted.log" "${3:-$dante_mark}" |
			grep -F 'tcp/connect [: ' | grep -qE " 127\.0\.0\.1\.$1\$" && return 0
		sleep 0.1
	done
	return 1
}

# ssh_requested NAME PORT: ssh -D logged the SOCKS4 request for NAME:PORT
# (the name as the client sent it) in the last run.
ssh_requested() {
	local i
	for ((i = 0; i < 100; i++)); do
		log_since "$ssh_dir/ssh.log" "$ssh_mark" |
			grep -qF "dynamic request: socks4 host $1 port $2 command 1" && return 0
		sleep 0.1
	done
	return 1
}

# dante_logged TEXT: the same for any line holding TEXT.
dante_logged() {
	local i
	for ((i = 0; i < 100; i++)); do
		log_since "$dante_dir/danted.log" "$dante_mark" | grep -qF -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# tinyproxy_logged open|auth TEXT: that tinyproxy logged TEXT for the
# last run (it logs the request line before it answers).
tinyproxy_logged() {
	local dir=$open_dir mark=$open_mark
	[ "$1" = open ] || { dir=$auth_dir; mark=$auth_mark; }
	log_since "$dir/tinyproxy.log" "$mark" | grep -qF -- "$2"
}

# The JSON server.proxy object for TYPE and PORT on 127.0.0.1.
proxy_json() {
	printf 'j["server"]["proxy"] == {"type": "%s", "host": "127.0.0.1", "port": %d}' "$1" "$2"
}

mkdir -p "$work"

# ---- the servers ----------------------------------------------------------------

HARNESS_TLS=good "$harness" start "$dovecot_dir" || exit 1
port=$(cat "$dovecot_dir/port")
tls_port=$(cat "$dovecot_dir/port-tls")
ca=$dovecot_dir/certs/ca.pem

# A bound socket that never listens: a proxy that is down, and a target
# the proxies cannot reach; nothing else can take the port meanwhile. An
# earlier run's file is removed first: the wait below would take it for
# this run's before perl's redirection empties it.
rm -f "$work/closed-port"
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
		Proto => "tcp") or die "$!\n";
	$| = 1;
	print $s->sockport, "\n";
	sleep 600;' >"$work/closed-port" &
holder_pid=$!
for _ in $(seq 300); do
	[ -s "$work/closed-port" ] && break
	sleep 0.1
done
closed=$(cat "$work/closed-port")
[ -n "$closed" ] || { echo "FAIL: no closed port (perl did not answer)" >&2; exit 1; }

"$dante_harness" start "$dante_dir" >/dev/null || exit 1
dante_port=$(cat "$dante_dir/port")
dante_user=probeuser
HARNESS_DANTE_USER=$dante_user HARNESS_DANTE_PASSWORD=$proxy_password \
	"$dante_harness" start "$dante_up_dir" >/dev/null || exit 1
dante_up_port=$(cat "$dante_up_dir/port")
"$ssh_socks_harness" start "$ssh_dir" >/dev/null || exit 1
ssh_socks_port=$(cat "$ssh_dir/port")
# Both tinyproxies let CONNECT reach Dovecot's two ports and the closed
# one (so that the refusal is the target's, not tinyproxy's ConnectPort).
"$tinyproxy_harness" start "$open_dir" "$port" "$tls_port" "$closed" || exit 1
open_port=$(cat "$open_dir/port")
HARNESS_PROXY_AUTH="$proxy_user $proxy_password" \
	"$tinyproxy_harness" start "$auth_dir" "$port" "$tls_port" "$closed" || exit 1
auth_port=$(cat "$auth_dir/port")

login=(--port "$port" --user "$user" --password "$password")

# ---- direct: no proxy ------------------------------------------------------

run direct --server 127.0.0.1 "${login[@]}" --json --list
check "exit 0" status_is 0
check "server.proxy null" json 'j["server"]["proxy"] is None and j["error"] is None'
run direct-text --server 127.0.0.1 "${login[@]}" --list
check "report: no proxy line" eval '! grep -q "^proxy " "$work/$last.out"'

# ---- through each proxy ----------------------------------------------------

# The ways, as "NAME SERVER TYPE PROXY_PORT URL": socks4-user sends a user
# id (and a password SOCKS4 has no place for) and resolves "localhost"
# here; socks5h sends the name "localhost" for Dante to resolve;
# http-auth carries the right credentials in the URL.
ways=(
	"socks4 127.0.0.1 socks4 $dante_port socks4://127.0.0.1:$dante_port"
	"socks4-user localhost socks4 $dante_port socks4://probe-id:$proxy_password@127.0.0.1:$dante_port"
	"socks5 127.0.0.1 socks5 $dante_port socks5://127.0.0.1:$dante_port"
	"socks5h localhost socks5h $dante_port socks5h://127.0.0.1:$dante_port"
	"socks5-auth 127.0.0.1 socks5 $dante_up_port socks5://$dante_user:$proxy_password@127.0.0.1:$dante_up_port"
	"socks4a localhost socks4a $ssh_socks_port socks4a://127.0.0.1:$ssh_socks_port"
	"http 127.0.0.1 http $open_port http://127.0.0.1:$open_port"
	"http-auth 127.0.0.1 http $auth_port http://$proxy_user:$proxy_password@127.0.0.1:$auth_port"
)

# proxy_saw NAME SERVER TARGET_PORT: that way's proxy logged the connection
# to SERVER:TARGET_PORT.
proxy_saw() {
	case $1 in
	socks4 | socks4-user | socks5 | socks5h) dante_connected "$3" ;;
	socks5-auth) dante_connected "$3" "$dante_up_dir" "$dante_up_mark" ;;
	socks4a) ssh_requested "$2" "$3" ;;
	http) tinyproxy_logged open "CONNECT $2:$3 HTTP/1.1" ;;
	http-auth) tinyproxy_logged auth "CONNECT $2:$3 HTTP/1.1" &&
		tinyproxy_logged auth "Established connection to host \"$2\"" ;;
	esac
}

for way in "${ways[@]}"; do
	read -r name server type pport url <<<"$way"
	via=(--server "$server" --proxy "$url")

	run "$name-retrieve" "${via[@]}" "${login[@]}" --json --trail --retrieve 1
	check "exit 0" status_is 0
	check "server.proxy {type, host, port}" json "$(proxy_json "$type" "$pport")"
	check "logged in, message 1 as the mailbox has it" json \
		'j["error"] is None and j["auth"]["ok"] is True and [(m["number"], m["size"]) for m in j["messages"]] == [mbox[0][:2]]'
	check "the greeting came through the proxy" json \
		'j["server"]["greeting"].startswith("+OK") and j["server"]["tls"]["status"] == "none"'
	check "the proxy saw the connection to Dovecot" proxy_saw "$name" "$server" "$port"
	case $name in
	socks4) check "trail: SOCKS4 proxy to the address" \
		stderr_has "*: SOCKS4 proxy 127.0.0.1:$pport, to 127.0.0.1:$port" ;;
	socks4-user)
		check "trail: the user id sent, the name resolved here" \
			stderr_has "*: SOCKS4 proxy 127.0.0.1:$pport, to localhost:$port, FirewallUser as the user id"
		check "trail: the password has no place in SOCKS4" \
			stderr_has "*: FirewallPassword is not used: SOCKS4 sends only the user id" ;;
	socks5) check "trail: SOCKS5 proxy to the address" \
		stderr_has "*: SOCKS5 proxy 127.0.0.1:$pport, to 127.0.0.1:$port" ;;
	socks4a) check "trail: the name goes to the proxy unresolved" \
		stderr_has "*: SOCKS4A proxy 127.0.0.1:$pport, to localhost (resolved by the proxy):$port" ;;
	socks5h) check "trail: the name goes to the proxy unresolved" \
		stderr_has "*: SOCKS5 proxy 127.0.0.1:$pport, to localhost (resolved by the proxy):$port" ;;
	esac
	check "the proxy password is nowhere" nowhere "$proxy_password"
	check "nor its base64" nowhere "$proxy_basic"

	run "$name-text" "${via[@]}" "${login[@]}" --list
	check "report: exit 0" status_is 0
	check "report: the proxy line" stdout_has "proxy        $type 127.0.0.1:$pport"
	check "report: the proxy password is nowhere" nowhere "$proxy_password"

	run "$name-stls" "${via[@]}" "${login[@]}" --json --trail \
		--tls explicit --ca-file "$ca" --list
	check "STLS: exit 0" status_is 0
	check "STLS: server.proxy" json "$(proxy_json "$type" "$pport")"
	check "STLS: verified TLS, logged in" json \
		'(t := j["server"]["tls"]) and t["verified"] is True and t["status"] == "OK" and t["version"] in ("TLS1.2", "TLS1.3") and j["auth"]["ok"] is True and j["mailbox"]["count"] == len(mbox)'
	check "STLS: sent in the tunnel" stderr_has "C: STLS"
	check "STLS: the proxy saw the connection to the POP3 port" proxy_saw "$name" "$server" "$port"
	check "STLS: the proxy password is nowhere" nowhere "$proxy_password"

	run "$name-implicit" --server "$server" --proxy "$url" --port "$tls_port" \
		--user "$user" --password "$password" --json --trail \
		--tls implicit --ca-file "$ca" --retrieve 1
	check "implicit TLS: exit 0" status_is 0
	check "implicit TLS: server.proxy" json "$(proxy_json "$type" "$pport")"
	check "implicit TLS: verified, message 1" json \
		'(t := j["server"]["tls"]) and t["verified"] is True and t["cert_subject"] == "CN=localhost, O=libspop tests" and [m["size"] for m in j["messages"]] == [mbox[0][1]]'
	check "implicit TLS: the proxy saw the connection to the pop3s port" \
		proxy_saw "$name" "$server" "$tls_port"
	check "implicit TLS: the proxy password is nowhere" nowhere "$proxy_password"

	# The target refused behind the proxy: the proxy's failure, 118.
	run "$name-target-refused" --server "$server" --proxy "$url" --port "$closed" \
		--user "$user" --password "$password" --json --trail
	check "target refused: exit 1" status_is 1
	check "target refused: 118 naming the proxy" json \
		'j["error"]["code"] == 118 and "proxy 127.0.0.1:'"$pport"'" in j["error"]["message"]'
	check "target refused: no greeting, server.proxy still set" json \
		'j["server"]["greeting"] is None and j["auth"]["ok"] is False and '"$(proxy_json "$type" "$pport")"
	check "target refused: the proxy password is nowhere" nowhere "$proxy_password"

	# The proxy down: the connection error naming the proxy, not a direct
	# connection to Dovecot (which would greet).
	down_url=${url%:*}:$closed
	run "$name-proxy-down" --server "$server" --proxy "$down_url" "${login[@]}" --json --trail
	check "proxy down: exit 1" status_is 1
	check "proxy down: 10061 naming the proxy's address and port" json \
		'j["error"]["code"] == 10061 and "127.0.0.1" in j["error"]["message"] and "port '"$closed"'" in j["error"]["message"]'
	check "proxy down: never a direct connection" json \
		'j["server"]["greeting"] is None and j["auth"]["ok"] is False and '"$(proxy_json "$type" "$closed")"
	check "proxy down: no server line in the trail" eval '! grep -q "^S: " "$work/$last.err"'
	check "proxy down: the proxy password is nowhere" nowhere "$proxy_password"
done
json_flush

# ---- what each proxy itself says --------------------------------------------

# socks5h: a name only the proxy tries to resolve. Dante's log names it,
# so the name reached the proxy unresolved; its refusal is 118.
run socks5h-unknown-name --server no-such-host.invalid \
	--proxy "socks5h://127.0.0.1:$dante_port" "${login[@]}" --json
check "exit 1" status_is 1
check "118: the proxy could not reach the name" json \
	'j["error"]["code"] == 118 and "no-such-host.invalid" in j["error"]["message"] and "proxy 127.0.0.1:'"$dante_port"'" in j["error"]["message"]'
check "Dante resolved (and failed on) the name itself" \
	dante_logged 'could not resolve hostname "no-such-host.invalid"'

# socks4a: a name goes to the proxy (SOCKS4A's 0.0.0.1 form), which
# Dante 1.4.2 does not implement: it refuses the request (reply 91), 118
# naming the proxy; Dante logs the refusal, and nothing reaches Dovecot.
# An address needs no resolving: it goes as SOCKS4's address, which Dante
# serves.
run socks4a-address --server 127.0.0.1 --proxy "socks4a://127.0.0.1:$dante_port" \
	"${login[@]}" --json --trail
check "exit 0" status_is 0
check "server.proxy socks4a, logged in" json \
	"$(proxy_json socks4a "$dante_port")"' and j["auth"]["ok"]'
check "trail: the address sent as one" \
	stderr_has "*: SOCKS4A proxy 127.0.0.1:$dante_port, to 127.0.0.1:$port"
check "Dante connected to Dovecot" dante_connected "$port"
for server in localhost; do
	run "socks4a-$server" --server "$server" --proxy "socks4a://127.0.0.1:$dante_port" \
		"${login[@]}" --json --trail
	check "exit 1" status_is 1
	check "118 naming the proxy and reply 91" json \
		'j["error"]["code"] == 118 and "SOCKS4A proxy 127.0.0.1:'"$dante_port"'" in j["error"]["message"] and "reply 91" in j["error"]["message"]'
	check "server.proxy socks4a, no greeting" json \
		"$(proxy_json socks4a "$dante_port")"' and j["server"]["greeting"] is None'
	check "trail: the name left to the proxy" \
		stderr_has "*: SOCKS4A proxy 127.0.0.1:$dante_port, to $server (resolved by the proxy):$port"
	check "Dante refused it" dante_logged "block(1): tcp/accept ]: "
	check "Dante connected nowhere" eval \
		'! log_since "$dante_dir/danted.log" "$dante_mark" | grep -qF "tcp/connect [: "'
done

# Dante with username/password: a wrong password is its refusal, 118
# saying so, and that password is nowhere either.
run socks5-auth-wrong --server 127.0.0.1 \
	--proxy "socks5://$dante_user:$wrong_password@127.0.0.1:$dante_up_port" \
	"${login[@]}" --json --trail
check "wrong SOCKS5 password: exit 1" status_is 1
check "wrong SOCKS5 password: 118 naming the proxy, no greeting" json \
	'j["error"]["code"] == 118 and "proxy 127.0.0.1:'"$dante_up_port"'" in j["error"]["message"] and j["server"]["greeting"] is None'
check "wrong SOCKS5 password: not in the trail or output" nowhere "$wrong_password"
check "Dante connected nowhere" eval \
	'sleep 1; ! log_since "$dante_up_dir/danted.log" "$dante_up_mark" | grep -qF "tcp/connect [: "'

# tinyproxy's refusal of the closed target: its status line in the error.
run http-target-refused-text --server 127.0.0.1 --proxy "http://127.0.0.1:$open_port" \
	--port "$closed" --user "$user" --password "$password" --json
check "exit 1" status_is 1
check "118 with tinyproxy's status line and the target" json \
	'j["error"]["code"] == 118 and "HTTP/1." in j["error"]["message"] and "127.0.0.1 port '"$closed"'" in j["error"]["message"]'

# A target port tinyproxy does not allow: its 403, 118.
run http-port-not-allowed --server 127.0.0.1 --proxy "http://127.0.0.1:$open_port" \
	--port "$dante_port" --user "$user" --password "$password" --json
check "exit 1" status_is 1
check "118 with tinyproxy's 403" json \
	'j["error"]["code"] == 118 and "403" in j["error"]["message"]'

# BasicAuth: wrong credentials are tinyproxy's 401, none its 407; both 118
# naming the proxy; the wrong password is nowhere either.
run http-auth-wrong --server 127.0.0.1 \
	--proxy "http://$proxy_user:$wrong_password@127.0.0.1:$auth_port" \
	"${login[@]}" --json --trail
check "wrong proxy password: exit 1" status_is 1
check "wrong proxy password: 118, 401, the proxy named" json \
	'j["error"]["code"] == 118 and "401 Unauthorized" in j["error"]["message"] and "127.0.0.1:'"$auth_port"'" in j["error"]["message"] and j["server"]["greeting"] is None'
check "wrong proxy password: not in the trail or output" nowhere "$wrong_password"
check "wrong proxy password: the header masked in the trail" \
	stderr_has "C: Proxy-Authorization: Basic ****"
check "wrong proxy password: tinyproxy saw the request, opened nothing" eval \
	'tinyproxy_logged auth "CONNECT 127.0.0.1:$port HTTP/1.1" && ! tinyproxy_logged auth "Established connection"'

run http-auth-none --server 127.0.0.1 --proxy "http://127.0.0.1:$auth_port" \
	"${login[@]}" --json
check "no proxy credentials: exit 1" status_is 1
check "no proxy credentials: 118 with 407, asking for them" json \
	'j["error"]["code"] == 118 and "407" in j["error"]["message"] and "FirewallUser/FirewallPassword" in j["error"]["message"]'

run http-auth-wrong-text --server 127.0.0.1 \
	--proxy "http://$proxy_user:$wrong_password@127.0.0.1:$auth_port" "${login[@]}"
check "wrong proxy password, report: exit 1" status_is 1
check "report: error 118" stdout_has "error 118: "
check "report: the wrong password is nowhere" nowhere "$wrong_password"

# A --proxy the probe refuses is a usage error naming the URL with its
# password masked (one GLib could not parse, and one it could).
for url in "http://$proxy_user:$wrong_password@127.0.0.1:1/x" \
	"socks5://$proxy_user:$wrong_password@[::1"; do
	run proxy-usage --server 127.0.0.1 --proxy "$url" --json
	check "bad --proxy: exit 2" status_is 2
	check "bad --proxy: the URL named, its password masked" \
		stderr_has "'${url%%://*}://$proxy_user:****@"
	check "bad --proxy: the password is nowhere" nowhere "$wrong_password"
done
json_flush

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
