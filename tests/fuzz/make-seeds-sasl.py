#!/usr/bin/env python3
"""Seeds of fuzz-sasl (tests/fuzz/corpus/sasl): one mechanism byte, then the
server's challenges, decoded, separated by SEP (fuzz-sasl.c's).

Two sources:
  - a real Dovecot (tests/harness/dovecot-harness.sh) answering
    `spop-probe --auth MECH --trail`: its challenges, base64 on the wire,
    decoded here (CRAM-MD5, LOGIN, DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256);
  - the RFC and specification examples the plugin tests use (RFC 2195,
    RFC 2831, MS-NLMP 4.2.4.3, Google's XOAUTH2 page, RFC 7628).
SCRAM's server-first must extend the client nonce, which is base64 of
fuzz-sasl's fixed host->random() bytes (0xaa): the Dovecot message is also
written with its nonce rebased on ours, and its server-final computed here
(RFC 5802 section 3, hashlib) for fuzz-sasl's user and password, so that
seeds reach the proof check and sasl_finish.

usage: make-seeds-sasl.py BUILDDIR   (a build with tools/spop-probe and the
       plugins; run as root: Dovecot's master must be)
"""
import base64
import hashlib
import hmac
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "sasl")
HARNESS = os.path.join(HERE, "..", "harness", "dovecot-harness.sh")
SEP = b"\x1e\x1f\x1e"
# fuzz-sasl.c's mechs[], in order
MECHS = ["cram-md5", "login", "digest-md5", "ntlm", "scram-sha-1",
         "scram-sha-256", "xoauth2", "oauthbearer"]
# fuzz-sasl.c's settings
USER, PASSWORD = "chris", "secret"
SCRAM = {"scram-sha-1": ("sha1", 18), "scram-sha-256": ("sha256", 15)}


def seed(name, mech, *challenges):
    for c in challenges:
        if SEP in c:
            sys.exit("make-seeds-sasl: %s holds the separator" % name)
    data = bytes([MECHS.index(mech)]) + SEP.join(challenges)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def client_nonce(mech):
    return base64.b64encode(b"\xaa" * SCRAM[mech][1]).decode()


def scram_final(mech, server_first):
    """server-final for fuzz-sasl's client after server_first."""
    md = SCRAM[mech][0]
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salted = hashlib.pbkdf2_hmac(md, PASSWORD.encode(),
                                 base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    server_key = hmac.new(salted, b"Server Key", md).digest()
    auth = ",".join(["n=%s,r=%s" % (USER, client_nonce(mech)), server_first,
                     "c=biws,r=" + attrs["r"]])
    sig = hmac.new(server_key, auth.encode(), md).digest()
    return "v=" + base64.b64encode(sig).decode()


def dovecot_challenges(build):
    """{mech: [decoded challenge, ...]} from a private Dovecot."""
    probe = os.path.join(build, "tools", "spop-probe", "spop-probe")
    env = dict(os.environ, SPOP_PLUGIN_PATH=os.path.join(build, "plugins"))
    got = {}
    with tempfile.TemporaryDirectory(prefix="seeds-sasl-") as d:
        os.chmod(d, 0o755)  # Dovecot's mail user must reach it
        subprocess.run([HARNESS, "start", d], check=True,
                       stdout=subprocess.DEVNULL)
        try:
            port = open(os.path.join(d, "port")).read().strip()
            for mech in ["cram-md5", "login", "digest-md5", "scram-sha-1",
                         "scram-sha-256"]:
                r = subprocess.run(
                    [probe, "--server=127.0.0.1", "--port=" + port,
                     "--user=alice", "--password=alice-secret",
                     "--auth=" + mech, "--trail"],
                    env=env, capture_output=True, text=True)
                lines = re.findall(r"^S: \+ (\S*)$", r.stderr, re.M)
                if not lines:
                    sys.exit("make-seeds-sasl: no %s challenge from Dovecot:"
                             "\n%s" % (mech, r.stderr))
                got[mech] = [base64.b64decode(x) for x in lines]
        finally:
            subprocess.run([HARNESS, "stop", d], check=True,
                           stdout=subprocess.DEVNULL)
    return got


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    # Old seeds go; found inputs and long runs' merged ones stay.
    for f in os.listdir(OUT):
        if not f.startswith(("crash-", "leak-", "run-")):
            os.unlink(os.path.join(OUT, f))
    real = dovecot_challenges(sys.argv[1])

    # ---- Dovecot, as it answered ----
    for mech, ch in real.items():
        seed("dovecot-" + mech, mech, *ch)
    # SCRAM with Dovecot's salt and count, rebased on our nonce, and the
    # server-final that verifies (and one that does not)
    for mech in SCRAM:
        first = real[mech][0].decode()
        attrs = dict(a.split("=", 1) for a in first.split(","))
        ours = first.replace("r=" + attrs["r"],
                             "r=" + client_nonce(mech) + attrs["r"][-24:])
        final = scram_final(mech, ours)
        seed("dovecot-%s-ours" % mech, mech, ours.encode(), final.encode())
        seed("dovecot-%s-badproof" % mech, mech, ours.encode(),
             b"v=" + base64.b64encode(b"\0" * (20 if "1" in mech else 32)))
        seed("dovecot-%s-e" % mech, mech, ours.encode(),
             b"e=invalid-proof")

    # ---- the specifications' examples ----
    seed("rfc2195", "cram-md5",
         b"<1896.697170952@postoffice.reston.mci.net>")
    seed("login-rfc", "login", b"Username:", b"Password:")
    rfc2831 = (b'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",'
               b'qop="auth",algorithm=md5-sess,charset=utf-8')
    seed("rfc2831", "digest-md5", rfc2831,
         b"rspauth=ea40f60335c427b5527b84dbabcdfffd")
    seed("digest-md5-realms", "digest-md5",
         b'realm="first.example",realm="second.example",nonce=abc,'
         b'qop="auth,auth-int",maxbuf=65536,stale=true,'
         b'algorithm=md5-sess,cipher="rc4,des"')
    seed("ms-nlmp-4.2.4.3", "ntlm", bytes.fromhex(
        "4e544c4d53535000020000000c000c003800000033828ae2"
        "0123456789abcdef00000000000000002400240044000000"
        "060070170000000f53006500720076006500720002000c00"
        "44006f006d00610069006e0001000c005300650072007600"
        "6500720000000000"))
    # the same with a timestamp AV pair (MsvAvTimestamp, 7) before EOL
    seed("ntlm-timestamp", "ntlm", bytes.fromhex(
        "4e544c4d53535000020000000c000c003800000033828ae2"
        "0123456789abcdef00000000000000003000300044000000"
        "060070170000000f53006500720076006500720002000c00"
        "44006f006d00610069006e0001000c005300650072007600"
        "650072000700080000a0c5dd3cbfd60100000000"))
    for mech in SCRAM:
        first = "r=%s3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096" % (
            client_nonce(mech))
        seed("rfc-" + mech, mech, first.encode(),
             scram_final(mech, first).encode())
    google = (b'{"status":"401","schemes":"bearer mac",'
              b'"scope":"https://mail.google.com/"}')
    rfc7628 = (b'{"status":"invalid_token","scope":"example_scope",'
               b'"openid-configuration":"https://example.com/.well-known/'
               b'openid-configuration"}')
    escapes = (b'{"status":"invalid\\u0000_\\"token\\"\\ud83d\\ude00",'
               b'"scope":["a",1,null,{"b":true}]}')
    # OAUTHBEARER sends its token as the initial response: the first
    # challenge is the error; XOAUTH2 sends none, so an empty challenge
    # asks for the token first.
    for mech, before in [("xoauth2", [b""]), ("oauthbearer", [])]:
        seed("google-" + mech, mech, *before, google)
        seed("rfc7628-" + mech, mech, *before, rfc7628)
        seed("escapes-" + mech, mech, *before, escapes)


if __name__ == "__main__":
    main()
