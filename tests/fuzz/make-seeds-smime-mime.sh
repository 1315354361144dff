#!/bin/bash
# Makes the seeds of fuzz-smime-mime (tests/fuzz/fuzz-smime-mime.c): whole
# S/MIME messages as the tools that write them in the field do, `openssl
# cms` in its S/MIME mail mode and gpgsm (its CMS put in a MIME entity as a
# mail client does), with the throw-away keys of corpus/smime/keys (made by
# make-seeds-smime.sh: run this again after that one). Writes into
# tests/fuzz/corpus/smime-mime/ (or the directory given).
#
# Each seed is one byte, then the message. The byte (fuzz-smime-mime.c):
# bits 0-1 the method (0 Decrypt, 1 VerifySignature, 2
# DecryptAndVerifySignature, 3 the target signs the rest itself and
# verifies), bit 2 the engine (0 cms, 1 openssl), bit 3 the recipient key
# and trust anchor configured, bit 4 the RSA key rather than the EC one. ok-* seeds must succeed (the target checks
# it at start); err-* ones are structure errors that must fail cleanly.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus/smime-mime}
keys=$here/corpus/smime/keys
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
# Old seeds go; inputs a fuzz run found (leak-*, crash-*) stay.
find "$out" -maxdepth 1 -name "*.bin" ! -name "leak-*" ! -name "crash-*" -delete
cd "$work"

for k in ec256 rsa; do
	openssl x509 -in "$keys/$k.pem" -out "$k.crt"
	openssl pkey -in "$keys/$k.pem" -out "$k.key"
done

printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob,\r\nthis is the secret.\r\n' >entity.txt
hdr=(-from alice@example.org -to bob@example.org)

seed() { # name flag-byte(decimal) message-file
	{ printf "\\$(printf %03o "$2")"; cat "$3"; } >"$out/$1.bin"
}
DEC=0 VER=1 BOTH=2 WRAP=3 OPENSSL=4 KEYS=8 RSA=16

# Enveloped: AES-CBC (EnvelopedData) and AES-GCM (AuthEnvelopedData) to
# the EC key (ECDH: fast enough for a fuzzer; RSA once, by gpgsm below).
openssl cms -encrypt -aes256 -in entity.txt "${hdr[@]}" -subject enc \
	ec256.crt >enc-cbc.eml
openssl cms -encrypt -aes-256-gcm -in entity.txt "${hdr[@]}" -subject gcm \
	ec256.crt >enc-gcm.eml
seed ok-dec-ec-cbc $((DEC | KEYS)) enc-cbc.eml
seed ok-dec-ec-cbc-openssl $((DEC | KEYS | OPENSSL)) enc-cbc.eml
seed ok-dec-ec-gcm $((DEC | KEYS)) enc-gcm.eml
seed err-dec-nokey $((DEC)) enc-cbc.eml

# Signed: multipart/signed (detached) and opaque signed-data.
openssl cms -sign -in entity.txt -signer ec256.crt -inkey ec256.key \
	"${hdr[@]}" -subject signed >signed.eml
openssl cms -sign -nodetach -in entity.txt -signer ec256.crt \
	-inkey ec256.key "${hdr[@]}" -subject opaque >opaque.eml
openssl cms -sign -in entity.txt -signer rsa.crt -inkey rsa.key -md sha256 \
	"${hdr[@]}" -subject signed-rsa >signed-rsa.eml
seed ok-verify-detached-ec $((VER | KEYS)) signed.eml
seed ok-verify-detached-ec-openssl $((VER | OPENSSL)) signed.eml
seed ok-verify-opaque-ec $((VER | KEYS)) opaque.eml
seed ok-verify-detached-rsa $((VER | OPENSSL | KEYS | RSA)) signed-rsa.eml

# Layers: signed then encrypted, encrypted then signed.
openssl cms -sign -in entity.txt -signer ec256.crt -inkey ec256.key \
	>inner-signed.txt
openssl cms -encrypt -aes256 -in inner-signed.txt "${hdr[@]}" \
	-subject sign-encrypt ec256.crt >sign-encrypt.eml
openssl cms -encrypt -aes256 -in entity.txt ec256.crt >inner-enc.txt
openssl cms -sign -nodetach -in inner-enc.txt -signer ec256.crt \
	-inkey ec256.key "${hdr[@]}" -subject encrypt-sign >encrypt-sign.eml
seed ok-both-sign-encrypt $((BOTH | KEYS)) sign-encrypt.eml
seed ok-both-encrypt-sign $((BOTH | KEYS | OPENSSL)) encrypt-sign.eml

# A signed entity as part 2 of an unsigned multipart/mixed (path "2").
{
	printf 'From: alice@example.org\r\nTo: bob@example.org\r\n'
	printf 'Subject: wrapped\r\nMIME-Version: 1.0\r\n'
	printf 'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
	printf -- '--outer\r\nContent-Type: text/plain\r\n\r\nnot signed\r\n'
	printf -- '--outer\r\n'
	cat inner-signed.txt
	printf -- '\r\n--outer--\r\n'
} >mixed.eml
seed ok-verify-part2 $((VER | KEYS)) mixed.eml

# gpgsm: CMS to the RSA certificate, put in a MIME entity by hand.
"$here/../gpgsm-encrypt.sh" "$work/gnupg" rsa.crt entity.txt gpgsm.der 2>/dev/null
{
	printf 'From: alice@example.org\r\nTo: bob@example.org\r\n'
	printf 'Subject: gpgsm\r\nMIME-Version: 1.0\r\n'
	printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n'
	printf 'Content-Transfer-Encoding: base64\r\n'
	printf 'Content-Disposition: attachment; filename=smime.p7m\r\n\r\n'
	base64 -w 76 gpgsm.der | sed 's/$/\r/'
} >gpgsm.eml
seed ok-dec-gpgsm-rsa $((DEC | KEYS | RSA)) gpgsm.eml
seed err-dec-gpgsm-not-ec $((DEC | KEYS)) gpgsm.eml

# Structure errors: no S/MIME at all, a multipart/signed of three parts,
# signed-data whose base64 stops early, an empty pkcs7-mime part.
printf 'From: alice@example.org\r\nSubject: plain\r\n\r\nno S/MIME here\r\n' >plain.eml
seed err-not-smime $((BOTH | KEYS)) plain.eml
b=$(sed -n 's/.*boundary="\([^"]*\)".*/\1/p' signed.eml | head -1)
sed "s/^--$b--/--$b\nContent-Type: text\/plain\n\nthird\n--$b--/" \
	signed.eml >three.eml
seed err-three-parts $((VER | KEYS)) three.eml
head -n 12 opaque.eml >cut.eml
seed err-cut-base64 $((VER | KEYS)) cut.eml
printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\n' >empty.eml
seed err-empty-cms $((DEC | KEYS)) empty.eml

# The target signs these itself (method 3): what the engine gives back and
# parse_entity reads is the fuzzer's own input.
printf 'Content-Type: text/plain\r\n\r\nsigned by the target\r\n' >w1
seed ok-wrap-text $((WRAP)) w1
{
	printf 'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n'
	printf 'Content-Type: text/plain\r\n\r\none\r\n--b\r\n'
	printf 'Content-Type: application/octet-stream\r\n'
	printf 'Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n'
} >w2
seed ok-wrap-multipart $((WRAP | OPENSSL)) w2
printf 'binary content, not an entity\001\002\377' >w3
seed ok-wrap-not-entity $((WRAP)) w3
cp inner-signed.txt w4
seed ok-wrap-signed-inside $((WRAP | KEYS)) w4
ls "$out"
