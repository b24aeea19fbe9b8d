#!/usr/bin/env bash
# The layers test: libcommon and the tools' link lines hold to the drawing in
# README.md (tests/cli/layers.py), and the check itself catches a layer
# that includes what its row forbids and a tool that links what it promises
# not to.
set -u
src=${VREDIR_SOURCE_DIR:?} build=${VREDIR_BUILD_DIR:?}
pass=0 failed=0
check() { if eval "$2"; then echo "ok - $1"; pass=$((pass + 1)); else echo "not ok - $1"; failed=$((failed + 1)); fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$(python3 "$src/tests/cli/layers.py" "$src" "$build" 2>&1); rc=$?
echo "$out"
check "the tree holds to the drawing" "[ $rc = 0 ]"

# A copy with violations: wire includes a virt header, sys uses OpenSSL,
# a file sits at the top of libcommon, and redir-dump links libvirt.
mkdir -p "$tmp/src"
cp -r "$src/libcommon" "$src/tools" "$src/README.md" "$tmp/src/"
sed -i '0,/#include "wire\/stream_format.hpp"/s//#include "wire\/stream_format.hpp"\n#include "virt\/hypervisor.hpp"/' \
  "$tmp/src/libcommon/wire/frame_reader.hpp"
sed -i '0,/#include <string>/s//#include <string>\n#include <openssl\/ssl.h>/' "$tmp/src/libcommon/sys/stdio_files.hpp"
touch "$tmp/src/libcommon/stray.cpp"
mkdir -p "$tmp/build"
awk '/^build tools\/redir-dump\/redir-dump: CXX_EXECUTABLE_LINKER/ {dump = 1}
     dump && /^  LINK_LIBRARIES =/ {$0 = $0 "  /usr/lib/x86_64-linux-gnu/libvirt.so"; dump = 0} {print}' \
  "$build/build.ninja" >"$tmp/build/build.ninja"
bad=$(python3 "$src/tests/cli/layers.py" "$tmp/src" "$tmp/build" 2>&1); rc=$?
echo "$bad" | sed 's/^/  (broken copy) /'
check "a broken copy fails" "[ $rc = 1 ]"
check "it names wire including virt" "grep -q 'wire/frame_reader.hpp includes \"virt/hypervisor.hpp\": wire may not include virt' <<<\"\$bad\""
check "it names sys using OpenSSL" "grep -q 'sys/stdio_files.hpp includes <openssl/ssl.h>: sys may not use OpenSSL' <<<\"\$bad\""
check "it names a file outside every layer" "grep -q 'libcommon/stray.cpp sits outside every layer' <<<\"\$bad\""
check "it names redir-dump linking libvirt" "grep -q 'redir-dump links libvirt' <<<\"\$bad\""

# A host without X or Wine: both parts off, the rest configures and its
# link lines hold (the full build of this configuration is the README's
# "Parts a host may not need").
cmake -S "$src" -B "$tmp/minimal" -G Ninja -DVREDIR_X11=OFF -DVREDIR_WINDOWS=OFF >"$tmp/minimal.log" 2>&1
check "configures with VREDIR_X11=OFF and VREDIR_WINDOWS=OFF" "[ $? = 0 ]"
check "that configuration builds no x-replay and no gdi-forward" \
  "! grep -qE '^build tools/(x-replay/x-replay|gdi-forward/)' '$tmp/minimal/build.ninja'"
check "nothing in it links xcb, ALSA or mingw-w64" "! grep -qE 'libxcb|libasound|x86_64-w64-mingw32' '$tmp/minimal/build.ninja'"
check "its link lines hold to the drawing" "python3 '$src/tests/cli/layers.py' '$src' '$tmp/minimal' >/dev/null"
echo "$pass passed, $failed failed"
[ $failed = 0 ]
