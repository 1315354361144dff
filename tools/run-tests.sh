#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds with warnings as
# errors, and runs every suite: once plainly and once under AddressSanitizer
# and UndefinedBehaviorSanitizer. The suites start their own private Dovecot.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

run_suite() {
	local dir=$1
	shift
	rm -rf "$dir"
	meson setup "$dir" -Dwerror=true "$@" >/dev/null
	ninja -C "$dir"
	# A suite that cannot run here (not root, no Dovecot) fails instead
	# of skipping: CI passing with the integration suites skipped would
	# prove nothing.
	SPOP_REQUIRE_INTEGRATION=1 \
		meson test -C "$dir" --print-errorlogs --num-processes 2
}

run_suite build-test
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-sanitize -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug
