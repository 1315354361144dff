#!/bin/bash
# Makes the seeds of fuzz-certstore (tests/fuzz/fuzz-certstore.c) from what
# tests/plugin/make-certstore-data.sh makes with openssl, certtool and NSS
# pk12util: PFX, PEM key files, public keys, P7B and JWK. Each seed is one
# byte picking the store (fuzz-certstore.c: low three bits, modulo 5:
# 0 PFX, 1 PEM key file, 2 PublicKey (certificates, PEM or DER), 3 P7B,
# 4 JWK; bit 3: the files' password instead of ""), then the store's
# bytes. Writes tests/fuzz/corpus/
# certstore/ (or the directory given); running it again makes new keys.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus/certstore}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$here/../plugin/make-certstore-data.sh" "$work" "S3cret pass" >/dev/null 2>&1
mkdir -p "$out"
# Old seeds go; inputs a fuzz run found (leak-*, crash-*) stay.
find "$out" -maxdepth 1 -name "*.bin" ! -name "leak-*" ! -name "crash-*" -delete
seed() { # type-byte file
	{ printf "\\$(printf %03o "$1")"; cat "$work/$2"; } >"$out/${2//./-}.bin"
}
seed 8 pfx-openssl.p12
seed 8 pfx-openssl-legacy.p12
seed 8 pfx-certtool.p12
seed 8 pfx-nss.p12
seed 0 pfx-empty-pass.p12
seed 8 pfx-nomac.p12
seed 1 pem-rsa-pkcs1.pem
seed 9 pem-rsa-pkcs8-enc.pem
seed 9 pem-rsa-legacy-enc.pem
seed 1 pem-ec-sec1.pem
seed 2 pem-certs-only.pem
seed 2 rsa.crt
seed 2 rsa.der
seed 2 certs-three.pem
seed 3 p7b-openssl.p7b
seed 3 p7b-certtool.der
seed 4 jwk-rsa.json
seed 4 jwk-set.json
seed 4 jwk-ec.json
ls "$out"
