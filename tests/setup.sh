#!/usr/bin/env bash
# Installs the Debian packages vredir needs (only those missing), then
# configures and builds into build/. Used by examples/demo.sh and
# tests/run-all.sh; safe to run again.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
packages=(
  cmake ninja-build g++ pkg-config
  libcli11-dev libspdlog-dev libboost-dev libboost-filesystem-dev catch2
  libvirt-dev libsystemd-dev libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils
  zlib1g-dev libssl-dev libpng-dev nlohmann-json3-dev libxml2-dev
  linux-image-amd64 busybox-static cpio kmod xz-utils zstd
  clang libclang-rt-14-dev
  socat python3 procps
  libxcb1-dev libxcb-shm0-dev libxcb-keysyms1-dev libasound2-dev
  xvfb xdotool x11-utils imagemagick python3-xlib
  libxft-dev libfontconfig-dev libx11-xcb-dev libxcb-render0-dev fontconfig fonts-dejavu-core fonts-liberation
  wine wine64 fonts-wine g++-mingw-w64-x86-64 libz-mingw-w64-dev
  openssl xpra python3-gi-cairo python3-pil python3-lz4 supervisor vncsnapshot x11vnc xtightvncviewer
)
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
echo "setup: building into $build" >&2
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
