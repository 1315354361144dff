#!/bin/bash
# Makes the seeds of fuzz-smime (tests/fuzz/fuzz-smime.c) with the tools
# that write S/MIME in the field: openssl cms and gpgsm. Writes into
# tests/fuzz/corpus/smime/ (or the directory given):
#   keys/rsa.pem keys/ec256.pem  the fixed recipients and signers the
#                target decrypts and verifies with ("PRIVATE KEY" + a
#                self-signed certificate, 100 years: a seed's signature
#                stays valid). Throw-away test keys, made here, never
#                used for anything else.
#   *.bin        one seed each: the first byte picks the operation (see
#                fuzz-smime.c: 0 decrypt, 1 verify opaque, 2 verify
#                detached, then 2 bytes of the detached content's length,
#                the content), the rest is the CMS DER.
# Running it again makes new keys and seeds: commit the whole output.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus/smime}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/keys"
# Old seeds go; inputs a fuzz run found (leak-*, crash-*) stay.
find "$out" -maxdepth 1 -name "*.bin" ! -name "leak-*" ! -name "crash-*" -delete
cd "$work"

selfsigned() { # name key-options...
	local name=$1
	shift
	openssl req -x509 -new -nodes -newkey "$@" -keyout "$name.key" \
		-out "$name.crt" -days 36500 -subj "/CN=spop fuzz $name" \
		-addext "subjectKeyIdentifier=hash" \
		-addext "keyUsage=digitalSignature,keyEncipherment,keyAgreement,dataEncipherment" \
		2>/dev/null
	cat "$name.key" "$name.crt" >"$out/keys/$name.pem"
}
selfsigned rsa rsa:2048
selfsigned ec256 ec -pkeyopt ec_paramgen_curve:P-256

printf 'Content-Type: text/plain\r\n\r\nfuzz seed content\r\n' >plain.txt

seed() { # name op-prefix-file der-file
	cat "$2" "$3" >"$out/$1.bin"
}
printf '\000' >op-dec
printf '\001' >op-opaque
len=$(stat -c %s plain.txt)
{ printf '\002'; printf "\\$(printf %03o $((len & 255)))\\$(printf %03o $((len >> 8)))"; cat plain.txt; } >op-det

enc() { # name cipher recipient-options...
	local name=$1 cipher=$2
	shift 2
	openssl cms -encrypt -binary -outform DER -in plain.txt -out "$name.der" \
		"$cipher" "$@"
	seed "dec-$name" op-dec "$name.der"
}
enc rsa-aes128 -aes128 rsa.crt
enc rsa-des3 -des3 rsa.crt
enc rsa-oaep-sha256 -aes256 -recip rsa.crt -keyopt rsa_padding_mode:oaep \
	-keyopt rsa_oaep_md:sha256
enc rsa-keyid -aes128 -keyid rsa.crt
enc two -aes256 ec256.crt rsa.crt
enc ec256 -aes256 ec256.crt
enc rsa-gcm -aes-256-gcm rsa.crt
enc ec256-gcm -aes-256-gcm ec256.crt

sign() { # name detached(0/1) options...
	local name=$1 det=$2
	shift 2
	if [ "$det" = 1 ]; then
		openssl cms -sign -binary -outform DER -in plain.txt \
			-out "$name.der" "$@"
		seed "det-$name" op-det "$name.der"
	else
		openssl cms -sign -binary -nodetach -outform DER -in plain.txt \
			-out "$name.der" "$@"
		seed "opaque-$name" op-opaque "$name.der"
	fi
}
sign rsa-sha256 0 -signer rsa.crt -inkey rsa.key -md sha256
sign rsa-sha256 1 -signer rsa.crt -inkey rsa.key -md sha256
sign ec256 0 -signer ec256.crt -inkey ec256.key -md sha384
sign rsa-pss 1 -signer rsa.crt -inkey rsa.key -md sha256 \
	-keyopt rsa_padding_mode:pss
sign rsa-nocerts 0 -signer rsa.crt -inkey rsa.key -nocerts -noattr

# gpgsm: to the RSA certificate, from a private home.
"$here/../gpgsm-encrypt.sh" "$work/gnupg" rsa.crt plain.txt gpgsm.der 2>/dev/null
seed dec-gpgsm op-dec gpgsm.der
ls "$out"
