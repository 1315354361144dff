#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -Dfuzzing=true, ASan+UBSan) and runs
# each on its seed corpus (tests/fuzz/corpus/NAME). Any crash, leak,
# sanitizer report or failed check in a target fails the run; its input is
# kept under BUILDDIR/fuzz-out/NAME/ (crash-*, leak-*), to become a seed
# and a regression test.
#
# usage: tools/run-fuzz.sh [--seconds N | --runs N] [--only a,b] [--keep]
#                          [--merge] [BUILDDIR]
#   --seconds N  each target for N seconds (a long run: e.g. 3600)
#   --runs N     each target for N executions (default 20000; the test
#                command's short run on every submission uses 10000)
#   --keep       start from the corpus a previous run left in
#                BUILDDIR/fuzz-out/NAME/corpus instead of an empty one, so
#                a long campaign can be run in pieces; each piece's
#                executions are added to BUILDDIR/fuzz-out/NAME/total
#   --merge      run nothing: add to the committed seeds (tests/fuzz/corpus/
#                NAME) the inputs of BUILDDIR/fuzz-out/NAME/corpus that
#                cover what the seeds do not (libFuzzer's -merge=1), as
#                run-SHA1, so that a long campaign goes on from them in a
#                later checkout (the make-seeds scripts keep run-* files)
#   BUILDDIR     default build-fuzz
# New inputs that add coverage go to BUILDDIR/fuzz-out/NAME/corpus, never
# into the committed seeds unless --merge is asked for.
set -euo pipefail
cd "$(dirname "$0")/.."

limit=(-runs=20000)
only=
keep=
merge=
dir=build-fuzz
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) limit=(-max_total_time="$2"); shift ;;
	--runs) limit=(-runs="$2"); shift ;;
	--only) only=$2; shift ;;
	--keep) keep=1 ;;
	--merge) merge=1 ;;
	-h | --help) sed -n '2,24p' "$0"; exit 0 ;;
	*) dir=$1 ;;
	esac
	shift
done

command -v clang >/dev/null || { echo "run-fuzz: clang is missing (apt-get install clang)" >&2; exit 1; }
# Every tests/fuzz/fuzz-NAME.c is a target (meson.build must list it: the
# build of a missing one fails below).
targets=$(cd tests/fuzz && ls fuzz-*.c | sed 's/^fuzz-//; s/\.c$//')
if [ ! -f "$dir/build.ninja" ]; then
	CC=clang meson setup "$dir" -Dwerror=true -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$dir" $(for t in $targets; do printf 'tests/fuzz/fuzz-%s ' "$t"; done) >/dev/null

failed=0
for t in $targets; do
	if [ -n "$only" ] && ! [[ ",$only," == *",$t,"* ]]; then
		continue
	fi
	out=$dir/fuzz-out/$t
	if [ -n "$merge" ]; then
		seeds=tests/fuzz/corpus/$t
		work=$(mktemp -d)
		# The seeds first, so that -merge=1 adds only the kept inputs
		# that reach what they do not; those are the files libFuzzer
		# names by their SHA-1.
		cp "$seeds"/* "$work"/ 2>/dev/null || true
		if ! "$dir/tests/fuzz/fuzz-$t" -merge=1 "$work" "$out/corpus" \
			>"$out/merge.log" 2>&1; then
			echo "fuzz-$t: the merge FAILED; log in $out/merge.log" >&2
			rm -rf "$work"
			failed=1
			continue
		fi
		n=0
		for f in "$work"/*; do
			name=${f##*/}
			if [[ $name =~ ^[0-9a-f]{40}$ ]] && [ ! -e "$seeds/$name" ]; then
				cp "$f" "$seeds/run-$name"
				n=$((n + 1))
			fi
		done
		rm -rf "$work"
		echo "fuzz-$t: $n kept inputs merged into $seeds as run-*"
		continue
	fi
	if [ -z "$keep" ]; then
		rm -rf "$out"
	fi
	mkdir -p "$out/corpus"
	# halt_on_error: the first report ends the target's run, with its
	# input saved; detect_leaks: a leak is a failure too.
	if ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$dir/tests/fuzz/fuzz-$t" "${limit[@]}" -artifact_prefix="$out/" \
		-print_final_stats=1 "$out/corpus" "tests/fuzz/corpus/$t" \
		>"$out/log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log")
		cov=$(grep -o 'cov: [0-9]*' "$out/log" | tail -1)
		echo "fuzz-$t: ok, ${execs:-?} executions, ${cov:-cov: ?}"
		if [ -n "$keep" ]; then
			total=$(($(cat "$out/total" 2>/dev/null || echo 0) + ${execs:-0}))
			echo "$total" >"$out/total"
			echo "fuzz-$t: $total executions in all the kept runs"
		fi
	else
		echo "fuzz-$t: FAILED; input and log in $out" >&2
		grep -E 'ERROR|SUMMARY|runtime error|abort' "$out/log" | head -5 >&2
		failed=1
	fi
done
exit $failed
