#!/bin/bash
# Runs a private Dovecot POP3 server for the integration tests: config, users,
# mailboxes, logs and sockets all live under one directory the caller gives,
# on a free loopback port; the system Dovecot and /etc/dovecot are never used.
#
# usage: dovecot-harness.sh start DIR
#        dovecot-harness.sh stop DIR
#        dovecot-harness.sh reset-mailbox DIR USER
#        dovecot-harness.sh check   (exit 0, or 77/1 where none can run)
#
# After start: DIR/port (POP3 port), DIR/pid (master pid), DIR/mailbox.txt
# (the main user's messages, see make-mailbox.sh), DIR/mailbox-USER.txt for
# every user, DIR/log/dovecot.log. Must run as root: Dovecot's master does.
# HARNESS_BIG_BYTES, passed on to make-mailbox.sh, sets the size of the main
# user's big message (default about 50 MiB). HARNESS_MAILBOX_CACHE names a
# directory where the mailboxes made are kept and copied from (cached_mailbox
# below).
#
# TLS is off unless HARNESS_TLS names the server certificate (certificates
# from make-certs.sh, in HARNESS_CERTS_DIR, default DIR/certs):
#   good        CN/SAN localhost and 127.0.0.1, sent with its CA (the chain)
#   wronghost   wrong.example only, with its CA
#   expired     valid name, CA-signed, expired in 2021, with its CA
#   selfsigned  valid name, signed by itself
# Then the POP3 port offers STLS and DIR/port-tls is an implicit-TLS (pop3s)
# port. More, all optional:
#   HARNESS_TLS_CLIENT_CERT=1       a client certificate signed by the client
#                                   CA is required (see conf_tls)
#   HARNESS_TLS_MIN_PROTOCOL=V      ssl_min_protocol (TLSv1.2, TLSv1.3)
#   HARNESS_TLS_CIPHER_LIST=L       ssl_cipher_list (OpenSSL syntax, TLS<=1.2)
# HARNESS_MANY_USERS=N adds N users many1..manyN (password manyI-secret),
# each with HARNESS_MANY_MESSAGES (default 3) small messages of its own, and
# raises Dovecot's process and connection limits so that all of them can be
# logged in at once (see make_many and conf_many): bench/threads and the
# threads suite.
# The log shows the TLS version and cipher Dovecot saw on every login and
# disconnect (%k), and the client's port (rport=), so a test finds its own
# connection.

set -eu

# The test users, one "name:password:mailbox profile" per line (profiles are
# those of make-mailbox.sh). HARNESS_USERS overrides them so that the C
# harness, which has the same names in harness.h, stays the one place to
# change them. Names and passwords must not contain ':' or white space.
default_users='alice:alice-secret:main
empty:empty-secret:empty
bob:bob-secret:small'
users=${HARNESS_USERS:-$default_users}

here=$(cd "$(dirname "$0")" && pwd)
start_timeout=10	# seconds until the port must answer +OK
stop_timeout=10		# seconds until all Dovecot processes must be gone
port_attempts=5		# another process may take the port we picked

harness_name=dovecot-harness
. "$here/lib.sh"

# ---- config writer --------------------------------------------------------
# One function per concern so that TLS (ssl_cert/ssl_key, an implicit-TLS
# listener) slots in without touching the rest: conf_tls and the pop3s port
# argument of conf_services are the places.

conf_core() {
	cat <<EOF
# Private Dovecot for libspop tests; written by dovecot-harness.sh, do not edit.
instance_name = $instance
base_dir = $base_dir
state_dir = $dir/state
log_path = $dir/log/dovecot.log
info_log_path = $dir/log/dovecot.log
debug_log_path = $dir/log/dovecot.log
protocols = pop3
listen = 127.0.0.1
# Keep nothing from the environment that could point at the system instance.
import_environment = TZ
EOF
}

# TLS, from the HARNESS_TLS* variables (see the top). Client certificates:
# ssl_verify_client_cert asks for one during the handshake, but Dovecot
# 2.3 does not fail the handshake without one; auth_ssl_require_client_cert
# then fails every login of a connection that did not present a valid one
# ("Client didn't present valid SSL certificate" in the log). The password
# is still checked as usual: the certificate is a second factor here, not
# the user name. ssl_require_crl = no because the test CA publishes no CRL
# (Dovecot's default, yes, would refuse every client certificate).
conf_tls() {
	local chain
	if [ -z "$tls_cert" ]; then
		echo 'ssl = no'
		return
	fi
	chain=$certs/$tls_cert-chain.pem
	[ "$tls_cert" != selfsigned ] || chain=$certs/selfsigned.pem
	cat <<EOF
ssl = yes
ssl_cert = <$chain
ssl_key = <$certs/$tls_cert-key.pem
ssl_dh = <$certs/dh.pem
login_log_format_elements = user=<%u> method=%m rip=%r rport=%b lip=%l lport=%a mpid=%e %c %k session=<%{session}>
EOF
	if [ -n "${HARNESS_TLS_MIN_PROTOCOL:-}" ]; then
		echo "ssl_min_protocol = $HARNESS_TLS_MIN_PROTOCOL"
	fi
	if [ -n "${HARNESS_TLS_CIPHER_LIST:-}" ]; then
		echo "ssl_cipher_list = $HARNESS_TLS_CIPHER_LIST"
	fi
	if [ "${HARNESS_TLS_CLIENT_CERT:-0}" = 1 ]; then
		cat <<EOF
ssl_ca = <$certs/client-ca.pem
ssl_verify_client_cert = yes
ssl_require_crl = no
auth_ssl_require_client_cert = yes
EOF
	fi
}

# HARNESS_AUTH_MECHANISMS replaces the mechanism list (a suite that needs a
# server offering less); HARNESS_EXTERNAL=1 (with HARNESS_TLS_CLIENT_CERT=1)
# adds SASL EXTERNAL: the user is the client certificate's CN, and a static
# passdb asks no password for that mechanism only.
conf_auth() {
	local mechanisms=${HARNESS_AUTH_MECHANISMS:-plain login cram-md5 \
digest-md5 apop scram-sha-1 scram-sha-256}
	if [ "${HARNESS_EXTERNAL:-0}" = 1 ]; then
		mechanisms="$mechanisms external"
		cat <<EOF
auth_ssl_username_from_cert = yes
ssl_cert_username_field = commonName
passdb {
	driver = static
	args = nopassword=y
	mechanisms = external
}
EOF
	fi
	cat <<EOF
disable_plaintext_auth = no
auth_mechanisms = $mechanisms
auth_verbose = yes
# A wrong password is answered at once instead of after 2 s; nothing here is
# exposed to guessing.
auth_failure_delay = 0
passdb {
	driver = passwd-file
	args = scheme=PLAIN $dir/etc/users
}
userdb {
	driver = passwd-file
	args = $dir/etc/users
}
EOF
}

# XOAUTH2 and OAUTHBEARER through Dovecot's oauth2 passdb, only when
# HARNESS_OAUTH2_URL names a token-introspection endpoint (RFC 7662; the
# tests run oauth2-endpoint.py): Dovecot POSTs token=... there and logs in
# the "username" of an "active" answer. The passwd-file passdb above is
# tried first for these mechanisms too; its mismatch falls through to this
# one (result_failure = continue, the default).
conf_oauth2() {
	[ -n "${HARNESS_OAUTH2_URL:-}" ] || return 0
	case $HARNESS_OAUTH2_URL in
	http://127.0.0.1:*) ;;
	*) die "HARNESS_OAUTH2_URL must be http://127.0.0.1:PORT/..., not '$HARNESS_OAUTH2_URL'" ;;
	esac
	cat >"$dir/etc/dovecot-oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = $HARNESS_OAUTH2_URL
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
EOF
	chmod 644 "$dir/etc/dovecot-oauth2.conf.ext"
	cat <<EOF
auth_mechanisms = \$auth_mechanisms xoauth2 oauthbearer
passdb {
	driver = oauth2
	mechanisms = xoauth2 oauthbearer
	args = $dir/etc/dovecot-oauth2.conf.ext
}
EOF
}

# GSSAPI (Kerberos), only when HARNESS_KRB5_KEYTAB and HARNESS_KRB5_CONFIG
# name krb5-harness.sh's keytab and krb5.conf: the default configuration is
# unchanged without them. Later settings override conf_core's and
# conf_auth's (extending their lists: $setting is the earlier value).
# The auth process gets the private krb5.conf (and a replay cache of its
# own) through import_environment, never /etc/krb5.conf; any service
# principal in the keytab is accepted ($ALL), so MailServer
# localhost and 127.0.0.1 both work. GSSAPI authenticates alice@SPOP.TEST:
# %n drops the realm so that the passwd-file user alice is found.
conf_gssapi() {
	[ -n "${HARNESS_KRB5_KEYTAB:-}" ] && [ -n "${HARNESS_KRB5_CONFIG:-}" ] || return 0
	# The auth process runs as default_internal_user and keeps its
	# replay cache here.
	install -d -m 0700 -o dovecot -g dovecot "$dir/krb5-rcache"
	cat <<EOF
import_environment = \$import_environment KRB5_CONFIG=$HARNESS_KRB5_CONFIG KRB5RCACHEDIR=$dir/krb5-rcache
auth_mechanisms = \$auth_mechanisms gssapi
auth_krb5_keytab = $HARNESS_KRB5_KEYTAB
auth_gssapi_hostname = "\$ALL"
auth_username_format = %n
EOF
}

conf_mail() {
	cat <<EOF
mail_location = maildir:$dir/mail/%u
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = dovecot
default_login_user = dovenull
EOF
}

conf_pop3() {
	cat <<EOF
pop3_uidl_format = %08Xu%08Xv
# Leaves read messages in new/ and unflagged, so read-only runs change
# nothing; DELE+QUIT still expunges.
pop3_no_flag_updates = yes
EOF
}

# $1: POP3 port; $2: implicit-TLS port, 0 for none.
conf_services() {
	cat <<EOF
service pop3-login {
	inet_listener pop3 {
		port = $1
	}
	# Built in with port 995; 0 keeps it closed without TLS.
	inet_listener pop3s {
		port = $2
		ssl = $([ -n "$tls_cert" ] && echo yes || echo no)
	}
	# One long-lived login process: connects do not wait for a fork.
	service_count = 0
}
# Auth looks for anvil's penalty socket under its fixed name and, when it is
# missing, quietly skips the per-IP penalty that otherwise holds every login
# from 127.0.0.1 (successful ones too) for 2..15 s after a failed one; the
# suites fail logins on purpose and would crawl.
service anvil {
	unix_listener anvil-auth-penalty {
		path = anvil-auth-penalty-disabled
	}
}
EOF
}

# Limits for HARNESS_MANY_USERS: every user may be logged in at once, once
# per thread of the caller (one pop3 process per session; one long-lived
# login process, which also relays TLS, holds them all). Without it,
# Dovecot's defaults apply (100 processes per service, 10 sessions per user
# and address).
conf_many() {
	local n=${HARNESS_MANY_USERS:-0} limit
	[ "$n" -gt 0 ] || return 0
	limit=$((n + 200))
	cat <<EOF
default_process_limit = $limit
default_client_limit = $((limit * 2))
default_vsz_limit = 0
mail_max_userip_connections = 1000
service pop3 {
	process_limit = $limit
}
service pop3-login {
	client_limit = $((limit * 2))
}
service anvil {
	client_limit = $((limit * 2 + 100))
}
service auth {
	client_limit = $((limit * 2 + 100))
}
EOF
}

write_config() {
	{
		conf_core
		conf_tls
		conf_auth
		conf_oauth2
		conf_mail
		conf_pop3
		conf_services "$1" "$2"
		conf_gssapi
		conf_many
	} >"$conf.tmp"
	mv "$conf.tmp" "$conf"
}

# ---- helpers --------------------------------------------------------------

set_dir() {
	[ -n "${1:-}" ] || die "missing DIR"
	dir=$(realpath -m -- "$1")
	conf=$dir/etc/dovecot.conf
	base_dir=$dir/run
	certs=${HARNESS_CERTS_DIR:-$dir/certs}
	tls_cert=${HARNESS_TLS:-}
	# Unique per DIR: Dovecot tracks instances by name in its state_dir,
	# and the name shows in process titles, which helps when debugging.
	instance=spop-harness-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
}

# The master pid of this DIR's instance, if it runs (its command line names
# our config).
running_pid() {
	pid_from "$dir/pid" "$conf" || pid_from "$base_dir/master.pid" "$conf"
}

show_log() {
	echo "---- $dir/log/dovecot.log ----" >&2
	tail -n 50 "$dir/log/dovecot.log" >&2 2>/dev/null || true
	echo "----" >&2
}

# HARNESS_MAILBOX_CACHE (optional): make-mailbox.sh's result for profile
# $1 is kept there and copied to Maildir $2 and description $3. The key is
# the profile, the variables make-mailbox.sh reads and its own text, so a
# changed script or size makes a new entry; the random bodies are then the
# same in every instance that shares the cache (the meson suites: their
# build directory's). "files" is never cached: its input is a directory's.
cached_mailbox() {
	local profile=$1 maildir=$2 desc=$3 key entry tmp
	key=$({
		cat "$here/make-mailbox.sh"
		printf '%s\n' "$profile" "${HARNESS_BIG_BYTES:-}" \
			"${HARNESS_BULK_COUNT:-}" "${HARNESS_BIGMANY_COUNT:-}" \
			"${HARNESS_BIGMANY_BYTES:-}"
	} | sha256sum | cut -c1-16)
	entry=$HARNESS_MAILBOX_CACHE/$profile-$key
	if [ ! -d "$entry" ]; then
		mkdir -p "$HARNESS_MAILBOX_CACHE"
		tmp=$(mktemp -d "$HARNESS_MAILBOX_CACHE/.making.XXXXXX")
		"$here/make-mailbox.sh" "$tmp/maildir" "$profile" "$tmp/desc"
		# Atomic: a suite that made the same entry meanwhile keeps its.
		mv -T "$tmp" "$entry" 2>/dev/null || rm -rf "$tmp"
	fi
	cp -a "$entry/maildir" "$maildir"
	cp "$entry/desc" "$desc"
}

# (Re)creates the Maildir of user $1 from scratch, including Dovecot's index
# and uidlist files, so Dovecot sees exactly the generated messages.
make_mailbox() {
	local user=$1 profile
	profile=$(user_field "$user" 3) || die "unknown user '$user'"
	rm -rf "$dir/mail/$user" "$dir/mail/.$user.tmp"
	if [ -n "${HARNESS_MAILBOX_CACHE:-}" ] && [ "$profile" != files ]; then
		cached_mailbox "$profile" "$dir/mail/.$user.tmp" "$dir/mailbox-$user.txt"
	else
		"$here/make-mailbox.sh" "$dir/mail/.$user.tmp" "$profile" "$dir/mailbox-$user.txt"
	fi
	chown -R nobody:nogroup "$dir/mail/.$user.tmp"
	# Appears complete or not at all for a session that logs in meanwhile.
	mv "$dir/mail/.$user.tmp" "$dir/mail/$user"
}

# HARNESS_MANY_USERS (see the top): users many1..manyN appended to the
# passwd-file, their Maildirs written by the shell itself (one process for
# thousands of files, where make-mailbox.sh per user would fork for each),
# each message naming its user and number so that a session that got
# another session's bytes is caught. mailbox-manyI.txt describes them as
# make-mailbox.sh's description files do.
make_many() {
	local n=${HARNESS_MANY_USERS:-0} m=${HARNESS_MANY_MESSAGES:-3}
	local i j name text lines tmpdir=$dir/mail/.many.tmp
	case $n$m in *[!0-9]*) die "HARNESS_MANY_USERS and HARNESS_MANY_MESSAGES must be numbers" ;; esac
	[ "$n" -gt 0 ] || return 0
	rm -rf "$tmpdir" "$dir"/mail/many[0-9]*
	mkdir -p "$tmpdir"
	(cd "$tmpdir" && for ((i = 1; i <= n; i++)); do
		echo "many$i/new" "many$i/cur" "many$i/tmp"
	done | xargs mkdir -p)
	for ((i = 1; i <= n; i++)); do
		printf '# Test mailbox of many%d made by dovecot-harness.sh (make_many); fields as make-mailbox.sh.\n' "$i" >"$dir/mailbox-many$i.txt"
		for ((j = 1; j <= m; j++)); do
			name="$((1700000000 + j)).M${j}P0.spop-harness"
			text="Message-ID: <many.$i.$j@example.org>
Date: Mon, 15 Jan 2024 14:00:00 +0100
From: \"Alice Example\" <alice@example.org>
To: many$i@example.org
Subject: many-$i-$j
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Message $j of $m for many$i.
.a line the server dot-stuffs
The end of message $j for many$i.
"
			printf '%s' "$text" >"$tmpdir/many$i/new/$name"
			lines=${text//[!$'\n']/}
			printf '%d\t%d\tnew/%s\t%s\n' "$j" "$((${#text} + ${#lines}))" "$name" "many-$i-$j" >>"$dir/mailbox-many$i.txt"
		done
		printf 'many%d:{PLAIN}many%d-secret::::::\n' "$i" "$i" >>"$dir/etc/users"
	done
	chown -R nobody:nogroup "$tmpdir"
	(cd "$tmpdir" && for ((i = 1; i <= n; i++)); do
		echo "many$i"
	done | xargs mv -t "$dir/mail")
	rmdir "$tmpdir"
}

# ---- commands -------------------------------------------------------------

# A checkout may sit below a 0700 directory (mktemp -d) or too deep for
# Dovecot's socket paths (base_dir is DIR/run; the longest socket below it
# is anvil-auth-penalty-disabled, and sun_path holds 108 bytes). Then the
# instance lives in a short, traversable directory under /tmp, and DIR
# becomes a symlink to it, so callers still find everything under DIR.
relocate_if_needed() {
	set_dir "$(reachable_path "$dir" spop-dovecot "nobody:nogroup dovecot:dovecot" 71)"
}

cmd_start() {
	local u port tls_port ports pid waited status main_user

	[ "$(id -u)" -eq 0 ] || die "must run as root (Dovecot's master needs it)"
	command -v dovecot >/dev/null || die "dovecot not found (dovecot-core, dovecot-pop3d)"
	relocate_if_needed
	# Socket paths under base_dir must fit in sun_path (108 bytes); the
	# longest here is base_dir/anvil-auth-penalty-disabled.
	# The path goes unquoted into dovecot.conf and passdb args.
	plain_path "$dir" "directory name"

	case $tls_cert in
	'' | good | wronghost | expired | selfsigned) ;;
	*) die "HARNESS_TLS must be good, wronghost, expired or selfsigned, not '$tls_cert'" ;;
	esac
	if [ -n "$tls_cert" ]; then
		"$here/make-certs.sh" "$certs" || die "make-certs.sh $certs failed"
		# The paths go unquoted into dovecot.conf.
		plain_path "$certs" "certificate directory"
	fi

	if running_pid >/dev/null; then
		cmd_stop
	fi
	mkdir -p "$dir/run" "$dir/state" "$dir/log" "$dir/mail" "$dir/etc"
	rm -f "$dir/port" "$dir/port-tls" "$dir/pid"
	: >"$dir/log/dovecot.log"

	# The mail user and Dovecot's internal user must reach the files.
	reachable_by nobody nogroup "$dir/mail" ||
		die "$dir/mail is not reachable by user nobody (check the modes of its parents)"
	reachable_by dovecot dovecot "$dir/etc" ||
		die "$dir/etc is not reachable by user dovecot (check the modes of its parents)"
	chown nobody:nogroup "$dir/mail"

	# passwd-file: user:password:uid:gid:gecos:home:shell; uid and gid come
	# from mail_uid/mail_gid.
	printf '%s\n' "$users" | awk -F: 'NF { print $1 ":{PLAIN}" $2 "::::::" }' >"$dir/etc/users"
	chmod 644 "$dir/etc/users"

	for u in $(printf '%s\n' "$users" | cut -d: -f1); do
		make_mailbox "$u"
	done
	# DIR/mailbox.txt names the main mailbox, the one most tests read.
	main_user=$(printf '%s\n' "$users" | awk -F: '$3 == "main" { print $1; exit }')
	[ -z "$main_user" ] || ln -sfn "mailbox-$main_user.txt" "$dir/mailbox.txt"
	make_many

	for _ in $(seq "$port_attempts"); do
		ports=$(free_port 2) || die "no free port on 127.0.0.1"
		port=$(echo "$ports" | sed -n 1p)
		tls_port=0
		[ -z "$tls_cert" ] || tls_port=$(echo "$ports" | sed -n 2p)
		write_config "$port" "$tls_port"
		: >"$dir/log/dovecot.log"
		status=0
		# Under a socket-activated unit the master would look for its
		# listeners in these. The daemon must not keep our caller's
		# stdout/stderr open: whoever reads them would wait for it.
		env -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES -u NOTIFY_SOCKET \
			dovecot -c "$conf" </dev/null >>"$dir/log/dovecot.log" 2>&1 || status=$?
		if [ $status -ne 0 ]; then
			if grep -q 'Address already in use' "$dir/log/dovecot.log"; then
				continue
			fi
			show_log
			die "dovecot -c $conf failed (exit $status)"
		fi
		waited=0
		until answers_ok "$port"; do
			if [ $waited -ge $((start_timeout * 10)) ] || ! running_pid >/dev/null; then
				show_log
				cmd_stop || true
				die "Dovecot did not greet with +OK on 127.0.0.1:$port"
			fi
			sleep 0.1
			waited=$((waited + 1))
		done
		# The master binds every listener before it forks, so the TLS
		# port is up when the plain one answers.
		if [ "$tls_port" != 0 ] && ! accepts "$tls_port"; then
			show_log
			cmd_stop || true
			die "Dovecot's implicit-TLS port 127.0.0.1:$tls_port refuses connections"
		fi
		# Dovecot logs the probes above a moment later; a test that
		# reads the log from here on must not find them there. On a
		# loaded machine that takes seconds, so wait as long as for
		# the greeting, and fail rather than hand over a log that a
		# probe's line will still land in.
		if [ "$tls_port" != 0 ]; then
			waited=0
			until grep -q "lport=$port," "$dir/log/dovecot.log" &&
				grep -q "lport=$tls_port," "$dir/log/dovecot.log"; do
				if [ $waited -ge $((start_timeout * 10)) ]; then
					show_log
					cmd_stop || true
					die "Dovecot did not log the start-up probes of ports $port and $tls_port"
				fi
				sleep 0.1
				waited=$((waited + 1))
			done
		fi
		pid=$(cat "$base_dir/master.pid")
		echo "$pid" >"$dir/pid"
		[ "$tls_port" = 0 ] || echo "$tls_port" >"$dir/port-tls"
		echo "$port" >"$dir/port"
		return 0
	done
	show_log
	die "no port worked after $port_attempts attempts"
}

# Whether the session Dovecot's master $1 leads has no live process but
# the master and its log process.
only_master_and_log() {
	ps -o stat=,comm= -s "$1" 2>/dev/null |
		awk '$1 !~ /^Z/ && $2 != "dovecot" && $2 != "log" { n++ }
			END { exit n > 0 }'
}

# stop_pid's "ready to kill" test for the master $1: only it and its log
# process are left, and the log process has had a moment to write what the
# others sent it last.
master_idle() {
	only_master_and_log "$1" && sleep 0.05
}

cmd_stop() {
	local pid waited p port="" tls_port=""

	[ -f "$conf" ] || return 0
	[ -r "$dir/port" ] && port=$(cat "$dir/port")
	[ -r "$dir/port-tls" ] && tls_port=$(cat "$dir/port-tls")
	if pid=$(running_pid); then
		# The same signal "doveadm -c $conf stop" sends, without its wait:
		# doveadm polls kill(pid, 0), which also succeeds on a zombie, and
		# the daemonized master's parent is pid 1, which may reap late
		# (doveadm stop took 2.5 s instead of 1.1 s on the test VMs).
		# The master leads its session; login and pop3 processes may
		# outlive it briefly and still hold the listening socket.
		# Every other process is gone within about 0.2 s, but the
		# master then waits a second for its log process, holding the
		# listeners, before it exits: idle time at every stop, and
		# the suites stop dozens of times. Once only those two are
		# left (master_idle), the master is killed, and the log
		# process ends with it; the log ends with the same lines as
		# after the long way.
		stop_pid "$pid" "Dovecot's master" live_or_session master_idle
	fi
	# A killed master leaves its pid file, and the next start in DIR
	# would take the zombie (which kill(pid, 0) finds until init reaps
	# it) for a running Dovecot; a clean exit removes the file too.
	rm -f "$dir/pid" "$dir/port" "$dir/port-tls" "$base_dir/master.pid"
	for p in $port $tls_port; do
		port_released "$p"
	done
	return 0
}

cmd_reset_mailbox() {
	[ -n "${1:-}" ] || die "usage: reset-mailbox DIR USER"
	[ -d "$dir/mail" ] || die "$dir was not started"
	make_mailbox "$1"
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
reset-mailbox)
	set_dir "${2:-}"
	cmd_reset_mailbox "${3:-}"
	;;
check)
	# For shell suites: exit 77 (skipped) with the reason where no
	# private Dovecot can run, as harness_dovecot_unavailable() and
	# harness_cannot_run() do; the same checks, so both kinds of suite
	# skip (or fail) alike.
	if [ "$(id -u)" -ne 0 ]; then
		cannot_run "a private Dovecot needs root (its master switches users)"
	fi
	if ! command -v dovecot >/dev/null && [ ! -x /usr/sbin/dovecot ]; then
		cannot_run "dovecot is not installed (dovecot-core, dovecot-pop3d)"
	fi
	if [ ! -x /usr/lib/dovecot/pop3 ] && [ ! -x /usr/libexec/dovecot/pop3 ]; then
		cannot_run "Dovecot's POP3 server is not installed (dovecot-pop3d)"
	fi
	;;
*)
	echo "usage: $0 check | start DIR | stop DIR | reset-mailbox DIR USER" >&2
	exit 2
	;;
esac
