#!/usr/bin/env bash
# Hardened binaries: every ELF executable the build makes for a tool is a
# position-independent executable with full RELRO and immediate binding,
# built with the stack protector and fortified libc calls (readelf).
set -u
build=${VREDIR_BUILD_DIR:?}
command -v readelf >/dev/null || { echo "not ok - readelf is missing (apt-get install binutils)"; exit 1; }
pass=0 failed=0
check() { if eval "$2"; then echo "ok - $1"; pass=$((pass + 1)); else echo "not ok - $1"; failed=$((failed + 1)); fi; }
read -ra tools <<<"$VREDIR_TOOLS"
n=0
for t in "${tools[@]}"; do
  bin=$build/tools/$t/$t
  [ -f "$bin" ] || { check "$t is built" false; continue; }
  head -c 4 "$bin" | grep -q 'ELF' || continue  # a launcher script (gdi-forward runs its .exe under Wine)
  n=$((n + 1))
  check "$t: position-independent executable" "readelf -h '$bin' | grep -q 'Type:.*DYN'"
  check "$t: RELRO" "readelf -lW '$bin' | grep -q GNU_RELRO"
  check "$t: immediate binding (full RELRO)" "readelf -dW '$bin' | grep -qE 'BIND_NOW|FLAGS.*NOW'"
  check "$t: stack protector" "readelf -sW --dyn-syms '$bin' | grep -q '__stack_chk_fail'"
  check "$t: fortified libc calls" "readelf -sW --dyn-syms '$bin' | grep -qE '__[a-z]+_chk@'"
done
check "ELF tools were checked ($n)" "[ $n -ge 6 ]"
echo "$pass passed, $failed failed"
[ $failed = 0 ]
