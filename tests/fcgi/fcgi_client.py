#!/usr/bin/env python3
"""tests/fcgi/fcgi_client.py - a minimal FastCGI client (FastCGI 1.0 spec,
RESPONDER role) for tests that must hold a request open inside kensho-fcgi:

    fcgi_client.py SOCKET METHOD PATH CONTENT_TYPE BODY_FILE READY_FILE PAUSE_S

SOCKET is a unix socket path, or tcp:HOST:PORT.  REQUEST_ID is
"drain-test-1" unless $KS_REQUEST_ID says otherwise.  Sends the parameters and the first half of the body, creates READY_FILE,
sleeps PAUSE_S, sends the rest, and prints the response (headers and body,
as the application wrote them) on stdout.  Exit 0 when a complete response
(END_REQUEST) arrived, 1 otherwise.  Every socket operation has a timeout.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fcgi_records import BEGIN, END, PARAMS, STDIN, STDOUT, record, records  # noqa: E402


def nv(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def main():
    sock_path, method, path, ctype, body_file, ready, pause = sys.argv[1:8]
    body = open(body_file, "rb").read()
    if sock_path.startswith("tcp:"):
        host, port = sock_path[4:].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect((host, int(port)))
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(sock_path)
    params = b"".join(nv(k.encode(), v.encode()) for k, v in [
        ("REQUEST_METHOD", method), ("DOCUMENT_URI", path), ("QUERY_STRING", ""),
        ("CONTENT_TYPE", ctype), ("CONTENT_LENGTH", str(len(body))), ("REQUEST_ID", os.environ.get("KS_REQUEST_ID", "drain-test-1"))])
    half = len(body) // 2
    try:
        s.sendall(record(BEGIN, struct.pack(">HB5x", 1, 0)) + record(PARAMS, params) + record(PARAMS, b""))
        s.sendall(record(STDIN, body[:half]))
        open(ready, "w").close()
        time.sleep(float(pause))
        s.sendall(record(STDIN, body[half:]) + record(STDIN, b""))
    except OSError:  # closed by the service (service.allow_from)
        open(ready, "w").close()
    out, done = b"", False
    try:
        got = list(records(s))
    except OSError:
        got = []
    for rtype, _, content in got:
        if rtype == STDOUT:
            out += content
        elif rtype == END:
            done = True
            break
    sys.stdout.buffer.write(out)
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
