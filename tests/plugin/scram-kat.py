#!/usr/bin/env python3
"""Writes the SCRAM known answers that no RFC prints (channel binding,
authorization identity, escaped names, SASLprep'd input, "y" in the GS2
header) as a C header for tests/plugin/test-scram.c.

The answers come from Python's hashlib and hmac, so the plugin (libgcrypt,
libidn) is checked against an independent implementation of RFC 5802
section 3. SASLprep is not reimplemented here: each case gives the
prepared form as RFC 4013 section 3's examples state it.

Usage: scram-kat.py OUTPUT.h
"""
import base64
import hashlib
import hmac
import sys

CASES = [
    # SCRAM-SHA-256-PLUS under TLS 1.3: tls-exporter (RFC 9266), 32 bytes.
    dict(label="sha256_plus_exporter", mech="SCRAM-SHA-256-PLUS",
         hash="sha256", user="user", user_prep="user", password="pencil",
         password_prep="pencil", authzid=None, nonce_raw=bytes(range(15)),
         server_nonce="Zq%7;Srv", salt=b"\x01\x02salt\xfe\xff",
         iterations=4096, tls_version="TLS1.3", tls_active=1, sasl=None,
         cb_type="tls-exporter",
         cb=bytes((7 * i + 3) & 0xFF for i in range(32))),
    # SCRAM-SHA-1-PLUS under TLS 1.2: tls-unique (a 12-byte Finished),
    # with an authorization identity and names that need =2C / =3D.
    dict(label="sha1_plus_unique_authzid", mech="SCRAM-SHA-1-PLUS",
         hash="sha1", user="us=er,x", user_prep="us=er,x",
         password="pen,cil=", password_prep="pen,cil=", authzid="ad,m=in",
         nonce_raw=bytes(255 - i for i in range(18)), server_nonce="3rfcNHY",
         salt=b"QSXCR+Q6sek8bf92", iterations=4096, tls_version="TLS1.2",
         tls_active=1, sasl=None, cb_type="tls-unique",
         cb=bytes.fromhex("a1b2c3d4e5f60718293a4b5c")),
    # SCRAM-SHA-256 (no -PLUS) on TLS when the server does not offer
    # SCRAM-SHA-256-PLUS: "y" (RFC 5802 section 6), c=eSws.
    dict(label="sha256_y_flag", mech="SCRAM-SHA-256", hash="sha256",
         user="user", user_prep="user", password="pencil",
         password_prep="pencil", authzid=None, nonce_raw=bytes(15),
         server_nonce="xyz", salt=b"saltsalt", iterations=2,
         tls_version="TLS1.3", tls_active=1, sasl="PLAIN SCRAM-SHA-256",
         cb_type=None, cb=b""),
    # SASLprep (RFC 4013 section 3's examples): U+00AA maps to "a", the
    # soft hyphen U+00AD to nothing ("I<U+00AD>X" -> "IX"), and
    # U+2168 (ROMAN NUMERAL NINE) to "IX" by NFKC.
    dict(label="sha1_saslprep", mech="SCRAM-SHA-1", hash="sha1",
         user="\u00aa\u2168", user_prep="aIX", password="I\u00adX",
         password_prep="IX", authzid=None, nonce_raw=bytes(18),
         server_nonce="S", salt=b"s", iterations=1, tls_version="",
         tls_active=0, sasl=None, cb_type=None, cb=b""),
]


def saslname(s):
    return s.replace("=", "=3D").replace(",", "=2C")


def exchange(c):
    h = c["hash"]
    nonce = base64.b64encode(c["nonce_raw"]).decode()
    if c["cb_type"]:
        flag = "p=" + c["cb_type"]
    elif c["tls_active"] and (c["sasl"] is None or
                              c["mech"] + "-PLUS" not in c["sasl"].split()):
        flag = "y"
    else:
        flag = "n"
    gs2 = flag + "," + ("a=" + saslname(c["authzid"])
                        if c["authzid"] else "") + ","
    first_bare = "n=" + saslname(c["user_prep"]) + ",r=" + nonce
    full_nonce = nonce + c["server_nonce"]
    server_first = "r=%s,s=%s,i=%d" % (
        full_nonce, base64.b64encode(c["salt"]).decode(), c["iterations"])
    cbind = base64.b64encode(gs2.encode() + c["cb"]).decode()
    without_proof = "c=" + cbind + ",r=" + full_nonce
    auth = (first_bare + "," + server_first + "," + without_proof).encode()

    salted = hashlib.pbkdf2_hmac(h, c["password_prep"].encode(), c["salt"],
                                 c["iterations"])
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored_key = hashlib.new(h, client_key).digest()
    client_sig = hmac.new(stored_key, auth, h).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, client_sig))
    server_key = hmac.new(salted, b"Server Key", h).digest()
    server_sig = hmac.new(server_key, auth, h).digest()
    return dict(
        client_first=gs2 + first_bare,
        server_first=server_first,
        client_final=without_proof + ",p=" + base64.b64encode(proof).decode(),
        server_final="v=" + base64.b64encode(server_sig).decode())


def cstr(v):
    if v is None:
        return "NULL"
    if isinstance(v, str):
        v = v.encode()
    # Octal escapes are always three digits: no run-on into the next
    # character as with \x.
    return '"' + "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\?'
                         else "\\%03o" % b for b in v) + '"'


def main():
    out = ["/* Written by tests/plugin/scram-kat.py at build time: SCRAM",
           " * exchanges computed with Python's hashlib and hmac. */", "",
           "static const struct kat kats[] = {"]
    for c in CASES:
        e = exchange(c)
        fields = [
            ("label", cstr(c["label"])), ("mech", cstr(c["mech"])),
            ("user", cstr(c["user"])), ("password", cstr(c["password"])),
            ("authzid", cstr(c["authzid"])),
            ("nonce_raw", cstr(c["nonce_raw"])),
            ("nonce_raw_len", str(len(c["nonce_raw"]))),
            ("tls_version", cstr(c["tls_version"])),
            ("tls_active", str(c["tls_active"])), ("sasl", cstr(c["sasl"])),
            ("cb_type", cstr(c["cb_type"])), ("cb", cstr(c["cb"])),
            ("cb_len", str(len(c["cb"]))),
            ("client_first", cstr(e["client_first"])),
            ("server_first", cstr(e["server_first"])),
            ("client_final", cstr(e["client_final"])),
            ("server_final", cstr(e["server_final"])),
        ]
        out.append("    {")
        out += ["\t.%s = %s," % f for f in fields]
        out.append("    },")
    out.append("};")
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
