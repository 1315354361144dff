#!/bin/bash
# Makes the keys, certificates, PEM key files and PKCS#12 files the cert-store
# suite (test-certstore.c) opens, with the real tools that write them in the
# field: openssl, GnuTLS certtool and NSS pk12util. Nothing binary is
# committed; every run makes fresh keys in the directory the caller gives.
#
# usage: make-certstore-data.sh DIR PASSWORD
#
# Files (PEM unless .der/.p12/.bin):
#   ca.key ca.crt                 RSA 2048 test CA, self-signed
#   rsa.key rsa.crt               RSA 2048 key, certificate signed by the CA
#   ec.key ec.crt                 EC P-256 key, self-signed certificate
#   other.crt                     an unrelated self-signed certificate
#   *.der                         each certificate as openssl x509 -outform DER
#   rsa.pub.pem ec.pub.pem        the public keys (openssl pkey -pubout)
#   pem-rsa-pkcs1.pem             "RSA PRIVATE KEY", then rsa.crt, ca.crt
#   pem-rsa-pkcs8.pem             "PRIVATE KEY", then rsa.crt
#   pem-rsa-pkcs8-enc.pem         ca.crt, "ENCRYPTED PRIVATE KEY" (-v2 aes256),
#                                 rsa.crt: the key between two certificates
#   pem-rsa-legacy-enc.pem        "RSA PRIVATE KEY" with Proc-Type/DEK-Info
#                                 (openssl -traditional -aes256), rsa.crt
#   pem-ec-sec1.pem               "EC PRIVATE KEY", then ec.crt
#   pem-ec-pkcs8.pem              "PRIVATE KEY" (EC), then ec.crt, other.crt
#   pem-key-only.pem              "PRIVATE KEY" without any certificate
#   pem-certs-only.pem            rsa.crt and ca.crt, no key
#   pfx-openssl.p12               openssl pkcs12 -export (AES-256/PBKDF2),
#                                 rsa key, rsa.crt, ca.crt as the chain
#   pfx-openssl-legacy.p12        the same with -legacy (RC2-40 and 3DES)
#   pfx-openssl-ec.p12            ec key and ec.crt, openssl defaults
#   pfx-certtool.p12              certtool --to-p12 --outder: rsa key, rsa.crt
#                                 and ca.crt
#   pfx-certtool-pem.p12          the same in certtool's default PEM armour
#   pfx-nss.p12                   pfx-openssl.p12 imported into an NSS database
#                                 and exported again with pk12util -o
#   pfx-empty-pass.p12            openssl, empty password
#   pfx-nomac.p12                 openssl -nomac (no integrity MAC)
#   pfx-unencrypted.p12           openssl -keypbe NONE -certpbe NONE: a plain
#                                 key bag, only the MAC uses the password
#   pfx-certs-only.p12            openssl -nokeys: certificates, no key
#   plain.bin                     a message for the decryption tests
#   enc-pkcs1.bin enc-oaep-sha1.bin enc-oaep-sha256.bin
#                                 plain.bin encrypted to rsa.crt's key with
#                                 openssl pkeyutl (PKCS#1 v1.5, OAEP SHA-1,
#                                 OAEP SHA-256)
#   garbage.bin                   random bytes, no store format at all

set -eu

die() {
	echo "make-certstore-data: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: make-certstore-data.sh DIR PASSWORD"
dir=$1
pass=$2
for tool in openssl certtool certutil pk12util; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
mkdir -p "$dir"
cd "$dir"

subj() { echo "/O=libspop tests/CN=$1"; }

# ---- keys and certificates -------------------------------------------------
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ca.key
openssl req -new -x509 -key ca.key -subj "$(subj 'Cert-store test CA')" \
	-days 30 -sha256 -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign -out ca.crt

openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
openssl req -new -key rsa.key -subj "$(subj 'RSA client')" -out rsa.csr
cat >rsa.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth,emailProtection
EOF
openssl x509 -req -in rsa.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
	-days 30 -sha256 -extfile rsa.ext -out rsa.crt 2>/dev/null

openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out ec.key
openssl req -new -x509 -key ec.key -subj "$(subj 'EC client')" -days 30 \
	-sha256 -out ec.crt

openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out other.key
openssl req -new -x509 -key other.key -subj "$(subj 'Unrelated')" -days 30 \
	-sha256 -out other.crt

for c in ca rsa ec other; do
	openssl x509 -in $c.crt -outform DER -out $c.der
done
openssl pkey -in rsa.key -pubout -out rsa.pub.pem
openssl pkey -in ec.key -pubout -out ec.pub.pem

# ---- PEM key files ---------------------------------------------------------
openssl pkey -in rsa.key -traditional -out rsa-pkcs1.key
grep -q 'BEGIN RSA PRIVATE KEY' rsa-pkcs1.key || die "no PKCS#1 key written"
cat rsa-pkcs1.key rsa.crt ca.crt >pem-rsa-pkcs1.pem

openssl pkcs8 -topk8 -nocrypt -in rsa.key -out rsa-pkcs8.key
cat rsa-pkcs8.key rsa.crt >pem-rsa-pkcs8.pem

openssl pkcs8 -topk8 -v2 aes256 -in rsa.key -passout "pass:$pass" \
	-out rsa-pkcs8-enc.key
grep -q 'BEGIN ENCRYPTED PRIVATE KEY' rsa-pkcs8-enc.key ||
	die "no encrypted PKCS#8 key written"
cat ca.crt rsa-pkcs8-enc.key rsa.crt >pem-rsa-pkcs8-enc.pem

openssl rsa -in rsa.key -traditional -aes256 -passout "pass:$pass" \
	-out rsa-legacy-enc.key 2>/dev/null
grep -q 'Proc-Type: 4,ENCRYPTED' rsa-legacy-enc.key ||
	die "no legacy encrypted key written"
cat rsa-legacy-enc.key rsa.crt >pem-rsa-legacy-enc.pem

openssl ec -in ec.key -out ec-sec1.key 2>/dev/null
grep -q 'BEGIN EC PRIVATE KEY' ec-sec1.key || die "no SEC1 key written"
cat ec-sec1.key ec.crt >pem-ec-sec1.pem

openssl pkcs8 -topk8 -nocrypt -in ec.key -out ec-pkcs8.key
cat ec-pkcs8.key ec.crt other.crt >pem-ec-pkcs8.pem

cp rsa-pkcs8.key pem-key-only.pem
cat rsa.crt ca.crt >pem-certs-only.pem

# ---- PKCS#12 ---------------------------------------------------------------
openssl pkcs12 -export -inkey rsa.key -in rsa.crt -certfile ca.crt \
	-name 'RSA client' -passout "pass:$pass" -out pfx-openssl.p12
openssl pkcs12 -export -legacy -inkey rsa.key -in rsa.crt -certfile ca.crt \
	-name 'RSA client' -passout "pass:$pass" -out pfx-openssl-legacy.p12
openssl pkcs12 -export -inkey ec.key -in ec.crt -name 'EC client' \
	-passout "pass:$pass" -out pfx-openssl-ec.p12
openssl pkcs12 -export -inkey rsa.key -in rsa.crt -certfile ca.crt \
	-passout pass: -out pfx-empty-pass.p12
openssl pkcs12 -export -nomac -inkey rsa.key -in rsa.crt -certfile ca.crt \
	-passout "pass:$pass" -out pfx-nomac.p12
openssl pkcs12 -export -keypbe NONE -certpbe NONE -inkey rsa.key -in rsa.crt \
	-certfile ca.crt -passout "pass:$pass" -out pfx-unencrypted.p12
openssl pkcs12 -export -nokeys -in rsa.crt -certfile ca.crt \
	-passout "pass:$pass" -out pfx-certs-only.p12

# certtool takes the chain as a certificate list: leaf first, then the CA.
cat rsa.crt ca.crt >rsa-chain.crt
certtool --load-privkey rsa.key --load-certificate rsa-chain.crt --to-p12 \
	--password "$pass" --p12-name 'RSA client' --outder \
	--outfile pfx-certtool.p12 >/dev/null 2>&1
certtool --load-privkey rsa.key --load-certificate rsa-chain.crt --to-p12 \
	--password "$pass" --p12-name 'RSA client' \
	--outfile pfx-certtool-pem.p12 >/dev/null 2>&1
grep -q 'BEGIN PKCS12' pfx-certtool-pem.p12 || die "no PEM PKCS#12 written"

# NSS: a private database, the PKCS#12 imported and exported by nickname.
rm -rf nssdb
mkdir nssdb
certutil -N -d sql:nssdb --empty-password
pk12util -i pfx-openssl.p12 -d sql:nssdb -W "$pass" >/dev/null
pk12util -o pfx-nss.p12 -n 'RSA client' -d sql:nssdb -W "$pass" >/dev/null

# ---- decryption vectors ----------------------------------------------------
printf 'libspop cert-store decryption test: the session key goes here.\n' \
	>plain.bin
openssl pkeyutl -encrypt -pubin -inkey rsa.pub.pem -in plain.bin \
	-out enc-pkcs1.bin
openssl pkeyutl -encrypt -pubin -inkey rsa.pub.pem -in plain.bin \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 \
	-out enc-oaep-sha1.bin
openssl pkeyutl -encrypt -pubin -inkey rsa.pub.pem -in plain.bin \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
	-out enc-oaep-sha256.bin

head -c 3000 /dev/urandom >garbage.bin
echo "make-certstore-data: done in $dir"
