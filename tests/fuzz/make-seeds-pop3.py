#!/usr/bin/env python3
"""Writes the seeds of fuzz-mailbox and fuzz-greeting (tests/fuzz/corpus/
mailbox, corpus/greeting) from what a real Dovecot says: it starts the test
harness's private Dovecot 2.3 (tests/harness/dovecot-harness.sh, which has
APOP among its mechanisms, so its greeting carries a timestamp), logs in as
each harness user over a plain socket, records the exact bytes of the
greeting and of the STAT, LIST, UIDL, LIST n and UIDL n replies, stops the
server, and turns them into the targets' input formats (their first byte
and framing: see fuzz-mailbox.c and fuzz-greeting.c). Must run as root (the
harness's Dovecot master does). Old seeds go; found inputs (crash-*,
leak-*) and long runs' merged inputs (run-*) stay.

usage: make-seeds-pop3.py"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
harness = os.path.join(here, "..", "harness", "dovecot-harness.sh")
USERS = [("alice", "alice-secret"), ("bob", "bob-secret"),
         ("empty", "empty-secret")]


class Pop3:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise RuntimeError("Dovecot closed the connection")
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def body(self):
        lines = []
        while True:
            line = self.line()
            if line == b".":
                return lines
            lines.append(line)

    def ask(self, cmd, multi=False):
        self.s.sendall(cmd.encode() + b"\r\n")
        status = self.line()
        return status, (self.body() if multi and status.startswith(b"+OK")
                        else None)


def record(port, user, password):
    p = Pop3(port)
    got = {"greeting": p.line()}
    p.ask("USER " + user)
    status, _ = p.ask("PASS " + password)
    if not status.startswith(b"+OK"):
        raise RuntimeError("login as %s: %r" % (user, status))
    got["stat"] = p.ask("STAT")[0]
    got["list"] = p.ask("LIST", True)
    got["uidl"] = p.ask("UIDL", True)
    got["list1"] = p.ask("LIST 1")[0]
    got["uidl1"] = p.ask("UIDL 1")[0]
    got["list99"] = p.ask("LIST 99")[0]
    p.ask("QUIT")
    return got


def status_text(line):
    """What follows "+OK " (fuzz-mailbox's framed mode adds it)."""
    return line[4:] if line.startswith(b"+OK ") else line


def wire(status, lines):
    out = status + b"\r\n"
    if lines is not None:
        for ln in lines:
            out += (b"." if ln.startswith(b".") else b"") + ln + b"\r\n"
        out += b".\r\n"
    return out


def clean(d):
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if not name.startswith(("crash-", "leak-", "run-")):
            os.unlink(os.path.join(d, name))


def put(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def mailbox_seeds(d, user, got):
    # Framed (first byte: bit 0 clear): STAT text, LIST lines, "=", UIDL
    # lines, "=", query answer texts. Bits: 1-2 MaxLineLength (2: 2048),
    # 3 CAPA known, 4 with UIDL, 5 the public listings.
    lst, uidl = got["list"][1], got["uidl"][1]
    framed = b"\n".join(
        [status_text(got["stat"])] + lst + [b"="] + uidl + [b"="] +
        [status_text(got["list1"]), status_text(got["uidl1"])])
    put(d, "framed-login-%s" % user, bytes([0x04 | 0x08 | 0x10]) + framed)
    put(d, "framed-public-%s" % user, bytes([0x04 | 0x20]) + framed)
    put(d, "framed-no-uidl-%s" % user, bytes([0x04 | 0x08 | 0x20]) + framed)
    # Raw (bit 0 set): the replies exactly as Dovecot sent them, in the
    # order the login's pipeline reads them, then the queries' answers.
    raw = (wire(got["stat"], None) + wire(got["list"][0], lst) +
           wire(got["uidl"][0], uidl) + wire(got["list1"], None) +
           wire(got["uidl1"], None))
    put(d, "raw-login-%s" % user, bytes([0x01 | 0x04]) + raw)
    put(d, "raw-public-%s" % user, bytes([0x01 | 0x04 | 0x20]) + raw)
    put(d, "raw-err-%s" % user,
        bytes([0x01 | 0x04]) + wire(got["stat"], None) + got["list99"] +
        b"\r\n")


def main():
    if not os.path.exists(harness):
        sys.exit("no %s" % harness)
    work = tempfile.mkdtemp(prefix="make-seeds-pop3-")
    os.chmod(work, 0o755)  # the mail must be reachable by Dovecot's user
    env = dict(os.environ, HARNESS_BIG_BYTES="20000")
    recorded = {}
    try:
        subprocess.run([harness, "start", work], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        port = int(open(os.path.join(work, "port")).read())
        for user, password in USERS:
            recorded[user] = record(port, user, password)
    finally:
        subprocess.run([harness, "stop", work], env=env,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)

    mb = os.path.join(here, "corpus", "mailbox")
    gr = os.path.join(here, "corpus", "greeting")
    clean(mb)
    clean(gr)
    for user, got in recorded.items():
        mailbox_seeds(mb, user, got)
    # The mailbox.c fixes fuzz-mailbox's model asked for: UIDs outside RFC
    # 1939 (a space, 71 characters, a control), numbers with signs, blanks
    # or more digits than fit, a STAT count that would size a 16 GB table,
    # a blank line whose strtoll ran into the next lines.
    put(mb, "fix-uids", bytes([0x04 | 0x20]) + b"3 9\n1 1\n=\n1 has space\n"
        b"2 " + b"x" * 71 + b"\n3 a\tb\n=\n1 1\n1 a\x7fb")
    put(mb, "fix-numbers", bytes([0x04 | 0x20]) + b"3 9\n+1 10\n 2 10\n=\n"
        b"=\n1 -5\n1 99999999999999999999\n1 +3")
    put(mb, "fix-numbers-stat", bytes([0x04]) + b"2 99999999999999999999")
    put(mb, "fix-huge-count", bytes([0x04 | 0x08 | 0x10]) +
        b"2000000000 0\n1999999999 5\n=\n1999999999 u\n=\n")
    put(mb, "fix-blank-line", bytes([0x01 | 0x20]) +
        b"+OK 3 30\r\n+OK\r\n\t\r\n12345\r\n.\r\n")
    # Greeting: bit 0 apop (else auto), bit 1 the second password.
    g = recorded["alice"]["greeting"]
    put(gr, "dovecot-auto", b"\x00" + g)
    put(gr, "dovecot-apop", b"\x01" + g)
    put(gr, "dovecot-apop-pw2", b"\x03" + g)
    # RFC 1939 section 7's example, and greetings without a timestamp.
    put(gr, "rfc1939-apop",
        b"\x01+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>")
    put(gr, "no-stamp-auto", b"\x00+OK Dovecot ready.")
    put(gr, "no-stamp-apop", b"\x01+OK Dovecot ready.")
    put(gr, "not-ok", b"\x00-ERR [SYS/TEMP] Too many connections")
    print("mailbox:", sorted(os.listdir(mb)))
    print("greeting:", sorted(os.listdir(gr)))


if __name__ == "__main__":
    main()
