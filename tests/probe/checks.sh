# Checks the spop-probe suites share (test-probe.sh, test-probe-proxy.sh):
# running a command with its output kept, one-line assertions, and JSON
# assertions evaluated in one python3 process per run. Sourced, never run.
# The sourcing script sets work (where outputs go) and dovecot_dir (its
# Dovecot, for mbox in JSON checks), and reads failures and checks at the
# end.

failures=0
checks=0
status=0
last=

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

pass() {
	echo "ok: $*"
}

# run_command NAME COMMAND...: the same for a command that runs the probe.
run_command() {
	local name=$1
	shift
	json_flush
	"$@" >"$work/$name.out" 2>"$work/$name.err"
	status=$?
	last=$name
}

show_last() {
	echo "---- $last: status $status; stdout:" >&2
	head -c 4000 "$work/$last.out" >&2
	echo "---- stderr:" >&2
	head -c 4000 "$work/$last.err" >&2
	echo "----" >&2
}

# check DESCRIPTION COMMAND...: one assertion about the last run. A
# "json EXPR" assertion is queued and evaluated by json_flush.
check() {
	local what=$1
	shift
	checks=$((checks + 1))
	if [ "$1" = json ]; then
		json_what+=("$what")
		json_expr+=("$2")
		return
	fi
	if "$@"; then
		pass "$last: $what"
	else
		fail "$last: $what"
		show_last
	fi
}

status_is() {
	[ "$status" -eq "$1" ]
}

# The JSON checks of the last run, queued by check: all of them are
# evaluated in one python3 process, since starting python3 once per check
# took most of this suite's time.
json_what=()
json_expr=()

# json_flush: evaluates the queued checks and passes or fails each. An
# EXPR is Python over j (the last stdout as JSON), mbox (the main mailbox
# as [(number, size, subject)]) and env (os.environ); it passes if it is
# true. A stdout that is not exactly one JSON object fails them all, and
# an EXPR that raises fails.
json_flush() {
	local i failed=0 results=()
	[ ${#json_expr[@]} -gt 0 ] || return 0
	mapfile -t results < <(python3 - "$work/$last.out" "$dovecot_dir/mailbox.txt" "${json_expr[@]}" <<'EOF'
import json, os, sys
problem = None
try:
    with open(sys.argv[1]) as f:
        j = json.load(f)
    if not isinstance(j, dict):
        problem = "not a JSON object"
except ValueError as e:
    problem = "not JSON: %s" % e
mbox = []
with open(sys.argv[2]) as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        n, size, _, subject = line.rstrip("\n").split("\t", 3)
        mbox.append((int(n), int(size), subject))
# One line per expression, in order: "ok", or why not.
for expr in sys.argv[3:]:
    if problem:
        print(problem.replace("\n", " "))
        continue
    try:
        ok = eval(expr, {"j": j, "mbox": mbox, "env": os.environ})
    except Exception as e:
        print(("raised %r" % e).replace("\n", " "))
        continue
    print("ok" if ok else "false")
EOF
	)
	for i in "${!json_expr[@]}"; do
		if [ "${results[i]:-}" = ok ]; then
			pass "$last: ${json_what[i]}"
		else
			fail "$last: ${json_what[i]} (${results[i]:-no result}: ${json_expr[i]})"
			failed=1
		fi
	done
	[ "$failed" -eq 0 ] || show_last
	json_what=()
	json_expr=()
}

stdout_has() {
	grep -qF -- "$1" "$work/$last.out"
}

stderr_has() {
	grep -qF -- "$1" "$work/$last.err"
}

stdout_lacks() {
	! grep -qF -- "$1" "$work/$last.out"
}

stderr_lacks() {
	! grep -qF -- "$1" "$work/$last.err"
}
