"""tests/fcgi/fcgi_records.py - FastCGI 1.0 records for the tests' FastCGI
client (fcgi_client.py) and server (params_probe.py)."""
import struct

BEGIN, END, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7


def record(rtype, content, rid=1):
    """One record per 65535 bytes of content (FastCGI 1.0, 3.3); an empty
    record for no content (the end of a stream)."""
    out = b""
    for i in range(0, max(len(content), 1), 65535):
        chunk = content[i:i + 65535]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack(">BBHHBB", 1, rtype, rid, len(chunk), pad, 0) + chunk + b"\0" * pad
        if not content:
            break
    return out


def records(sock):
    """Yields (type, request id, content) for each record read from sock
    until the peer closes it."""
    buf = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        buf += data
        while len(buf) >= 8:
            _, rtype, rid, clen, pad, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + pad:
                break
            content, buf = buf[8:8 + clen], buf[8 + clen + pad:]
            yield rtype, rid, content
