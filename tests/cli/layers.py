#!/usr/bin/env python3
"""The layers of libcommon hold to the drawing in README.md.

Reads the ```layers block of README.md (layer, the layers it may include,
the packages whose headers it may include) and checks:
  - every file under libcommon/LAYER/ includes only its own layer, the layers
    its row allows, and headers of the packages its row allows;
  - every tool's executable (read from build.ninja's link lines) links only
    layers its own sources use, directly or through the layers they include;
  - the link lines the architecture promises: redir-dump links neither
    libvirt, OpenSSL, xcb, FFmpeg nor Tesseract (video and OCR are plugins it
    loads when asked); x-replay not libvirt; vm-list and vm-power neither
    OpenSSL, xcb, ALSA, FFmpeg nor Tesseract; redir-capture and redir-inject
    neither FFmpeg nor Tesseract.
Exit 0 when all hold; otherwise one line per violation and exit 1.

usage: layers.py SOURCE_DIR [BUILD_DIR]   (no BUILD_DIR: the include checks only)
"""
import os
import re
import sys

# Header prefixes of the packages a layer may name in its row. Anything not
# listed here is the C++ or POSIX library, which every layer may use.
PACKAGE_HEADERS = {
    "zlib": [r"zlib\.h"],
    "CLI11": [r"CLI/"],
    "spdlog": [r"spdlog/", r"fmt/"],
    "libpng": [r"png\.h", r"pngconf\.h"],
    "OpenSSL": [r"openssl/"],
    "libvirt": [r"libvirt/"],
    "libxml2": [r"libxml/"],
    "sd-bus": [r"systemd/"],
    "nlohmann-json": [r"nlohmann/"],
    "Boost": [r"boost/"],
    "X11": [r"xcb/", r"X11/", r"alsa/", r"fontconfig/", r"ft2build\.h"],
    "tesseract": [r"tesseract/", r"leptonica/"],
    "FFmpeg": [r"libavcodec/", r"libavformat/", r"libavutil/", r"libswscale/"],
    "usbredir": [r"usbredir", r"libusb"],
}

# What a link line holds, by library file name.
LINKED = {
    "libvirt": r"libvirt(-qemu)?\.so",
    "OpenSSL": r"lib(ssl|crypto)\.so",
    "xcb": r"libxcb[-.a-z0-9]*\.so",
    "ALSA": r"libasound\.so",
    "FFmpeg": r"lib(avcodec|avformat|avutil|swscale)\.so",
    "Tesseract": r"lib(tesseract|leptonica|lept)\.so",
}
PROMISES = {
    "redir-dump": ["libvirt", "OpenSSL", "xcb", "FFmpeg", "Tesseract"],
    "x-replay": ["libvirt"],
    "vm-list": ["OpenSSL", "xcb", "ALSA", "FFmpeg", "Tesseract"],
    "vm-power": ["OpenSSL", "xcb", "ALSA", "FFmpeg", "Tesseract"],
    "redir-capture": ["FFmpeg", "Tesseract"],
    "redir-inject": ["FFmpeg", "Tesseract"],
    "redir-usb": ["xcb", "ALSA", "FFmpeg", "Tesseract"],
}


def read_drawing(src):
    text = open(os.path.join(src, "README.md"), encoding="utf-8").read()
    m = re.search(r"```layers\n(.*?)```", text, re.S)
    if not m:
        sys.exit("layers: README.md has no ```layers drawing")
    rows = {}
    for line in m.group(1).splitlines()[1:]:
        words = line.split()
        if not words or words[0] == "tools":
            continue
        # The layers it may include, then its packages: a word that names
        # a row is a layer, any other (but "-") a package.
        rows[words[0]] = words[1:]
    names = set(rows)
    drawing = {}
    for name, rest in rows.items():
        may = {w for w in rest if w in names}
        packages = {w for w in rest if w not in names and w != "-"}
        drawing[name] = (may, packages)
    return drawing


def includes(path):
    quoted, angled = [], []
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if m:
            quoted.append(m.group(1))
        m = re.match(r"\s*#\s*include\s+<([^>]+)>", line)
        if m:
            angled.append(m.group(1))
    return quoted, angled


def package_of(header):
    for pkg, pats in PACKAGE_HEADERS.items():
        if any(re.match(p, header) for p in pats):
            return pkg
    return None


def closure(layers, drawing):
    out, todo = set(), list(layers)
    while todo:
        layer = todo.pop()
        if layer in out or layer not in drawing:
            continue
        out.add(layer)
        todo.extend(drawing[layer][0])
    return out


def check_includes(src, drawing, problems):
    root = os.path.join(src, "libcommon")
    for layer, (may, packages) in drawing.items():
        folder = os.path.join(root, layer)
        if not os.path.isdir(folder):
            problems.append(f"libcommon/{layer}/ is drawn but does not exist")
            continue
        for f in sorted(os.listdir(folder)):
            if not f.endswith((".cpp", ".hpp", ".h")):
                continue
            quoted, angled = includes(os.path.join(folder, f))
            for h in quoted:
                top = h.split("/")[0] if "/" in h else None
                if top is None:
                    problems.append(f"libcommon/{layer}/{f} includes \"{h}\": include by folder (\"{layer}/{h}\")")
                elif top != layer and top not in may:
                    problems.append(f"libcommon/{layer}/{f} includes \"{h}\": {layer} may not include {top}")
            for h in angled:
                pkg = package_of(h)
                if pkg and pkg not in packages:
                    problems.append(f"libcommon/{layer}/{f} includes <{h}>: {layer} may not use {pkg}")
    for entry in sorted(os.listdir(root)):
        if entry.endswith((".cpp", ".hpp")):
            problems.append(f"libcommon/{entry} sits outside every layer")


def link_lines(build):
    lines = {}
    current = None
    for line in open(os.path.join(build, "build.ninja"), encoding="utf-8"):
        m = re.match(r"build tools/([^/]+)/([^ :/]+): CXX_EXECUTABLE_LINKER", line)
        if m:
            current = m.group(2) if m.group(1) == m.group(2) else None
            continue
        if current and line.startswith("  LINK_LIBRARIES ="):
            lines[current] = line.split("=", 1)[1].split()
            current = None
    return lines


def check_links(src, build, drawing, problems):
    lines = link_lines(build)
    if not lines:
        problems.append("build.ninja has no tool link lines (configure with -G Ninja)")
    for tool, libs in sorted(lines.items()):
        folder = os.path.join(src, "tools", tool)
        used = set()
        for dirpath, _, files in os.walk(folder):
            for f in files:
                if f.endswith((".cpp", ".hpp")):
                    for h in includes(os.path.join(dirpath, f))[0]:
                        if "/" in h and h.split("/")[0] in drawing:
                            used.add(h.split("/")[0])
        allowed = closure(used, drawing)
        for lib in libs:
            m = re.search(r"libvredir_([a-z]+)\.a$", lib)
            if m and m.group(1) not in allowed:
                problems.append(f"{tool} links vredir_{m.group(1)}, which none of its sources uses")
        for what in PROMISES.get(tool, []):
            if any(re.search(LINKED[what], os.path.basename(lib)) for lib in libs):
                problems.append(f"{tool} links {what}")
    for tool in PROMISES:
        if tool not in lines and os.path.isdir(os.path.join(src, "tools", tool)) and tool != "x-replay":
            problems.append(f"{tool}: no link line in build.ninja")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    build = sys.argv[2] if len(sys.argv) > 2 else None
    drawing = read_drawing(src)
    problems = []
    check_includes(src, drawing, problems)
    if build:
        check_links(src, build, drawing, problems)
    for p in problems:
        print("layers: " + p)
    if not problems:
        print(f"layers: {len(drawing)} layers hold to the drawing" + (" and the link lines" if build else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
