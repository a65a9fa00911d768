#!/usr/bin/python3
"""revsrv.py: the small HTTP servers of the revocation tests, 127.0.0.1 only.

Usage:
  revsrv.py static  PORT LOG READY DIR                 serve DIR (GET/HEAD)
  revsrv.py ocsp    PORT LOG READY INDEX CA RSIGNER RKEY
        OCSP over HTTP (POST body or GET /base64): each request is answered by
        `openssl ocsp -index INDEX -CA CA -rsigner RSIGNER -rkey RKEY
        -reqin ... -respout ... -ndays 1` (openssl 3.0's own `-port` takes
        a port number only and binds every interface, so it is not used)
  revsrv.py slow    PORT LOG READY SECONDS             read the request, wait
        SECONDS, then answer 200 with an empty body
  revsrv.py garbage PORT LOG READY                     200 + random bytes

Every request appends one line "METHOD PATH" to LOG (a bare TCP connection
without a request line is not logged), so a test can count requests. READY is
created once the socket listens. Runs until killed (SIGTERM).
Failure modes: exits non-zero with a Python traceback if the port is taken or
the arguments are wrong; an openssl failure in ocsp mode answers HTTP 500 and
logs "ERROR ..." to LOG.
"""
import base64
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

MODE, PORT, LOG, READY = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ARGS = sys.argv[5:]
LOCK = threading.Lock()


def log(line):
    with LOCK, open(LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):  # quiet: our own request log only
        pass

    def reply(self, code, body, ctype="application/octet-stream"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def handle_any(self):
        log(f"{self.command} {self.path}")
        if MODE == "static":
            self.static()
        elif MODE == "ocsp":
            self.ocsp()
        elif MODE == "slow":
            self.body()
            time.sleep(float(ARGS[0]))
            self.reply(200, b"")
        elif MODE == "garbage":
            self.body()
            self.reply(200, b"\x30\x82garbage" + os.urandom(512), "application/ocsp-response")

    def static(self):
        name = urllib.parse.unquote(self.path.split("?", 1)[0]).lstrip("/")
        path = os.path.realpath(os.path.join(ARGS[0], name))
        root = os.path.realpath(ARGS[0])
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            self.reply(404, b"not found\n", "text/plain")
            return
        with open(path, "rb") as f:
            data = f.read()
        self.reply(200, data, "application/pkix-crl" if name.endswith(".crl") else "application/octet-stream")

    def ocsp(self):
        if self.command == "POST":
            req = self.body()
        else:
            try:
                req = base64.b64decode(urllib.parse.unquote(self.path.lstrip("/")))
            except ValueError:
                self.reply(400, b"bad request\n", "text/plain")
                return
        index, ca, rsigner, rkey = ARGS
        with tempfile.TemporaryDirectory() as d:
            rin, rout = os.path.join(d, "req.der"), os.path.join(d, "resp.der")
            with open(rin, "wb") as f:
                f.write(req)
            p = subprocess.run(["openssl", "ocsp", "-index", index, "-CA", ca, "-rsigner", rsigner,
                                "-rkey", rkey, "-ndays", "1", "-reqin", rin, "-respout", rout],
                               capture_output=True, check=False)
            if p.returncode != 0 or not os.path.exists(rout):
                log("ERROR " + p.stderr.decode(errors="replace").replace("\n", " "))
                self.reply(500, b"openssl ocsp failed\n", "text/plain")
                return
            with open(rout, "rb") as f:
                self.reply(200, f.read(), "application/ocsp-response")

    do_GET = do_POST = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", PORT), Handler)
open(READY, "w", encoding="utf-8").close()
srv.serve_forever()
