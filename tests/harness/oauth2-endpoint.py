#!/usr/bin/env python3
"""A small OAuth 2.0 token-introspection endpoint (RFC 7662) for the private
Dovecot's oauth2 passdb (dovecot-harness.sh, HARNESS_OAUTH2_URL): it knows
the tokens given on its command line and says which user each belongs to;
every other token is inactive.

usage: oauth2-endpoint.py PORT_FILE LOG_FILE TOKEN=USER...

Listens on 127.0.0.1 on a free port, written to PORT_FILE once it accepts
connections. The token comes the way Dovecot's introspection_mode sends it:
"post" (form field token=), "auth" (Authorization: Bearer) or "get" (the
end of the URL). Answers 200 with {"active": true, "username": USER} or
{"active": false}. LOG_FILE gets one line per request: "active USER" or
"inactive", never the token. Runs until SIGTERM or until its parent
process ends.
"""

import http.server
import json
import os
import sys
import threading
import time
import urllib.parse


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    port_file, log_file = sys.argv[1], sys.argv[2]
    tokens = {}
    for pair in sys.argv[3:]:
        token, sep, user = pair.partition("=")
        if not sep or not token or not user:
            sys.exit("oauth2-endpoint: not TOKEN=USER: %r" % pair)
        tokens[token] = user

    class Handler(http.server.BaseHTTPRequestHandler):
        def token(self):
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("bearer "):
                return auth[7:].strip()
            if self.command == "POST":
                n = int(self.headers.get("Content-Length", "0") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                return form.get("token", [""])[0]
            return urllib.parse.unquote(self.path.rsplit("/", 1)[-1])

        def answer(self):
            user = tokens.get(self.token())
            reply = {"active": True, "username": user} if user \
                else {"active": False}
            with open(log_file, "a") as log:
                log.write("active %s\n" % user if user else "inactive\n")
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = answer
        do_POST = answer

        def log_message(self, fmt, *args):
            pass  # the request line may carry the token (mode "get")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A test that dies leaves no endpoint behind: gone with its parent.
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
