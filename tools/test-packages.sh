#!/usr/bin/env bash
# shellcheck disable=SC2317 # the helpers are called through check()
# CI's package check (README.md, "Packages"), as root on Debian 12: builds
# the .deb files from a copy of the tree with dpkg-buildpackage (nocheck:
# the suites ran already), runs lintian (an error or warning fails),
# installs the packages, and checks them as a user would: the installed
# spop-probe lists the plugins of the three library packages from their
# directory and reads a private Dovecot's mailbox (STLS through the
# openssl plugin's package), and examples/list-uids.c, built from
# libspop-doc's copy with pkg-config spop from libspop-dev, lists the
# mailbox as Python's poplib does. Then it purges the packages again: the
# machine is left as it was found (build dependencies it had to install
# are removed too).
#
# usage: tools/test-packages.sh          (tools/install-deps.sh first)
#        tools/test-packages.sh --build DIR   only build and lintian, the
#                               .deb files left in DIR (a new directory)
#        tools/test-packages.sh --use DIR     the rest, on DIR's packages
# The test command runs --build in the background while the suites run
# (it changes nothing on the machine) and --use at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
srcdir=$PWD
started=$SECONDS
mode=all
pkgdir=
case ${1-} in
--build | --use)
	[ $# = 2 ] || { echo "usage: $0 [--build DIR | --use DIR]" >&2; exit 2; }
	mode=${1#--}
	pkgdir=$(realpath -m "$2")
	;;
'') ;;
*) echo "usage: $0 [--build DIR | --use DIR]" >&2; exit 2 ;;
esac

die() {
	echo "test-packages: FAIL: $*" >&2
	exit 1
}
# step TEXT: says what starts, and how long the step before it took.
last=$SECONDS
step() {
	echo "test-packages: [+$((SECONDS - last)) s] $*"
	last=$SECONDS
}
trap 'die "line $LINENO: $BASH_COMMAND exited with $?"' ERR

packages=(libspop1 libspop1-plugin-openssl libspop1-plugin-gssapi
	libspop-dev libspop-doc spop-probe)
# The plugins that leave libspop1 for a package of their own (debian/rules),
# and the libraries that are the reason.
openssl_plugins="spop-smime-openssl spop-tls-openssl"
gssapi_plugins="spop-auth-gssapi"
split_libs='libssl\.so|libcrypto\.so|libgssapi_krb5\.so'

[ "$(id -u)" = 0 ] || die "run as root: it installs and purges packages"
for tool in dpkg-buildpackage dpkg-checkbuilddeps dh lintian apt-get \
	python3 cc pkg-config readelf make meson git; do
	command -v "$tool" >/dev/null ||
		die "$tool is missing; run tools/install-deps.sh first"
done
tests/harness/dovecot-harness.sh check ||
	die "no private Dovecot can run here (see above)"
for p in "${packages[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$'; then
		die "$p is installed already; this check would purge it. Remove it first."
	fi
done

version=$(meson introspect --projectinfo meson.build 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["version"])')
tools/check-version.sh "$version" "$srcdir"

tmp=$(mktemp -d /tmp/test-packages.XXXXXX)
# Where the .changes and .deb files are: dpkg-buildpackage writes them
# beside its source tree, $tmp/src.
if [ "$mode" = build ]; then
	mkdir "$pkgdir" || die "$pkgdir must be a new directory"
elif [ "$mode" = use ]; then
	[ -d "$pkgdir" ] || die "no directory $pkgdir (from --build)"
else
	pkgdir=$tmp
fi
dovecot_dir=$tmp/dovecot
installed=0
added_build_deps=()
cleanup() {
	local status=$?
	trap - ERR
	tests/harness/dovecot-harness.sh stop "$dovecot_dir" >/dev/null 2>&1 || true
	if [ "$installed" = 1 ]; then
		echo "test-packages: purging ${packages[*]}"
		apt-get purge -y -qq "${packages[@]}" >"$tmp/purge.log" 2>&1 ||
			{ cat "$tmp/purge.log" >&2; status=1; }
	fi
	if [ ${#added_build_deps[@]} -gt 0 ]; then
		echo "test-packages: purging the build dependencies it installed"
		apt-get purge -y -qq "${added_build_deps[@]}" >"$tmp/purge-deps.log" 2>&1 ||
			{ cat "$tmp/purge-deps.log" >&2; status=1; }
	fi
	rm -rf -- "$tmp"
	exit "$status"
}
trap cleanup EXIT

# Builds the packages from the tracked files into $pkgdir and runs
# lintian on them (--build and the full run).
build_and_check() {
	# ---- build dependencies ----------------------------------------------

	# install-deps.sh installs them (run-tests.sh runs it first);
	# standing alone, apt-get build-dep brings what is missing, removed
	# again at the end.
	export DEBIAN_FRONTEND=noninteractive
	if ! dpkg-checkbuilddeps -Pnocheck 2>"$tmp/builddeps"; then
		cat "$tmp/builddeps"
		step "installing the missing build dependencies"
		dpkg-query -W -f='${binary:Package}\n' | sort >"$tmp/before"
		apt-get update -qq
		apt-get build-dep -y -qq -P nocheck ./ >"$tmp/build-dep.log" 2>&1 ||
			{ cat "$tmp/build-dep.log" >&2; die "apt-get build-dep failed"; }
		dpkg-query -W -f='${binary:Package}\n' | sort >"$tmp/after"
		mapfile -t added_build_deps < <(comm -13 "$tmp/before" "$tmp/after")
	fi

	# ---- build -----------------------------------------------------------

	# The tracked files only, as a fresh clone has them: a file the build
	# needs but git does not hold fails here, not only in a release.
	mkdir -p "$tmp/src"
	git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$tmp/src"
	step "dpkg-buildpackage -us -uc -b (nocheck)"
	if ! (cd "$tmp/src" &&
		DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
			DEB_BUILD_PROFILES=nocheck \
			dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
		tail -n 60 "$tmp/build.log" >&2
		die "dpkg-buildpackage failed (the last 60 lines above)"
	fi
	[ "$mode" = all ] || mv "$tmp"/*.changes "$tmp"/*.deb "$tmp"/*.buildinfo "$pkgdir"/
	changes=$(echo "$pkgdir"/libspop_*.changes)
	[ -f "$changes" ] || die "no .changes file in $pkgdir"

	# ---- lintian ---------------------------------------------------------

	step "lintian --pedantic (an error or a warning fails)"
	if ! lintian --pedantic --display-info --fail-on error,warning "$changes" \
		>"$tmp/lintian.log" 2>&1; then
		cat "$tmp/lintian.log" >&2
		die "lintian found errors or warnings (debian/*.lintian-overrides explain the accepted ones)"
	fi
	cat "$tmp/lintian.log"
}

if [ "$mode" != use ]; then
	build_and_check
fi
if [ "$mode" = build ]; then
	step "done: $((SECONDS - started)) s; the packages are in $pkgdir"
	exit 0
fi

debs=()
for p in "${packages[@]}"; do
	f=$(echo "$pkgdir/${p}_"*.deb)
	[ -f "$f" ] || die "no package $p in $pkgdir"
	debs+=("$f")
done

# ---- the packages' contents ----------------------------------------------------

step "the packages' contents"
# shellcheck source=tests/assert.sh
. tests/assert.sh
same() { [ "$1" = "$2" ]; }
lacks() { ! grep -qE -- "$2" "$1"; } # FILE REGEX

triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
pluginsdir=/usr/lib/$triplet/spop-1/plugins
for p in "${packages[@]}"; do
	dpkg-deb -c "$pkgdir/${p}_"*.deb | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/$p.files"
	check "$p's version is $version (upstream)" \
		same "$(dpkg-deb -f "$pkgdir/${p}_"*.deb Version | sed 's/^[0-9]*://; s/-[^-]*$//')" "$version"
done
modules() { # PACKAGE: its plugin modules, by name
	sed -n "s|^$pluginsdir/\\(spop-.*\\)\\.so\$|\\1|p" "$tmp/$1.files" | sort | tr '\n' ' '
}
check "libspop1-plugin-openssl holds $openssl_plugins" \
	same "$(modules libspop1-plugin-openssl)" "$openssl_plugins "
check "libspop1-plugin-gssapi holds $gssapi_plugins" \
	same "$(modules libspop1-plugin-gssapi)" "$gssapi_plugins "
for m in $openssl_plugins $gssapi_plugins; do
	check "libspop1 does not hold $m" lacks "$tmp/libspop1.files" "/$m\\."
done
# The rule behind the split, for plugins added later: what libspop1 ships
# links neither OpenSSL nor Kerberos.
mkdir -p "$tmp/libspop1"
dpkg-deb -x "$pkgdir/libspop1_"*.deb "$tmp/libspop1"
for so in "$tmp/libspop1$pluginsdir"/*.so; do
	readelf -d "$so" >"$tmp/needed"
	evidence=("$tmp/needed")
	check "libspop1's $(basename "$so") links neither OpenSSL nor Kerberos" \
		lacks "$tmp/needed" "NEEDED.*($split_libs)"
done
evidence=()
check "libspop1 holds libspop.so.1" grep -qx "/usr/lib/$triplet/libspop.so.1" "$tmp/libspop1.files"
check "libspop-dev holds spop.pc and spop-plugin.pc" \
	grep -qx "/usr/lib/$triplet/pkgconfig/spop-plugin.pc" "$tmp/libspop-dev.files"
check "libspop-doc holds the API reference" \
	grep -qx /usr/share/doc/libspop-doc/html/index.html "$tmp/libspop-doc.files"

# ---- install -------------------------------------------------------------------

step "apt-get install ${debs[*]##*/}"
installed=1
apt-get install -y -qq --no-install-recommends "${debs[@]}" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; die "apt-get install of the packages failed"; }

# The installed tool, as a user runs it: no plugin path from the
# environment, the library from the loader's own path.
unset SPOP_PLUGIN_PATH LD_LIBRARY_PATH PKG_CONFIG_PATH
probe=/usr/bin/spop-probe
readelf -d "$probe" >"$tmp/probe-dynamic"
evidence=("$tmp/probe-dynamic")
check "spop-probe has no RUNPATH (-Drpath=false)" lacks "$tmp/probe-dynamic" 'R(UN)?PATH'
ldd "$probe" >"$tmp/probe-ldd"
# ld.so may name it /lib/... (merged /usr): the same file is what counts.
probe_lib=$(sed -n 's/^[[:space:]]*libspop\.so\.1 => \(.*\) (0x.*/\1/p' "$tmp/probe-ldd")
evidence=("$tmp/probe-ldd")
check "spop-probe loads libspop1's /usr/lib/$triplet/libspop.so.1 (found '$probe_lib')" \
	test -n "$probe_lib" -a "$probe_lib" -ef "/usr/lib/$triplet/libspop.so.1"

"$probe" --list-plugins --json >"$tmp/plugins.json" 2>"$tmp/plugins.err" ||
	die "spop-probe --list-plugins failed: $(cat "$tmp/plugins.err")"
# Every module the three packages put in pluginsdir, and nothing else, is
# listed from there, without an error.
cat "$tmp/libspop1.files" "$tmp/libspop1-plugin-openssl.files" \
	"$tmp/libspop1-plugin-gssapi.files" | grep "^$pluginsdir/.*\\.so\$" | sort >"$tmp/shipped"
python3 - "$tmp/plugins.json" >"$tmp/listed" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["plugins"]:
    print(p["path"] if p["error"] is None else p["path"] + " error: " + p["error"])
EOF
sort -o "$tmp/listed" "$tmp/listed"
evidence=("$tmp/shipped" "$tmp/listed" "$tmp/plugins.err")
check "spop-probe --list-plugins lists the $(wc -l <"$tmp/shipped") packaged plugins from $pluginsdir, without error" \
	cmp -s "$tmp/shipped" "$tmp/listed"
evidence=()

# ---- against a private Dovecot -----------------------------------------------------

step "a private Dovecot with TLS"
mkdir -p "$tmp/dovecot"
HARNESS_TLS=good HARNESS_BIG_BYTES=65536 tests/harness/dovecot-harness.sh \
	start "$dovecot_dir" >"$tmp/dovecot.log" 2>&1 ||
	{ cat "$tmp/dovecot.log" >&2; die "the private Dovecot did not start"; }
port=$(cat "$dovecot_dir/port")
count=$(grep -vc '^#' "$dovecot_dir/mailbox-alice.txt")
tests/harness/poplib-listing.py "$port" alice alice-secret >"$tmp/poplib" ||
	die "poplib could not list alice's mailbox"

step "spop-probe, list-uids and the example plugin against it"
# STLS with the harness's CA through the openssl provider: the plugin of
# its own package, found in the installed directory.
"$probe" --server 127.0.0.1 --port "$port" --user alice --password alice-secret \
	--tls explicit --tls-provider openssl --ca-file "$dovecot_dir/certs/ca.pem" \
	--list --json >"$tmp/probe.json" 2>"$tmp/probe.err" || true
python3 - "$tmp/probe.json" >"$tmp/probe.txt" 2>&1 <<'EOF' || true
import json, sys
d = json.load(open(sys.argv[1]))
print("error", d["error"])
print("tls", d["server"]["tls"]["provider"], d["server"]["tls"]["verified"])
print("count", d["mailbox"]["count"])
for m in d["messages"]:
    print(m["number"], m["size"], m["uid"])
EOF
evidence=("$tmp/probe.txt" "$tmp/probe.err" "$tmp/poplib")
check "spop-probe: no error" grep -qx "error None" "$tmp/probe.txt"
check "spop-probe: STLS through the openssl provider, certificate verified" \
	grep -qx "tls openssl True" "$tmp/probe.txt"
check "spop-probe: $count messages, as the harness made" grep -qx "count $count" "$tmp/probe.txt"
check "spop-probe: its listing equals poplib's LIST and UIDL" \
	same "$(grep -E '^[0-9]+ ' "$tmp/probe.txt")" "$(cat "$tmp/poplib")"

# An application built as a user builds one: libspop-doc's copy of the
# example, pkg-config spop from libspop-dev, the system's libspop1.
example=/usr/share/doc/libspop-doc/examples/list-uids.c
evidence=("$tmp/cc.log")
# shellcheck disable=SC2046 # pkg-config's output is a list of words
check "list-uids.c builds with -Wall -Wextra -Werror from the installed packages" \
	cc -Wall -Wextra -Werror -o "$tmp/list-uids" "$example" \
	$(pkg-config --cflags --libs spop) >"$tmp/cc.log" 2>&1
POP3_SERVER=127.0.0.1 POP3_PORT=$port POP3_USER=alice POP3_PASSWORD=alice-secret \
	"$tmp/list-uids" >"$tmp/list-uids.out" 2>"$tmp/list-uids.err" || true
evidence=("$tmp/list-uids.out" "$tmp/list-uids.err" "$tmp/poplib")
check "list-uids: its listing equals poplib's LIST and UIDL" \
	cmp -s "$tmp/list-uids.out" "$tmp/poplib"
check "list-uids: $count messages" same "$(wc -l <"$tmp/list-uids.out")" "$count"

# The third-party plugin of libspop-doc, built with its Makefile from the
# plugin SDK (pkg-config spop-plugin), logs list-uids in.
cp -r /usr/share/doc/libspop-doc/examples/plugin "$tmp/plugin"
evidence=("$tmp/make.log")
check "examples/plugin builds with its Makefile from the installed SDK" \
	make -C "$tmp/plugin" CFLAGS="-O2 -Wall -Wextra -Werror" >"$tmp/make.log" 2>&1
SPOP_PLUGIN_PATH=$tmp/plugin POP3_SERVER=127.0.0.1 POP3_PORT=$port POP3_USER=alice \
	POP3_PASSWORD=alice-secret "$tmp/list-uids" --auth example \
	>"$tmp/plugin-login.out" 2>"$tmp/plugin-login.err" || true
evidence=("$tmp/plugin-login.out" "$tmp/plugin-login.err")
check "list-uids --auth example (the plugin beside the installed ones) lists the mailbox" \
	cmp -s "$tmp/plugin-login.out" "$tmp/poplib"
evidence=()

# ---- purge -------------------------------------------------------------------

tests/harness/dovecot-harness.sh stop "$dovecot_dir" >/dev/null
step "apt-get purge ${packages[*]}"
apt-get purge -y -qq "${packages[@]}" >"$tmp/purge.log" 2>&1 ||
	{ cat "$tmp/purge.log" >&2; die "apt-get purge failed"; }
installed=0
purged() { # PACKAGE: unknown to dpkg, or not installed and no conffiles left
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
	case $status in '' | *' not-installed') true ;; *) false ;; esac
}
for p in "${packages[@]}"; do
	check "$p is purged" purged "$p"
done
check "nothing is left in /usr/lib/$triplet/spop-1 or /usr/include/spop" \
	test ! -e "/usr/lib/$triplet/spop-1" -a ! -e /usr/include/spop

step "done: $((SECONDS - started)) s in all"
finish
