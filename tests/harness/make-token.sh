#!/bin/bash
# Makes a private SoftHSM2 token for the PKCS#11 cert-store tests, at test
# time: keys and certificates come from openssl, the token from
# softhsm2-util, the certificates are written with p11tool (gnutls-bin).
# Nothing touches the system's SoftHSM configuration or token directory:
# everything lives in DIR, and SoftHSM finds it through SOFTHSM2_CONF.
#
# usage: make-token.sh [--add] DIR LABEL PIN [CA_CERT CA_KEY SUBJECT [KEYS]]
#
# Without a CA the certificates are self-signed ("/CN=spop token RSA",
# "/CN=spop token EC"); with one, they are issued by CA_CERT/CA_KEY (PEM)
# for SUBJECT (openssl's "/CN=alice/O=..." form), as client certificates.
# KEYS says which key pairs go on the token: "rsa ec" (the default), "rsa"
# or "ec". With --add, the tokens DIR holds already stay (one SoftHSM
# configuration, several tokens; use other KEYS, as the files below are
# per key type); without it they are replaced.
#
# Writes into DIR (created):
#   softhsm2.conf            the configuration; export SOFTHSM2_CONF=it
#   tokens/                  SoftHSM's token directory
#   rsa.key, rsa.crt, rsa.der   RSA 2048 key (PKCS#8 PEM) and certificate
#                            (PEM, DER); on the token as CKA_ID 01, label rsa
#   rsa.pub                  its public key (PEM)
#   ec.key, ec.crt, ec.der, ec.pub   the same for EC P-256: CKA_ID 02,
#                            label ec
#   module                   the path of the SoftHSM2 module used
# and prints the path of softhsm2.conf on stdout.
#
# SO PIN: "so-" followed by PIN. Exit status 1 when a tool is missing or
# fails (the test then fails; it never skips).

set -eu

add=
if [ "${1:-}" = --add ]; then
	add=1
	shift
fi
[ $# -eq 3 ] || [ $# -eq 6 ] || [ $# -eq 7 ] || {
	echo "usage: $0 [--add] DIR LABEL PIN [CA_CERT CA_KEY SUBJECT [KEYS]]" >&2
	exit 2
}
dir=$1
label=$2
pin=$3
ca_cert=${4:-}
ca_key=${5:-}
subject=${6:-}
keys=${7:-rsa ec}
case " $keys " in
*" rsa "* | *" ec "*) ;;
*) echo "make-token: KEYS must name rsa and/or ec, not '$keys'" >&2; exit 2 ;;
esac
has() {
	case " $keys " in *" $1 "*) return 0 ;; esac
	return 1
}

fail() {
	echo "make-token: $*" >&2
	exit 1
}

for tool in softhsm2-util p11tool openssl; do
	command -v "$tool" >/dev/null || fail "$tool not found"
done
module=
for m in /usr/lib/softhsm/libsofthsm2.so \
	/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
	/usr/lib64/pkcs11/libsofthsm2.so /usr/lib/pkcs11/libsofthsm2.so; do
	if [ -e "$m" ]; then
		module=$m
		break
	fi
done
[ -n "$module" ] || fail "no SoftHSM2 module (libsofthsm2.so) found"

mkdir -p -- "$dir"
dir=$(cd -- "$dir" && pwd)
if [ -z "$add" ]; then
	rm -rf -- "$dir/tokens"
fi
mkdir -p -m 700 -- "$dir/tokens"
conf=$dir/softhsm2.conf
cat >"$conf" <<EOF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF=$conf
printf '%s\n' "$module" >"$dir/module"

# $1 what, then the command: its output only when it fails
run() {
	local what=$1 out
	shift
	out=$("$@" 2>&1) || {
		printf '%s\n' "$out" >&2
		fail "$what failed"
	}
}

if has rsa; then
	run "openssl genpkey (RSA)" openssl genpkey -algorithm RSA \
		-pkeyopt rsa_keygen_bits:2048 -out "$dir/rsa.key"
fi
if has ec; then
	run "openssl genpkey (EC)" openssl genpkey -algorithm EC \
		-pkeyopt ec_paramgen_curve:P-256 -out "$dir/ec.key"
fi

# $1 name (rsa, ec), $2 subject, $3 serial
certificate() {
	local name=$1 subj=$2 serial=$3
	if [ -z "$ca_cert" ]; then
		run "openssl req ($name)" openssl req -new -x509 -key \
			"$dir/$name.key" -subj "$subj" -days 30 -sha256 \
			-set_serial "$serial" -out "$dir/$name.crt"
	else
		printf '%s\n' "basicConstraints = CA:FALSE" \
			"keyUsage = critical, digitalSignature, keyEncipherment, keyAgreement" \
			"extendedKeyUsage = clientAuth, emailProtection" \
			"subjectKeyIdentifier = hash" \
			"authorityKeyIdentifier = keyid" >"$dir/$name.ext"
		run "openssl req ($name)" openssl req -new -key "$dir/$name.key" \
			-subj "$subj" -out "$dir/$name.csr"
		run "openssl x509 ($name)" openssl x509 -req \
			-in "$dir/$name.csr" -CA "$ca_cert" -CAkey "$ca_key" \
			-set_serial "$serial" -days 30 -sha256 \
			-extfile "$dir/$name.ext" -out "$dir/$name.crt"
		rm -f -- "$dir/$name.csr" "$dir/$name.ext"
	fi
	run "openssl x509 -outform DER ($name)" openssl x509 \
		-in "$dir/$name.crt" -outform DER -out "$dir/$name.der"
	run "openssl pkey -pubout ($name)" openssl pkey -in "$dir/$name.key" \
		-pubout -out "$dir/$name.pub"
}

if [ -z "$ca_cert" ]; then
	! has rsa || certificate rsa "/CN=spop token RSA/O=libspop tests" 101
	! has ec || certificate ec "/CN=spop token EC/O=libspop tests" 102
else
	! has rsa || certificate rsa "$subject" 201
	! has ec || certificate ec "$subject" 202
fi

run "softhsm2-util --init-token" softhsm2-util --init-token --free \
	--label "$label" --pin "$pin" --so-pin "so-$pin"

# RFC 7512 percent-encoding of a token label for a pkcs11: URI.
uri_label() {
	local s=$1 out= c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# $1 name, $2 CKA_ID (hex)
import() {
	local name=$1 id=$2
	run "softhsm2-util --import ($name)" softhsm2-util --import \
		"$dir/$name.key" --token "$label" --id "$id" --label "$name" \
		--pin "$pin"
	GNUTLS_PIN=$pin run "p11tool --write ($name)" p11tool \
		--provider "$module" --login --write \
		--load-certificate "$dir/$name.crt" --id "$id" \
		--label "$name" "pkcs11:token=$(uri_label "$label")"
}

# softhsm2-util imports an EC key with CKA_DERIVE false, and neither it
# nor p11tool can set it: ECDH (S/MIME key agreement) needs it true. Set
# through the module's PKCS#11 API with python3's ctypes (C_Login as the
# user, C_SetAttributeValue on every EC private key of the token).
allow_derive() {
	command -v python3 >/dev/null || fail "python3 not found"
	python3 - "$module" "$label" "$pin" <<'PY' || fail "setting CKA_DERIVE failed"
import ctypes, sys

module, label, pin = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
UL = ctypes.c_ulong
P = ctypes.c_void_p
lib = ctypes.CDLL(module)
sig = {
    "C_Initialize": [P], "C_Finalize": [P],
    "C_GetSlotList": [ctypes.c_ubyte, P, P],
    "C_GetTokenInfo": [UL, P],
    "C_OpenSession": [UL, UL, P, P, P], "C_CloseSession": [UL],
    "C_Login": [UL, UL, ctypes.c_char_p, UL], "C_Logout": [UL],
    "C_FindObjectsInit": [UL, P, UL], "C_FindObjects": [UL, P, UL, P],
    "C_FindObjectsFinal": [UL], "C_SetAttributeValue": [UL, UL, P, UL],
}
for name, args in sig.items():
    getattr(lib, name).argtypes = args
    getattr(lib, name).restype = UL

def ck(name, *args):
    rv = getattr(lib, name)(*args)
    if rv != 0:
        sys.exit("make-token: %s: CKR 0x%x" % (name, rv))

class Attr(ctypes.Structure):
    _fields_ = [("type", UL), ("value", P), ("len", UL)]

ck("C_Initialize", None)
slots = (UL * 64)()
n = UL(64)
ck("C_GetSlotList", 1, slots, ctypes.byref(n))
slot = None
for i in range(n.value):
    info = ctypes.create_string_buffer(1024)
    ck("C_GetTokenInfo", slots[i], info)
    if info.raw[:32].rstrip(b" ") == label:
        slot = slots[i]
        break
if slot is None:
    sys.exit("make-token: token %r not found" % label)
session = UL()
ck("C_OpenSession", slot, 0x6, None, None, ctypes.byref(session))
ck("C_Login", session, 1, pin, len(pin))
cls, ktype, true = UL(3), UL(3), ctypes.c_ubyte(1)   # private key, EC
tmpl = (Attr * 2)(Attr(0x0, ctypes.cast(ctypes.byref(cls), P), 8),
                  Attr(0x100, ctypes.cast(ctypes.byref(ktype), P), 8))
ck("C_FindObjectsInit", session, tmpl, 2)
objs = (UL * 16)()
count = UL()
ck("C_FindObjects", session, objs, 16, ctypes.byref(count))
ck("C_FindObjectsFinal", session)
derive = (Attr * 1)(Attr(0x10C, ctypes.cast(ctypes.byref(true), P), 1))
for i in range(count.value):
    ck("C_SetAttributeValue", session, objs[i], derive, 1)
if count.value == 0:
    sys.exit("make-token: no EC private key on the token")
ck("C_Logout", session)
ck("C_CloseSession", session)
ck("C_Finalize", None)
PY
}

if has rsa; then
	import rsa 01
fi
if has ec; then
	import ec 02
	allow_derive
fi

printf '%s\n' "$conf"
