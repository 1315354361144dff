#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds with warnings as
# errors (the API reference too, where an undocumented public symbol is an
# error), and runs every suite: once plainly and once under AddressSanitizer
# and UndefinedBehaviorSanitizer; then the threads suite once more under
# ThreadSanitizer and the unit suites under valgrind, while every fuzz
# target runs briefly over its seeds beside them; and last the Debian
# packages (built, checked by lintian, installed, used, purged). The
# suites start their own private Dovecot.
set -euo pipefail
cd "$(dirname "$0")/.."

# The suites use the Debian tools install-deps.sh installs (python3,
# openssl, certtool, Dovecot). A version manager's shims ahead of them on
# PATH would pick other builds; pyenv's python3 shim (a bash script that
# forks some forty processes) took about a second a start on this machine
# with both cores busy, and the probe suite 190 s instead of 60.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

# Each step's start, in seconds since this script's: where CI's time goes
# is read from its log.
step() {
	echo "run-tests: +${SECONDS}s: $*"
}

step "installing dependencies"
tools/install-deps.sh

# Two steps with builds of their own that change nothing on the machine
# run in the background at nice 19 from the start, on the core the
# suites leave idle (the integration suites run one at a time, each on
# about one core): the fuzz targets' short runs and the Debian package
# build. Each is waited for where it used to run, and its
# output printed then. setsid gives each a process group of its own, for
# the trap to stop it whole if the run ends early.
#
# setsid also gives each a session, and with the kernel's autogroups
# (sched_autogroup_enabled, on in Debian's kernels) a session's processes
# share one scheduling group that competes with the others as an equal:
# a nice value then ranks processes only within their own session, and
# the two "nice 19" steps took two thirds of the CPU from the plain
# build (158 s in a CI run, 42 s on a quiet machine). So each step also
# lowers its session's group to nice 19 (/proc/self/autogroup; a missing
# file, autogroups off, leaves plain nice to do it).
declare -A bg_pid bg_log
bg_start() { # NAME COMMAND...
	bg_log[$1]=$(mktemp /tmp/run-tests-"$1".XXXXXX)
	# shellcheck disable=SC2016 # $@ is the inner shell's
	setsid sh -c '{ echo 19 >/proc/self/autogroup; } 2>/dev/null
		exec nice -n 19 "$@"' bg-"$1" "${@:2}" >"${bg_log[$1]}" 2>&1 &
	bg_pid[$1]=$!
}
bg_wait() { # NAME
	local status=0
	wait "${bg_pid[$1]}" || status=$?
	cat "${bg_log[$1]}"
	rm -f "${bg_log[$1]}"
	unset "bg_pid[$1]"
	if [ "$status" != 0 ]; then
		echo "run-tests: $1 failed (exit $status, above)" >&2
		exit 1
	fi
}
bg_stop() {
	local name
	for name in "${!bg_pid[@]}"; do
		kill -- -"${bg_pid[$name]}" 2>/dev/null || true
		rm -f "${bg_log[$name]}"
	done
	rm -rf "$pkg_dir"
}
pkg_dir=$PWD/build-deb
trap bg_stop EXIT

# Every libFuzzer target (tests/fuzz) for a short run over its seeds, under
# ASan and UBSan with clang: a crash, leak, GLib critical or failed check
# fails CI. Long runs: tools/run-fuzz.sh --seconds N.
rm -rf build-fuzz
bg_start fuzz tools/run-fuzz.sh --runs 10000 build-fuzz
# The Debian packages (README.md, "Packages"): dpkg-buildpackage from the
# tracked files (nocheck: the suites run here) and lintian.
rm -rf "$pkg_dir"
bg_start packages tools/test-packages.sh --build "$pkg_dir"

run_suite() {
	local dir=$1
	shift
	rm -rf "$dir"
	step "building $dir"
	meson setup "$dir" -Dwerror=true "$@" >/dev/null
	ninja -C "$dir"
	step "testing $dir"
	# A suite that cannot run here (not root, no Dovecot) fails instead
	# of skipping: CI passing with the integration suites skipped would
	# prove nothing. Four slots on two cores: the two hostile suites,
	# which mostly wait (tests/integration/meson.build), take two of them
	# beside the CPU-bound unit suites; the other integration suites run
	# one at a time whatever the number.
	SPOP_REQUIRE_INTEGRATION=1 \
		meson test -C "$dir" --print-errorlogs --num-processes 4
}

# -Dman=enabled: without scdoc the man pages and their check would be
# skipped quietly; here a missing scdoc fails the build. -Ddocs=enabled:
# Doxygen builds the API reference from include/spop and fails on any
# undocumented public symbol (a few seconds).
run_suite build-test -Dman=enabled -Ddocs=enabled

# Valgrind memcheck on the unit suites of tests/unit (the plain build):
# invalid reads or writes and definite leaks fail it. The plugin suites,
# whose engines do thousands of RSA operations, stay with ASan.
units=$(meson test -C build-test --list 2>/dev/null |
	sed -n 's|^libspop:unit / \(unit-.*\)$|\1|p')
[ -n "$units" ] || { echo "run-tests: no unit suites found for valgrind" >&2; exit 1; }
step "the unit suites under valgrind"
# shellcheck disable=SC2086 # one suite name per word
meson test -C build-test --no-rebuild --print-errorlogs --num-processes 2 \
	--timeout-multiplier 6 --wrap "valgrind --error-exitcode=99 -q \
	--leak-check=full --errors-for-leak-kinds=definite \
	--suppressions=/usr/share/glib-2.0/valgrind/glib.supp \
	--suppressions=$PWD/tests/valgrind.supp" $units
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-sanitize -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug

# ThreadSanitizer: only the threads suite (independent objects on 8
# threads), and only what it needs is built: the library, the plugins it
# loads, the harness and the suite (about 8 s to build and 20 s to run
# on 2 idle cores without ccache; 70 s in all on a shared machine). Any
# report fails it (exit status 66). G_SLICE=always-malloc: GLib 2.74's
# slice allocator hands blocks between threads through
# magazines ThreadSanitizer cannot follow. GLib's GMutex and GCond are
# futexes it cannot see either, which is why the library's own locks are
# pthread mutexes, and GMime's one-time setup is under pthread_once.
# tests/integration/tsan.supp is where a report inside GLib or GMime
# would be suppressed, each entry with its reason; it has none today.
tsan_dir=build-tsan
tsan_targets=(tests/integration/test-threads)
for plugin in transport-direct auth-user auth-cram-md5 auth-scram-sha-256 \
	tls-gnutls tls-openssl; do
	tsan_targets+=("plugins/spop-$plugin.so" "plugins/spop-$plugin.plugin")
done
rm -rf "$tsan_dir"
step "building $tsan_dir and testing it"
meson setup "$tsan_dir" -Dwerror=true -Db_sanitize=thread -Db_lundef=false \
	-Dbuildtype=debug >/dev/null
ninja -C "$tsan_dir" "${tsan_targets[@]}"
TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/integration/tsan.supp" \
G_SLICE=always-malloc \
SPOP_REQUIRE_INTEGRATION=1 \
	meson test -C "$tsan_dir" --no-rebuild --print-errorlogs \
	integration-threads

step "waiting for the fuzz targets' short runs"
bg_wait fuzz

# The packages built above, installed and used against a private Dovecot,
# and purged.
step "waiting for the Debian packages"
bg_wait packages
step "using the Debian packages"
tools/test-packages.sh --use "$pkg_dir"
step "done"
