#!/usr/bin/env python3
"""Peers of redir-mux serve for the hostile-peer tests, over TLS (no
certificate check: the tests pin nothing here) from a chosen source address.

  mux_peer.py flood PORT SOURCE BYTES STREAM SECONDS
      Sends STREAM (a .vrs file) again and again before logging in,
      reconnecting whenever the server hangs up, until BYTES were sent or
      SECONDS passed. Prints: sent=N connections=N refused_lines=N
  mux_peer.py silent PORT SOURCE COUNT SECONDS READY_FILE
      Opens COUNT TCP connections from SOURCE, writes READY_FILE, holds them.
      Prints how many the server closed before SECONDS passed.
  mux_peer.py late-login PORT SOURCE USER PASSWORD GO_FILE SECONDS
      Connects and completes TLS, then waits (not logged in) until GO_FILE
      exists, then logs in. Prints auth-ok, or what the server said instead.
  mux_peer.py stall PORT SOURCE USER PASSWORD VM SECONDS
      Logs in, opens VM with its streams, reads until the server says
      "selected", then reads nothing more for SECONDS (a small receive
      buffer, so the server's bytes back up at once), and exits.
  mux_peer.py idle PORT SOURCE USER PASSWORD SECONDS
      Logs in and sends nothing more; prints the END message when the server
      ends the session, or "still open" after SECONDS.
"""
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vrs  # noqa: E402


def tls_connect(port, source, timeout=10, rcvbuf=None):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.bind((source, 0))
    raw.settimeout(timeout)
    raw.connect(("127.0.0.1", port))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_until_end(s, seconds):
    """Reads the server's stream; returns the list of (verb, args) and the
    END message (None when the connection just closed)."""
    buf, controls, deadline = b"", [], time.time() + seconds
    s.settimeout(1)
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except (OSError, ssl.SSLError):
            break
        if not chunk:
            break
        buf += chunk
        body = buf[12:] if buf.startswith(vrs.MAGIC[:8]) else buf
        frames, _ = vrs.read_frames(body)
        for channel, ftype, payload in frames:
            if ftype == 0x60 and channel == vrs.SESSION:
                c = vrs.decode_control(payload)
                if c not in controls:
                    controls.append(c)
            if ftype == 0x0F and channel == 0:
                return controls, vrs.decode_end(payload)[1]
    return controls, None


def login(s, user, password):
    s.sendall(vrs.session_opening() + vrs.control("auth", {"user": user, "password": password}))


def flood(port, source, total, stream_file, seconds):
    data = open(stream_file, "rb").read()
    sent = conns = refused = 0
    deadline = time.time() + seconds
    while sent < total and time.time() < deadline:
        try:
            s = tls_connect(port, source, timeout=5)
        except (OSError, ssl.SSLError):
            refused += 1
            time.sleep(0.05)
            continue
        conns += 1
        try:
            pos = 0
            while pos < len(data) and sent < total and time.time() < deadline:
                n = s.send(data[pos:pos + 65536])
                pos += n
                sent += n
        except (OSError, ssl.SSLError):
            pass
        s.close()
    print(f"sent={sent} connections={conns} refused_connects={refused}")


def silent(port, source, count, seconds, ready):
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        try:
            s.connect(("127.0.0.1", port))
            socks.append(s)
        except OSError:
            pass
    open(ready, "w").write("open\n")
    deadline = time.time() + seconds
    closed = set()
    while time.time() < deadline and len(closed) < len(socks):
        for i, s in enumerate(socks):
            if i in closed:
                continue
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.2)
    print(f"opened={len(socks)} closed_by_server={len(closed)}")


def late_login(port, source, user, password, go, seconds):
    s = tls_connect(port, source)
    s.do_handshake()
    deadline = time.time() + seconds
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.1)
    try:
        login(s, user, password)
        controls, end = read_until_end(s, 10)
    except (OSError, ssl.SSLError) as e:
        print(f"lost: {e}")
        return
    if any(v == "auth-ok" for v, _ in controls):
        print("auth-ok")
    else:
        print(f"no auth-ok: {end}")


def stall(port, source, user, password, vm, seconds):
    s = tls_connect(port, source, rcvbuf=4096)
    login(s, user, password)
    s.sendall(vrs.control("select", {"vm": vm, "streams": "1"}))
    buf, deadline = b"", time.time() + 60
    s.settimeout(1)
    while b"selected" not in buf and time.time() < deadline:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
    print("selected" if b"selected" in buf else "not selected")
    sys.stdout.flush()
    time.sleep(seconds)


def idle(port, source, user, password, seconds):
    s = tls_connect(port, source)
    login(s, user, password)
    controls, end = read_until_end(s, seconds)
    print(end if end is not None else "still open")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "flood":
        flood(int(args[0]), args[1], int(args[2]), args[3], float(args[4]))
    elif cmd == "silent":
        silent(int(args[0]), args[1], int(args[2]), float(args[3]), args[4])
    elif cmd == "late-login":
        late_login(int(args[0]), args[1], args[2], args[3], args[4], float(args[5]))
    elif cmd == "stall":
        stall(int(args[0]), args[1], args[2], args[3], args[4], float(args[5]))
    elif cmd == "idle":
        idle(int(args[0]), args[1], args[2], args[3], float(args[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
