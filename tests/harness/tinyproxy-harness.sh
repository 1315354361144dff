#!/bin/bash
# Runs a private tinyproxy (HTTP CONNECT) on 127.0.0.1 for the proxy tests:
# config and log under one directory the caller gives; /etc/tinyproxy and
# the system's service are never used.
#
# usage: tinyproxy-harness.sh start DIR [CONNECT_PORT...]
#        tinyproxy-harness.sh stop DIR
#        tinyproxy-harness.sh check   (exit 0, or 1 when it cannot run)
#
# CONNECT is allowed only to the CONNECT_PORTs given (the Dovecot ports);
# any other target port gets tinyproxy's 403. HARNESS_PROXY_AUTH="USER PASS"
# makes the proxy require Basic authentication. After start: DIR/port,
# DIR/pid, DIR/tinyproxy.log (LogLevel Connect: the requests it saw).

set -eu

start_timeout=10
die() {
	echo "tinyproxy-harness: $*" >&2
	exit 1
}

bin=/usr/bin/tinyproxy

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
	local dir=$1
	shift
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	local port
	port=$(free_port)
	{
		echo "Port $port"
		echo "Listen 127.0.0.1"
		echo "Timeout 30"
		echo "MaxClients 20"
		echo "LogLevel Connect"
		echo "Allow 127.0.0.1"
		echo "User nobody"
		echo "Group nogroup"
		echo "DisableViaHeader Yes"
		for p in "$@"; do echo "ConnectPort $p"; done
		if [ -n "${HARNESS_PROXY_AUTH:-}" ]; then
			echo "BasicAuth $HARNESS_PROXY_AUTH"
		fi
	} >"$dir/tinyproxy.conf"
	# In the foreground (-d), logging to stderr, which the shell (root)
	# opened: the log file needs no permissions for nobody.
	"$bin" -d -c "$dir/tinyproxy.conf" >"$dir/tinyproxy.log" 2>&1 &
	echo $! >"$dir/pid"
	local i
	for ((i = 0; i < start_timeout * 10; i++)); do
		if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$port" 2>/dev/null; then
			echo "$port" >"$dir/port"
			return 0
		fi
		kill -0 "$(cat "$dir/pid")" 2>/dev/null ||
			die "tinyproxy exited at start: $(tail -5 "$dir/tinyproxy.log")"
		sleep 0.1
	done
	die "tinyproxy did not listen on 127.0.0.1:$port in ${start_timeout}s"
}

stop() {
	local dir=$1 pid
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	rm -f "$dir/pid" "$dir/port"
}

case "${1:-}" in
start) [ $# -ge 2 ] || die "usage: $0 start DIR [PORT...]"; shift; start "$@" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
check) [ -x "$bin" ] || die "$bin is missing (apt-get install tinyproxy)" ;;
*) die "usage: $0 start DIR [PORT...] | stop DIR | check" ;;
esac
