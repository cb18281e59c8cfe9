#!/usr/bin/env python3
"""tests/fcgi/ocsp_http.py - the demo OCSP responder of `make run`, on
127.0.0.1 only.

`openssl ocsp -port N` binds every interface and takes no address, so this
small HTTP front (RFC 6960 appendix A: POST application/ocsp-request, or GET
with the base64 request in the path) listens on 127.0.0.1 and answers each
request with `openssl ocsp -index ... -CA ... -rsigner ... -rkey ... -nmin 5
-reqin REQ -respout RESP`.

    ocsp_http.py PORT INDEX CA RSIGNER RKEY
"""
import base64
import http.server
import os
import subprocess
import sys
import tempfile
import urllib.parse

MAX_REQUEST = 64 * 1024

PORT, INDEX, CA, RSIGNER, RKEY = sys.argv[1:6]


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, der):
        with tempfile.TemporaryDirectory() as d:
            req, resp = os.path.join(d, "req.der"), os.path.join(d, "resp.der")
            with open(req, "wb") as f:
                f.write(der)
            r = subprocess.run(["openssl", "ocsp", "-index", INDEX, "-CA", CA, "-rsigner", RSIGNER,
                                "-rkey", RKEY, "-nmin", "5", "-reqin", req, "-respout", resp],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
            if r.returncode != 0 or not os.path.exists(resp):
                self.send_error(400)
                return
            body = open(resp, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0 or n > MAX_REQUEST:
            self.send_error(413 if n > MAX_REQUEST else 400)
            return
        self.answer(self.rfile.read(n))

    def do_GET(self):
        try:
            der = base64.b64decode(urllib.parse.unquote(self.path.rsplit("/", 1)[-1]), validate=False)
        except ValueError:
            self.send_error(400)
            return
        if not der or len(der) > MAX_REQUEST:
            self.send_error(400)
            return
        self.answer(der)

    def log_message(self, fmt, *args):
        sys.stderr.write("ocsp: " + (fmt % args) + "\n")


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
