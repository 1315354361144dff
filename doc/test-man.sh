#!/bin/bash
# Checks the man pages built from doc/*.scd (meson test man-pages):
#  - each renders with groff's man macros without a single warning (-ww);
#  - every long option spop-probe --help prints has an entry under OPTIONS
#    in spop-probe(1), and every entry there is an option --help prints, so
#    a new option without its documentation (or a stale entry) fails;
#  - the code in the pages and in the README compiles: the program after
#    "; test: compile" in libspop.3.scd and the README's "Using the
#    library" example link against libspop; the plugin after
#    "; test: plugin" in spop-plugin.7.scd builds, and with the key-file
#    after "; test: keyfile" beside it spop-probe --list-plugins loads it
#    without error and lists the setting it declares.
#
# usage: test-man.sh SOURCEDIR DOCBUILDDIR SPOP_PROBE LIBSPOP CC...

set -u

if [ $# -lt 5 ]; then
	echo "usage: $0 SOURCEDIR DOCBUILDDIR SPOP_PROBE LIBSPOP CC..." >&2
	exit 2
fi
srcdir=$1
docdir=$2
probe=$3
libspop=$4
shift 4
cc=("$@")

export LC_ALL=C.UTF-8
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
# shellcheck source=tests/assert.sh
. "$(dirname "$0")/../tests/assert.sh"

for tool in groff python3; do
	command -v "$tool" >/dev/null || {
		echo "$tool is needed (Debian: groff-base, python3)" >&2
		exit 1
	}
done

# ---- rendering ----------------------------------------------------------------

pages=(spop-probe.1 libspop.3 spop-plugin.7)
for page in "${pages[@]}"; do
	f=$docdir/$page
	if [ ! -s "$f" ]; then
		fail "$page was built"
		continue
	fi
	# -ww: every warning; -z: no output, only the diagnostics
	groff -man -Tutf8 -ww -z "$f" >"$tmp/$page.warn" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$tmp/$page.warn" ]; then
		pass "$page renders without warnings"
	else
		fail "$page renders without warnings (groff exit $rc)"
		show "$tmp/$page.warn"
	fi
	# Plain text (no bold or underline sequences) for the checks below.
	groff -man -Tutf8 -P-cbou "$f" >"$tmp/$page.txt" 2>/dev/null
	if grep -q '^NAME' "$tmp/$page.txt" && grep -q '^SEE ALSO' "$tmp/$page.txt"; then
		pass "$page has its NAME and SEE ALSO sections"
	else
		fail "$page has its NAME and SEE ALSO sections"
		show "$tmp/$page.txt"
	fi
done

# ---- spop-probe's options against spop-probe(1) ------------------------------------

if ! "$probe" --help >"$tmp/help" 2>&1; then
	fail "spop-probe --help runs"
	show "$tmp/help"
fi
# Option lines of --help: "  --name=ARG   text" or "  -h, --help   text".
sed -n 's/^  \(-[A-Za-z?], \)\{0,1\}--\([a-z][a-z0-9-]*\).*/--\2/p' "$tmp/help" |
	sort -u >"$tmp/help-options"
# Entries of the OPTIONS section: the term lines, indented 7 columns (the
# descriptions are indented further, subsection titles less).
awk '/^OPTIONS$/ { on = 1; next } /^[A-Z]/ { on = 0 }
	on && /^       -/ { print }' "$tmp/spop-probe.1.txt" 2>/dev/null |
	grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"$tmp/man-options"
n_help=$(wc -l <"$tmp/help-options")
n_man=$(wc -l <"$tmp/man-options")
# Fewer than this means the parsing above broke, not that all is well.
if [ "$n_help" -ge 30 ] && [ "$n_man" -ge 30 ]; then
	pass "found $n_help options in --help and $n_man entries in spop-probe(1)"
else
	fail "found $n_help options in --help and $n_man entries in spop-probe(1) (30 or more expected)"
	show "$tmp/help"
fi
comm -23 "$tmp/help-options" "$tmp/man-options" >"$tmp/undocumented"
comm -13 "$tmp/help-options" "$tmp/man-options" >"$tmp/stale"
if [ ! -s "$tmp/undocumented" ]; then
	pass "every option of spop-probe --help is documented in spop-probe(1)"
else
	fail "options of spop-probe --help without an entry under OPTIONS in spop-probe(1): $(tr '\n' ' ' <"$tmp/undocumented")"
fi
if [ ! -s "$tmp/stale" ]; then
	pass "every option entry of spop-probe(1) is an option of spop-probe --help"
else
	fail "entries in spop-probe(1) that spop-probe --help does not know: $(tr '\n' ' ' <"$tmp/stale")"
fi

# ---- code in the pages ----------------------------------------------------------

# extract FILE MARKER: the code block (``` ... ```) after the line
# "; test: MARKER", with scdoc's escapes undone (\X is X).
extract() {
	awk -v m="; test: $2" '
		$0 == m { want = 1; next }
		want && /^```$/ { if (inside) exit; inside = 1; next }
		inside { print }' "$1" | sed 's/\\\(.\)/\1/g'
}

# The example program links against the library as built: undefined
# symbols of the program itself fail, those inside libspop (a sanitizer
# runtime) are the library's business.
link_app() {
	"${cc[@]}" -std=gnu11 -Wall -Wextra -Werror "$@" -I"$srcdir/include" \
		-o "$tmp/app" "$tmp/app.c" "$libspop" \
		-Wl,--unresolved-symbols=ignore-in-shared-libs >"$tmp/app.log" 2>&1
}

extract "$srcdir/doc/libspop.3.scd" compile >"$tmp/app.c"
if [ ! -s "$tmp/app.c" ]; then
	fail "libspop.3.scd has a code block after '; test: compile'"
elif link_app; then
	pass "the example of libspop(3) compiles and links"
else
	fail "the example of libspop(3) compiles and links"
	show "$tmp/app.log"
fi

# The README's first C block under "## Using the library".
awk '/^## Using the library/ { on = 1; next }
	on && /^```c$/ { inside = 1; next }
	inside && /^```$/ { exit }
	inside { print }' "$srcdir/README.md" >"$tmp/app.c"
if [ ! -s "$tmp/app.c" ]; then
	fail "README.md has a C example under '## Using the library'"
elif link_app -Wno-unused-parameter; then
	pass "the README's example compiles and links"
else
	fail "the README's example compiles and links"
	show "$tmp/app.log"
fi

plugdir=$tmp/plugins
mkdir -p "$plugdir"
extract "$srcdir/doc/spop-plugin.7.scd" plugin >"$tmp/mine.c"
extract "$srcdir/doc/spop-plugin.7.scd" keyfile >"$plugdir/spop-auth-mine.plugin"
if [ ! -s "$tmp/mine.c" ] || [ ! -s "$plugdir/spop-auth-mine.plugin" ]; then
	fail "spop-plugin.7.scd has the blocks '; test: plugin' and '; test: keyfile'"
elif ! "${cc[@]}" -std=gnu11 -shared -fPIC -fvisibility=hidden -Wall -Wextra \
	-Werror -I"$srcdir/include" -o "$plugdir/spop-auth-mine.so" "$tmp/mine.c" \
	>"$tmp/mine.log" 2>&1; then
	fail "the plugin of spop-plugin(7) builds"
	show "$tmp/mine.log"
else
	pass "the plugin of spop-plugin(7) builds"
	"$probe" --list-plugins --json --config "PluginPath=$plugdir" \
		>"$tmp/plugins.json" 2>"$tmp/plugins.err"
	if python3 - "$tmp/plugins.json" "$plugdir/spop-auth-mine.so" <<'EOF'; then
import json, sys
found = [p for p in json.load(open(sys.argv[1]))["plugins"]
         if p["kind"] == "auth" and p["name"] == "mine"]
sys.exit(not (len(found) == 1 and found[0]["path"] == sys.argv[2]
              and found[0]["error"] is None))
EOF
		pass "spop-probe --list-plugins loads it with its key-file, without error"
	else
		fail "spop-probe --list-plugins loads it with its key-file, without error"
		show "$tmp/plugins.json"
		show "$tmp/plugins.err"
	fi
	"$probe" --list-plugins --config "PluginPath=$plugdir" >"$tmp/plugins.txt" 2>&1
	if grep -q 'setting MineDomain (string' "$tmp/plugins.txt"; then
		pass "spop-probe --list-plugins lists its setting MineDomain"
	else
		fail "spop-probe --list-plugins lists its setting MineDomain"
		show "$tmp/plugins.txt"
	fi
fi

finish
