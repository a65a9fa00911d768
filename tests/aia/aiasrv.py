#!/usr/bin/env python3
"""aiasrv.py PORT DIR LOG READY: the caIssuers server of tests/aia/run-aia.sh.

Serves on 127.0.0.1:PORT only: /inter.der and /inter.p7c (files from DIR),
/redirect (302 to /inter.der on the same host), /big (100 000 bytes). Every
request appends its path to LOG (so the test can count requests); READY is
created once the socket listens. Runs until killed.
"""
import http.server
import os
import sys

port, root, log, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/inter.der")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/big":
            body = b"0" * 100000
        else:
            name = os.path.basename(self.path)
            try:
                with open(os.path.join(root, name), "rb") as f:
                    body = f.read()
            except OSError:
                self.send_error(404)
                return
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-cert")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", port), Handler)
open(ready, "w").close()
srv.serve_forever()
