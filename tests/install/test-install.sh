#!/bin/bash
# shellcheck disable=SC2317 # the helpers are called through check()
# Proves a third party can build and ship a plugin, and an application, with
# only what `meson install` puts in place: installs the build into a
# temporary DESTDIR, checks the installed files, builds oot-plugin.c and
# oot-app.c (beside this script) from the installed headers and pkg-config
# files alone, and logs in to the private Dovecot of tests/harness with them.
#
# usage: test-install.sh BUILDDIR SOURCEDIR
# Exit 77 (skipped) when no private Dovecot can run here, 1 if
# SPOP_REQUIRE_INTEGRATION=1 (CI).

set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILDDIR SOURCEDIR" >&2
	exit 2
fi
builddir=$(realpath -- "$1")
srcdir=$(realpath -- "$2")
harness=$srcdir/tests/harness/dovecot-harness.sh
work=$builddir/tests/install/work
dovecot_dir=$work/dovecot

"$harness" check || exit $?
for tool in cc pkg-config readelf nm ldd meson python3; do
	command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

# The main user of tests/harness (harness.h and dovecot-harness.sh).
user=alice
password='alice-secret'

# Plugins must come from PluginPath and the install only; a developer's
# SPOP_PLUGIN_PATH would otherwise be searched before the install.
unset SPOP_PLUGIN_PATH
# meson test points LD_LIBRARY_PATH at the build tree's libspop, which would
# win over the app's RUNPATH into the DESTDIR and test the wrong library.
unset LD_LIBRARY_PATH

tmp=$(mktemp -d)
dest=$tmp/dest

cleanup() {
	"$harness" stop "$dovecot_dir" >/dev/null || true
	rm -rf -- "$tmp"
}
trap cleanup EXIT

# shellcheck source=tests/assert.sh
. "$(dirname "$0")/../assert.sh"

lacks() {	# TEXT FILE...: no FILE contains TEXT
	local text=$1
	shift
	! grep -qF -- "$text" "$@"
}

has_line() {	# FILE LINE...: FILE has each LINE exactly
	local file=$1 line
	shift
	for line in "$@"; do
		grep -qxF -- "$line" "$file" || return 1
	done
}

# FILE PREFIX TEXT...: a line of FILE starts with PREFIX and contains every
# TEXT.
has_start() {
	local file=$1 prefix=$2 text
	shift 2
	awk -v p="$prefix" 'index($0, p) == 1 { found = 1; print }
		END { exit !found }' "$file" >"$tmp/started" || return 1
	for text in "$@"; do
		grep -qF -- "$text" "$tmp/started" || return 1
	done
}

lacks_start() {	# FILE PREFIX: no line of FILE starts with PREFIX
	! awk -v p="$2" 'index($0, p) == 1 { found = 1 } END { exit !found }' "$1"
}

under() {	# DIR PATH: PATH lies below DIR
	case $2 in "$1"/?*) true ;; *) false ;; esac
}

starts() {	# TEXT PREFIX: TEXT starts with PREFIX
	case $1 in "$2"*) true ;; *) false ;; esac
}

same() {	# A B: the strings are equal
	[ "$1" = "$2" ]
}

logged() {	# LOG COMMAND...: runs COMMAND with its output in LOG
	local log=$1
	shift
	"$@" >"$log" 2>&1
}

# ---- install -----------------------------------------------------------------

evidence=("$tmp/install.log")
check "meson install into DESTDIR" logged "$tmp/install.log" \
	meson install -C "$builddir" --destdir "$dest" --no-rebuild --quiet
[ "$failed" -eq 0 ] || finish

# Where meson put things, from the build's own options rather than a guess,
# so a changed prefix or libdir is followed, not hidden.
mapfile -t dirs < <(meson introspect "$builddir" --buildoptions | python3 -c '
import json, os, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
for d in ("libdir", "includedir", "bindir"):
    print(os.path.join(o["prefix"], o[d]))')
if [ ${#dirs[@]} -ne 3 ]; then
	fail "meson introspect --buildoptions gave no prefix, libdir, includedir, bindir"
	finish
fi
libdir=${dirs[0]}
includedir=${dirs[1]}
bindir=${dirs[2]}
inst_lib=$dest$libdir
inst_inc=$dest$includedir

# ---- installed files ---------------------------------------------------------

evidence=()
check "include/spop/spop.h installed" test -f "$inst_inc/spop/spop.h"
check "include/spop/plugin.h installed" test -f "$inst_inc/spop/plugin.h"
check "include/spop/errors.h installed" test -f "$inst_inc/spop/errors.h"
headers=$(find "$inst_inc/spop" -mindepth 1 -printf '%P\n' 2>/dev/null | sort | tr '\n' ' ')
check "only spop.h, plugin.h and errors.h under include/spop (found: $headers)" \
	same "$headers" "errors.h plugin.h spop.h "
for h in spop.h plugin.h errors.h; do
	check "installed $h is the source's include/spop/$h" \
		cmp -s "$inst_inc/spop/$h" "$srcdir/include/spop/$h"
done

lib=$inst_lib/libspop.so.1
check "libspop.so.1 installed in $libdir" test -f "$lib"
soname=$(readelf -d "$lib" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "SONAME is libspop.so.1 (found '$soname')" same "$soname" libspop.so.1
check "libspop.so (for -lspop) resolves to libspop.so.1's file" \
	test "$inst_lib/libspop.so" -ef "$lib"

# nm -D shows "name@@SPOP_1"; the version node itself appears as SPOP_1.
nm -D --defined-only "$lib" 2>"$tmp/nm.err" | awk '{ sub(/@.*/, "", $NF); print $NF }' |
	grep -vx SPOP_1 | sort >"$tmp/lib-symbols"
grep -v '^spop_' "$tmp/lib-symbols" >"$tmp/lib-foreign"
evidence=("$tmp/lib-foreign" "$tmp/nm.err")
check "every dynamic symbol of libspop starts with spop_" test ! -s "$tmp/lib-foreign"
evidence=("$tmp/lib-symbols")
# An empty list would pass the check above for the wrong reason.
check "libspop exports spop_new and spop_list_plugins" \
	has_line "$tmp/lib-symbols" spop_new spop_list_plugins

evidence=()
pcdir=$inst_lib/pkgconfig
check "spop.pc installed in $libdir/pkgconfig" test -f "$pcdir/spop.pc"
check "spop-plugin.pc installed in $libdir/pkgconfig" test -f "$pcdir/spop-plugin.pc"
check "bin/spop-probe installed" test -x "$dest$bindir/spop-probe"

# ---- pkg-config inside the DESTDIR -------------------------------------------

export PKG_CONFIG_PATH=$pcdir
# --define-prefix derives the prefix from where the .pc file lies, assuming
# PREFIX/lib/pkgconfig. Debian's multiarch libdir (lib/x86_64-linux-gnu) is
# one level deeper, so pkgconf 1.8.1 (Debian 12) yields DEST/usr/local/lib as
# the prefix and every path, pluginsdir included, points at nothing. Then
# the prefix is given explicitly: DESTDIR plus the build's prefix, which is
# what a packager staging into a DESTDIR does.
pkgconf=(pkg-config --define-prefix)
if [ ! -f "$("${pkgconf[@]}" --variable=includedir spop-plugin)/spop/plugin.h" ]; then
	prefix=$(meson introspect "$builddir" --buildoptions | python3 -c '
import json, sys
print(next(x["value"] for x in json.load(sys.stdin) if x["name"] == "prefix"))')
	echo "note: pkg-config --define-prefix gives prefix '$("${pkgconf[@]}" --variable=prefix spop-plugin)'," \
		"which holds no spop/plugin.h; using --define-variable=prefix=$dest$prefix"
	pkgconf=(pkg-config --define-variable=prefix="$dest$prefix")
fi

pluginsdir=$("${pkgconf[@]}" --variable=pluginsdir spop-plugin)
check "pluginsdir ($pluginsdir) lies in the DESTDIR's libdir" \
	under "$inst_lib" "$pluginsdir"
for p in spop-transport-direct spop-auth-user spop-auth-apop; do
	check "$p.so installed in pluginsdir" test -f "$pluginsdir/$p.so"
	# The registry chooses from key-files; without one it must load every
	# module of the kind to choose.
	check "$p.plugin (its key-file) installed beside it" \
		has "$pluginsdir/$p.plugin" "Module=$p.so"
done
for p in "$pluginsdir"/*.so; do
	[ -f "$p" ] || continue
	nm -D --defined-only "$p" | awk '{ print $NF }' >"$tmp/plugin-symbols"
	evidence=("$tmp/plugin-symbols")
	check "$(basename "$p") exports only spop_plugin_entry" \
		same "$(cat "$tmp/plugin-symbols")" spop_plugin_entry
	readelf -d "$p" >"$tmp/plugin-dynamic"
	evidence=("$tmp/plugin-dynamic")
	check "$(basename "$p") does not link libspop" lacks libspop "$tmp/plugin-dynamic"
done

# Files rebuilt for installation must not look into the build tree.
for f in "$lib" "$pluginsdir"/*.so "$dest$bindir/spop-probe"; do
	[ -f "$f" ] || continue
	readelf -d "$f" | grep -E 'R(UN)?PATH' >"$tmp/rpath"
	evidence=("$tmp/rpath")
	check "$(basename "$f") has no RPATH/RUNPATH into the build tree" \
		lacks "$builddir" "$tmp/rpath"
done

# The installed tool finds the installed library by itself. With -Drpath=true
# (the default) its RUNPATH is libdir relative to bindir ($ORIGIN/..), so
# it runs from the DESTDIR, a prefix it was not configured for, with no
# LD_LIBRARY_PATH (unset above); ldd must resolve libspop.so.1 to the
# DESTDIR's copy, not to one the system may have (a libspop1 package).
# With -Drpath=false (distribution packages) it must carry no RUNPATH.
probe=$dest$bindir/spop-probe
rpath=$(meson introspect "$builddir" --buildoptions | python3 -c '
import json, sys
print(next(str(x["value"]).lower() for x in json.load(sys.stdin) if x["name"] == "rpath"))')
readelf -d "$probe" >"$tmp/probe-dynamic" 2>&1
probe_runpath=$(sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p' "$tmp/probe-dynamic")
evidence=("$tmp/probe-dynamic")
if [ "$rpath" = true ]; then
	# shellcheck disable=SC2016 # a literal $ORIGIN
	check "installed spop-probe's RUNPATH is relative to it (\$ORIGIN/..., found '$probe_runpath')" \
		starts "$probe_runpath" '$ORIGIN/'
	ldd "$probe" >"$tmp/probe-ldd" 2>&1
	probe_lib=$(sed -n 's/^[[:space:]]*libspop\.so\.1 => \(.*\) (0x.*/\1/p' "$tmp/probe-ldd")
	evidence=("$tmp/probe-ldd")
	check "installed spop-probe loads libspop.so.1 from the DESTDIR, without LD_LIBRARY_PATH (found '$probe_lib')" \
		test -n "$probe_lib" -a "$probe_lib" -ef "$lib"
	evidence=("$tmp/probe.log")
	check "installed spop-probe --list-plugins runs without LD_LIBRARY_PATH" \
		logged "$tmp/probe.log" env SPOP_PLUGIN_PATH="$pluginsdir" "$probe" --list-plugins
	check "installed spop-probe lists transport direct" has "$tmp/probe.log" direct
else
	check "installed spop-probe has no RUNPATH with -Drpath=false (found '$probe_runpath')" \
		same "$probe_runpath" ""
fi
evidence=()

# ---- an out-of-tree plugin from the installed SDK ----------------------------

# Copies, so that nothing in the compile can reach the source tree.
mkdir -p "$tmp/src" "$tmp/oot" "$tmp/bad-abi" "$tmp/app"
cp -- "$srcdir/tests/install/oot-plugin.c" "$srcdir/tests/install/oot-app.c" "$tmp/src/"
plugin_cflags=$("${pkgconf[@]}" --cflags spop-plugin)
warn=(-Wall -Wextra -Werror)

oot=$tmp/oot/spop-auth-oot.so
evidence=("$tmp/oot.log")
# shellcheck disable=SC2086 # pkg-config output is a list of words
check "oot plugin builds with -Wall -Wextra -Werror from the SDK alone" \
	logged "$tmp/oot.log" cc -shared -fPIC -fvisibility=hidden "${warn[@]}" \
	-o "$oot" "$tmp/src/oot-plugin.c" $plugin_cflags
nm -D --defined-only "$oot" 2>&1 | awk '{ print $NF }' |
	grep -vxE '_init|_fini|_edata|_end|__bss_start' >"$tmp/oot-symbols"
evidence=("$tmp/oot-symbols")
# The linker may add its own markers above; the plugin's own is one symbol.
check "oot plugin exports exactly one symbol, spop_plugin_entry" \
	same "$(cat "$tmp/oot-symbols")" spop_plugin_entry
nm -D --undefined-only "$oot" 2>&1 | grep spop_ >"$tmp/oot-undefined"
evidence=("$tmp/oot-undefined")
check "oot plugin needs no libspop symbol" test ! -s "$tmp/oot-undefined"

bad=$tmp/bad-abi/spop-auth-oot.so
evidence=("$tmp/bad.log")
# shellcheck disable=SC2086
check "oot plugin builds with -DOOT_BAD_ABI" \
	logged "$tmp/bad.log" cc -shared -fPIC -fvisibility=hidden "${warn[@]}" \
	-DOOT_BAD_ABI -o "$bad" "$tmp/src/oot-plugin.c" $plugin_cflags

# Plugins report errors by name, yet must not see the application's API.
cat >"$tmp/src/codes.c" <<'EOF'
#include <spop/plugin.h>
#ifdef SPOP_SPOP_H
#error plugin.h includes the public API
#endif
int oot_code(void);
int oot_code(void) { return SPOP_ERR_PROTOCOL; }
EOF
evidence=("$tmp/codes.log")
# shellcheck disable=SC2086
check "plugin.h alone gives the SPOP_ERR_* names, not spop.h" \
	logged "$tmp/codes.log" cc -c -fPIC "${warn[@]}" \
	-o "$tmp/codes.o" "$tmp/src/codes.c" $plugin_cflags

# ---- an application against the installed library ----------------------------

app=$tmp/app/oot-app
app_flags=()
# A sanitized libspop needs the ASan runtime first in the load order, which
# only an instrumented executable (or LD_PRELOAD) gives.
if readelf -d "$lib" | grep -q 'NEEDED.*libasan'; then
	echo "note: libspop is built with AddressSanitizer; so is the app"
	# shellcheck disable=SC2054 # one option with a comma-separated value
	app_flags=(-fsanitize=address,undefined)
fi
evidence=("$tmp/app.log")
# shellcheck disable=SC2046,SC2086
check "app builds with -Wall -Wextra -Werror against the installed libspop" \
	logged "$tmp/app.log" cc "${warn[@]}" "${app_flags[@]}" -o "$app" \
	"$tmp/src/oot-app.c" $("${pkgconf[@]}" --cflags --libs spop) \
	-Wl,-rpath,"$inst_lib"
[ -x "$app" ] || finish
ldd "$app" >"$tmp/ldd" 2>&1
evidence=("$tmp/ldd")
check "app loads libspop.so.1 from the DESTDIR" has "$tmp/ldd" "libspop.so.1 => $lib"

# ---- against the private Dovecot ---------------------------------------------

mkdir -p "$work"
if ! "$harness" start "$dovecot_dir"; then
	fail "private Dovecot started"
	finish
fi
port=$(cat "$dovecot_dir/port")
messages=$(grep -vc '^#' "$dovecot_dir/mailbox-$user.txt")

# run NAME PLUGIN_PATH [PASSWORD]: runs the app; output in $tmp/NAME.out and
# .err, exit status in $status.
run() {
	"$app" 127.0.0.1 "$port" "$user" "${3:-$password}" "$2" \
		>"$tmp/$1.out" 2>"$tmp/$1.err"
	status=$?
	evidence=("$tmp/$1.out" "$tmp/$1.err")
}

run good "$pluginsdir:$tmp/oot"
out=$tmp/good.out
check "app: exit 0" test "$status" -eq 0
check "app: lists auth oot from its directory, without error" \
	has_line "$out" "plugin auth oot $oot ok"
check "app: lists transport direct from pluginsdir, without error" \
	has_line "$out" "plugin transport direct $pluginsdir/spop-transport-direct.so ok"
for p in "$pluginsdir"/spop-*.so; do
	[ -f "$p" ] || continue
	check "app: installed $(basename "$p") loads" has_start "$out" "plugin " " $p ok"
done
check "app: count $messages, as in mailbox-$user.txt" has_line "$out" "count $messages"
check "app: the oot plugin ran the login" has_line "$out" "trail 2 oot plugin: USER/PASS login"
check "app: trail shows USER $user" has_line "$out" "trail 0 USER $user"
check "app: trail shows PASS ********" has_line "$out" "trail 0 PASS ********"
check "app: password never shown" lacks "$password" "$tmp/good.out" "$tmp/good.err"
check "app: no error line" lacks_start "$out" "error "
# Third-party plugins go to pluginsdir; the library must search it.
builtin_dir=$(sed -n 's/^buildinfo .*plugins in \(.*\); GLib.*/\1/p' "$out")
check "pkg-config pluginsdir is the library's compiled-in directory ($builtin_dir)" \
	same "$dest$builtin_dir" "$pluginsdir"

run wrong "$pluginsdir:$tmp/oot" wrong-secret
check "wrong password: exit 1" test "$status" -eq 1
check "wrong password: error 171" has_start "$tmp/wrong.out" "error 171: "
check "wrong password: never shown" lacks wrong-secret "$tmp/wrong.out" "$tmp/wrong.err"

major=$(sed -n 's/^#define SPOP_PLUGIN_ABI_MAJOR \([0-9]*\).*/\1/p' "$inst_inc/spop/plugin.h")
minor=$(sed -n 's/^#define SPOP_PLUGIN_ABI_MINOR \([0-9]*\).*/\1/p' "$inst_inc/spop/plugin.h")
ours=$major.$minor
theirs=$((major + 1)).$minor
run bad-abi "$pluginsdir:$tmp/bad-abi"
out=$tmp/bad-abi.out
check "ABI $theirs plugin: exit 1" test "$status" -eq 1
check "ABI $theirs plugin: listed with an error" has "$out" "plugin auth oot $bad error: "
check "ABI $theirs plugin: connect fails with 1202" has_start "$out" "error 1202: "
check "ABI $theirs plugin: the error names ABI $theirs and $ours" \
	has_start "$out" "error 1202: " "ABI $theirs" "ABI $ours"
check "ABI $theirs plugin: no login attempted" lacks_start "$out" "trail 0 USER"
check "ABI $theirs plugin: no count" lacks_start "$out" "count "

finish
