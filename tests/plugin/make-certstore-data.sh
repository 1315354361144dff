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
#   garbage.bin                   3000 random-looking bytes, no store format
#                                 at all; the same in every run
#
# Key agreement (key_derive), each secret written by openssl pkeyutl -derive:
#   ec384.key ec384.crt ec384.der EC P-384 key, self-signed certificate
#   pem-ec384.pem                 "PRIVATE KEY" (P-384), then ec384.crt
#   pfx-ec384.p12                 openssl pkcs12: ec384 key and certificate
#   ec521.key ec521.crt pem-ec521.pem  the same on P-521
#   peer{256,384,521}.key         the peers' keys, and their public keys as
#   peer{256,384,521}.pub.pem     openssl pkey -pubout writes them
#   peer{256,384,521}.point       the peers' uncompressed points (0x04||X||Y,
#                                 the tail of openssl's SubjectPublicKeyInfo)
#   derive-{256,384,521}.bin      ec.key with peer256, ec384.key with
#                                 peer384, ec521.key with peer521
#
# Certificate-only stores:
#   certs-three.pem               rsa.crt, ca.crt, ec.crt
#   p7b-openssl.p7b               openssl crl2pkcs7 -nocrl: rsa.crt, ca.crt
#                                 (PEM "-----BEGIN PKCS7-----")
#   p7b-openssl.der               the same bundle with -outform DER
#   p7b-certtool.p7b              certtool --p7-generate: ec.crt, ca.crt, PEM
#   p7b-certtool.der              the same with --outder
#   p7b-empty.p7b                 openssl crl2pkcs7 -nocrl without certificates
#
# JWK (the numbers as openssl asn1parse prints them, put into JSON by python's
# standard library; x5c from openssl x509 -outform DER):
#   jwk-rsa.json                  RSA key (n e d p q dp dq qi), x5c rsa, ca
#   jwk-ec.json                   EC P-256 key (crv x y d), x5c ec
#   jwk-set.json                  JWK Set: an EC public key without x5c, then
#                                 the RSA public key with x5c rsa, ca
#   jwk-nox5c.json                the EC key without x5c
#   jwk-mismatch.json             the EC private key with x5c other
#   jwk-noprimes.json             RSA with d but without p and q
#   jwk-badprimes.json            RSA with p and q that are not factors of n
#   jwk-badd.json                 the EC key with one bit of d changed
#   jwk-okp.json                  kty OKP (Ed25519) with a "d"
#   jwk-badx5c.json               x5c whose second member is not base64
#   jwk-broken.json               JSON cut off in the middle

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

# ---- key agreement ---------------------------------------------------------
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
	-out ec384.key
openssl req -new -x509 -key ec384.key -subj "$(subj 'EC P-384 client')" \
	-days 30 -sha384 -out ec384.crt
openssl x509 -in ec384.crt -outform DER -out ec384.der
cat ec384.key ec384.crt >pem-ec384.pem
openssl pkcs12 -export -inkey ec384.key -in ec384.crt -name 'EC P-384' \
	-passout "pass:$pass" -out pfx-ec384.p12
# P-521: its 66-byte X coordinate often has a zero first byte, which the
# secret keeps (SEC 1: the field element, full length).
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-521 \
	-out ec521.key
openssl req -new -x509 -key ec521.key -subj "$(subj 'EC P-521 client')" \
	-days 30 -sha512 -out ec521.crt
cat ec521.key ec521.crt >pem-ec521.pem
for bits in 256 384 521; do
	openssl genpkey -quiet -algorithm EC \
		-pkeyopt ec_paramgen_curve:P-$bits -out peer$bits.key
	openssl pkey -in peer$bits.key -pubout -out peer$bits.pub.pem
done
# An uncompressed point is the last 1 + 2 * field bytes of the SPKI.
openssl pkey -pubin -in peer256.pub.pem -outform DER | tail -c 65 \
	>peer256.point
openssl pkey -pubin -in peer384.pub.pem -outform DER | tail -c 97 \
	>peer384.point
openssl pkey -pubin -in peer521.pub.pem -outform DER | tail -c 133 \
	>peer521.point
[ "$(head -c 1 peer256.point | od -An -tx1 | tr -d ' ')" = 04 ] ||
	die "peer256.point is not an uncompressed point"
openssl pkeyutl -derive -inkey ec.key -peerkey peer256.pub.pem \
	-out derive-256.bin
openssl pkeyutl -derive -inkey ec384.key -peerkey peer384.pub.pem \
	-out derive-384.bin
openssl pkeyutl -derive -inkey ec521.key -peerkey peer521.pub.pem \
	-out derive-521.bin
[ "$(wc -c <derive-521.bin)" -eq 66 ] || die "a P-521 secret is 66 bytes"

# ---- certificate-only stores -----------------------------------------------
cat rsa.crt ca.crt ec.crt >certs-three.pem
openssl crl2pkcs7 -nocrl -certfile rsa.crt -certfile ca.crt \
	-out p7b-openssl.p7b
openssl crl2pkcs7 -nocrl -certfile rsa.crt -certfile ca.crt -outform DER \
	-out p7b-openssl.der
grep -q 'BEGIN PKCS7' p7b-openssl.p7b || die "no PEM PKCS#7 written"
cat ec.crt ca.crt >ec-ca.crt
certtool --p7-generate --load-certificate ec-ca.crt \
	--outfile p7b-certtool.p7b >/dev/null 2>&1
certtool --p7-generate --load-certificate ec-ca.crt --outder \
	--outfile p7b-certtool.der >/dev/null 2>&1
grep -q 'BEGIN PKCS7' p7b-certtool.p7b || die "certtool wrote no PKCS#7"
openssl crl2pkcs7 -nocrl -out p7b-empty.p7b </dev/null

# ---- JWK -------------------------------------------------------------------
openssl pkey -in rsa.key -traditional -outform DER 2>/dev/null |
	openssl asn1parse -inform DER >rsa.asn1
openssl ec -in ec.key -outform DER 2>/dev/null |
	openssl asn1parse -inform DER >ec.asn1
openssl pkey -in ec.key -pubout -outform DER | tail -c 65 >ec.point
python3 - <<'PY' || die "cannot write the JWK files"
import base64, json, re

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def x5c(*names):
    return [base64.b64encode(open(n + ".der", "rb").read()).decode()
            for n in names]

ints = re.findall(r"prim: INTEGER\s+:([0-9A-F]+)", open("rsa.asn1").read())
assert len(ints) == 9, ints
# PKCS#1: version, n, e, d, p, q, dp, dq, qi
n, e, d, p, q, dp, dq, qi = (bytes.fromhex(v.rjust(len(v) + len(v) % 2, "0"))
                             for v in ints[1:])
rsa_pub = {"kty": "RSA", "n": b64url(n.lstrip(b"\0")), "e": b64url(e)}
rsa = dict(rsa_pub, d=b64url(d), p=b64url(p), q=b64url(q), dp=b64url(dp),
           dq=b64url(dq), qi=b64url(qi), x5c=x5c("rsa", "ca"))

priv = re.search(r"OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]+)",
                 open("ec.asn1").read()).group(1)
point = open("ec.point", "rb").read()
assert point[0] == 4 and len(point) == 65
ec_pub = {"kty": "EC", "crv": "P-256", "x": b64url(point[1:33]),
          "y": b64url(point[33:])}
ec = dict(ec_pub, d=b64url(bytes.fromhex(priv)))

def write(name, obj):
    with open(name, "w") as f:
        json.dump(obj, f, indent=2)

write("jwk-rsa.json", rsa)
write("jwk-ec.json", dict(ec, x5c=x5c("ec")))
write("jwk-set.json", {"keys": [ec_pub, dict(rsa_pub, x5c=x5c("rsa", "ca"))]})
write("jwk-nox5c.json", ec)
write("jwk-mismatch.json", dict(ec, x5c=x5c("other")))
write("jwk-noprimes.json", dict(rsa_pub, d=rsa["d"], x5c=x5c("rsa")))
# p and q one more than the key's: even, not factors of n (GnuTLS 3.7
# leaked on such numbers before the plugin refused them)
def plus1(b):
    return (int.from_bytes(b, "big") + 1).to_bytes(len(b) + 1, "big").lstrip(b"\0")
write("jwk-badprimes.json", dict(rsa, p=b64url(plus1(p)), q=b64url(plus1(q))))
bad_d = bytearray(bytes.fromhex(priv))
bad_d[-1] ^= 1
write("jwk-badd.json", dict(ec, d=b64url(bytes(bad_d)), x5c=x5c("ec")))
write("jwk-okp.json", {"kty": "OKP", "crv": "Ed25519", "x": ec["x"],
                       "d": ec["d"], "x5c": x5c("ec")})
write("jwk-badx5c.json", dict(rsa_pub, x5c=x5c("rsa") + ["not base64!"]))
with open("jwk-broken.json", "w") as f:
    f.write('{"kty": "EC", "crv": ')
PY

# SHA-256 of a counter, not /dev/urandom: a random file starting with "{"
# (one run in 256) reads as JSON text to the jwk plugin, whose message then
# is not the "not JSON" the suite expects; 0x30 or "-" would look like DER
# or PEM to the others. The check keeps it so if the recipe changes.
python3 - <<'PY' || die "cannot write garbage.bin"
import hashlib
data = b"".join(hashlib.sha256(b"garbage %d" % i).digest()
               for i in range(94))[:3000]
assert data[0] not in b"{[-0 \t\r\n" and data[0] != 0x30
open("garbage.bin", "wb").write(data)
PY
echo "make-certstore-data: done in $dir"
