#!/usr/bin/env python3
"""Python helpers of bench/peers.sh (standard library only).

  peers.py delay LISTEN_PORT_FILE TARGET_PORT DELAY_MS
      A forwarding proxy on 127.0.0.1 that holds every chunk DELAY_MS in
      each direction (asyncio), so a round trip costs 2 x DELAY_MS. Writes
      its port to LISTEN_PORT_FILE once it listens; runs until killed.
  peers.py poplib PORT USER PASSWORD DIR [CAFILE]
      Python's poplib: STAT, then RETR 1..N one at a time, each message
      stored as DIR/N.eml with CRLF line ends (implicit TLS with CAFILE).
  peers.py verify FORMAT PATH DESCFILE MAILDIR
      Checks that PATH holds every message of the mailbox: FORMAT is eml
      (a directory of files), maildir (DIR/new and DIR/cur) or bsmtp
      (fetchmail's --bsmtp file). Each stored message, line ends made LF,
      must end with the original Maildir file (clients may add headers such
      as Received: at the top). Prints "N messages, B bytes stored" and
      exits 1 with the reason otherwise.
"""

import asyncio
import collections
import os
import poplib
import ssl
import sys
import time


# ---- delay proxy -----------------------------------------------------------

async def pipe(reader, writer, delay):
    # One queue per direction, drained in order: every chunk leaves DELAY
    # after it arrived, and chunks never overtake each other.
    queue = collections.deque()
    arrived = asyncio.Event()
    done = False

    async def drain():
        while True:
            while not queue:
                if done:
                    writer.close()
                    return
                arrived.clear()
                await arrived.wait()
            due, data = queue.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    task = asyncio.ensure_future(drain())
    try:
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                break
            queue.append((time.monotonic() + delay, data))
            arrived.set()
    except ConnectionError:
        pass
    done = True
    arrived.set()
    try:
        await task
    except ConnectionError:
        pass


async def delay_main(port_file, target, delay_ms):
    delay = delay_ms / 1000.0

    async def handle(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pipe(creader, swriter, delay),
                             pipe(sreader, cwriter, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


# ---- poplib client ----------------------------------------------------------

def poplib_main(port, user, password, out, cafile=None):
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
        pop = poplib.POP3_SSL("127.0.0.1", port, context=ctx)
    else:
        pop = poplib.POP3("127.0.0.1", port)
    pop.user(user)
    pop.pass_(password)
    count, _ = pop.stat()
    for i in range(1, count + 1):
        _, lines, _ = pop.retr(i)
        with open(os.path.join(out, f"{i}.eml"), "wb") as f:
            f.write(b"\r\n".join(lines) + b"\r\n")
    pop.quit()


# ---- verification -----------------------------------------------------------

def stored_messages(fmt, path):
    if fmt == "eml":
        for name in os.listdir(path):
            with open(os.path.join(path, name), "rb") as f:
                yield f.read()
    elif fmt == "maildir":
        for sub in ("new", "cur"):
            d = os.path.join(path, sub)
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    yield f.read()
    elif fmt == "bsmtp":
        # MAIL FROM / RCPT TO / DATA, the message dot-stuffed, "." alone.
        with open(path, "rb") as f:
            data = f.read().replace(b"\r\n", b"\n")
        msg = None
        for line in data.split(b"\n"):
            if msg is None:
                if line == b"DATA":
                    msg = []
            elif line == b".":
                yield b"\n".join(msg) + b"\n"
                msg = None
            else:
                msg.append(line[1:] if line.startswith(b".") else line)
        if msg is not None:
            raise SystemExit("verify: bsmtp file ends inside a message")
    else:
        raise SystemExit(f"verify: unknown format {fmt}")


def verify_main(fmt, path, descfile, maildir):
    originals = []
    with open(descfile) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            with open(os.path.join(maildir, fields[2]), "rb") as m:
                originals.append(m.read())
    # Each original is found by its Message-ID, which is unique here.
    by_id = {}
    for data in originals:
        start = data.index(b"Message-ID: ")
        by_id[data[start:data.index(b"\n", start)]] = data
    seen = set()
    total = 0
    for data in stored_messages(fmt, path):
        total += len(data)
        norm = data.replace(b"\r\n", b"\n")
        start = norm.find(b"Message-ID: ")
        if start < 0:
            raise SystemExit("verify: a stored message has no Message-ID")
        key = norm[start:norm.index(b"\n", start)]
        orig = by_id.get(key)
        if orig is None:
            raise SystemExit(f"verify: unknown message {key!r}")
        if not norm.endswith(orig) and not norm.endswith(orig + b"\n"):
            raise SystemExit(f"verify: {key.decode()} differs from the original "
                             f"({len(norm)} bytes stored, {len(orig)} original)")
        if key in seen:
            raise SystemExit(f"verify: {key.decode()} stored twice")
        seen.add(key)
    if len(seen) != len(originals):
        raise SystemExit(f"verify: {len(seen)} of {len(originals)} messages stored")
    print(f"{len(seen)} messages, {total} bytes stored")


def main(argv):
    if len(argv) >= 4 and argv[0] == "delay":
        asyncio.run(delay_main(argv[1], int(argv[2]), float(argv[3])))
    elif len(argv) >= 5 and argv[0] == "poplib":
        poplib_main(int(argv[1]), argv[2], argv[3], argv[4],
                    argv[5] if len(argv) > 5 else None)
    elif len(argv) == 5 and argv[0] == "verify":
        verify_main(*argv[1:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
