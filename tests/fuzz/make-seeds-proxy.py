#!/usr/bin/env python3
"""Seeds of fuzz-proxy (tests/fuzz/corpus/proxy): one variant byte
(fuzz-proxy.c's variants[]: 0 SOCKS4, 1 SOCKS4A, 2 SOCKS5, 3 SOCKS5 with
username/password, 4 HTTP CONNECT, 5 the same with Basic credentials), then
the proxy's bytes: the replies of the SOCKS4 protocol document, RFC 1928
and 1929, and RFC 9110 9.3.6 as Dante and tinyproxy send them (the status
lines and headers seen in tests/integration/test-proxy-http.c), success
and refusal, a POP3 greeting after the reply where the proxy may send it
in the same packet.

usage: make-seeds-proxy.py
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "corpus", "proxy")
GREETING = b"+OK POP3 ready\r\n"


def seed(name, variant, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([variant]) + data)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Old seeds go; found inputs and long runs' merged ones stay.
    for f in os.listdir(OUT):
        if not f.startswith(("crash-", "leak-", "run-")):
            os.unlink(os.path.join(OUT, f))
    # SOCKS4: VN=0 CD DSTPORT DSTIP
    for v, tag in [(0, "socks4"), (1, "socks4a")]:
        seed(tag + "-granted", v, b"\x00\x5a\x00\x00\x00\x00\x00\x00" +
             GREETING)
        seed(tag + "-rejected", v, b"\x00\x5b\x00\x00\x00\x00\x00\x00")
        seed(tag + "-identd", v, b"\x00\x5d\x00\x6e\x7f\x00\x00\x01")
        seed(tag + "-short", v, b"\x00\x5a\x00")
    # SOCKS5: method selection, [auth], reply VER REP RSV ATYP ADDR PORT
    ok4 = b"\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38"
    ok6 = b"\x05\x00\x00\x04" + bytes(15) + b"\x01\x04\x38"
    okname = b"\x05\x00\x00\x03\x0bpop.example\x00\x6e"
    seed("socks5-ipv4", 2, b"\x05\x00" + ok4 + GREETING)
    seed("socks5-ipv6", 2, b"\x05\x00" + ok6)
    seed("socks5-name", 2, b"\x05\x00" + okname)
    seed("socks5-no-method", 2, b"\x05\xff")
    seed("socks5-refused", 2, b"\x05\x00\x05\x05\x00\x01" + bytes(6))
    seed("socks5-unreachable", 2, b"\x05\x00\x05\x04\x00\x01" + bytes(6))
    seed("socks5-auth-ok", 3, b"\x05\x02\x01\x00" + ok4 + GREETING)
    seed("socks5-auth-none", 3, b"\x05\x00" + okname)
    seed("socks5-auth-refused", 3, b"\x05\x02\x01\x01")
    seed("socks5-auth-short", 3, b"\x05\x02\x01")
    # HTTP CONNECT
    for v, tag in [(4, "http"), (5, "http-auth")]:
        seed(tag + "-200", v,
             b"HTTP/1.1 200 Connection established\r\n"
             b"Proxy-agent: tinyproxy/1.11.1\r\n\r\n" + GREETING)
        seed(tag + "-200-bare", v, b"HTTP/1.0 200\r\n\r\n")
        seed(tag + "-407", v,
             b"HTTP/1.1 407 Proxy Authentication Required\r\n"
             b"Server: tinyproxy/1.11.1\r\nContent-Type: text/html\r\n"
             b'Proxy-Authenticate: Basic realm="tinyproxy"\r\n'
             b"Connection: close\r\n\r\n<html></html>")
        seed(tag + "-403", v,
             b"HTTP/1.1 403 Access violation\r\nServer: tinyproxy/1.11.1\r\n"
             b"Content-Length: 0\r\n\r\n")
        seed(tag + "-bare-lf", v, b"HTTP/1.1 200 OK\n\n")
        seed(tag + "-truncated", v, b"HTTP/1.1 200 OK\r\nVia: x\r\n")


if __name__ == "__main__":
    main()
