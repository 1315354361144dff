#!/bin/bash
# Runs a private Dante SOCKS server (danted) on 127.0.0.1 for the proxy
# tests: configuration, pid file and log live under one directory the
# caller gives, on a free loopback port. /etc/danted.conf and the system's
# service are never used. It serves SOCKS4 and SOCKS5 without
# authentication to clients on 127.0.0.0/8, towards 127.0.0.0/8 only.
# Dante 1.4.2 has no SOCKS4A: it takes the name after the user id for early
# data and refuses DSTIP 0.0.0.1 (reply 91); ssh-socks-harness.sh is the
# real SOCKS4A proxy.
#
# usage: dante-harness.sh start DIR
#        dante-harness.sh stop DIR
#        dante-harness.sh check   (exit 0, or 1 where none can run)
#
# After start: DIR/danted.conf, DIR/port, DIR/danted.pid, DIR/danted.log.

set -eu

start_timeout=10 # seconds until danted must accept connections
stop_timeout=10  # seconds until it must be gone
port_attempts=5

die() {
	echo "dante-harness: $*" >&2
	exit 1
}

find_danted() {
	local p
	for p in "$(command -v danted 2>/dev/null || true)" /usr/sbin/danted; do
		[ -n "$p" ] && [ -x "$p" ] && {
			echo "$p"
			return 0
		}
	done
	return 1
}

set_dir() {
	[ -n "${1:-}" ] || die "missing DIR"
	dir=$(realpath -m -- "$1")
	case $dir in *[[:space:]\"\'\\#]*) die "unsupported characters in directory name: $dir" ;; esac
}

# Prints a port on 127.0.0.1 that was free a moment ago (perl-base is
# Essential on Debian; bash cannot bind).
free_port() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
			LocalPort => 0, Proto => "tcp", Listen => 1) or die "$!\n";
		print $s->sockport, "\n";'
}

accepts() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_config() { # $1: port
	cat >"$dir/danted.conf" <<EOF
# Private Dante for libspop tests; written by dante-harness.sh.
logoutput: $dir/danted.log
internal: 127.0.0.1 port = $1
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
	from: 127.0.0.0/8 to: 127.0.0.0/8
	log: error connect disconnect
}
socks pass {
	from: 127.0.0.0/8 to: 127.0.0.0/8
	command: connect
	log: error connect disconnect
}
EOF
}

# danted's pid if this DIR's danted runs: its command line must name our
# configuration, so a recycled pid is never taken for ours.
running_pid() {
	local pid
	[ -r "$dir/danted.pid" ] || return 1
	pid=$(cat "$dir/danted.pid" 2>/dev/null) || return 1
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$dir/danted.conf" || return 1
	echo "$pid"
}

start() {
	local danted port waited
	danted=$(find_danted) || die "danted is not installed (dante-server)"
	if running_pid >/dev/null; then
		die "a danted already runs for $dir"
	fi
	mkdir -p -- "$dir"
	rm -f -- "$dir/port" "$dir/danted.pid"
	for _ in $(seq "$port_attempts"); do
		port=$(free_port) || die "no free port on 127.0.0.1"
		write_config "$port"
		: >"$dir/danted.log"
		if ! "$danted" -f "$dir/danted.conf" -p "$dir/danted.pid" -D \
			</dev/null >>"$dir/danted.log" 2>&1; then
			grep -q 'in use' "$dir/danted.log" && continue
			cat "$dir/danted.log" >&2
			die "danted did not start"
		fi
		waited=0
		until accepts "$port" && running_pid >/dev/null; do
			if ((waited >= start_timeout * 10)); then
				grep -q 'in use' "$dir/danted.log" && continue 2
				cat "$dir/danted.log" >&2
				die "danted did not accept connections on 127.0.0.1:$port"
			fi
			sleep 0.1
			waited=$((waited + 1))
		done
		echo "$port" >"$dir/port"
		echo "$port"
		return 0
	done
	die "no port worked after $port_attempts attempts"
}

stop() {
	local pid waited port=""
	[ -r "$dir/port" ] && port=$(cat "$dir/port")
	if pid=$(running_pid); then
		# The main process takes its children down with it.
		kill -TERM "$pid" 2>/dev/null || true
		waited=0
		while kill -0 "$pid" 2>/dev/null; do
			if ((waited >= stop_timeout * 10)); then
				kill -KILL "$pid" 2>/dev/null || true
				echo "dante-harness: danted (pid $pid) did not stop in ${stop_timeout}s; killed it" >&2
				break
			fi
			sleep 0.1
			waited=$((waited + 1))
		done
	fi
	rm -f -- "$dir/danted.pid" "$dir/port"
	if [ -n "$port" ]; then
		waited=0
		while accepts "$port"; do
			((waited >= stop_timeout * 10)) && die "port $port still accepts connections after stop"
			sleep 0.1
			waited=$((waited + 1))
		done
	fi
	return 0
}

case ${1:-} in
start)
	set_dir "${2:-}"
	start
	;;
stop)
	set_dir "${2:-}"
	stop
	;;
check)
	find_danted >/dev/null || {
		echo "danted is not installed (dante-server)" >&2
		exit 1
	}
	;;
*) die "usage: $0 start DIR | stop DIR | check" ;;
esac
