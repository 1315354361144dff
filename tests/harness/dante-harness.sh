#!/bin/bash
# Runs a private Dante SOCKS server (danted) on 127.0.0.1 for the proxy
# tests: configuration, pid file and log live under one directory the
# caller gives, on a free loopback port. /etc/danted.conf and the system's
# service are never used. It serves SOCKS4 and SOCKS5 to clients on
# 127.0.0.0/8, towards 127.0.0.0/8 only; without authentication, or with
# SOCKS5 username/password (RFC 1929) as below. Dante 1.4.2 has no SOCKS4A:
# it takes the name after the user id for early data and refuses DSTIP
# 0.0.0.1 (reply 91); ssh-socks-harness.sh is the real SOCKS4A proxy.
#
# usage: dante-harness.sh start DIR
#        dante-harness.sh stop DIR
#        dante-harness.sh check [userpass]   (exit 0, or 1 where none can run)
#
# After start: DIR/danted.conf, DIR/port, DIR/danted.pid, DIR/danted.log.
#
# Username/password: with HARNESS_DANTE_USER and HARNESS_DANTE_PASSWORD set,
# danted says `socksmethod: username`, which Dante 1.4 checks against the
# system's users (getpwnam, getspnam and crypt, as user.privileged root).
# The tests never create a system user: danted then runs in a private mount
# namespace (unshare, util-linux) in which DIR/etc/passwd and DIR/etc/shadow
# (the machine's lines plus that one user, its password hashed with
# `openssl passwd -6`) are bind-mounted over /etc/passwd and /etc/shadow.
# Only danted and its children see them; the mounts vanish with its last
# process. Start checks that: the user exists in danted's namespace, not in
# the machine's, and the machine's /etc/passwd and /etc/shadow are no mount
# points. The password goes through the environment and stdin only, never
# a command line. Only SOCKS5 clients can authenticate then.
#
# Must run as root for that mode (mounts; Dante reads /etc/shadow). The
# bind mounts are reached through /etc, so DIR may sit below a 0700
# directory that danted's unprivileged user (nobody) cannot enter.

set -eu

start_timeout=10 # seconds until danted must accept connections
harness_name=dante-harness
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
port_attempts=5

set_dir() {
	[ -n "${1:-}" ] || die "missing DIR"
	dir=$(realpath -m -- "$1")
	# The path goes unquoted into danted.conf.
	plain_path "$dir" "directory name"
}

# The username/password mode's settings, checked; user empty: none.
set_auth() {
	user=${HARNESS_DANTE_USER:-}
	password=${HARNESS_DANTE_PASSWORD:-}
	[ -n "$user$password" ] || return 0
	if [ -z "$user" ] || [ -z "$password" ]; then
		die "HARNESS_DANTE_USER and HARNESS_DANTE_PASSWORD go together"
	fi
	case $user in
	[a-z_]*) ;;
	*) die "HARNESS_DANTE_USER '$user' is not a plain user name" ;;
	esac
	case $user in *[!a-z0-9_-]*) die "HARNESS_DANTE_USER '$user' is not a plain user name" ;; esac
	case $password in *$'\n'*) die "HARNESS_DANTE_PASSWORD has a line break" ;; esac
	# A machine user of that name would be shadowed in danted's view and
	# could be taken for ours; refuse rather than guess.
	! getent passwd "$user" >/dev/null ||
		die "user '$user' exists on this machine; the test user must be one only danted sees"
}

# Why the username/password mode cannot run here, or nothing.
userpass_unavailable() {
	[ "$(id -u)" -eq 0 ] || {
		echo "username/password needs root (private mount namespace; Dante reads /etc/shadow)"
		return
	}
	local t
	for t in unshare nsenter findmnt openssl mount; do
		find_tool "$t" >/dev/null || {
			echo "$t is not installed (util-linux, mount or openssl)"
			return
		}
	done
	unshare --mount --propagation private true 2>/dev/null ||
		echo "no private mount namespace here (unshare --mount failed)"
}

write_config() { # $1: port
	local method=none
	[ -z "$user" ] || method=username
	cat >"$dir/danted.conf" <<EOF
# Private Dante for libspop tests; written by dante-harness.sh.
logoutput: $dir/danted.log
internal: 127.0.0.1 port = $1
external: 127.0.0.1
clientmethod: none
socksmethod: $method
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

# DIR/etc/passwd and DIR/etc/shadow: the machine's with the test user
# added, modes and owners as the originals.
write_users() {
	local uid hash
	mkdir -p -- "$dir/etc"
	chmod 700 "$dir/etc"
	# A uid no machine user has.
	uid=$(awk -F: '{ used[$3] = 1 } END { for (u = 61000; u in used; u++) ; print u }' /etc/passwd)
	hash=$(printf '%s' "$password" | openssl passwd -6 -stdin) ||
		die "openssl passwd -6 failed"
	install -m 644 -o root -g root /etc/passwd "$dir/etc/passwd"
	echo "$user:x:$uid:65534:libspop SOCKS test user:/nonexistent:/usr/sbin/nologin" >>"$dir/etc/passwd"
	install -m "$(stat -c %a /etc/shadow)" -o root -g "$(stat -c %g /etc/shadow)" \
		/etc/shadow "$dir/etc/shadow"
	echo "$user:$hash::0:99999:7:::" >>"$dir/etc/shadow"
}

# Inside danted's private mount namespace: the private user files over the
# machine's, then danted. $1: DIR, the rest: danted's command line.
in_namespace() {
	local d=$1
	shift
	mount --bind "$d/etc/passwd" /etc/passwd
	mount --bind "$d/etc/shadow" /etc/shadow
	# nscd would answer from the machine's files.
	if [ -d /run/nscd ]; then
		mount -t tmpfs -o size=4k,mode=0755 spop-dante-nscd /run/nscd
	fi
	exec "$@"
}

# Prints what is wrong and fails unless the private users are danted's
# only: the user resolves in danted's namespace, not in this one, where
# /etc/passwd and /etc/shadow are no mount points. $1: danted's pid.
check_private() {
	local pid=$1
	if [ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ]; then
		echo "danted (pid $pid) runs in the machine's mount namespace"
		return 1
	fi
	if ! nsenter --target "$pid" --mount -- getent passwd "$user" >/dev/null; then
		echo "user '$user' is missing in danted's mount namespace"
		return 1
	fi
	if getent passwd "$user" >/dev/null; then
		echo "user '$user' leaked into the machine's /etc/passwd"
		return 1
	fi
	if findmnt --noheadings /etc/passwd >/dev/null || findmnt --noheadings /etc/shadow >/dev/null; then
		echo "a mount on /etc/passwd or /etc/shadow leaked into the machine's namespace"
		return 1
	fi
}

# danted's pid if this DIR's danted runs: its command line must name our
# configuration, so a recycled pid is never taken for ours.
running_pid() {
	pid_from "$dir/danted.pid" "$dir/danted.conf"
}

up() { # $1: port
	accepts "$1" && running_pid >/dev/null
}

start() {
	local danted port why ns=()
	danted=$(find_tool danted) || die "danted is not installed (dante-server)"
	set_auth
	if running_pid >/dev/null; then
		die "a danted already runs for $dir"
	fi
	mkdir -p -- "$dir"
	rm -f -- "$dir/port" "$dir/danted.pid"
	rm -rf -- "${dir:?}/etc"
	if [ -n "$user" ]; then
		why=$(userpass_unavailable)
		[ -z "$why" ] || die "$why"
		write_users
		ns=(unshare --mount --propagation private -- "$here/dante-harness.sh" __namespace "$dir")
	fi
	for _ in $(seq "$port_attempts"); do
		port=$(free_port) || die "no free port on 127.0.0.1"
		write_config "$port"
		: >"$dir/danted.log"
		# -D: danted forks into the background once it listens.
		if ! "${ns[@]}" "$danted" -f "$dir/danted.conf" -p "$dir/danted.pid" -D \
			</dev/null >>"$dir/danted.log" 2>&1; then
			grep -q 'in use' "$dir/danted.log" && continue
			cat "$dir/danted.log" >&2
			die "danted did not start"
		fi
		if ! wait_for "$start_timeout" up "$port"; then
			grep -q 'in use' "$dir/danted.log" && continue
			cat "$dir/danted.log" >&2
			die "danted did not accept connections on 127.0.0.1:$port"
		fi
		if [ -n "$user" ]; then
			if ! why=$(check_private "$(running_pid)"); then
				stop
				die "$why"
			fi
		fi
		echo "$port" >"$dir/port"
		echo "$port"
		return 0
	done
	die "no port worked after $port_attempts attempts"
}

stop() {
	local pid port=""
	[ -r "$dir/port" ] && port=$(cat "$dir/port")
	if pid=$(running_pid); then
		# The main process takes its children (and with the last of
		# them a private mount namespace) down with it.
		stop_pid "$pid" danted
	fi
	rm -f -- "$dir/danted.pid" "$dir/port"
	port_released "$port"
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
	find_tool danted >/dev/null || {
		echo "danted is not installed (dante-server)" >&2
		exit 1
	}
	if [ "${2:-}" = userpass ]; then
		why=$(userpass_unavailable)
		[ -z "$why" ] || {
			echo "$why" >&2
			exit 1
		}
	fi
	;;
__namespace)
	shift
	in_namespace "$@"
	;;
*) die "usage: $0 start DIR | stop DIR | check [userpass]" ;;
esac
