#!/usr/bin/env python3
"""imgcmp.py - compares screenshots pixel by pixel (standard library only).

    imgcmp.py ACTUAL EXPECTED        exit 0 if identical, 1 if not
    imgcmp.py --info IMAGE           prints "W H" and the pixel at (0,0)
    imgcmp.py --pixel IMAGE X Y      prints the pixel as RRGGBB

Images may be binary PPM (P6, maxval 255, what "virsh screenshot" writes
with older QEMU) or 8-bit RGB/RGBA PNG (what it writes when QEMU supports
PNG screendumps).  On a mismatch it prints the number of differing pixels,
their bounding box and the first few of them.
"""
import struct
import sys
import zlib


def read_ppm(data):
    fields = []
    i = 0
    while len(fields) < 4:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            while data[i:i + 1] not in (b"\n", b""):
                i += 1
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(data[i:j])
        i = j
    i += 1  # single whitespace after maxval
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise ValueError("only P6 PPM with maxval 255 is supported")
    w, h = int(fields[1]), int(fields[2])
    return w, h, bytes(data[i:i + w * h * 3])


def read_png(data):
    pos = 8
    w = h = None
    idat = b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color not in (2, 6) or interlace:
                raise ValueError("only 8-bit RGB/RGBA non-interlaced PNG is supported")
            bpp = 3 if color == 2 else 4
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray(w * h * 3)
    prev = bytearray(stride)
    p = 0
    for y in range(h):
        ftype = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        if ftype == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 0xFF
        elif ftype == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 0xFF
        elif ftype == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 0xFF
        elif ftype == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 0xFF
        if bpp == 3:
            out[y * w * 3:(y + 1) * w * 3] = line
        else:
            o = y * w * 3
            for x in range(w):
                out[o + x * 3:o + x * 3 + 3] = line[x * 4:x * 4 + 3]
        prev = line
    return w, h, bytes(out)


def read_image(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return read_png(data)
    if data[:2] == b"P6":
        return read_ppm(data)
    raise ValueError("%s: neither PNG nor P6 PPM" % path)


def main(argv):
    if len(argv) == 3 and argv[1] == "--info":
        w, h, px = read_image(argv[2])
        print(w, h, px[0:3].hex())
        return 0
    if len(argv) == 5 and argv[1] == "--pixel":
        w, h, px = read_image(argv[2])
        x, y = int(argv[3]), int(argv[4])
        print(px[(y * w + x) * 3:(y * w + x) * 3 + 3].hex())
        return 0
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    aw, ah, a = read_image(argv[1])
    ew, eh, e = read_image(argv[2])
    if (aw, ah) != (ew, eh):
        print("size differs: actual %dx%d, expected %dx%d" % (aw, ah, ew, eh))
        return 1
    if a == e:
        print("identical %dx%d" % (aw, ah))
        return 0
    bad = []
    x0, y0, x1, y1 = aw, ah, -1, -1
    for i in range(0, len(a), 3):
        if a[i:i + 3] != e[i:i + 3]:
            x, y = (i // 3) % aw, (i // 3) // aw
            if len(bad) < 5:
                bad.append("(%d,%d) got %s want %s" % (x, y, a[i:i + 3].hex(), e[i:i + 3].hex()))
            x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
    count = sum(1 for i in range(0, len(a), 3) if a[i:i + 3] != e[i:i + 3])
    print("%d pixels differ, box (%d,%d)-(%d,%d); first: %s" % (count, x0, y0, x1, y1, "; ".join(bad)))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
