#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds with warnings as
# errors, and runs every suite: once plainly and once under AddressSanitizer
# and UndefinedBehaviorSanitizer. The suites start their own private Dovecot.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build pkg-config gcc libglib2.0-dev libgnutls28-dev
	libgcrypt20-dev libgmime-3.0-dev libjson-glib-dev libcunit1-dev
	dovecot-core dovecot-pop3d python3 tzdata)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "run-tests: missing packages ${missing[*]}; run as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Installing dovecot must not start the system's instance: the tests
	# run their own, and a machine's services are not ours to touch.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

run_suite() {
	local dir=$1
	shift
	rm -rf "$dir"
	meson setup "$dir" -Dwerror=true "$@" >/dev/null
	ninja -C "$dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2
}

run_suite build-test
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-sanitize -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug
