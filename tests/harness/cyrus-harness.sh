#!/bin/bash
# Runs a private Cyrus IMAP 3.6 POP3 server (pop3d under Cyrus's master) for
# the integration tests: the real server side of SASL NTLM (Cyrus SASL's
# ntlm plugin) and of SCRAM-*-PLUS. Debian's cyrus-pop3d conflicts with
# dovecot-pop3d, so its packages are never installed: they are fetched with
# `apt-get download` into a cache, unpacked with `dpkg-deb -x` and run from
# there with their own imapd.conf and cyrus.conf. /etc and the machine's
# services are never touched.
#
# usage: cyrus-harness.sh start DIR
#        cyrus-harness.sh stop DIR
#        cyrus-harness.sh check   (exit 0, or 77/1 where none can run)
#
# After start: DIR/port (POP3, STLS when TLS is on), DIR/port-tls (implicit
# TLS, with TLS only), DIR/pid (master pid), DIR/mailbox-USER.txt for every
# user (make-mailbox.sh's description: its line count is the message count;
# sizes differ, since lmtpd adds Return-Path and Received), DIR/log/syslog
# (what Cyrus sent to syslog, see below) and DIR/log/master.out.
#
# Environment, all optional:
#   HARNESS_USERS        "name:password:profile" lines (profiles of
#                        make-mailbox.sh; default alice:alice-secret:small and
#                        empty:empty-secret:empty); users go into a private
#                        sasldb (saslpasswd2 -f) in realm "localhost"
#   HARNESS_CYRUS_DEBS   directory caching the .debs and their unpacked tree
#                        (default DIR/debs); kept across runs (remove it to
#                        fetch a newer Cyrus)
#   HARNESS_TLS=good|wronghost|expired|selfsigned   server certificate from
#                        make-certs.sh (in HARNESS_CERTS_DIR, default
#                        DIR/certs): STLS on DIR/port and implicit TLS on
#                        DIR/port-tls. After STLS Cyrus 3.6 also offers
#                        SCRAM-SHA-1-PLUS and SCRAM-SHA-256-PLUS, bound with
#                        "tls-unique" (its only channel-binding type).
#   HARNESS_CYRUS_TLS_VERSIONS  imapd.conf tls_versions, e.g. "tls1_2"
#                        (tls-unique is defined for TLS 1.2 only, RFC 9266)
#
# Cyrus logs only through syslog(3), to /dev/log. Where the kernel allows a
# private mount namespace (root here), master runs in one whose /dev is a
# tmpfs holding the usual device nodes and a /dev/log that leads to a
# datagram socket in DIR/run, read by a small perl logger into
# DIR/log/syslog. Without that, Cyrus runs as is and its log is lost.
#
# Must run as root: master binds as root, then runs as "nobody" (Cyrus
# refuses to run its services as root, and the package's "cyrus" user does
# not exist since the package is not installed).

set -eu

default_users='alice:alice-secret:small
empty:empty-secret:empty'
users=${HARNESS_USERS:-$default_users}
packages='cyrus-common cyrus-pop3d'
binaries='master pop3d lmtpd deliver ctl_cyrusdb'

here=$(cd "$(dirname "$0")" && pwd)
start_timeout=15 # seconds until the port must answer +OK
stop_timeout=10	 # seconds until every Cyrus process must be gone
port_attempts=5	 # another process may take the port we picked

harness_name=cyrus-harness
. "$here/lib.sh"

set_dir() {
	[ -n "${1:-}" ] || die "missing DIR"
	dir=$(realpath -m -- "$1")
	debs=${HARNESS_CYRUS_DEBS:-$dir/debs}
	root=$debs/root
	# unpack may have put the tree under /tmp (reachable_path)
	[ ! -L "$root" ] || root=$(readlink -f -- "$root")
	set_root "$root"
	conf=$dir/etc/imapd.conf
	certs=${HARNESS_CERTS_DIR:-$dir/certs}
	tls_cert=${HARNESS_TLS:-}
}

set_root() {
	root=$1
	bin=$root/usr/lib/cyrus/bin
	libdir=$root/usr/lib/x86_64-linux-gnu
}

# ---- the packages ---------------------------------------------------------

# Fetches and unpacks the .debs once per cache; a version change (a new
# .deb) unpacks again.
unpack() {
	local p f stamp=$root/.unpacked want=
	mkdir -p -- "$debs"
	for p in $packages; do
		if ! ls "$debs/${p}"_*.deb >/dev/null 2>&1; then
			# apt's sandbox user may not write here; as root it then
			# downloads unsandboxed, with a warning.
			# A fresh machine may have no package lists yet: one
			# apt-get update (what install-deps.sh does) and again.
			(cd "$debs" && apt-get download -q "$p") >"$debs/download.log" 2>&1 ||
				{ apt-get update -qq >>"$debs/download.log" 2>&1 &&
					(cd "$debs" && apt-get download -q "$p") >>"$debs/download.log" 2>&1; } ||
				{
					cat "$debs/download.log" >&2
					die "apt-get download $p failed (no network or no Debian archive?); the Cyrus suites cannot run without it"
				}
		fi
		f=$(printf '%s\n' "$debs/${p}"_*.deb | sort -V | tail -n 1)
		want="$want $(basename "$f")"
	done
	if [ -r "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$bin/master" ]; then
		return 0
	fi
	rm -rf -- "$root"
	set_root "$(reachable_path "$debs/root" spop-cyrus-root nobody:nogroup)"
	mkdir -p -- "$root"
	for f in $want; do
		dpkg-deb -x "$debs/$f" "$root" || die "dpkg-deb -x $debs/$f failed"
	done
	echo "$want" >"$stamp"
}

# The unpacked programs must find every shared library: Cyrus's own from
# the tree, the rest installed normally (tools/install-deps.sh).
check_libraries() {
	local b missing=
	for b in $binaries; do
		[ -x "$bin/$b" ] || die "$bin/$b missing from the unpacked packages"
		missing="$missing $(LD_LIBRARY_PATH=$libdir ldd "$bin/$b" | awk '/not found/ { print $1 }')"
	done
	missing=$(echo "$missing" | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/^ *//; s/ *$//')
	[ -z "$missing" ] || die "Cyrus needs shared libraries that are not installed: $missing (run tools/install-deps.sh)"
}

# ---- config writer --------------------------------------------------------

conf_imapd() {
	cat <<EOF
# Private Cyrus for libspop tests; written by cyrus-harness.sh, do not edit.
configdirectory: $dir/conf
partition-default: $dir/spool
servername: localhost
cyrus_user: nobody
cyrus_group: nogroup
syslog_prefix: spop-cyrus
lmtpsocket: $dir/run/lmtp
idlesocket: $dir/run/idle
notifysocket: $dir/run/notify
# Users live in a private sasldb; every mechanism needs the plaintext.
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $dir/etc/sasldb2
sasl_mech_list: PLAIN LOGIN CRAM-MD5 DIGEST-MD5 NTLM SCRAM-SHA-1 SCRAM-SHA-256
allowplaintext: yes
popminpoll: 0
# A wrong password is answered at once instead of after 3 s; nothing here is
# exposed to guessing.
failedloginpause: 0
# INBOX is made on first delivery (lmtpd) or login.
autocreate_quota: 0
autocreate_post: yes
EOF
	if [ -n "$tls_cert" ]; then
		cat <<EOF
tls_server_cert: $dir/etc/tls-chain.pem
tls_server_key: $dir/etc/tls-key.pem
EOF
		[ -z "${HARNESS_CYRUS_TLS_VERSIONS:-}" ] ||
			echo "tls_versions: $HARNESS_CYRUS_TLS_VERSIONS"
	fi
}

# $1 POP3 port, $2 implicit-TLS port (0: none)
conf_cyrus() {
	local c="-C $conf"
	cat <<EOF
START {
	recover cmd="$bin/ctl_cyrusdb $c -r"
}
SERVICES {
	pop3 cmd="$bin/pop3d $c" listen="127.0.0.1:$1" prefork=0
	lmtpunix cmd="$bin/lmtpd $c" listen="$dir/run/lmtp" prefork=0
EOF
	[ "$2" = 0 ] ||
		echo "	pop3s cmd=\"$bin/pop3d -s $c\" listen=\"127.0.0.1:$2\" prefork=0"
	cat <<EOF
}
EVENTS {
}
DAEMON {
}
EOF
}

# ---- helpers --------------------------------------------------------------

show_log() {
	echo "---- $dir/log/syslog (last lines) ----" >&2
	tail -n 30 "$dir/log/syslog" >&2 2>/dev/null || true
	echo "---- $dir/log/master.out ----" >&2
	tail -n 10 "$dir/log/master.out" >&2 2>/dev/null || true
	echo "----" >&2
}

# The logger: one datagram per syslog(3) call, one line each in the log.
start_logger() {
	cat >"$dir/run/syslogd.pl" <<'EOF'
use strict;
use IO::Socket::UNIX;
use Socket;
my ($path, $log) = @ARGV;
unlink $path;
my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
	or die "syslog socket $path: $!\n";
chmod 0666, $path;
open(my $f, '>>', $log) or die "$log: $!\n";
$f->autoflush(1);
my $buf;
while (defined $s->recv($buf, 65536)) {
	$buf =~ s/\0+$//;
	$buf =~ s/\n*$/\n/;
	print $f $buf;
}
EOF
	setsid perl "$dir/run/syslogd.pl" "$dir/run/syslog" "$dir/log/syslog" \
		</dev/null >>"$dir/log/master.out" 2>&1 &
	echo $! >"$dir/run/syslogd.pid"
	for _ in $(seq 50); do
		[ -S "$dir/run/syslog" ] && return 0
		sleep 0.1
	done
	die "the private syslog socket $dir/run/syslog did not appear"
}

# Inside the private mount namespace: a /dev of its own with /dev/log, then
# exec the command. Mounts made here vanish with the namespace.
in_namespace() {
	local d=$1 n
	shift
	mount --make-rprivate /
	mkdir -p "$d/run/hostdev"
	mount --bind /dev "$d/run/hostdev"
	mount -t tmpfs -o mode=0755,size=1m spop-cyrus-dev /dev
	for n in null zero full random urandom tty; do
		[ -e "$d/run/hostdev/$n" ] || continue
		: >"/dev/$n"
		mount --bind "$d/run/hostdev/$n" "/dev/$n"
	done
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	mkdir /dev/shm
	mount -t tmpfs -o mode=1777,size=16m spop-cyrus-shm /dev/shm
	ln -s "$d/run/syslog" /dev/log
	umount -l "$d/run/hostdev"
	exec "$@"
}

# Delivers user $1's generated messages through lmtpd, in order.
fill_mailbox() {
	local u=$1 profile tmp f
	profile=$(user_field "$u" 3) || die "unknown user '$u'"
	tmp=$dir/mail/$u
	rm -rf -- "$tmp"
	"$here/make-mailbox.sh" "$tmp" "$profile" "$dir/mailbox-$u.txt" >/dev/null
	# make-mailbox.sh names files so that name order is message order.
	for f in "$tmp"/new/*; do
		[ -f "$f" ] || continue
		LD_LIBRARY_PATH=$libdir "$bin/deliver" -C "$conf" -r sender@localhost "$u" <"$f" ||
			{
				show_log
				die "deliver of $f to $u failed"
			}
	done
}

# ---- commands -------------------------------------------------------------

cmd_start() {
	local u port tls_port ports pid ns=() waited
	[ "$(id -u)" -eq 0 ] || die "must run as root (Cyrus's master binds, then runs as nobody)"
	command -v saslpasswd2 >/dev/null || die "saslpasswd2 not found (sasl2-bin)"
	[ -e /usr/lib/x86_64-linux-gnu/sasl2/libntlm.so ] ||
		die "Cyrus SASL's ntlm plugin is missing (libsasl2-modules)"
	# The path goes unquoted into imapd.conf and cyrus.conf.
	plain_path "$dir" "directory name"
	# an instance left in DIR stops before DIR may move
	cmd_stop
	# A checkout may sit below a 0700 directory (mktemp -d), which user
	# nobody (Cyrus's user) cannot traverse.
	set_dir "$(reachable_path "$dir" spop-cyrus nobody:nogroup)"
	unpack
	check_libraries
	if [ -n "$tls_cert" ]; then
		case $tls_cert in
		good | wronghost | expired | selfsigned) ;;
		*) die "HARNESS_TLS must be good, wronghost, expired or selfsigned, not '$tls_cert'" ;;
		esac
		"$here/make-certs.sh" "$certs" >/dev/null || die "make-certs.sh $certs failed"
	fi

	cmd_stop
	rm -rf -- "${dir:?}/conf" "${dir:?}/spool" "${dir:?}/run" "${dir:?}/mail" "${dir:?}/etc" "${dir:?}/log"
	rm -f -- "$dir"/mailbox-*.txt
	mkdir -p "$dir/etc" "$dir/spool" "$dir/run" "$dir/mail" "$dir/log"
	mkdir -p "$dir"/conf/{db,proc,socket,log,msg,user,quota,sieve,lock}
	: >"$dir/log/syslog"
	# nobody must reach everything below DIR.
	chmod 755 "$dir"
	reachable_by nobody nogroup "$dir/etc" ||
		die "$dir is not reachable by user nobody (check the modes of its parents)"

	printf '%s\n' "$users" | while IFS=: read -r u pw _; do
		[ -n "$u" ] || continue
		printf '%s' "$pw" | saslpasswd2 -p -c -f "$dir/etc/sasldb2" -u localhost "$u" ||
			die "saslpasswd2 for $u failed"
	done
	if [ -n "$tls_cert" ]; then
		# Copied beside the config: nobody may read the key here but
		# not in the shared cache, and the cache may sit where nobody
		# cannot reach it (a checkout below a 0700 directory).
		local chain=$certs/$tls_cert-chain.pem
		[ "$tls_cert" != selfsigned ] || chain=$certs/selfsigned.pem
		install -m 644 "$chain" "$dir/etc/tls-chain.pem"
		install -m 600 "$certs/$tls_cert-key.pem" "$dir/etc/tls-key.pem"
	fi
	chown -R nobody:nogroup "$dir/conf" "$dir/spool" "$dir/run" "$dir/etc"
	conf_imapd >"$conf"

	if unshare -m true 2>/dev/null; then
		start_logger
		ns=(unshare -m -- "$here/cyrus-harness.sh" __namespace "$dir")
	else
		echo "cyrus-harness: no private mount namespace here; Cyrus's syslog is lost" >>"$dir/log/master.out"
	fi

	for _ in $(seq "$port_attempts"); do
		ports=$(free_port 2) || die "no free port on 127.0.0.1"
		port=$(echo "$ports" | sed -n 1p)
		tls_port=0
		[ -z "$tls_cert" ] || tls_port=$(echo "$ports" | sed -n 2p)
		conf_cyrus "$port" "$tls_port" >"$dir/etc/cyrus.conf"
		(
			cd "$dir/run"
			LD_LIBRARY_PATH=$libdir exec setsid "${ns[@]}" "$bin/master" \
				-C "$conf" -M "$dir/etc/cyrus.conf" -p "$dir/run/master.pid" \
				</dev/null >>"$dir/log/master.out" 2>&1
		) &
		pid=$!
		echo "$pid" >"$dir/pid"
		waited=0
		while [ "$waited" -lt $((start_timeout * 10)) ]; do
			if answers_ok "$port" 2 && { [ "$tls_port" = 0 ] || accepts "$tls_port"; }; then
				echo "$port" >"$dir/port"
				[ "$tls_port" = 0 ] || echo "$tls_port" >"$dir/port-tls"
				for u in $(printf '%s\n' "$users" | cut -d: -f1); do
					fill_mailbox "$u"
				done
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
			waited=$((waited + 1))
		done
		# Port taken meanwhile (master exits), or too slow: try again.
		cmd_stop
	done
	show_log
	die "Cyrus did not answer on 127.0.0.1 (tried $port_attempts ports)"
}

cmd_stop() {
	local pid waited lpid
	if pid=$(pid_from "$dir/pid" "$dir/etc/cyrus.conf"); then
		# master passes SIGTERM on to its services.
		kill -TERM "$pid" 2>/dev/null || true
		waited=0
		while session_alive "$pid" && [ "$waited" -lt $((stop_timeout * 10)) ]; do
			sleep 0.1
			waited=$((waited + 1))
		done
		if session_alive "$pid"; then
			echo "cyrus-harness: Cyrus did not stop within ${stop_timeout}s; killing its session" >&2
			# By pid, each process of the session master leads.
			ps -o pid= -s "$pid" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
			sleep 0.2
		fi
		! session_alive "$pid" || die "Cyrus (session $pid) is still running"
	fi
	if lpid=$(pid_from "$dir/run/syslogd.pid" "$dir/run/syslogd.pl"); then
		kill -TERM "$lpid" 2>/dev/null || true
	fi
	rm -f -- "$dir/pid" "$dir/port" "$dir/port-tls"
}

cmd_check() {
	[ "$(id -u)" -eq 0 ] || cannot_run "a private Cyrus needs root"
	command -v saslpasswd2 >/dev/null || cannot_run "saslpasswd2 not found (sasl2-bin)"
	command -v apt-get >/dev/null || cannot_run "apt-get not found: Cyrus's packages cannot be fetched"
	exit 0
}

case ${1:-} in
start)
	set_dir "${2:-}"
	cmd_start
	;;
stop)
	set_dir "${2:-}"
	cmd_stop
	;;
check) cmd_check ;;
__namespace)
	shift
	in_namespace "$@"
	;;
*) die "usage: $0 start DIR | stop DIR | check" ;;
esac
