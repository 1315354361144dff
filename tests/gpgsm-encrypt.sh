#!/bin/bash
# Encrypts a file with gpgsm to one certificate, as a GnuPG user would:
# a private home (HOME, made here) with the certificate imported and
# trusted as a root, no CRL or policy checks (a test key has no CRL), no
# dirmngr. The home's agent is stopped before returning. Used by the
# S/MIME test data (tests/plugin/make-smime-data.sh) and the fuzz seeds
# (tests/fuzz/make-seeds-smime*.sh); gpgsm's own messages go to stderr.
#
# usage: gpgsm-encrypt.sh HOME CERT.pem IN OUT.der
set -eu
[ $# -eq 4 ] || { echo "usage: $0 HOME CERT IN OUT" >&2; exit 2; }
home=$1 cert=$2 in=$3 out=$4
mkdir -p "$home"
chmod 700 "$home"
trap 'gpgconf --homedir "$home" --kill all 2>/dev/null || true' EXIT
printf 'disable-crl-checks\nno-common-certs-import\n' >"$home/gpgsm.conf"
fpr=$(openssl x509 -in "$cert" -noout -fingerprint -sha1 | sed 's/.*=//')
printf '%s S relax\n' "$fpr" >"$home/trustlist.txt"
gpgsm --homedir "$home" --batch --disable-dirmngr --import "$cert"
gpgsm --homedir "$home" --batch --disable-dirmngr --disable-crl-checks \
	--disable-policy-checks --recipient "$fpr" --encrypt \
	--output "$out" "$in"
