#!/bin/bash
# Runs a private MIT Kerberos KDC for the GSSAPI tests: realm, database,
# configuration, keytab, credential caches and logs all live under one
# directory the caller gives, on a free loopback port. /etc/krb5.conf, the
# system KDC and the system's credential caches are never used: every tool
# runs with KRB5_CONFIG and KRB5_KDC_PROFILE pointing into DIR.
#
# usage: krb5-harness.sh start DIR
#        krb5-harness.sh stop DIR
#        krb5-harness.sh kinit DIR CCACHE-FILE   (a fresh ticket for the user)
#        krb5-harness.sh kadmin DIR QUERY        (kadmin.local -q QUERY)
#        krb5-harness.sh check   (exit 0, or 77/1 where none can run)
#
# After start:
#   DIR/krb5.conf     the client and server configuration (KRB5_CONFIG)
#   DIR/kdc.conf      the KDC's profile (KRB5_KDC_PROFILE)
#   DIR/pop.keytab    keys of the service principals pop/localhost and
#                     pop/127.0.0.1 (what a client asks for with MailServer
#                     localhost or 127.0.0.1: no DNS canonicalisation)
#   DIR/ccache        a credential cache holding the user's ticket
#   DIR/port, DIR/kdc.pid, DIR/log/kdc.log
# HARNESS_KRB5_USER and HARNESS_KRB5_PASSWORD name the user principal
# (default alice / alice-secret, the harness's main user); the C side
# passes harness.h's values so that it stays the one place for them.

set -eu

realm=SPOP.TEST
user=${HARNESS_KRB5_USER:-alice}
password=${HARNESS_KRB5_PASSWORD:-alice-secret}
services='pop/localhost pop/127.0.0.1'
start_timeout=10 # seconds until the KDC must accept connections
stop_timeout=10  # seconds until it must be gone
port_attempts=5

harness_name=krb5-harness
. "$(dirname "$0")/lib.sh"

set_dir() {
	[ -n "${1:-}" ] || die "missing DIR"
	dir=$(realpath -m -- "$1")
	export KRB5_CONFIG=$dir/krb5.conf
	export KRB5_KDC_PROFILE=$dir/kdc.conf
	# Nothing may fall back to the caller's cache or keytab.
	export KRB5CCNAME=FILE:$dir/ccache
	export KRB5_KTNAME=FILE:$dir/pop.keytab
	export KRB5RCACHEDIR=$dir
	unset KRB5_CLIENT_KTNAME KRB5_TRACE
}

write_config() { # $1: port
	cat >"$dir/krb5.conf" <<EOF
# Private MIT Kerberos for libspop tests; written by krb5-harness.sh.
[libdefaults]
	default_realm = $realm
	dns_lookup_kdc = false
	dns_lookup_realm = false
	# The service name is the MailServer as given: "pop@localhost" asks
	# for pop/localhost, "pop@127.0.0.1" for pop/127.0.0.1.
	dns_canonicalize_hostname = false
	rdns = false
	# User names map to local names by the default rule (alice@$realm ->
	# alice) without looking the user up in /etc/passwd: Dovecot's
	# krb5_kuserok checks an authorization identity that way.
	k5login_directory = $dir/k5login
	default_ccache_name = FILE:$dir/ccache
	default_keytab_name = FILE:$dir/pop.keytab
	udp_preference_limit = 1
[realms]
	$realm = {
		kdc = 127.0.0.1:$1
		admin_server = 127.0.0.1:$1
	}
[domain_realm]
	localhost = $realm
	127.0.0.1 = $realm
[logging]
	default = FILE:$dir/log/krb5.log
EOF
	cat >"$dir/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$1
	kdc_tcp_listen = 127.0.0.1:$1
[realms]
	$realm = {
		database_name = $dir/db/principal
		key_stash_file = $dir/db/stash
		acl_file = $dir/db/kadm5.acl
		max_life = 10h
		max_renewable_life = 0
	}
[logging]
	kdc = FILE:$dir/log/kdc.log
	admin_server = FILE:$dir/log/kadmin.log
	default = FILE:$dir/log/kdc.log
EOF
}

# The KDC's pid if this DIR's KDC runs (its command line names our pid
# file).
running_pid() {
	pid_from "$dir/kdc.pid" "$dir/kdc.pid"
}

show_log() {
	echo "---- $dir/log/kdc.log ----" >&2
	tail -n 30 "$dir/log/kdc.log" >&2 2>/dev/null || true
	echo "----" >&2
}

kadmin() {
	"$kadmin_local" -r "$realm" -q "$1" >>"$dir/log/kadmin.out" 2>&1 ||
		die "kadmin.local -q '$1' failed: $(tail -n 5 "$dir/log/kadmin.out")"
	# kadmin.local exits 0 even when the query failed; it says so.
	if tail -n 3 "$dir/log/kadmin.out" | grep -qiE 'error|while |not found|failed'; then
		die "kadmin.local -q '$1': $(tail -n 3 "$dir/log/kadmin.out")"
	fi
}

do_kinit() { # $1: cache file
	local out
	rm -f -- "$1"
	# kinit reads the password from stdin when it is not a terminal.
	out=$(printf '%s\n' "$password" | "$kinit" -c "FILE:$1" "$user@$realm" 2>&1) ||
		die "kinit $user@$realm into $1 failed: $out"
	[ -s "$1" ] || die "kinit $user@$realm wrote no cache $1"
}

tools() {
	kdc=$(find_tool krb5kdc) || die "krb5kdc not found (krb5-kdc)"
	kdb5_util=$(find_tool kdb5_util) || die "kdb5_util not found (krb5-kdc)"
	kadmin_local=$(find_tool kadmin.local) || die "kadmin.local not found (krb5-admin-server)"
	kinit=$(find_tool kinit) || die "kinit not found (krb5-user)"
}

# A checkout may sit below a 0700 directory (mktemp -d), which Dovecot's
# auth process (user dovecot) cannot traverse to the keytab and krb5.conf.
# Then the KDC lives in a traversable directory under /tmp and DIR becomes
# a symlink to it, as dovecot-harness.sh does for its instances.
relocate_if_needed() {
	set_dir "$(reachable_path "$dir" spop-krb5 dovecot:dovecot)"
}

cmd_start() {
	local port pid waited s

	tools
	if running_pid >/dev/null; then
		cmd_stop
	fi
	relocate_if_needed
	rm -rf -- "$dir/db" "$dir/log" "$dir/k5login" "$dir/pop.keytab" "$dir/ccache" \
		"$dir/port" "$dir/kdc.pid"
	mkdir -p -- "$dir/db" "$dir/log" "$dir/k5login"
	# Dovecot's auth process (root) reads the keytab and krb5.conf.
	chmod 755 "$dir"
	plain_path "$dir" "directory name"

	for _ in $(seq "$port_attempts"); do
		port=$(free_port) || die "no free port on 127.0.0.1"
		write_config "$port"
		if [ ! -e "$dir/db/principal" ]; then
			# -P: the master password on the command line, no prompt;
			# it protects nothing outside this test directory.
			"$kdb5_util" -r "$realm" create -s -P "spop-kdc-master" \
				>"$dir/log/kdb5_util.out" 2>&1 ||
				die "kdb5_util create failed: $(cat "$dir/log/kdb5_util.out")"
			: >"$dir/db/kadm5.acl"
			kadmin "addprinc -pw $password $user@$realm"
			for s in $services; do
				kadmin "addprinc -randkey $s@$realm"
				kadmin "ktadd -k $dir/pop.keytab $s@$realm"
			done
			chmod 644 "$dir/pop.keytab"
		fi
		: >"$dir/log/kdc.log"
		# krb5kdc binds, then forks: a port taken meanwhile by another
		# process fails the parent, and another port is tried.
		if ! "$kdc" -r "$realm" -P "$dir/kdc.pid" </dev/null >>"$dir/log/kdc.log" 2>&1; then
			grep -q 'Address already in use' "$dir/log/kdc.log" && continue
			show_log
			die "krb5kdc failed to start"
		fi
		# The pid file appears a moment after the parent returns.
		waited=0
		until accepts "$port" && running_pid >/dev/null; do
			if [ $waited -ge $((start_timeout * 10)) ]; then
				show_log
				cmd_stop || true
				die "the KDC did not accept connections on 127.0.0.1:$port"
			fi
			sleep 0.1
			waited=$((waited + 1))
		done
		echo "$port" >"$dir/port"
		do_kinit "$dir/ccache"
		return 0
	done
	show_log
	die "no port worked after $port_attempts attempts"
}

cmd_stop() {
	local pid waited port=""

	[ -r "$dir/port" ] && port=$(cat "$dir/port")
	if pid=$(running_pid); then
		stop_pid "$pid" "the KDC"
	fi
	rm -f -- "$dir/kdc.pid" "$dir/port"
	port_released "$port"
	return 0
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
kinit)
	set_dir "${2:-}"
	[ -n "${3:-}" ] || die "usage: kinit DIR CCACHE-FILE"
	tools
	do_kinit "$3"
	;;
kadmin)
	set_dir "${2:-}"
	[ -n "${3:-}" ] || die "usage: kadmin DIR QUERY"
	tools
	kadmin "$3"
	;;
check)
	for t in krb5kdc kdb5_util kadmin.local kinit; do
		find_tool "$t" >/dev/null ||
			cannot_run "$t is not installed (krb5-kdc, krb5-admin-server, krb5-user)"
	done
	;;
*)
	echo "usage: $0 check | start DIR | stop DIR | kinit DIR CCACHE | kadmin DIR QUERY" >&2
	exit 2
	;;
esac
