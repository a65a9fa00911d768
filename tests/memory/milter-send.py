#!/usr/bin/env python3
"""milter-send.py SOCKET MESSAGE LOGIN RCPT: plays the MTA's side of one
milter transaction (protocol 6) against smime-milter, the body in 64 KB
chunks as Postfix sends it, and prints what came back: the final action,
the header edits and the size of the replaced body. Exit 1 on a protocol
error. Used by run-outbound-memory.sh to measure the daemon."""
import socket
import struct
import sys


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def read_packet(s):
    head = b""
    while len(head) < 4:
        more = s.recv(4 - len(head))
        if not more:
            raise EOFError("milter closed the connection")
        head += more
    (n,) = struct.unpack(">I", head)
    data = b""
    while len(data) < n:
        more = s.recv(n - len(data))
        if not more:
            raise EOFError("short packet")
        data += more
    return data[:1], data[1:]


def main():
    path, message, login, rcpt = sys.argv[1:5]
    raw = open(message, "rb").read()
    head, _, body = raw.partition(b"\r\n\r\n")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(packet(b"O", struct.pack(">III", 6, 0x1FF, 0x102)))
    cmd, _ = read_packet(s)
    assert cmd == b"O", cmd

    def step(cmd, data=b""):
        s.sendall(packet(cmd, data))
        c, d = read_packet(s)
        if c not in (b"c",):
            raise RuntimeError("%r answered %r %r" % (cmd, c, d[:200]))

    s.sendall(packet(b"D", b"C" + b"{daemon_name}\0submission\0"))
    step(b"C", b"client.example\x004" + struct.pack(">H", 25) + b"192.0.2.99\0")
    s.sendall(packet(b"D", b"M" + b"i\0MEMTEST\0{auth_authen}\0" + login.encode() + b"\0"))
    step(b"M", b"<" + login.encode() + b"@a.example>\0")
    step(b"R", b"<" + rcpt.encode() + b">\0")
    step(b"T")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        step(b"L", name + b"\0" + value.lstrip(b" ") + b"\0")
    step(b"N")
    for at in range(0, len(body), 65535):
        step(b"B", body[at:at + 65535])
    s.sendall(packet(b"D", b"E" + b"i\0MEMTEST\0"))
    s.sendall(packet(b"E"))
    replaced = 0
    edits = []
    while True:
        c, d = read_packet(s)
        if c == b"b":
            replaced += len(d)
        elif c in (b"h", b"m", b"i"):
            edits.append(c)
        elif c == b"p":
            continue
        else:
            print("final=%s replaced_body=%d edits=%d %s"
                  % (c.decode(), replaced, len(edits), d[:100].decode(errors="replace")))
            break
    s.sendall(packet(b"Q"))
    s.close()


if __name__ == "__main__":
    main()
