#!/usr/bin/env bash
# Every file in examples/ is run here, against a uniquely named demo domain
# that is removed afterwards. One guest boot for the group.
set -u
src=${VREDIR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export VREDIR_BUILD_DIR=${VREDIR_BUILD_DIR:-$src/build}
source "$src/tests/guest/fixture.sh"
vg_ensure_libvirt
export VREDIR_DEMO_NAME=vredir-test-examples-$$
cleanup() {
  virsh -q -c qemu:///system destroy "$VREDIR_DEMO_NAME" >/dev/null 2>&1
  virsh -q -c qemu:///system undefine "$VREDIR_DEMO_NAME" >/dev/null 2>&1
  rm -rf "$VREDIR_BUILD_DIR/demo/$VREDIR_DEMO_NAME"
}
trap cleanup EXIT
pass=0 failed=0
check() { if "${@:2}"; then echo "ok - $1"; pass=$((pass + 1)); else echo "not ok - $1"; failed=$((failed + 1)); fi; }

# Every example must be listed here, so a new one cannot go untested.
listed="boot-demo.sh demo.sh"
for f in "$src"/examples/*; do
  case " $listed " in *" $(basename "$f") "*) ;; *) echo "not ok - examples/$(basename "$f") has no test"; failed=$((failed + 1)) ;; esac
done

out=$("$src/examples/boot-demo.sh" 2>&1); rc=$?
check "boot-demo.sh boots the demo domain" [ $rc = 0 ]
check "boot-demo.sh lists it as running" grep -q "$VREDIR_DEMO_NAME .*running" <<<"$out"
out=$("$src/examples/boot-demo.sh" 2>&1); rc=$?
check "boot-demo.sh again: already running is success" [ $rc = 0 ]

out=$("$src/examples/demo.sh" 2>&1); rc=$?
check "demo.sh (setup, boot, devices, resolution) exits 0" [ $rc = 0 ]
check "demo.sh shows the display device" grep -q '"graphics"' <<<"$out"
check "demo.sh changed the resolution" grep -q "800x600" <<<"$out"
check "demo.sh leaves the demo running" bash -c "vm-power -c qemu:///system status $VREDIR_DEMO_NAME | grep -q running"
[ $failed = 0 ] || echo "$out" | tail -20
echo "$pass passed, $failed failed"
[ $failed = 0 ]
