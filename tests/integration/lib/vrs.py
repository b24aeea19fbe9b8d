"""Frames of the vredir stream format (man/vredir-stream.5), for test peers
that speak it byte by byte: the session fuzz seeds (tests/fuzz/seeds.py) and
the hostile clients of the redir-mux tests (mux_peer.py)."""
import struct

MAGIC = b"\x89VRS\r\n\x1a\n" + struct.pack("<HH", 1, 0)
SESSION = 0xFFF0  # redir-mux's session channel
HEADER = 16


def frame(channel, ftype, payload, flags=0, ts=0):
    return struct.pack("<IHBBQ", len(payload), channel, ftype, flags, ts) + payload


def short(s):
    b = s.encode() if isinstance(s, str) else s
    return bytes([len(b)]) + b


def params(p):
    out = struct.pack("<H", len(p))
    for k, v in sorted(p.items()):
        kb = k.encode()
        vb = v.encode() if isinstance(v, str) else v
        out += bytes([len(kb)]) + kb + struct.pack("<H", len(vb)) + vb
    return out


def hello(producer="test"):
    return frame(0, 0x01, short(producer) + short("1") + params({}))


def declare(cid, kind, name, p=None):
    return frame(0, 0x02, struct.pack("<HB", cid, kind) + short(name) + params(p or {}))


def control(verb, args=None, channel=SESSION):
    return frame(channel, 0x60, short(verb) + params(args or {}))


def end(reason=0, msg=""):
    return frame(0, 0x0F, bytes([reason]) + struct.pack("<H", len(msg)) + msg.encode())


def key(channel, seq, code, down):
    return frame(channel, 0x40, struct.pack("<QHBBI", seq, code, 1 if down else 0, 0, 0))


def session_opening():
    """What a client sends first: the stream header, HELLO, the session channel."""
    return MAGIC + hello() + declare(SESSION, 7, "session")


def read_frames(data):
    """Splits bytes (after the 12-byte header) into (channel, type, payload)."""
    out, pos = [], 0
    while pos + HEADER <= len(data):
        length, channel, ftype = struct.unpack_from("<IHB", data, pos)
        if pos + HEADER + length > len(data):
            break
        out.append((channel, ftype, data[pos + HEADER:pos + HEADER + length]))
        pos += HEADER + length
    return out, pos


def decode_control(payload):
    n = payload[0]
    verb = payload[1:1 + n].decode(errors="replace")
    pos = 1 + n
    count = struct.unpack_from("<H", payload, pos)[0]
    pos += 2
    args = {}
    for _ in range(count):
        kl = payload[pos]
        k = payload[pos + 1:pos + 1 + kl].decode(errors="replace")
        pos += 1 + kl
        vl = struct.unpack_from("<H", payload, pos)[0]
        v = payload[pos + 2:pos + 2 + vl].decode(errors="replace")
        pos += 2 + vl
        args[k] = v
    return verb, args


def decode_end(payload):
    reason = payload[0]
    n = struct.unpack_from("<H", payload, 1)[0]
    return reason, payload[3:3 + n].decode(errors="replace")
