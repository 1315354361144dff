#!/bin/bash
# Makes the S/MIME mail the public-API suite (test-smime.c) reads from files
# and fetches from Dovecot: whole RFC 5322 messages written by `openssl
# smime`, the tool's mail mode (headers, multipart/signed, base64 CMS), with
# fresh keys on every run. Nothing binary is committed.
#
# usage: make-smime-mail.sh DIR
#
# Keys and certificates (CA "ca"; PEM key + certificate in one file for the
# pemkey store, CertStoreType 6):
#   alice.pem  signer alice@example.org (SAN and E=)
#   bob.pem    recipient bob@example.org
#   carol.pem  another recipient
#   expired.crt/.key  signer whose validity ended in 2021 (certtool)
#   ca.crt     the trust anchor; crl-alice.pem revokes alice
# Mail (mNN-*.eml; the Dovecot mailbox holds them in this order):
#   m01-signed        alice signs (multipart/signed), From alice
#   m02-opaque        the same, opaque (pkcs7-mime signed-data)
#   m03-encrypted     AES-256-CBC to bob
#   m04-sign-encrypt  signed by alice, then encrypted to bob
#   m05-encrypt-sign  encrypted to bob, then signed by alice
#   m06-tampered      m01 with one word of the signed text changed
#   m07-from-mallory  signed by alice, From mallory@example.org
#   m08-wrapped       m01's signed entity as part 2 of an unsigned
#                     multipart/mixed whose part 1 nobody signed
#   m09-expired       signed by the expired signer
#   m10-to-carol      encrypted to carol only
#   m11-two-rcpt      encrypted to carol and bob
#   m12-nocerts       signed by alice without her certificate
#   m13-sha1          signed by alice with SHA-1
#   m14-corrupt-enc   m03 with its base64 cut after four lines
#   m15-corrupt-sig   m01 with its signature's base64 cut after three
#   m16-two-signers   signed by alice and by the expired signer
# Not in the mailbox (not *.eml):
#   cut-short.msg  opaque signed-data (-binary) over a header line and a
#                  five-byte fragment with no line end, which GMime builds
#                  no entity from (cut-short.txt, the signed bytes)
# entity.txt is the MIME entity every message protects; its text lines are
# "Hello Bob," and "this is the secret.".
set -euo pipefail

dir=$1
mkdir -p "$dir"
cd "$dir"

cat >ca.ext <<'EOF'
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
EOF
cat >user.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage=emailProtection
subjectAltName=email:copy
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
	-days 30 -subj "/O=libspop tests/CN=S-MIME test CA" \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

serial=100
issue() { # name
	serial=$((serial + 1))
	openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" \
		-subj "/O=libspop tests/CN=$1/emailAddress=$1@example.org" \
		2>/dev/null
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key \
		-set_serial "$serial" -days 30 -extfile user.ext -out "$1.crt" \
		2>/dev/null
	cat "$1.key" "$1.crt" >"$1.pem"
}
issue alice
issue bob
issue carol

certtool --generate-privkey --rsa --bits 2048 --outfile expired.key \
	2>/dev/null
cat >expired.tmpl <<'EOF'
cn = "expired"
email = "alice@example.org"
serial = 4242
activation_date = "2019-01-01 00:00:00 UTC"
expiration_date = "2021-01-01 00:00:00 UTC"
signing_key
encryption_key
email_protection_key
EOF
certtool --generate-certificate --load-privkey expired.key \
	--load-ca-certificate ca.crt --load-ca-privkey ca.key \
	--template expired.tmpl --outfile expired.crt 2>/dev/null

# A CRL of ca revoking alice (certtool: no openssl ca database needed).
cat >crl.tmpl <<'EOF'
crl_next_update = 30
crl_number = 1
EOF
certtool --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.crt \
	--load-certificate alice.crt --template crl.tmpl \
	--outfile crl-alice.pem 2>/dev/null

printf 'Content-Type: text/plain; charset=us-ascii\n\nHello Bob,\nthis is the secret.\n' \
	>entity.txt

hdr=(-to bob@example.org)
sign() { # out from subject [extra...] < entity
	local out=$1 from=$2 subject=$3
	shift 3
	openssl smime -sign -signer alice.crt -inkey alice.key \
		-from "$from" "${hdr[@]}" -subject "$subject" "$@" >"$out"
}
encrypt() { # out subject recipients... < entity
	local out=$1 subject=$2
	shift 2
	openssl smime -encrypt -aes256 -from alice@example.org "${hdr[@]}" \
		-subject "$subject" "$@" >"$out"
}

sign m01-signed.eml alice@example.org "signed" <entity.txt
sign m02-opaque.eml alice@example.org "opaque" -nodetach <entity.txt
encrypt m03-encrypted.eml "encrypted" bob.crt <entity.txt
openssl smime -sign -signer alice.crt -inkey alice.key <entity.txt |
	encrypt m04-sign-encrypt.eml "sign then encrypt" bob.crt
openssl smime -encrypt -aes256 bob.crt <entity.txt |
	sign m05-encrypt-sign.eml alice@example.org "encrypt then sign"
sed 's/this is the secret/this is the secrex/' m01-signed.eml >m06-tampered.eml
if cmp -s m01-signed.eml m06-tampered.eml; then
	echo "make-smime-mail: nothing to tamper with in m01" >&2
	exit 1
fi
sign m07-from-mallory.eml mallory@example.org "from mallory" <entity.txt

# The signed entity (no RFC 5322 headers) inside an unsigned multipart.
openssl smime -sign -signer alice.crt -inkey alice.key <entity.txt \
	>signed-entity.txt
{
	printf 'From: alice@example.org\nTo: bob@example.org\nSubject: wrapped\n'
	printf 'MIME-Version: 1.0\n'
	printf 'Content-Type: multipart/mixed; boundary="outer-boundary"\n\n'
	printf -- '--outer-boundary\nContent-Type: text/plain\n\n'
	printf 'Pay mallory 1000 EUR. (nobody signed this part)\n'
	printf -- '--outer-boundary\n'
	grep -v '^MIME-Version:' signed-entity.txt
	printf '\n--outer-boundary--\n'
} >m08-wrapped.eml

openssl smime -sign -signer expired.crt -inkey expired.key \
	-from alice@example.org "${hdr[@]}" -subject "expired" \
	<entity.txt >m09-expired.eml
encrypt m10-to-carol.eml "to carol" carol.crt <entity.txt
encrypt m11-two-rcpt.eml "two recipients" carol.crt bob.crt <entity.txt
sign m12-nocerts.eml alice@example.org "no certs" -nocerts <entity.txt
sign m13-sha1.eml alice@example.org "sha1" -md sha1 <entity.txt

# Corrupted CMS: the base64 of m03 and of m01's signature cut short (the
# headers and the first lines of base64 kept).
awk '!body { print; if ($0 == "") body = 1; next } n++ < 4' \
	m03-encrypted.eml >m14-corrupt-enc.eml
awk '/smime.p7s"$/ { sig = 1 } sig && /^[A-Za-z0-9+\/=]+$/ { if (k++ >= 3) next } { print }' \
	m01-signed.eml >m15-corrupt-sig.eml
if cmp -s m03-encrypted.eml m14-corrupt-enc.eml; then
	echo "make-smime-mail: m14 was not cut" >&2
	exit 1
fi
if cmp -s m01-signed.eml m15-corrupt-sig.eml; then
	echo "make-smime-mail: m15 was not cut" >&2
	exit 1
fi

openssl smime -sign -signer alice.crt -inkey alice.key \
	-signer expired.crt -inkey expired.key -from alice@example.org \
	"${hdr[@]}" -subject "two signers" <entity.txt >m16-two-signers.eml

printf 'Content-Type: text/plain\nHello' >cut-short.txt
openssl smime -sign -signer alice.crt -inkey alice.key -nodetach -binary \
	-from alice@example.org "${hdr[@]}" -subject "cut short" \
	<cut-short.txt >cut-short.msg

# Mail is stored with LF line ends, as an MTA stores it (Dovecot sends
# CRLF); openssl writes CRLF inside the signed parts.
for f in m*.eml; do
	tr -d '\r' <"$f" >"$f.tmp" && mv "$f.tmp" "$f"
done
ls m*.eml >/dev/null
