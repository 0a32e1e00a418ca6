"""A stand-in for journald's native socket, for tests (usbhop(1) JOURNAL FIELDS).

    journal_sink.py SOCKET OUT   bind the datagram socket SOCKET (usually
                                 /run/systemd/journal/socket) and append each
                                 record to OUT as one JSON list of [key, value]
                                 pairs (keys may repeat), until killed.

The native protocol (systemd's JOURNAL_NATIVE_PROTOCOL): each field is
KEY=value\\n, or KEY\\n, a little-endian 64-bit size, the bytes and \\n (for
values with newlines or binary). A record too big for one datagram arrives
as an empty datagram carrying a memfd (SCM_RIGHTS) that holds it.
tests/integration/server/journal_test.py imports parse_record and receive."""
import array
import json
import os
import socket
import struct
import sys


def parse_record(data):
    """One record's bytes -> list of (key, value) pairs."""
    fields = []
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        eq = data.find(b"=", i, nl)
        if eq >= 0:
            fields.append((data[i:eq].decode(), data[eq + 1:nl].decode("utf-8", "replace")))
            i = nl + 1
            continue
        key = data[i:nl].decode()
        (size,) = struct.unpack_from("<Q", data, nl + 1)
        start = nl + 1 + 8
        if data[start + size:start + size + 1] != b"\n":
            raise ValueError("binary field %s is not followed by a newline" % key)
        fields.append((key, data[start:start + size].decode("utf-8", "replace")))
        i = start + size + 1
    return fields


def receive(sock):
    """Blocks (per the socket's timeout) for one record; returns its pairs."""
    data, anc, _, _ = sock.recvmsg(1 << 17, socket.CMSG_SPACE(4))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[:4])
            with os.fdopen(fds[0], "rb") as memfd:
                memfd.seek(0)
                data = memfd.read()
    return parse_record(data)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: journal_sink.py SOCKET OUT")
    path, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    with open(out, "a") as f:
        while True:
            f.write(json.dumps(receive(sock)) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
