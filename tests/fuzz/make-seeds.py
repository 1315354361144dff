#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

usage: make-seeds.py MAILDIR... (the new/ folders of the harness's Dovecot,
tests/harness/dovecot-harness.sh start DIR: DIR/mail/alice/new) plus what a
real Dovecot 2.3 said (its greeting, CAPA and replies, taken from a
spop-probe --trail, below). Seeds only start the fuzzer off; the committed
files are what it was run with."""
import email
import hashlib
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))

# Dovecot 2.3.19.1 through spop-probe --trail (2026-12-01).
DOVECOT = [
    b"+OK Dovecot (Debian) ready. <449e.1.6b0e4c44.UovMpYPxU4K4X/f1gwRBGA==@vm>\r\n",
    b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n"
    b"USER\r\nSASL PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256\r\n.\r\n",
    b"+OK Logged in.\r\n+OK 7 52544696\r\n+OK 7 messages:\r\n1 459\r\n2 702\r\n.\r\n"
    b"+OK\r\n1 00000001664b1c4e\r\n.\r\n+OK 459 octets\r\n",
    b"-ERR [AUTH] Authentication failed.\r\n-ERR [SYS/TEMP] Internal error\r\n"
    b"-ERR [IN-USE] Mailbox locked\r\n-ERR [LOGIN-DELAY] x\r\n+OK Logging out.\r\n",
    b"+ \r\n+ PDEyMzQ1QGhvc3Q+\r\n-ERR Unknown command: XYZ\r\n",
]


def put(target, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def stuffed(body):
    out = []
    for line in body.split(b"\r\n"):
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out)


def main(dirs):
    for d in DOVECOT:
        put("reply", d)
        put("capa", d)
    put("capa", b"SASL\r\nSASL \r\nIMPLEMENTATION x y\r\nEXPIRE NEVER\r\n"
        b"LOGIN-DELAY 900 USER\r\nSTLS\r\n")
    for dirname in dirs:
        for name in sorted(os.listdir(dirname)):
            raw = open(os.path.join(dirname, name), "rb").read()
            raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            head, _, _ = raw.partition(b"\r\n\r\n")
            put("header", head + b"\r\n")
            if len(raw) < 60000:
                for ml in (b"\x04", b"\x00"):
                    put("body", ml + stuffed(raw) + b"\r\n.\r\n+OK next\r\n")
            msg = email.message_from_bytes(raw)
            for field, target in (("Subject", "rfc2047"), ("From", "rfc2047"),
                                  ("To", "address"), ("Cc", "address"),
                                  ("From", "address"), ("Date", "date"),
                                  ("Content-Type", "content-type")):
                for v in msg.get_all(field) or []:
                    put(target, str(v).encode("utf-8", "surrogateescape"))
    for v in (b"=?UTF-8?B?w6nDqQ==?= =?ISO-8859-1?Q?caf=E9?=",
              b"Re:=?utf-8*en?q?a_b?= x", b"=?KOI8-R?B?8NLJ18XU?="):
        put("rfc2047", v)
    for v in (b'"Ann B." <a@example.org>, group: b@x, c@y;, q@z (Q)',
              b"<@route,@r2:u@d>, undisclosed-recipients:;"):
        put("address", v)
    for v in (b"Tue, 1 Jul 2003 10:52:37 +0200", b"1 Jul 03 10:52 EST",
              b"Thu, 13 Feb 1969 23:32 -0330 (Newfoundland Time)"):
        put("date", v)
    for v in (b'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
              b'multipart/signed; protocol="application/pkcs7-signature"; '
              b'micalg=sha-256; boundary="b"',
              b"application/x-pkcs7-mime; smime-type=signed-data (c)"):
        put("content-type", v)


if __name__ == "__main__":
    main(sys.argv[1:])
