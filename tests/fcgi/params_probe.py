#!/usr/bin/env python3
"""tests/fcgi/params_probe.py - a FastCGI responder (FastCGI 1.0 spec) that
records what nginx passes, for tests/test_hardening.sh:

    params_probe.py SOCKET OUT_FILE

Listens on the unix SOCKET; for each request writes the names of the
parameters it received to OUT_FILE (one per line, replacing the file) and
answers 200 "ok".  Serves until killed; every connection has a timeout.
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fcgi_records import END, PARAMS, STDIN, STDOUT, record, records  # noqa: E402


def names(params):
    """Parameter names of a PARAMS stream (FastCGI 1.0, 3.4)."""
    out, i = [], 0

    def length():
        nonlocal i
        if params[i] < 128:
            i += 1
            return params[i - 1]
        i += 4
        return struct.unpack(">I", params[i - 4:i])[0] & 0x7FFFFFFF

    while i < len(params):
        nlen = length()
        vlen = length()
        out.append(params[i:i + nlen].decode("latin-1"))
        i += nlen + vlen
    return out


def serve(conn, out_file):
    params = b""
    for rtype, rid, content in records(conn):
        if rtype == PARAMS:
            params += content
        elif rtype == STDIN and not content:  # the end of the body
            with open(out_file + ".tmp", "w") as f:
                f.write("".join(n + "\n" for n in names(params)))
            os.replace(out_file + ".tmp", out_file)
            body = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok"
            conn.sendall(record(STDOUT, body, rid) + record(STDOUT, b"", rid) +
                         record(END, struct.pack(">IB3x", 0, 0), rid))
            return


def main():
    sock_path, out_file = sys.argv[1:3]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock_path)
    s.listen(16)
    while True:
        conn, _ = s.accept()
        conn.settimeout(10)
        try:
            serve(conn, out_file)
        except (OSError, IndexError, struct.error):
            pass
        conn.close()


if __name__ == "__main__":
    main()
