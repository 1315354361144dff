#!/bin/bash
# Makes the signed CMS objects the S/MIME verify suite (test-smime-verify.c)
# checks, with the tools that sign mail in the field: openssl cms, GnuTLS
# certtool --p7-sign and NSS cmsutil. Fresh keys on every run, in the
# directory the caller gives; nothing binary is committed.
#
# usage: make-smime-signed.sh DIR
#
# Keys and certificates (PEM .crt, DER .der):
#   ca            RSA 2048 root CA (the trust anchor)
#   inter         RSA 2048 intermediate CA, signed by ca
#   rsa           RSA 2048 signer (emailProtection), signed by ca
#   rsa2          a second RSA signer, signed by ca
#   ec256 ec384   ECDSA P-256 / P-384 signers, signed by ca
#   leaf          RSA signer under inter (the message carries inter)
#   nss           RSA signer for NSS cmsutil, signed by ca
#   expired       RSA signer whose validity ended in 2021 (certtool)
#   noks          RSA signer whose keyUsage is keyEncipherment only
#   other         a self-signed CA that signed nothing here
# CRLs (DER, certtool --generate-crl):
#   crl-ca.der        ca's CRL revoking rsa2 (not rsa)
#   crl-inter.der     inter's CRL revoking leaf
#   crl-other.der     other's CRL (revoking rsa's serial, which other never
#                     issued)
#   crl-forged.der    names ca as issuer, revokes rsa, signed with other's
#                     key (does not verify)
# Content: content.txt (CRLF text), tampered.txt (one byte changed)
# Signatures (DER; "det" detached, "op" opaque with the content inside):
#   det-sha{1,224,256,384,512}.p7s   openssl cms -sign -binary -md X, rsa
#   op-sha256.p7m                    -nodetach
#   op-empty.p7m                     -nodetach over no bytes: an eContent
#                                    present and empty (not detached)
#   det-noattr.p7s                   -noattr: no signed attributes
#   det-pss-{auto,32,64}.p7s         RSA-PSS, rsa_pss_saltlen -1 (digest
#                                    length), 32, 64; SHA-256
#   det-pss384-auto.p7s              RSA-PSS with SHA-384, salt 48
#   det-ec256.p7s det-ec384.p7s      ECDSA, SHA-256 / SHA-384
#   op-ber.p7m                       -stream -nodetach: BER, indefinite
#                                    lengths
#   det-ber-pss64.p7s                det-pss-64.p7s with indefinite outer
#                                    lengths (openssl cannot stream PSS)
#   det-two.p7s                      -signer rsa -signer ec256
#   det-nocerts.p7s                  -nocerts (signer from SignerCert*)
#   det-leaf.p7s                     leaf with -certfile inter.crt
#   det-expired.p7s                  expired signer
#   det-rsa2.p7s                     rsa2 (revoked by crl-ca.der)
#   det-noks.p7s                     noks (keyUsage without signing)
#   det-md5.p7s                      -md md5
#   det-pss512-0.p7s                 RSA-PSS, SHA-512, salt 0
#   det-pss224.p7s                   RSA-PSS, SHA-224, salt 28
#   det-pss1.p7s                     RSA-PSS, SHA-1, salt 20 (weak)
#   det-pss-mgf384.p7s               RSA-PSS, SHA-256 with MGF1-SHA-384
#   certtool-det.p7s certtool-op.p7m certtool --p7-sign [--p7-detached-sign]
#                                    --p7-include-cert --hash SHA384 (rsa)
#   nss-det.p7s                      NSS cmsutil -S -T -H SHA256, nss signer
#   op-tampered.p7m                  op-sha256.p7m with a content byte flipped
#   det-badsig.p7s                   det-sha256.p7s with its last byte flipped
#                                    (the signature value ends the DER)
#   det-badattr.p7s                  det-sha256.p7s with a byte of the
#                                    signingTime attribute changed
#   det-two-onebad.p7s               det-two.p7s with the last byte (the
#                                    second signer's signature) flipped
#   det-pss-badsig.p7s               det-pss-64.p7s with its last byte (of
#                                    the signature value) flipped
#   det-ec256-badsig.p7s             det-ec256.p7s with the last byte (of
#                                    the ECDSA signature value) flipped
#   det-nomd.p7s                     det-sha256.p7s with the messageDigest
#                                    attribute's type changed (so none)
#   det-pss-badct.p7s                det-pss-64.p7s whose contentType
#                                    attribute names id-signedData
#   ber-op-{a..f}.der                op-sha256.p7m re-encoded as BER
#                                    variants (ber-mix.py, beside this
#                                    script: mixed definite and indefinite
#                                    lengths, chunks, an empty chunk)
#   ber-optamp-{a..f}.der            op-tampered.p7m likewise
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

dir=$1
cd "$dir"

subj() { echo "/C=DE/O=libspop tests/CN=$1/emailAddress=$1@example.org"; }

cat > ca.ext <<'EOF'
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
EOF
cat > nss.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=emailProtection
subjectKeyIdentifier=hash
EOF
cat > noks.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,keyEncipherment
extendedKeyUsage=emailProtection
subjectKeyIdentifier=hash
EOF
cat > signer.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
extendedKeyUsage=emailProtection
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
	-subj "$(subj ca)" -days 3650 -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt \
	-subj "$(subj other)" -days 3650 \
	-addext basicConstraints=critical,CA:TRUE 2>/dev/null

issue() { # name keyspec issuer extfile
	local name=$1 keyspec=$2 issuer=$3 ext=$4
	openssl req -new -newkey "$keyspec" -nodes -keyout "$name.key" \
		-out "$name.csr" -subj "$(subj "$name")" 2>/dev/null
	openssl x509 -req -in "$name.csr" -CA "$issuer.crt" \
		-CAkey "$issuer.key" -CAcreateserial -days 825 \
		-extfile "$ext" -out "$name.crt" 2>/dev/null
}
issue inter rsa:2048 ca ca.ext
issue rsa rsa:2048 ca signer.ext
issue rsa2 rsa:2048 ca signer.ext
issue ec256 ec:<(openssl ecparam -name prime256v1) ca signer.ext
issue ec384 ec:<(openssl ecparam -name secp384r1) ca signer.ext
issue leaf rsa:2048 inter signer.ext
issue nss rsa:2048 ca nss.ext
issue noks rsa:2048 ca noks.ext

# Expired: certtool writes any validity period, also one in the past.
certtool --generate-privkey --rsa --bits 2048 --outfile expired.key \
	2>/dev/null
cat > expired.tmpl <<'EOF'
cn = "expired"
email = "expired@example.org"
serial = 4242
activation_date = "2019-01-01 00:00:00 UTC"
expiration_date = "2021-01-01 00:00:00 UTC"
signing_key
email_protection_key
EOF
certtool --generate-certificate --load-privkey expired.key \
	--load-ca-certificate ca.crt --load-ca-privkey ca.key \
	--template expired.tmpl --outfile expired.crt 2>/dev/null

for c in ca inter rsa rsa2 ec256 ec384 leaf nss expired noks other; do
	openssl x509 -in $c.crt -outform DER -out $c.der
done

printf 'Content-Type: text/plain\r\n\r\nSigned text, line one.\r\nline two.\r\n' \
	> content.txt
sed 's/one/One/' content.txt > tampered.txt

sign() { # out signer extra...
	local out=$1 who=$2
	shift 2
	openssl cms -sign -binary -outform DER -in content.txt \
		-signer "$who.crt" -inkey "$who.key" -out "$out" "$@"
}
for md in sha1 sha224 sha256 sha384 sha512; do
	sign det-$md.p7s rsa -md $md
done
sign op-sha256.p7m rsa -nodetach
: >empty.txt
openssl cms -sign -binary -outform DER -in empty.txt -signer rsa.crt \
	-inkey rsa.key -out op-empty.p7m -nodetach
sign det-noattr.p7s rsa -noattr
sign det-pss-auto.p7s rsa -keyopt rsa_padding_mode:pss \
	-keyopt rsa_pss_saltlen:-1
sign det-pss-32.p7s rsa -keyopt rsa_padding_mode:pss \
	-keyopt rsa_pss_saltlen:32
sign det-pss-64.p7s rsa -keyopt rsa_padding_mode:pss \
	-keyopt rsa_pss_saltlen:64
sign det-pss384-auto.p7s rsa -md sha384 -keyopt rsa_padding_mode:pss \
	-keyopt rsa_pss_saltlen:-1
sign det-ec256.p7s ec256
# BER with indefinite lengths, as streaming signers write it: openssl cms
# -stream (PEM, its DER output refuses -stream), the base64 decoded.
ber() { # out extra...
	local out=$1
	shift
	openssl cms -sign -binary -outform PEM -stream -nodetach \
		-in content.txt -signer rsa.crt -inkey rsa.key "$@" |
		sed '1d;$d' | base64 -d > "$out"
}
ber op-ber.p7m
# openssl cannot stream RSA-PSS: det-pss-64.p7s with its three outer
# headers (ContentInfo, [0], SignedData) turned indefinite by hand.
python3 - det-pss-64.p7s det-ber-pss64.p7s <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
def hdr(b, i):  # length of the header at i
    return 2 + (b[i + 1] & 0x7f if b[i + 1] & 0x80 else 0)
out, i = bytearray(), 0
for step in range(3):
    out += bytes([d[i], 0x80])
    i += hdr(d, i)
    if step == 0:  # contentType OID stays as it is
        n = hdr(d, i) + d[i + 1]
        out += d[i:i + n]
        i += n
out += d[i:] + b'\0\0' * 3
open(sys.argv[2], 'wb').write(out)
PY
sign det-ec384.p7s ec384 -md sha384
openssl cms -sign -binary -outform DER -in content.txt -signer rsa.crt \
	-inkey rsa.key -signer ec256.crt -inkey ec256.key -out det-two.p7s
sign det-nocerts.p7s rsa -nocerts
sign det-leaf.p7s leaf -certfile inter.crt
sign det-expired.p7s expired
sign det-rsa2.p7s rsa2
sign det-noks.p7s noks
sign det-md5.p7s rsa -md md5
sign det-pss512-0.p7s rsa -md sha512 -keyopt rsa_padding_mode:pss \
	-keyopt rsa_pss_saltlen:0
sign det-pss224.p7s rsa -md sha224 -keyopt rsa_padding_mode:pss \
	-keyopt rsa_pss_saltlen:28
sign det-pss1.p7s rsa -md sha1 -keyopt rsa_padding_mode:pss \
	-keyopt rsa_pss_saltlen:20
sign det-pss-mgf384.p7s rsa -keyopt rsa_padding_mode:pss \
	-keyopt rsa_pss_saltlen:32 -keyopt rsa_mgf1_md:sha384

# CRLs. certtool takes the issuer's certificate and key as given, so the
# forged one names ca but carries other's signature.
cat > crl.tmpl <<'EOF'
crl_next_update = 30
crl_number = 1
EOF
crl() { # out issuer-cert issuer-key revoked-cert
	certtool --generate-crl --load-ca-certificate "$2.crt" \
		--load-ca-privkey "$3.key" --load-certificate "$4.crt" \
		--template crl.tmpl --outder --outfile "$1" 2>/dev/null
}
crl crl-ca.der ca ca rsa2
crl crl-inter.der inter inter leaf
crl crl-other.der other other rsa
crl crl-forged.der ca other rsa
# openssl crl exits 0 either way: its words tell.
crl_ok() { openssl crl -inform DER -in "$1" -noout -CAfile "$2" 2>&1 |
	grep -q 'verify OK'; }
crl_ok crl-ca.der ca.crt || { echo "crl-ca.der does not verify" >&2; exit 1; }
if crl_ok crl-forged.der ca.crt; then
	echo "crl-forged.der verifies against ca" >&2
	exit 1
fi

certtool --p7-detached-sign --p7-include-cert --hash SHA384 \
	--load-privkey rsa.key --load-certificate rsa.crt --infile content.txt \
	--outder --outfile certtool-det.p7s 2>/dev/null
certtool --p7-sign --p7-include-cert --hash SHA384 --load-privkey rsa.key \
	--load-certificate rsa.crt --infile content.txt --outder \
	--outfile certtool-op.p7m 2>/dev/null

# NSS: the nss key and certificate in a fresh database with ca trusted,
# then cmsutil (NSS wants keyEncipherment beside digitalSignature on an
# S/MIME certificate, so nss has its own).
mkdir -p nssdb
certutil -N -d sql:nssdb --empty-password
certutil -A -d sql:nssdb -n ca -t C,C,C -i ca.crt
openssl pkcs12 -export -inkey nss.key -in nss.crt -name nss -passout pass: \
	-out nss.p12
pk12util -i nss.p12 -d sql:nssdb -W '' >/dev/null
cmsutil -S -T -N nss -d sql:nssdb -i content.txt -o nss-det.p7s -H SHA256 \
	>/dev/null

# Tampering, with byte offsets found by openssl asn1parse.
flip() { # in out offset
	cp "$1" "$2"
	local b
	b=$(od -An -tu1 -j "$3" -N1 "$2" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b ^ 1) & 255)))" |
		dd of="$2" bs=1 seek="$3" conv=notrunc 2>/dev/null
}
size() { stat -c %s "$1"; }
flip det-sha256.p7s det-badsig.p7s $(($(size det-sha256.p7s) - 1))
flip det-two.p7s det-two-onebad.p7s $(($(size det-two.p7s) - 1))
flip det-pss-64.p7s det-pss-badsig.p7s $(($(size det-pss-64.p7s) - 1))
flip det-ec256.p7s det-ec256-badsig.p7s $(($(size det-ec256.p7s) - 1))
# The content bytes inside the opaque object, and the signingTime value (a
# UTCTime, the last one: certificates come first) in the signed attributes.
off=$(grep -obUa 'Signed text' op-sha256.p7m | head -1 | cut -d: -f1)
flip op-sha256.p7m op-tampered.p7m $((off + 3))
off=$(openssl asn1parse -inform DER -in det-sha256.p7s |
	awk -F: '/UTCTIME/ {print $1}' | tail -1 | tr -d ' ')
flip det-sha256.p7s det-badattr.p7s $((off + 4))
# No messageDigest: its attribute type OID (1.2.840.113549.1.9.4) renamed to
# the unassigned 1.2.840.113549.1.9.99 in the signed attributes.
off=$(LC_ALL=C grep -obUaP '\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x04' det-sha256.p7s |
	head -1 | cut -d: -f1)
[ -n "$off" ] || { echo "no messageDigest OID in det-sha256.p7s" >&2; exit 1; }
cp det-sha256.p7s det-nomd.p7s
printf '\x63' | dd of=det-nomd.p7s bs=1 seek=$((off + 10)) conv=notrunc \
	2>/dev/null
# A PSS signature whose contentType attribute names id-signedData instead of
# the content's id-data (last octet of the value's OID 1 -> 2).
off=$(LC_ALL=C grep -obUaP '\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x03\x31\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01' \
	det-pss-64.p7s | head -1 | cut -d: -f1)
[ -n "$off" ] || { echo "no contentType attribute in det-pss-64.p7s" >&2; exit 1; }
cp det-pss-64.p7s det-pss-badct.p7s
printf '\x02' | dd of=det-pss-badct.p7s bs=1 seek=$((off + 23)) \
	conv=notrunc 2>/dev/null
# BER variants of the opaque objects, the content chunked in several ways.
python3 "$here/ber-mix.py" signed op-sha256.p7m ber-op
python3 "$here/ber-mix.py" signed op-tampered.p7m ber-optamp
