#!/bin/bash
# Makes the keys, certificates and encrypted CMS messages the S/MIME
# decryption suite (test-smime-decrypt.c) feeds the cms engine, with the
# tools that write such messages in the field: openssl cms and, when
# installed, gpgsm. Nothing binary is committed; every run makes fresh
# keys and messages in the directory the caller gives.
#
# usage: make-smime-data.sh DIR
#
# Keys and certificates (self-signed, with a subjectKeyIdentifier):
#   rsa.crt  pem-rsa.pem       RSA 2048: certificate; "PRIVATE KEY" + cert
#   other.crt pem-other.pem    another RSA 2048 recipient
#   ec256.crt pem-ec256.pem    EC P-256
#   ec384.crt pem-ec384.pem    EC P-384
#   plain.bin                  the content: a MIME entity with binary bytes
# Messages (openssl cms -encrypt -binary -outform DER, plain.bin):
#   rsa-aes128.der rsa-aes192.der rsa-aes256.der rsa-des3.der
#                              to rsa.crt, PKCS#1 v1.5, issuer and serial
#   rsa-oaep-sha1.der rsa-oaep-sha256.der   RSA-OAEP (rsa_oaep_md)
#   rsa-keyid.der              recipient by subject key identifier (-keyid)
#   two.der                    to other.crt, then rsa.crt
#   other-only.der             to other.crt only
#   ec256.der                  P-256, openssl's default KDF (SHA-1), AES-256
#   ec256-sha256.der           P-256, ecdh_kdf_md:sha256, AES-128
#   ec384-sha384.der           P-384, ecdh_kdf_md:sha384, AES-256
#   ec256-keyid.der            P-256 by subject key identifier
#   rsa-gcm.der ec256-gcm.der  AuthEnvelopedData, AES-256-GCM
#   gpgsm.der                  gpgsm --encrypt to rsa.crt (only when gpgsm
#                              is installed; the suite fails without it)
#   nss-rsa.der                NSS cmsutil -E to rsa.crt (libnss3-tools; its
#                              CMS code has no ECDH recipients)
#   ber-aes256-{a..f}.der      rsa-aes256.der re-encoded as BER variants:
#   ber-gcm-{a..f}.der         rsa-gcm.der likewise (ber-mix.py, beside this
#                              script: mixed definite and indefinite lengths,
#                              definite and indefinite chunks, an empty one)
#
# Exit status 1 when a tool fails (the test then fails; it never skips).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || {
	echo "usage: $0 DIR" >&2
	exit 1
}
dir=$1
mkdir -p "$dir"
cd "$dir"

selfsigned() { # name key-options... : key, certificate, PEM key store
	local name=$1
	shift
	openssl req -x509 -new -nodes -newkey "$@" -keyout "$name.key" \
		-out "$name.crt" -days 30 -subj "/CN=spop smime $name" \
		-addext "subjectKeyIdentifier=hash" \
		-addext "keyUsage=keyEncipherment,keyAgreement,dataEncipherment" \
		2>/dev/null
	cat "$name.key" "$name.crt" >"pem-$name.pem"
}

selfsigned rsa rsa:2048
selfsigned other rsa:2048
selfsigned ec256 ec -pkeyopt ec_paramgen_curve:P-256
selfsigned ec384 ec -pkeyopt ec_paramgen_curve:P-384

{
	printf 'Content-Type: application/octet-stream\r\n'
	printf 'Content-Transfer-Encoding: binary\r\n\r\n'
	head -c 1000 /dev/urandom
	printf '\r\nend\r\n'
} >plain.bin

enc() { # output cipher recipient-options...
	local out=$1 cipher=$2
	shift 2
	openssl cms -encrypt -binary -outform DER -in plain.bin -out "$out" \
		"$cipher" "$@"
}

enc rsa-aes128.der -aes128 rsa.crt
enc rsa-aes192.der -aes192 rsa.crt
enc rsa-aes256.der -aes256 rsa.crt
enc rsa-des3.der -des3 rsa.crt
enc rsa-oaep-sha1.der -aes256 -recip rsa.crt \
	-keyopt rsa_padding_mode:oaep
enc rsa-oaep-sha256.der -aes256 -recip rsa.crt \
	-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256
enc rsa-keyid.der -aes128 -keyid rsa.crt
enc two.der -aes256 other.crt rsa.crt
enc other-only.der -aes256 other.crt
enc ec256.der -aes256 ec256.crt
enc ec256-sha256.der -aes128 -recip ec256.crt -keyopt ecdh_kdf_md:sha256
enc ec384-sha384.der -aes256 -recip ec384.crt -keyopt ecdh_kdf_md:sha384
enc ec256-keyid.der -aes256 -keyid ec256.crt
enc rsa-gcm.der -aes-256-gcm rsa.crt
enc ec256-gcm.der -aes-256-gcm ec256.crt
python3 "$here/ber-mix.py" enveloped rsa-aes256.der ber-aes256
python3 "$here/ber-mix.py" enveloped rsa-gcm.der ber-gcm

# gpgsm, from a private home (tests/gpgsm-encrypt.sh).
if command -v gpgsm >/dev/null; then
	"$here/../gpgsm-encrypt.sh" "$dir/gnupg" rsa.crt plain.bin gpgsm.der \
		2>gpgsm.log
fi

# NSS: a private database holding the recipient's certificate.
mkdir -p nssdb
certutil -N -d sql:nssdb --empty-password
certutil -A -d sql:nssdb -n rsa -t ",," -i rsa.crt
cmsutil -E -d sql:nssdb -r rsa -i plain.bin -o nss-rsa.der
