#!/usr/bin/env bash
# tests/setup.sh [--demo] - installs the Debian packages vredir needs (only
# those missing), then configures and builds into build/. Safe to run again.
#
#   --demo  what examples/demo.sh needs: the packages to build the VM tools
#           and boot the demo guest, and only those tools (vm-list, vm-power,
#           redir-capture, redir-inject, redir-dump; x-replay too when there
#           is an X display). The compiler's output goes to build/setup.log.
#   (none)  what tests/run-all.sh and the benchmarks need: everything,
#           including the test suite, Wine and mingw-w64 for gdi-forward's
#           Windows side, X and the peers the benchmarks run against.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mode=full
case "${1:-}" in
--demo) mode=demo ;;
"") ;;
*) echo "usage: tests/setup.sh [--demo]" >&2; exit 2 ;;
esac

# Building the VM tools, redir-dump, redir-mux and redir-usb (usbredir and
# libusb).
build_packages=(
  cmake ninja-build g++ pkg-config
  libcli11-dev libspdlog-dev libboost-dev libboost-filesystem-dev
  zlib1g-dev libssl-dev libpng-dev nlohmann-json3-dev libxml2-dev libvirt-dev libsystemd-dev
  libusbredirparser-dev libusbredirhost-dev libusb-1.0-0-dev
)
# Running a VM and building the test guest from the host's kernel and busybox
# (seabios carries the VGA font text screens are read through).
vm_packages=(
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils seabios
  linux-image-amd64 busybox-static cpio kmod xz-utils zstd python3 procps
)
# x-replay (VREDIR_X11).
x11_packages=(libxcb1-dev libxcb-shm0-dev libxcb-keysyms1-dev libasound2-dev libxft-dev libxfixes-dev libfontconfig-dev
  libx11-xcb-dev libxcb-render0-dev)
# The test suite and the benchmarks: Catch2, the fuzzers, the OCR and video
# plugins (VREDIR_OCR, VREDIR_VIDEO) with ffprobe and OpenCV (os-autoinst's
# matching, for comparison), Xvfb and X clients, Wine and mingw-w64
# (gdi-forward, VREDIR_WINDOWS), a window manager (openbox, wmctrl: the
# seamless windows' tests), TLS, supervision, fonts, and the peers
# measured against (usbredirect: usbredir's own terminal side).
test_packages=(
  catch2 clang libclang-rt-14-dev
  libtesseract-dev tesseract-ocr-eng libavcodec-dev libavformat-dev libswscale-dev libavutil-dev ffmpeg python3-opencv
  socat xvfb xdotool xclip x11-utils imagemagick python3-xlib openbox wmctrl
  fontconfig fonts-dejavu-core fonts-liberation
  wine wine64 fonts-wine g++-mingw-w64-x86-64 libz-mingw-w64-dev
  openssl xpra python3-gi-cairo python3-pil python3-lz4 supervisor vncsnapshot x11vnc xtightvncviewer usbredirect
)

packages=("${build_packages[@]}" "${vm_packages[@]}")
if [ $mode = full ]; then
  packages+=("${x11_packages[@]}" "${test_packages[@]}")
elif [ -n "${DISPLAY:-}" ]; then
  packages+=("${x11_packages[@]}")  # the demo opens a console window
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${VREDIR_BUILD_DIR:-$top/build}
if [ $mode = full ]; then
  echo "setup: building into $build" >&2
  cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON >/dev/null
  cmake --build "$build" -j"$(nproc)"
  exit 0
fi

# The demo: the tools it runs, quietly; the log says what the compiler said.
mkdir -p "$build"
log=$build/setup.log
targets=(vm-list vm-power redir-capture redir-inject redir-dump)
[ -n "${DISPLAY:-}" ] && targets+=(x-replay)
echo "setup: building ${targets[*]} into $build (compiler output: $log)" >&2
# A tree configured for the tests (run-all.sh) keeps its test targets.
testing=OFF
grep -q '^BUILD_TESTING:BOOL=ON$' "$build/CMakeCache.txt" 2>/dev/null && testing=ON
if ! { cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=$testing &&
       cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "setup: the build failed (the whole log: $log)" >&2
  exit 1
fi
