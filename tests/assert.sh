# shellcheck shell=bash
# One-line assertions the shell suites share (tests/install/test-install.sh,
# tests/examples/test-examples.sh, doc/test-man.sh). Sourced, never run.
# pass/fail count; check runs one assertion and, on failure, shows the
# files named in $evidence; finish prints the counts and exits, failing
# if any check failed or none ran.

passed=0
failed=0
evidence=()

pass() {
	passed=$((passed + 1))
	echo "ok: $*"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}

# show FILE...: the evidence for a failed check.
show() {
	local f
	for f in "$@"; do
		echo "---- $f:" >&2
		head -c 4000 -- "$f" >&2 2>/dev/null
	done
	echo "----" >&2
}

# check DESCRIPTION COMMAND...: one assertion; on failure shows $evidence.
check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what"
		[ ${#evidence[@]} -eq 0 ] || show "${evidence[@]}"
	fi
}

# Ends the run (early, when later checks could only fail for the same
# reason): the counts, and the status.
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit
}

has() { # FILE TEXT: FILE has a line containing TEXT
	grep -qF -- "$2" "$1"
}
