# Shell functions the harness scripts share (dovecot-, cyrus-, krb5-,
# dante- and tinyproxy-harness.sh): ports, pid files, waits, messages.
# Sourced, never run. The sourcing script sets harness_name (the prefix of
# its messages) and may set stop_timeout (seconds, default 10) first; it
# runs under `set -eu`, which every function here respects.

: "${harness_name:?set harness_name before sourcing lib.sh}"
: "${stop_timeout:=10}"

die() {
	echo "$harness_name: $*" >&2
	exit 1
}

# Ends "check" where the server cannot run: skipped (77), or failed when
# SPOP_REQUIRE_INTEGRATION is set to anything but "" or "0", as CI does.
cannot_run() {
	local require=${SPOP_REQUIRE_INTEGRATION:-0}
	if [ "$require" != 0 ]; then
		echo "FAIL: cannot run: $1; SPOP_REQUIRE_INTEGRATION=$require makes this a failure, not a skip" >&2
		exit 1
	fi
	echo "SKIP: $1" >&2
	exit 77
}

# Refuses a path that goes unquoted into a server's configuration. $1: the
# path, $2: what it is, for the message.
plain_path() {
	case $1 in *[[:space:]\"\'\\#]*) die "unsupported characters in $2: $1" ;; esac
}

# Prints the path of program $1: from PATH, else /usr/sbin or /usr/bin
# (root's PATH in a test runner may lack the sbin directories).
find_tool() {
	local p
	for p in "$(command -v "$1" 2>/dev/null || true)" "/usr/sbin/$1" "/usr/bin/$1"; do
		if [ -n "$p" ] && [ -x "$p" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Prints $1 (default 1) ports on 127.0.0.1 that were free a moment ago, one
# per line, all different (perl-base is Essential on Debian; bash cannot
# bind). A server may still lose its port to another process meanwhile:
# the scripts retry with fresh ports.
free_port() {
	perl -MIO::Socket::INET -e '
		my @s;
		for (1 .. ($ARGV[0] || 1)) {
			my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
				LocalPort => 0, Proto => "tcp", Listen => 1) or die "$!\n";
			push @s, $s;
			print $s->sockport, "\n";
		}' "${1:-1}"
}

# Whether 127.0.0.1:$1 accepts a TCP connection.
accepts() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Whether 127.0.0.1:$1 greets with "+OK" within $2 seconds (default 1).
answers_ok() {
	local line
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		IFS= read -r -t "${2:-1}" line <&3 || exit 1
		case $line in "+OK"*) exit 0 ;; esac
		exit 1
	) 2>/dev/null
}

# Prints the pid in file $1 if that process runs and its command line
# contains $2 (the instance's configuration), so that a recycled pid is
# never taken for ours.
pid_from() {
	local pid
	[ -r "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
	echo "$pid"
}

# Whether process $1 exists and is not a zombie (kill -0 succeeds on one).
live() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d" " -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Whether any process of the session $1 leads is alive (pgrep cannot leave
# out zombies).
session_alive() {
	# shellcheck disable=SC2009
	ps -o stat= -s "$1" 2>/dev/null | grep -qv '^Z'
}

# Whether process $1, or a process of the session it leads, is alive.
live_or_session() {
	live "$1" || session_alive "$1"
}

# Runs "$@" every 0.1 s until it succeeds (0) or $1 seconds have passed (1).
wait_for() {
	local limit=$(($1 * 10)) waited=0
	shift
	until "$@"; do
		((waited < limit)) || return 1
		sleep 0.1
		waited=$((waited + 1))
	done
}

# Stops process $1 (named $2 in messages): SIGTERM, then SIGKILL after
# stop_timeout seconds. $3 is the test for "still running" (default live;
# live_or_session for a daemon whose children outlive it briefly). $4
# (optional) is a test of the pid that, once it succeeds, has the process
# killed at once instead of waited for: what is left of its shutdown is
# only idle time. Whether or not $4 is given, a process still not ready
# after stop_timeout seconds is killed then, and reported.
stop_pid() {
	local pid=$1 what=$2 alive=${3:-live} ready=${4:-false}
	kill -TERM "$pid" 2>/dev/null || true
	if wait_for "$stop_timeout" eval "! $alive $pid || $ready $pid"; then
		$alive "$pid" || return 0
		# Ready: after SIGKILL only the kernel's reaping (and, for a
		# session, its members' ending) is left to wait for.
		kill -KILL "$pid" 2>/dev/null || true
		wait_for "$stop_timeout" eval "! $alive $pid" && return 0
	else
		kill -KILL "$pid" 2>/dev/null || true
	fi
	echo "$harness_name: $what (pid $pid) did not stop in ${stop_timeout}s; killed it" >&2
}

# Fails unless 127.0.0.1:$1 (if not empty) stops accepting connections
# within stop_timeout seconds.
port_released() {
	[ -n "$1" ] || return 0
	wait_for "$stop_timeout" eval "! accepts $1" ||
		die "port $1 still accepts connections after stop"
}

# Whether user $1, group $2 may enter directory $3.
reachable_by() {
	setpriv --reuid="$1" --regid="$2" --clear-groups -- test -x "$3"
}

# A checkout may sit below a 0700 directory (mktemp -d) that the servers'
# users cannot traverse. Then what they must reach lives in a traversable
# directory under /tmp, named $2-CHECKSUM, and path $1 becomes a symlink
# to it (emptied). $3: "user:group ..." that must enter $1's parent; $4
# (optional): the most bytes $1 may have (Unix socket paths below it must
# fit in sun_path). Prints the path to use: $1 itself when it will do.
reachable_path() {
	local path=$1 prefix=$2 who parent real ok=1
	parent=$(dirname -- "$path")
	mkdir -p -- "$parent"
	for who in $3; do
		reachable_by "${who%%:*}" "${who#*:}" "$parent" || ok=0
	done
	[ -z "${4:-}" ] || [ ${#path} -le "$4" ] || ok=0
	if [ $ok = 1 ]; then
		printf '%s\n' "$path"
		return 0
	fi
	real=/tmp/$prefix-$(printf '%s' "$path" | cksum | cut -d' ' -f1)
	rm -rf -- "$real" "$path"
	mkdir -m 0755 -- "$real"
	ln -s -- "$real" "$path"
	printf '%s\n' "$real"
}

# Field $2 of user $1 in $users ("name:password:profile" lines).
user_field() {
	printf '%s\n' "$users" | awk -F: -v u="$1" -v f="$2" '$1 == u { print $f; found = 1 } END { exit !found }'
}
