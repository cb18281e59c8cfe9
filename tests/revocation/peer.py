#!/usr/bin/env python3
"""tests/revocation/peer.py - revocation peers for tests, bound to 127.0.0.1.

  peer.py PORTFILE ocsp INDEX CA RSIGNER RKEY [NMIN]   a real `openssl ocsp` responder: each POSTed
                                                        request is answered by `openssl ocsp -index ... -reqin`
  peer.py PORTFILE ocsp-fast INDEX CA RSIGNER RKEY [NMIN]
                                                        the same answers signed in this process
                                                        (python3-cryptography; make bench's cold
                                                        scenario: no process per request, so the
                                                        responder's CPU does not starve kensho)
  peer.py PORTFILE static DIR                           serves files from DIR (CRLs)
  peer.py PORTFILE canned FILE                          answers every request with FILE's bytes
  peer.py PORTFILE count                                counts connections (a listener that must see none)
  peer.py PORTFILE sink                                 answers 200 "ok" to every POST and appends its
                                                        body, one line each, to PORTFILE.bodies
                                                        (audit.anchor_url); KS_PEER_FAIL_FIRST=N
                                                        answers the first N with 503
  peer.py PORTFILE fault KIND [FILE]                    misbehaves (tests/test_faults.sh), KIND one of:
      garbage     200 with 4 KiB of random bytes
      500         500 Internal Server Error
      truncated   FILE's Content-Length, half its bytes, then close
      huge        200 declaring 100 MB and streaming zeros until the client hangs up
      huge-nolen  the same without Content-Length (ends when the connection closes)
      drip        FILE's headers, then its body one byte per KS_PEER_DRIP_MS (default 200)
    Bytes of body actually sent are added up in PORTFILE.sent.

The chosen port is written to PORTFILE (bind to port 0: no races).  Every
request is counted in PORTFILE.count; ocsp-fast also writes in
PORTFILE.certs how many distinct certificates (issuer key hash, serial) were
asked about, so a repeated fetch shows as count - certs.  KS_PEER_DELAY_MS
delays each answer (after the first KS_PEER_SLOW_AFTER requests, default 0).
Stdlib only (ocsp-fast: python3-cryptography); stops on SIGTERM.
"""
import http.server
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

portfile, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
delay_ms = int(os.environ.get("KS_PEER_DELAY_MS", "0")) / 1000.0
slow_after = int(os.environ.get("KS_PEER_SLOW_AFTER", "0"))
drip = int(os.environ.get("KS_PEER_DRIP_MS", "200")) / 1000.0
lock = threading.Lock()
count = 0
sent = 0


def add_sent(n):
    global sent
    with lock:
        sent += n
        with open(portfile + ".sent.tmp", "w") as f:
            f.write(str(sent))
        os.replace(portfile + ".sent.tmp", portfile + ".sent")


def bump():
    """Counts a request; returns the delay to apply to it."""
    global count
    with lock:
        count += 1
        with open(portfile + ".count.tmp", "w") as f:
            f.write(str(count))
        os.replace(portfile + ".count.tmp", portfile + ".count")
        return delay_ms if count > slow_after else 0


certs = set()
sink_seen = 0


def note_cert(cert_id):
    """Records a certificate asked about (ocsp-fast)."""
    with lock:
        certs.add(cert_id)
        with open(portfile + ".certs.tmp", "w") as f:
            f.write(str(len(certs)))
        os.replace(portfile + ".certs.tmp", portfile + ".certs")


class FastResponder:
    """RFC 6960 answers from an `openssl ca` index, signed in process.  The
    index is read once: the bench's index does not change while it runs."""

    def __init__(self, index, ca, rsigner, rkey, nmin):
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        self.x509 = x509
        with open(ca, "rb") as f:
            self.ca = x509.load_pem_x509_certificate(f.read())
        with open(rsigner, "rb") as f:
            self.rsigner = x509.load_pem_x509_certificate(f.read())
        with open(rkey, "rb") as f:
            self.rkey = serialization.load_pem_private_key(f.read(), None)
        self.nmin = int(nmin)
        self.entries = {}  # serial -> (status letter, revocation field)
        with open(index) as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 4:
                    self.entries[int(cols[3], 16)] = (cols[0], cols[2])
        # Signs the stand-in certificate of each answer: cryptography 38
        # builds a CertID from a certificate, of which only the serial counts.
        self.dummy_key = ed25519.Ed25519PrivateKey.generate()

    def answer(self, body):
        import datetime
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509 import ocsp
        x509 = self.x509
        try:
            req = ocsp.load_der_ocsp_request(body)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        note_cert((req.issuer_key_hash, req.serial_number))
        now = datetime.datetime.utcnow().replace(microsecond=0)
        stand_in = (x509.CertificateBuilder().subject_name(self.ca.subject).issuer_name(self.ca.subject)
                    .public_key(self.dummy_key.public_key()).serial_number(req.serial_number)
                    .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                    .sign(self.dummy_key, None))
        # Our CA's issuerKeyHash in the request's algorithm, computed by the
        # library (a request built for the stand-in).
        mine = ocsp.OCSPRequestBuilder().add_certificate(stand_in, self.ca, req.hash_algorithm).build()
        if mine.issuer_key_hash != req.issuer_key_hash or mine.issuer_name_hash != req.issuer_name_hash:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        status, rev = self.entries.get(req.serial_number, ("?", ""))
        kw = {"revocation_time": None, "revocation_reason": None}
        if status == "V":
            cs = ocsp.OCSPCertStatus.GOOD
        elif status == "R":
            cs = ocsp.OCSPCertStatus.REVOKED
            when, _, reason = rev.partition(",")
            kw["revocation_time"] = datetime.datetime.strptime(when, "%y%m%d%H%M%SZ")
            if reason:
                # openssl ca spells two reasons differently (RFC 5280 5.3.1)
                reason = {"CACompromise": "cACompromise", "AACompromise": "aACompromise"}.get(reason, reason)
                kw["revocation_reason"] = x509.ReasonFlags(reason)
        else:
            cs = ocsp.OCSPCertStatus.UNKNOWN
        b = (ocsp.OCSPResponseBuilder()
             .add_response(cert=stand_in, issuer=self.ca, algorithm=req.hash_algorithm, cert_status=cs,
                           this_update=now, next_update=now + datetime.timedelta(minutes=self.nmin), **kw)
             .responder_id(ocsp.OCSPResponderEncoding.HASH, self.rsigner)
             .certificates([self.rsigner]))
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                b = b.add_extension(ext.value, critical=False)
        return b.sign(self.rkey, hashes.SHA256())


fast = None
if mode == "ocsp-fast":
    fast = FastResponder(*args[:4], args[4] if len(args) > 4 else "5")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        delay = bump()
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 1 << 20))
        if delay:
            time.sleep(delay)
        if mode == "sink":
            global sink_seen
            with lock:
                sink_seen += 1
                if sink_seen <= int(os.environ.get("KS_PEER_FAIL_FIRST", "0")):
                    return self.reply(503, b"unavailable", "text/plain")
                with open(portfile + ".bodies", "ab") as f:
                    f.write(body.replace(b"\n", b" ") + b"\n")
            return self.reply(200, b"ok", "text/plain")
        if mode == "ocsp-fast":
            from cryptography.hazmat.primitives import serialization
            r = fast.answer(body)
            return self.reply(200, r.public_bytes(serialization.Encoding.DER), "application/ocsp-response")
        if mode == "ocsp":
            index, ca, rsigner, rkey = args[:4]
            nmin = args[4] if len(args) > 4 else "5"
            with tempfile.TemporaryDirectory() as d:
                req, resp = os.path.join(d, "req.der"), os.path.join(d, "resp.der")
                with open(req, "wb") as f:
                    f.write(body)
                r = subprocess.run(["openssl", "ocsp", "-index", index, "-CA", ca, "-rsigner", rsigner,
                                    "-rkey", rkey, "-reqin", req, "-respout", resp, "-nmin", nmin],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
                if r.returncode != 0 or not os.path.exists(resp):
                    return self.reply(500, b"responder failed", "text/plain")
                with open(resp, "rb") as f:
                    return self.reply(200, f.read(), "application/ocsp-response")
        return self.do_GET(counted=True)

    def fault(self):
        kind = args[0]
        body = b""
        if len(args) > 1:
            with open(args[1], "rb") as f:
                body = f.read()
        try:
            if kind == "garbage":
                return self.reply(200, os.urandom(4096), "application/ocsp-response")
            if kind == "500":
                return self.reply(500, b"internal error", "text/plain")
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            if kind == "truncated":
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                add_sent(len(body) // 2)
            elif kind in ("huge", "huge-nolen"):
                if kind == "huge":
                    self.send_header("Content-Length", str(100 * 1000 * 1000))
                self.end_headers()
                chunk = b"\0" * 65536
                for _ in range(100 * 1000 * 1000 // len(chunk)):
                    self.wfile.write(chunk)
                    add_sent(len(chunk))
            elif kind == "drip":
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    add_sent(1)
                    time.sleep(drip)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def do_GET(self, counted=False):
        if not counted:
            delay = bump()
            if delay:
                time.sleep(delay)
        if mode == "fault":
            return self.fault()
        if mode == "canned":
            with open(args[0], "rb") as f:
                return self.reply(200, f.read(), "application/ocsp-response")
        if mode == "static":
            name = os.path.basename(self.path.split("?")[0])
            path = os.path.join(args[0], name)
            if name and os.path.isfile(path):
                with open(path, "rb") as f:
                    return self.reply(200, f.read(), "application/pkix-crl")
        return self.reply(404, b"not found", "text/plain")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def verify_request(self, request, client_address):
        if mode == "count":
            bump()
        if mode == "reset":
            # accept, then close the connection before reading a byte: the
            # client's first write draws a reset, its next one EPIPE/SIGPIPE
            bump()
            request.close()
            return False
        return True


srv = Server(("127.0.0.1", int(os.environ.get("KS_PEER_PORT", "0"))), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(portfile + ".tmp", portfile)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass
