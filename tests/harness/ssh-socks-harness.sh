#!/bin/bash
# Runs a real SOCKS4/SOCKS4A/SOCKS5 proxy on 127.0.0.1 for the proxy tests:
# OpenSSH's client with dynamic forwarding (ssh -N -D 127.0.0.1:PORT), the
# one common SOCKS server that resolves a SOCKS4A name (DSTIP 0.0.0.x, x !=
# 0, with the name after the user id: channels.c, channel_decode_socks4).
# The private Dante (1.4.2) has no SOCKS4A. ssh forwards every connection
# as a "direct-tcpip" channel to an SSH server, which connects to the
# target (and resolves the name): a private Dropbear on 127.0.0.1 here.
#
# usage: ssh-socks-harness.sh start DIR
#        ssh-socks-harness.sh stop DIR
#        ssh-socks-harness.sh check   (exit 0, or 77/1 where none can run)
#
# After start: DIR/port (the SOCKS port of ssh -D; also printed), DIR/
# ssh-port (Dropbear), DIR/ssh.pid, DIR/dropbear.pid, DIR/ssh.log (the
# client at LogLevel DEBUG2: a line "dynamic request: socks4 host NAME port
# N command 1" for every request, and "open failed: connect failed: ..."
# when the server could not connect) and DIR/dropbear.log.
#
# Why Dropbear (Debian's dropbear-bin) and not OpenSSH's sshd:
# - dropbear-bin holds only the programs: no maintainer scripts, no
#   service, nothing starts when it is installed (openssh-server enables
#   and starts the system's sshd, so it could only be fetched with apt-get
#   download and unpacked at test time, as the Cyrus harness does, with a
#   network dependency at every fresh start);
# - sshd also needs its privilege-separation user "sshd" and /run/sshd,
#   which would mean a private /etc/passwd in the namespace; Dropbear
#   needs neither.
# Dropbear has no option for the authorized_keys path: it reads
# ~/.ssh/authorized_keys of the login user (root, who runs the tests). So
# it runs in a private mount namespace (unshare --mount --propagation
# private) where DIR/home is bind-mounted over root's home directory:
# the real home is never read or written, and the mount vanishes with the
# namespace. The client is Debian's ssh with -F /dev/null (no ~/.ssh/
# config, no /etc/ssh/ssh_config, and then it creates no ~/.ssh either),
# only the key made here (IdentitiesOnly, no agent) and Dropbear's host
# key pinned in DIR/known_hosts under a fixed alias (StrictHostKeyChecking
# yes: nothing is learnt or written). Every process runs as root, so a
# checkout below a 0700 directory needs no reachable_path here.
#
# Dropbear runs with -s (no passwords), -k (no remote forwarding) and -P
# DIR/dropbear.pid (its default pid file is in /var/run). The client's
# SOCKS server replies only once the channel is open: when the SSH server
# cannot connect (refused, name not found), ssh closes the SOCKS
# connection without any reply (no reply 91).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
start_timeout=10 # seconds until each of the two must accept connections
stop_timeout=10	 # seconds until each must be gone
port_attempts=5	 # another process may take a port we picked
alias=spop-ssh-harness

harness_name="ssh-socks-harness"
. "$here/lib.sh"

set_dir() {
	[ -n "${1:-}" ] || die "missing DIR"
	dir=$(realpath -m -- "$1")
	plain_path "$dir" "directory name"
}

tools() {
	dropbear=$(find_tool dropbear) || return 1
	dropbearkey=$(find_tool dropbearkey) || return 1
	ssh=$(find_tool ssh) || return 1
	ssh_keygen=$(find_tool ssh-keygen) || return 1
	unshare=$(find_tool unshare) || return 1
}

# Why none can run here, or nothing.
unavailable() {
	[ "$(id -u)" -eq 0 ] || {
		echo "a private Dropbear needs root (a private mount namespace for root's ~/.ssh)"
		return
	}
	if ! find_tool dropbear >/dev/null || ! find_tool dropbearkey >/dev/null; then
		echo "dropbear is not installed (dropbear-bin)"
		return
	fi
	if ! find_tool ssh >/dev/null || ! find_tool ssh-keygen >/dev/null; then
		echo "ssh is not installed (openssh-client)"
		return
	fi
	if ! find_tool unshare >/dev/null; then
		echo "unshare is missing (util-linux)"
		return
	fi
	"$(find_tool unshare)" --mount --propagation private true 2>/dev/null ||
		echo "no private mount namespace here (unshare --mount failed)"
}

# Root's home directory, which Dropbear reads ~/.ssh/authorized_keys from.
login_home() {
	local home
	home=$(getent passwd "$(id -un)" | cut -d: -f6)
	if [ -z "$home" ] || [ "$home" = / ] || [ ! -d "$home" ]; then
		die "the home directory of $(id -un) ('$home') cannot be covered by a private one"
	fi
	printf '%s\n' "$home"
}

# Inside the private mount namespace: DIR/home over the login user's home,
# then exec the server. $1 DIR/home, $2 the home, the rest the command.
in_namespace() {
	local private=$1 home=$2
	shift 2
	mount --make-rprivate /
	mount --bind "$private" "$home"
	exec "$@"
}

# The keys and files of a fresh instance.
prepare() {
	rm -rf -- "${dir:?}/home"
	rm -f -- "$dir"/host_key "$dir"/client_key "$dir"/client_key.pub \
		"$dir"/known_hosts "$dir"/ssh.log "$dir"/ssh.out "$dir"/dropbear.log
	mkdir -p -- "$dir"
	mkdir -m 0700 -- "$dir/home" "$dir/home/.ssh"
	"$dropbearkey" -t ed25519 -f "$dir/host_key" >"$dir/dropbear.log" 2>&1 ||
		die "dropbearkey failed: $(cat "$dir/dropbear.log")"
	"$ssh_keygen" -q -t ed25519 -N '' -C "$alias" -f "$dir/client_key" ||
		die "ssh-keygen failed"
	# Port forwarding is all this key may do.
	printf 'no-pty,no-agent-forwarding,no-X11-forwarding %s\n' \
		"$(cat "$dir/client_key.pub")" >"$dir/home/.ssh/authorized_keys"
	chmod 600 "$dir/home/.ssh/authorized_keys"
	printf '%s %s\n' "$alias" \
		"$("$dropbearkey" -y -f "$dir/host_key" | awk '/^ssh-/ { print $1, $2 }')" \
		>"$dir/known_hosts"
	grep -q "^$alias ssh-ed25519 " "$dir/known_hosts" ||
		die "no public host key from dropbearkey -y"
}

accepts_or_exited() { # $1 port, $2 pid
	accepts "$1" || ! live "$2"
}

# Starts Dropbear on $1 and ssh -D on $2; 0, or 1 when a port was taken.
# Runs as an "if" condition, where set -e does not apply: every failure
# is checked.
try_ports() {
	local sport=$1 port=$2 pid
	: >"$dir/dropbear.log"
	# setsid: Dropbear's per-connection children stay in its session
	# (stop waits for them).
	setsid "$unshare" --mount --propagation private -- \
		"$here/ssh-socks-harness.sh" __namespace "$dir/home" "$home" \
		"$dropbear" -F -E -s -k -p "127.0.0.1:$sport" \
		-r "$dir/host_key" -P "$dir/dropbear.pid" \
		</dev/null >>"$dir/dropbear.log" 2>&1 &
	pid=$!
	wait_for "$start_timeout" accepts_or_exited "$sport" "$pid" || true
	if ! accepts "$sport"; then
		if ! live "$pid" && grep -q 'in use' "$dir/dropbear.log"; then
			return 1
		fi
		cat "$dir/dropbear.log" >&2
		die "dropbear did not listen on 127.0.0.1:$sport in ${start_timeout}s"
	fi
	# unshare and the script exec'd into Dropbear: $! is its pid.
	echo "$pid" >"$dir/dropbear.pid"

	: >"$dir/ssh.log"
	setsid "$ssh" -N -F /dev/null -E "$dir/ssh.log" -o LogLevel=DEBUG2 \
		-i "$dir/client_key" -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o BatchMode=yes -o HostKeyAlias="$alias" \
		-o UserKnownHostsFile="$dir/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
		-o CheckHostIP=no -o UpdateHostKeys=no -o ControlPath=none \
		-o ExitOnForwardFailure=yes -o ConnectTimeout="$start_timeout" \
		-D "127.0.0.1:$port" -p "$sport" root@127.0.0.1 \
		</dev/null >"$dir/ssh.out" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/ssh.pid"
	wait_for "$start_timeout" accepts_or_exited "$port" "$pid" || true
	accepts "$port" && return 0
	if ! live "$pid" && grep -q 'in use' "$dir/ssh.log" "$dir/ssh.out"; then
		return 1
	fi
	cat "$dir/ssh.log" "$dir/ssh.out" "$dir/dropbear.log" >&2
	die "ssh -D did not listen on 127.0.0.1:$port in ${start_timeout}s"
}

start() {
	local ports sport port why
	why=$(unavailable)
	[ -z "$why" ] || die "$why"
	tools
	home=$(login_home)
	stop
	prepare
	for _ in $(seq "$port_attempts"); do
		ports=$(free_port 2) || die "no free port on 127.0.0.1"
		sport=$(echo "$ports" | sed -n 1p)
		port=$(echo "$ports" | sed -n 2p)
		if try_ports "$sport" "$port"; then
			echo "$sport" >"$dir/ssh-port"
			echo "$port" >"$dir/port"
			echo "$port"
			return 0
		fi
		stop
	done
	die "no pair of ports worked after $port_attempts attempts"
}

stop() {
	local pid port="" sport=""
	[ -r "$dir/port" ] && port=$(cat "$dir/port")
	[ -r "$dir/ssh-port" ] && sport=$(cat "$dir/ssh-port")
	# The client first: its connection's Dropbear child then ends too.
	if pid=$(pid_from "$dir/ssh.pid" "$dir/client_key"); then
		stop_pid "$pid" "ssh -D"
	fi
	if pid=$(pid_from "$dir/dropbear.pid" "$dir/host_key"); then
		stop_pid "$pid" dropbear live_or_session
	fi
	rm -f -- "$dir/ssh.pid" "$dir/dropbear.pid" "$dir/port" "$dir/ssh-port"
	port_released "$port"
	port_released "$sport"
}

case ${1:-} in
start)
	set_dir "${2:-}"
	start
	;;
stop)
	set_dir "${2:-}"
	tools || true
	stop
	;;
check)
	why=$(unavailable)
	[ -z "$why" ] || cannot_run "$why"
	;;
__namespace)
	shift
	in_namespace "$@"
	;;
*) die "usage: $0 start DIR | stop DIR | check" ;;
esac
