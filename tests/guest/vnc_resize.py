#!/usr/bin/env python3
"""vnc_resize.py - asks a QEMU VNC server to change the guest's display size.

    vnc_resize.py SOCKET WIDTH HEIGHT

Connects to the VNC server on the unix socket SOCKET (RFB 3.8, security
type None), announces the ExtendedDesktopSize pseudo-encoding and sends a
SetDesktopSize message (RFB message 251) with one screen of WIDTH x HEIGHT.
QEMU forwards the request to virtio-gpu as a new preferred mode; the probe
then switches to it and logs "mode WxH".  Standard library only.
"""
import socket
import struct
import sys
import time


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    path, width, height = argv[1], int(argv[2]), int(argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)

    def recv(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError("VNC server closed the connection")
            buf += chunk
        return buf

    version = recv(12)
    if not version.startswith(b"RFB 003."):
        raise ValueError("not an RFB server: %r" % version)
    s.sendall(b"RFB 003.008\n")
    count = recv(1)[0]
    if count == 0:
        raise ValueError("VNC server refused the connection")
    types = recv(count)
    if 1 not in types:
        raise ValueError("VNC server does not offer security type None: %r" % list(types))
    s.sendall(b"\x01")
    (result,) = struct.unpack(">I", recv(4))
    if result != 0:
        raise ValueError("VNC security handshake failed")
    s.sendall(b"\x01")  # ClientInit, shared
    fb_w, fb_h = struct.unpack(">HH", recv(4))
    recv(16)  # pixel format
    (name_len,) = struct.unpack(">I", recv(4))
    recv(name_len)
    # SetEncodings: ExtendedDesktopSize (-308), Raw (0)
    s.sendall(struct.pack(">BBHii", 2, 0, 2, -308, 0))
    # FramebufferUpdateRequest (incremental) so the server starts talking
    s.sendall(struct.pack(">BBHHHH", 3, 1, 0, 0, fb_w, fb_h))
    time.sleep(0.3)
    # SetDesktopSize: width, height, one screen (id 0 at 0,0)
    s.sendall(struct.pack(">BBHHBB", 251, 0, width, height, 1, 0)
              + struct.pack(">IHHHHI", 0, 0, 0, width, height, 0))
    # give the server time to act before closing
    time.sleep(1.0)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
