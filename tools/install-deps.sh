#!/usr/bin/env bash
# Installs the Debian 12 packages libspop builds and tests with, if missing.
# Needs root only when something is missing.
set -euo pipefail

packages=(meson ninja-build pkg-config gcc libglib2.0-dev libgnutls28-dev
	libgcrypt20-dev libgmime-3.0-dev libjson-glib-dev libcunit1-dev
	libssl-dev openssl gnutls-bin libnss3-tools softhsm2 libp11-kit-dev
	libtasn1-6-dev libtasn1-bin gpgsm
	libkrb5-dev krb5-kdc krb5-admin-server krb5-user dovecot-gssapi
	dovecot-core dovecot-pop3d python3 tzdata libidn-dev
	# The private HTTP proxy (tests/harness/tinyproxy-harness.sh).
	tinyproxy
	# The private Cyrus (tests/harness/cyrus-harness.sh): its .debs are
	# fetched and unpacked, never installed (cyrus-pop3d conflicts with
	# dovecot-pop3d); these are the libraries they need besides their own.
	sasl2-bin libsasl2-modules libxapian30 libical3 mount
	# The private SOCKS proxy (tests/harness/dante-harness.sh).
	dante-server
	# The real SOCKS4A proxy, ssh -D through a private Dropbear
	# (tests/harness/ssh-socks-harness.sh); dropbear-bin has only the
	# programs: no service, nothing starts on install.
	dropbear-bin openssh-client
	# The peers bench/peers.sh measures libspop against (never run as
	# tests; fetchmail's daemon is off by default: START_DAEMON=no), and
	# bc for its arithmetic.
	mpop fetchmail curl bc
	# libFuzzer and its sanitizers (tools/run-fuzz.sh, tests/fuzz).
	clang libclang-rt-14-dev
	# valgrind memcheck on the unit suites; libc6-dbg lets it see ld.so.
	valgrind libc6-dbg
	# The man pages (doc/): scdoc builds them, groff renders them in the
	# doc suite's check.
	scdoc groff-base
	# The examples test builds examples/plugin with its own Makefile.
	make
	# The API reference (-Ddocs=enabled, docs/api).
	doxygen
	# The Debian packages (debian/, tools/test-packages.sh): dh, the
	# dpkg-dev tools and lintian. Build dependencies missing from this
	# list come through apt-get build-dep; with Rules-Requires-Root: no
	# no fakeroot is needed, and no devscripts or equivs either.
	debhelper dpkg-dev lintian)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
((${#missing[@]})) || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages ${missing[*]}; run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Installing dovecot must not start the system's instance: the tests run
# their own, and a machine's services are not ours to touch.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
