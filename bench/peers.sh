#!/bin/bash
# Side by side: libspop (spop-probe, and bench/peers-batch.c on the batch
# API) against mpop, curl, Python poplib and fetchmail, with a raw-socket
# ceiling and a server floor, on the same mailboxes of a private Dovecot
# (issue 11). See bench/README.md.
#
# usage: bench/peers.sh [--quick] [--runs N] [--runs-d N] [--only a,b,c,d] BUILDDIR
#
# BUILDDIR is a meson build directory of this tree with -Dtests=true; the
# script builds spop-probe, the plugins, bench/peers-raw and peers-batch
# there. Needs root (the private Dovecot), dovecot, mpop, curl, fetchmail, python3.
# Prints a table; exit 1 when a client that could run stored a wrong
# result or nothing could be measured, never because of a time.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
harness=$src/tests/harness/dovecot-harness.sh

quick=0
runs=3
runs_d=1
only=a,b,c,d
build=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--runs) runs=$2; shift ;;
	--runs-d) runs_d=$2; shift ;;
	--only) only=$2; shift ;;
	-h | --help)
		sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*) echo "peers.sh: unknown option $1" >&2; exit 2 ;;
	*) build=$1 ;;
	esac
	shift
done
if [ -z "$build" ] || [ ! -f "$build/build.ninja" ]; then
	echo "usage: $0 [--quick] [--runs N] [--runs-d N] [--only a,b,c,d] BUILDDIR (a meson build directory)" >&2
	exit 2
fi
build=$(cd "$build" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "peers.sh: needs root (the private Dovecot's master)" >&2; exit 1; }

# Workload sizes: a, c, d: BULK messages of ~20 KiB; b: BIG messages of
# BIG_BYTES each.
if [ $quick = 1 ]; then
	bulk_count=200 big_count=4 big_bytes=$((1024 * 1024))
else
	bulk_count=2000 big_count=20 big_bytes=$((5 * 1024 * 1024))
fi
delay_ms=5	# each direction: a 10 ms round trip

ninja -C "$build" tools/spop-probe/spop-probe bench/peers-raw bench/peers-batch >/dev/null ||
	{ echo "peers.sh: building spop-probe, bench/peers-raw and bench/peers-batch in $build failed" >&2; exit 1; }
ninja -C "$build" >/dev/null || { echo "peers.sh: building $build failed (plugins)" >&2; exit 1; }
probe=$build/tools/spop-probe/spop-probe
raw=$build/bench/peers-raw
batch=$build/bench/peers-batch
export SPOP_PLUGIN_PATH=$build/plugins
# The interpreter itself, not a version manager's shim script in PATH.
python=$(python3 -c 'import sys; print(sys.executable)')

work=$(mktemp -d /tmp/spop-peers.XXXXXX)
dovedir=$work/dovecot
proxy_pid=
cleanup() {
	[ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null || true
	"$harness" stop "$dovedir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/home"

# ---- the machine and the peers ----------------------------------------------
echo "# bench/peers.sh $(date -u '+%Y-%m-%d %H:%M UTC')$([ $quick = 1 ] && echo ' (--quick)')"
echo "# nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); kernel $(uname -r)"
echo "# Dovecot $(dovecot --version 2>/dev/null || echo missing);" \
	"$(mpop --version 2>/dev/null | head -1 || echo 'mpop missing');" \
	"$(curl --version 2>/dev/null | head -1 | cut -d' ' -f1-2,4 || echo 'curl missing');" \
	"fetchmail $(fetchmail --version 2>/dev/null | sed -n 's/.*release \([^+ ]*\).*/\1/p' | head -1 || echo missing);" \
	"$("$python" --version)"
echo "# spop-probe: $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?'), buildtype $(
	"$python" -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"]=="buildtype"))' \
		"$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo '?')"

# ---- Dovecot with the workloads ----------------------------------------------
t0=$EPOCHREALTIME
HARNESS_USERS="bulk:bulk-secret:bulk
bigmany:bigmany-secret:bigmany" HARNESS_TLS=good HARNESS_BULK_COUNT=$bulk_count \
	HARNESS_BIGMANY_COUNT=$big_count HARNESS_BIGMANY_BYTES=$big_bytes \
	"$harness" start "$dovedir" >/dev/null
port=$(cat "$dovedir/port")
port_tls=$(cat "$dovedir/port-tls")
ca=$dovedir/certs/ca.pem
printf '# mailboxes made and Dovecot started in %.1f s\n' "$(echo "$EPOCHREALTIME - $t0" | bc)"

# The delay proxy (workload d) in front of the plain port.
start_proxy() {	# $1: delay in ms each way; sets proxy_port
	rm -f "$work/proxy-port"
	"$python" "$here/peers.py" delay "$work/proxy-port" "$port" "$1" &
	proxy_pid=$!
	for _ in $(seq 50); do
		[ -s "$work/proxy-port" ] && break
		sleep 0.1
	done
	[ -s "$work/proxy-port" ] || { echo "peers.sh: the delay proxy did not start" >&2; exit 1; }
	proxy_port=$(cat "$work/proxy-port")
}
stop_proxy() {
	kill "$proxy_pid" 2>/dev/null || true
	wait "$proxy_pid" 2>/dev/null || true
	proxy_pid=
}

# ---- clients ------------------------------------------------------------------
# Each client_X prints its command for: $wport (port), $wtls (1: implicit
# TLS), $wuser/$wpass, $wcount, $out (a fresh, empty directory it stores
# into). store_X names how to verify what it stored.
clients="spop-probe spop-batch spop-null mpop curl poplib fetchmail ceiling floor"

cmd_spop-probe() {
	local tls=()
	[ "$wtls" = 0 ] || tls=(--tls implicit --ca-file "$ca")
	echo "$probe" --server 127.0.0.1 --port "$wport" "${tls[@]}" --user "$wuser" \
		--password "$wpass" --retrieve all --output "$out/mail"
}
# spop-batch: bench/peers-batch.c, spop_retrieve_batch() into DIR/N.eml.
cmd_spop-batch() {
	local tls=()
	[ "$wtls" = 0 ] || tls=("$ca")
	mkdir -p "$out/mail"
	echo "$batch" "$wport" "$wuser" "$wpass" "$out/mail" "${tls[@]}"
}
# spop-null: the same program into a stream that only counts the bytes:
# the library without the filesystem, to set against the floor.
cmd_spop-null() {
	local tls=()
	[ "$wtls" = 0 ] || tls=("$ca")
	echo "$batch" "$wport" "$wuser" "$wpass" - "${tls[@]}"
}
# mpop: a private config (--file), its own uidls file in $out (empty each
# run) and only_new off, so every run fetches everything; keep on.
cmd_mpop() {
	mkdir -p "$out/mail/new" "$out/mail/cur" "$out/mail/tmp"
	{
		echo "account bench"
		echo "host 127.0.0.1"
		echo "port $wport"
		echo "user $wuser"
		echo "password $wpass"
		echo "auth user"
		if [ "$wtls" = 0 ]; then
			echo "tls off"
		else
			echo "tls on"
			echo "tls_starttls off"
			echo "tls_trust_file $ca"
		fi
		echo "delivery maildir $out/mail"
		echo "uidls_file $out/uidls"
		echo "keep on"
		echo "only_new off"
		echo "received_header off"
	} >"$out/mpoprc"
	chmod 600 "$out/mpoprc"
	echo env HOME="$work/home" mpop --file="$out/mpoprc" -q -a
}
# curl: one process, one connection (curl reuses it), a URL range.
cmd_curl() {
	local scheme=pop3 tls=()
	[ "$wtls" = 0 ] || { scheme=pop3s; tls=(--cacert "$ca"); }
	mkdir -p "$out/mail"
	echo curl -sS "${tls[@]}" -u "$wuser:$wpass" "$scheme://127.0.0.1:$wport/[1-$wcount]" \
		-o "$out/mail/#1.eml"
}
cmd_poplib() {
	local tls=()
	[ "$wtls" = 0 ] || tls=("$ca")
	mkdir -p "$out/mail"
	echo "$python" "$here/peers.py" poplib "$wport" "$wuser" "$wpass" "$out/mail" "${tls[@]}"
}
# fetchmail: a private rcfile, idfile and pidfile in $out, HOME and
# FETCHMAILHOME there too; -a (all), -k (keep), --nodetach (no daemon),
# delivery to a BSMTP file (no MTA, no process per message). Plain runs
# set sslproto '' so that it does not upgrade with STLS on its own; TLS
# runs poll "localhost" because fetchmail matches the certificate's CN only.
cmd_fetchmail() {
	if [ "$wtls" = 0 ]; then
		printf 'set no syslog\npoll 127.0.0.1 protocol pop3 port %s auth password\n  user "%s" password "%s" is "bench" here\n  keep fetchall no rewrite sslproto %s\n' \
			"$wport" "$wuser" "$wpass" "''"
	else
		printf 'set no syslog\npoll localhost protocol pop3 port %s auth password\n  user "%s" password "%s" is "bench" here\n  keep fetchall no rewrite ssl sslcertck sslcertfile "%s"\n' \
			"$wport" "$wuser" "$wpass" "$ca"
	fi >"$out/fetchmailrc"
	chmod 600 "$out/fetchmailrc"
	: >"$out/mail.bsmtp"
	echo env HOME="$out" FETCHMAILHOME="$out" fetchmail -f "$out/fetchmailrc" \
		--idfile "$out/ids" --pidfile "$out/pid" -a -k --nodetach -s --bsmtp "$out/mail.bsmtp"
}
cmd_ceiling() {
	local tls=()
	[ "$wtls" = 0 ] || tls=("$ca")
	echo "$raw" ceiling "$wport" "$wuser" "$wpass" "$wcount" "${tls[@]}"
}
cmd_floor() {
	local tls=()
	[ "$wtls" = 0 ] || tls=("$ca")
	echo "$raw" floor "$wport" "$wuser" "$wpass" "$wcount" "${tls[@]}"
}

available() {	# $1: client; prints why not, returns 1, when it cannot run
	case $1 in
	mpop | curl | fetchmail)
		command -v "$1" >/dev/null || { echo "$1 not installed"; return 1; } ;;
	esac
	return 0
}

# Checks what the client of this run stored (or received); prints a short
# verdict; returns 1 when something is missing or wrong.
verify() {	# $1: client, $2: the client's output log
	local fmt path got want
	case $1 in
	spop-probe | spop-batch | curl | poplib) fmt=eml path=$out/mail ;;
	mpop) fmt=maildir path=$out/mail ;;
	fetchmail) fmt=bsmtp path=$out/mail.bsmtp ;;
	ceiling | floor | spop-null)
		# Nothing stored: every RETR reply (ceiling) and at least all
		# the LIST bytes plus a status line and ".CRLF" each (floor);
		# exactly the LIST bytes of every message (spop-null).
		got=$(sed -n 's/^bytes \([0-9]*\) replies \([0-9]*\)$/\1 \2/p' "$2")
		[ -n "$got" ] || { echo "no byte count"; return 1; }
		set -- "$1" ${got}
		want=$((wbytes + wcount * 8))
		if [ "$1" = spop-null ]; then
			if [ "$2" != "$wbytes" ] || [ "$3" != "$wcount" ]; then
				echo "$3 msgs, $2 bytes (want $wcount, $wbytes)"
				return 1
			fi
			echo "$wcount msgs, $2 bytes counted"
			return 0
		fi
		if [ "$1" = ceiling ] && [ "$3" != "$wcount" ]; then
			echo "$3 of $wcount replies"
			return 1
		fi
		[ "$2" -ge "$want" ] || { echo "$2 bytes < $want"; return 1; }
		echo "$wcount msgs, $2 bytes read"
		return 0
		;;
	esac
	"$python" "$here/peers.py" verify "$fmt" "$path" "$wdesc" "$dovedir/mail/$wuser" 2>&1 |
		sed 's/ messages, / msgs, /; s/^verify: //'
	return "${PIPESTATUS[0]}"
}

# ---- measuring ---------------------------------------------------------------
results=$work/results.txt	# workload client wall user sys rss_kib verdict
: >"$results"
failed=0

# One run of client $1 into a fresh $out; appends "wall user sys rss" to
# $work/runs-$1 or prints why it failed.
one_run() {
	local c=$1 cmd log=$work/log-$1 line verdict
	out=$work/out-$c
	rm -rf "$out"
	mkdir -p "$out"
	cmd=$("cmd_$c")
	# shellcheck disable=SC2086 # the command's words (no spaces in paths here)
	"$raw" run $cmd >"$log" 2>&1 || true
	line=$(sed -n 's/^peers-raw run: //p' "$log" | tail -1)
	set -- $line
	if [ $# -ne 5 ] || [ "$5" != 0 ]; then
		echo "FAIL: exit ${5:-?}: $(grep -v '^peers-raw run:\|Running as root' "$log" | tail -2 | tr '\n' ' ')"
		return 1
	fi
	if ! verdict=$(verify "$c" "$log"); then
		echo "FAIL: stored wrong: $verdict"
		return 1
	fi
	echo "$1 $2 $3 $4 $verdict" >>"$work/runs-$c"
	rm -rf "$out"
	return 0
}

# Runs every client $2 times on workload $1 (rounds interleaved: each round
# runs all clients once) and keeps each client's fastest run (best of N by
# wall time, with that run's CPU and RSS).
measure() {
	local w=$1 n=$2 c why best tls_ca=()
	declare -A dead=()
	for c in $clients; do
		rm -f "$work/runs-$c"
		why=$(available "$c") || { dead[$c]="NOT RUN: $why"; }
	done
	# Untimed: warms Dovecot's indexes and the page cache.
	[ "$wtls" = 0 ] || tls_ca=("$ca")
	"$raw" floor "$wport" "$wuser" "$wpass" "$wcount" "${tls_ca[@]}" >/dev/null
	for _ in $(seq "$n"); do
		for c in $clients; do
			[ -z "${dead[$c]:-}" ] || continue
			if ! why=$(one_run "$c"); then
				dead[$c]=$why
			fi
		done
	done
	for c in $clients; do
		if [ -n "${dead[$c]:-}" ]; then
			echo "$w $c - - - - ${dead[$c]}" >>"$results"
			case ${dead[$c]} in "NOT RUN"*) ;; *) failed=1 ;; esac
			continue
		fi
		best=$(sort -n -k1,1 "$work/runs-$c" | head -1)
		echo "$w $c $best" >>"$results"
	done
}

setup_workload() {	# $1: a b c d
	case $1 in
	a | c | d) wuser=bulk wpass=bulk-secret wcount=$bulk_count ;;
	b) wuser=bigmany wpass=bigmany-secret wcount=$big_count ;;
	esac
	wdesc=$dovedir/mailbox-$wuser.txt
	wbytes=$(awk -F'\t' '!/^#/ && NF { s += $2 } END { print s }' "$wdesc")
	wtls=0
	wport=$port
	case $1 in
	c) wtls=1 wport=$port_tls ;;
	d) wport=$proxy_port ;;
	esac
}

describe() {
	case $1 in
	a) echo "a: $bulk_count x ~20 KiB, plain" ;;
	b) echo "b: $big_count x $((big_bytes / 1024)) KiB, plain" ;;
	c) echo "c: $bulk_count x ~20 KiB, implicit TLS" ;;
	d) echo "d: $bulk_count x ~20 KiB, plain, ${delay_ms} ms each way (10 ms round trip) through the delay proxy" ;;
	esac
}

proxy_note=
for w in a b c d; do
	case ",$only," in *",$w,"*) ;; *) continue ;; esac
	t0=$EPOCHREALTIME
	n=$runs
	if [ $w = d ]; then
		# What the proxy itself costs: the floor and the ceiling through
		# it with no delay, against the same direct (best of 3 each).
		setup_workload a
		start_proxy 0
		for k in direct proxied; do
			for c in floor ceiling; do
				p=$port
				[ $k = direct ] || p=$proxy_port
				best=
				for _ in 1 2 3; do
					"$raw" run "$raw" "$c" "$p" "$wuser" "$wpass" "$wcount" >"$work/pc.log" 2>&1
					v=$(sed -n 's/^peers-raw run: \([0-9.]*\) .*/\1/p' "$work/pc.log")
					grep -q "replies" "$work/pc.log" || { echo "peers.sh: $c through the 0 ms proxy failed" >&2; cat "$work/pc.log" >&2; exit 1; }
					if [ -z "$best" ] || [ "$(echo "$v < $best" | bc)" = 1 ]; then best=$v; fi
				done
				eval "pc_${k}_$c=$best"
			done
		done
		stop_proxy
		proxy_note=$(printf 'delay proxy (Python asyncio) at 0 ms, workload a: floor %.3f s direct, %.3f s proxied; ceiling %.3f s direct, %.3f s proxied' \
			"$pc_direct_floor" "$pc_proxied_floor" "$pc_direct_ceiling" "$pc_proxied_ceiling")
		start_proxy "$delay_ms"
		n=$runs_d
	fi
	setup_workload $w
	echo "# $(describe $w): $wcount messages, $wbytes bytes (LIST); best of $n" >&2
	measure "$w" "$n"
	[ $w != d ] || stop_proxy
	printf '#   %s took %.0f s\n' "$w" "$(echo "$EPOCHREALTIME - $t0" | bc)" >&2
done

# ---- the table -----------------------------------------------------------------
echo
for w in a b c d; do
	grep -q "^$w " "$results" || continue
	n=$runs
	[ $w != d ] || n=$runs_d
	echo "$(describe $w); best of $n by wall time"
	awk -v w="$w" '
		$1 == w && $2 == "floor" && $3 != "-" { fl = $3 }
		$1 == w && $2 == "mpop" && $3 != "-" { mc = $4 + $5; mr = $6 }
		$1 == w { line[++n] = $0 }
		END {
			printf "  %-11s %8s %7s %7s %7s %8s %8s %8s %8s  %s\n", "client", "wall s", "user s", "sys s", "cpu s", "RSS MiB", "wall/fl", "cpu/mpop", "rss/mpop", "stored"
			for (i = 1; i <= n; i++) {
				split(line[i], f, " ")
				if (f[3] == "-") {
					v = line[i]; for (k = 0; k < 6; k++) sub(/^[^ ]+ /, "", v)
					printf "  %-11s %8s %7s %7s %7s %8s %8s %8s %8s  %s\n", f[2], "-", "-", "-", "-", "-", "-", "-", "-", v
					continue
				}
				v = line[i]; for (k = 0; k < 6; k++) sub(/^[^ ]+ /, "", v)
				cpu = f[4] + f[5]
				rfl = fl ? sprintf("%.2fx", f[3] / fl) : "-"
				rcpu = (mc > 0) ? sprintf("%.2fx", cpu / mc) : "-"
				rrss = mr ? sprintf("%.2fx", f[6] / mr) : "-"
				printf "  %-11s %8.3f %7.3f %7.3f %7.3f %8.1f %8s %8s %8s  %s\n", f[2], f[3], f[4], f[5], cpu, f[6] / 1024, rfl, rcpu, rrss, v
			}
		}' "$results"
	echo
done
[ -z "$proxy_note" ] || echo "$proxy_note"
echo "wall/fl: wall over the server floor's; cpu/mpop, rss/mpop: client CPU (user+sys of the client and every process it waited for) and peak RSS over mpop's."
echo "Targets (issue 11) for libspop: wall/fl <= 1.1x on a-c, <= 1.5x on d; cpu/mpop <= 0.33x; rss/mpop <= 1.00x."
exit $failed
