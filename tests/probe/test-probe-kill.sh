#!/bin/bash
# Nothing lost when the client is killed (issue 12): spop-probe
# --retrieve all --delete all --output DIR is killed with SIGKILL at random
# points of its batch against a private Dovecot, round after round. After
# every kill:
#   - every file under a final name (N.eml) is a complete message, byte for
#     byte one of those the mailbox held (no partial file under its name);
#   - every message is stored complete or still on the server: a message
#     the server no longer has is one the probe stored before the kill
#     (DELE only after the store, and only QUIT makes it count);
#   - what else is in DIR is the library's temporary (.N.eml.XXXXXX).
#
# usage: test-probe-kill.sh SPOP_PROBE DOVECOT_HARNESS WORKDIR
# SPOP_PLUGIN_PATH must name the built plugins. SPOP_KILL_ROUNDS (default 40)
# and SPOP_KILL_SEED (default: from the clock, printed) repeat a run.
# Exit 77 (skipped) when no private Dovecot can run here, 1 if
# SPOP_REQUIRE_INTEGRATION=1 (CI).

set -u

if [ $# -ne 3 ]; then
	echo "usage: $0 SPOP_PROBE DOVECOT_HARNESS WORKDIR" >&2
	exit 2
fi
probe=$1
harness=$2
work=$3

"$harness" check || exit $?
[ -n "${SPOP_PLUGIN_PATH:-}" ] || { echo "SPOP_PLUGIN_PATH is not set" >&2; exit 1; }
for tool in ss sha256sum; do
	command -v $tool >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

rounds=${SPOP_KILL_ROUNDS:-40}
seed=${SPOP_KILL_SEED:-$(date +%s)}
echo "rounds $rounds, seed $seed (SPOP_KILL_SEED=$seed repeats the kill points)"
RANDOM=$seed

user=kill
password=kill-secret
dovecot_dir=$work/dovecot
rm -rf "$work"
mkdir -p "$work"

cleanup() {
	"$harness" stop "$dovecot_dir" || true
}
trap cleanup EXIT

# A hundred messages of about 20 KiB: long enough a batch for kills to land
# in its login, its transfers, its DELEs and its QUIT.
HARNESS_USERS="$user:$password:bulk" HARNESS_BULK_COUNT=100 \
	"$harness" start "$dovecot_dir" || { echo "Dovecot did not start" >&2; exit 1; }
port=$(cat "$dovecot_dir/port")
# The mailbox as made, before any session: every round starts from it
# (make-mailbox.sh's bulk messages are random, so a fresh one would not
# match the reference).
maildir=$dovecot_dir/mail/$user
cp -a "$maildir" "$work/maildir-made"

# restore_mailbox: the made mailbox back in place, appearing at once (as
# dovecot-harness.sh's reset-mailbox does), Dovecot's indexes gone with
# the old one.
restore_mailbox() {
	rm -rf "$maildir.new" && cp -a "$work/maildir-made" "$maildir.new" &&
		rm -rf "$maildir" && mv "$maildir.new" "$maildir"
}
login=(--server 127.0.0.1 --port "$port" --user "$user" --password "$password")

failures=0
fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

# hashes DIR: the sha256 of every N.eml in DIR, sorted.
hashes() {
	(cd "$1" && find . -maxdepth 1 -name '*.eml' -type f -print0 | xargs -0 -r sha256sum) |
		cut -d' ' -f1 | sort
}

# on_server DIR: retrieves, without deleting, what the server holds now
# into DIR; prints its hashes. The probe must succeed.
on_server() {
	mkdir -p "$1"
	if ! "$probe" "${login[@]}" --retrieve all --output "$1" >"$1.out" 2>"$1.err"; then
		fail "retrieving what is left on the server failed: $(cat "$1.err")"
		return 1
	fi
	hashes "$1"
}

# The killed session's server side must be over (its QUIT's expunge done,
# or its connection dropped) before the server's mailbox is read.
server_settled() {
	local waited=0
	while ss -Htn state connected "( sport = :$port )" | grep -qv TIME-WAIT; do
		[ $waited -lt 200 ] || { fail "a session on port $port did not end in 20 s"; return 1; }
		sleep 0.1
		waited=$((waited + 1))
	done
}

# The whole mailbox, as the probe stores it.
on_server "$work/reference" >"$work/reference.sha" || exit 1
total=$(wc -l <"$work/reference.sha")
if [ "$total" -ne 100 ] || [ "$(uniq "$work/reference.sha" | wc -l)" -ne 100 ]; then
	echo "the reference retrieval gave $total files, not 100 distinct messages" >&2
	exit 1
fi

# Three whole runs, timed: the fastest bounds the kill points (a slow
# first one would put most kills after the end). Each must store every
# message and empty the mailbox.
whole_ms=
for ((run = 1; run <= 3; run++)); do
	restore_mailbox || { echo "restoring the mailbox failed" >&2; exit 1; }
	rm -rf "$work/whole"
	mkdir -p "$work/whole"
	start=$(date +%s%N)
	"$probe" "${login[@]}" --retrieve all --delete all --output "$work/whole" \
		>"$work/whole.out" 2>"$work/whole.err" || fail "the unkilled run failed: $(cat "$work/whole.err")"
	ms=$((($(date +%s%N) - start) / 1000000))
	[ -n "$whole_ms" ] && [ "$whole_ms" -le "$ms" ] || whole_ms=$ms
	server_settled || exit 1
	cmp -s <(hashes "$work/whole") "$work/reference.sha" || fail "an unkilled run did not store every message"
	[ -z "$(on_server "$work/whole-left")" ] || fail "an unkilled run left messages on the server"
	rm -rf "$work/whole-left"
done
echo "an unkilled run takes $whole_ms ms"
span=$((whole_ms * 11 / 10 + 10))

# Kinds of outcome seen, so that a run whose kills all landed in one place
# says so (the check below needs kills before, inside and after the
# transfers).
none=0
some=0
all=0
deleted_rounds=0
temps=0
for ((round = 1; round <= rounds; round++)); do
	restore_mailbox || { fail "restoring the mailbox failed"; break; }
	out=$work/round-$round
	mkdir -p "$out"
	"$probe" "${login[@]}" --retrieve all --delete all --output "$out" \
		>"$out.out" 2>"$out.err" &
	pid=$!
	if ((round % 2)); then
		# At a random time of the run: the login, the listing, the
		# final sync and the QUIT take most of it.
		delay=$((RANDOM * 32768 + RANDOM))
		delay=$((delay % span))
		at="at $delay ms"
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	else
		# Once the k-th file is in place: the transfers and the DELEs
		# between them are over in a blink, so chase them (the glob is
		# a builtin, no fork per look).
		k=$((RANDOM % total + 1))
		at="after file $k"
		while kill -0 "$pid" 2>/dev/null; do
			files=("$out"/*.eml)
			[ -e "${files[0]}" ] && [ ${#files[@]} -ge $k ] && break
		done
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	server_settled || break

	stored=$(hashes "$out")
	left=$(on_server "$out-left") || break
	nstored=$(printf '%s' "$stored" | grep -c .)
	nleft=$(printf '%s' "$left" | grep -c .)
	# Complete files only, each one of the mailbox's messages.
	bad=$(comm -23 <(printf '%s\n' "$stored" | grep .) "$work/reference.sha")
	[ -z "$bad" ] && [ "$(printf '%s' "$stored" | grep . | uniq -d)" = "" ] ||
		fail "round $round (kill $at): a file under a final name is not a whole message of the mailbox"
	# Nothing lost: stored or still there.
	lost=$(comm -23 "$work/reference.sha" <(printf '%s\n%s\n' "$stored" "$left" | grep . | sort -u))
	[ -z "$lost" ] ||
		fail "round $round (kill $at): $(printf '%s\n' "$lost" | grep -c .) message(s) neither stored nor on the server"
	# Only the library's temporaries beside them.
	others=$(cd "$out" && find . -mindepth 1 -maxdepth 1 ! -name '*.eml' -printf '%f\n')
	if [ -n "$others" ]; then
		if printf '%s\n' "$others" | grep -qvE '^\.[0-9]+\.eml\.[A-Za-z0-9]{6}$'; then
			fail "round $round: unexpected files in the output: $others"
		fi
		temps=$((temps + 1))
	fi
	if [ "$nstored" -eq 0 ]; then
		none=$((none + 1))
	elif [ "$nstored" -lt "$total" ]; then
		some=$((some + 1))
	else
		all=$((all + 1))
	fi
	[ "$nleft" -eq "$total" ] || deleted_rounds=$((deleted_rounds + 1))
	echo "round $round: killed $at: $nstored stored, $nleft left on the server"
done

echo "kills: $none before any file, $some within the transfers, $all after the last;" \
	"$deleted_rounds with deletions committed, $temps with a temporary left"
# The kills must have landed inside the batch, not only around it: else
# the rounds checked little.
[ "$some" -gt 0 ] || fail "no kill landed within the transfers (seed $seed)"
[ "$failures" -eq 0 ] || { echo "$failures failure(s); seed $seed" >&2; exit 1; }
echo "all $rounds rounds: nothing lost"
