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
harness_name=tinyproxy-harness
. "$(dirname "$0")/lib.sh"

bin=/usr/bin/tinyproxy

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
	# Up when it accepts; gone early when it could not start.
	wait_for "$start_timeout" accepts_or_exited "$port" $! || true
	accepts "$port" ||
		die "tinyproxy did not listen on 127.0.0.1:$port in ${start_timeout}s: $(tail -5 "$dir/tinyproxy.log")"
	echo "$port" >"$dir/port"
}

accepts_or_exited() { # $1 port, $2 pid
	accepts "$1" || ! live "$2"
}

stop() {
	local dir=$1 pid port=""
	[ -r "$dir/port" ] && port=$(cat "$dir/port")
	if pid=$(pid_from "$dir/pid" "$dir/tinyproxy.conf"); then
		stop_pid "$pid" tinyproxy
	fi
	rm -f "$dir/pid" "$dir/port"
	port_released "$port"
}

case "${1:-}" in
start) [ $# -ge 2 ] || die "usage: $0 start DIR [PORT...]"; shift; start "$@" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
check) [ -x "$bin" ] || die "$bin is missing (apt-get install tinyproxy)" ;;
*) die "usage: $0 start DIR [PORT...] | stop DIR | check" ;;
esac
