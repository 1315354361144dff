#!/usr/bin/env python3
"""The mailbox as Python's poplib sees it, for comparing libspop's listings
with an implementation that shares nothing with it: "NUMBER SIZE UID" per
message from LIST and UIDL, or with "stat" the message count alone.

usage: poplib-listing.py PORT USER PASSWORD [stat]   (server 127.0.0.1)
Used by tests/examples/test-examples.sh and tools/test-packages.sh."""
import poplib
import sys

if len(sys.argv) not in (4, 5) or sys.argv[4:] not in ([], ["stat"]):
    sys.exit(__doc__)
port, user, password = sys.argv[1:4]
p = poplib.POP3("127.0.0.1", int(port), timeout=30)
p.user(user)
p.pass_(password)
if sys.argv[4:] == ["stat"]:
    print(p.stat()[0])
else:
    sizes = dict(line.decode().split() for line in p.list()[1])
    uids = dict(line.decode().split() for line in p.uidl()[1])
    for n in sorted(sizes, key=int):
        print(n, sizes[n], uids[n])
p.quit()
