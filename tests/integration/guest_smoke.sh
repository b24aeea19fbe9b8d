#!/usr/bin/env bash
# guest_smoke.sh - boots the vredir test guest (tests/guest) under libvirt
# and checks the guest itself: boot, pixel-exact test card, keyboard input,
# probe commands, guest agent, mode change through VNC SetDesktopSize and
# ACPI power-off.
#
# Environment (set by ctest; defaults for running by hand):
#   VREDIR_SOURCE_DIR  source tree   (default: two levels above this script)
#   VREDIR_BUILD_DIR   build tree    (default: $VREDIR_SOURCE_DIR/build)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
guest=$VREDIR_SOURCE_DIR/tests/guest

# shellcheck source-path=SCRIPTDIR/../guest source=fixture.sh
source "$guest/fixture.sh"

check() { echo "CHECK: $*"; }
pass() { echo "  ok: $*"; }

vg_ensure_libvirt
vg_build
vg_define "vredir-test-smoke-$$"

tools=$VG_DIR/tools
mkdir -p "$tools"
cc -O2 -o "$tools/expect" "$guest/expect.c" || vg_fail "compiling expect.c failed"
imgcmp() { python3 "$guest/imgcmp.py" "$@"; }
# screen_is NAME EXPECT-ARGS...: the screenshot matches `expect EXPECT-ARGS`
# (one retry after a second, in case the display update is still in flight)
screen_is() {
    local name=$1
    shift
    "$tools/expect" "$@" >"$VG_DIR/$name.want.ppm"
    vg_screenshot "$VG_DIR/$name.img"
    imgcmp "$VG_DIR/$name.img" "$VG_DIR/$name.want.ppm" && return 0
    sleep 1
    vg_screenshot "$VG_DIR/$name.img"
    imgcmp "$VG_DIR/$name.img" "$VG_DIR/$name.want.ppm"
}

# --- boot -------------------------------------------------------------------
check "guest boots and logs 'ready WxH'"
vg_start
[ "$VG_MODE" = 1024x768 ] || vg_fail "expected mode 1024x768, got $VG_MODE"
pass "ready $VG_MODE"

# --- test card -------------------------------------------------------------
check "screenshot shows the test card pixel-exact (patterns.h)"
screen_is card 1024 768 card || vg_fail "screenshot differs from the test card"
pass "test card identical"

# --- keyboard --------------------------------------------------------------
check "virsh send-key KEY_A reaches the probe as key 30 1 / key 30 0"
mark=$(vg_mark)
"${VG_VIRSH[@]}" send-key "$VG_NAME" KEY_A >/dev/null || vg_fail "virsh send-key failed"
vg_wait_log --after "$mark" '^key 30 1$' 15 >/dev/null || vg_fail "no 'key 30 1' logged"
vg_wait_log --after "$mark" '^key 30 0$' 15 >/dev/null || vg_fail "no 'key 30 0' logged"
pass "key 30 1, key 30 0"

# --- commands --------------------------------------------------------------
check "command 'solid 00ff00' turns the screen green"
vg_cmd "solid 00ff00"
screen_is solid 1024 768 solid 00ff00 || vg_fail "screenshot is not solid 00ff00"
pass "solid green"

check "commands 'card', 'needle 0' and 'flip' draw the documented shapes"
vg_cmd "card"
vg_cmd "needle 0"
vg_wait_log '^needle 720 144 96 96$' 10 >/dev/null || vg_fail "needle not logged at 720 144 96 96"
vg_cmd "flip"
screen_is needle 1024 768 card needle flip || vg_fail "needle/flip screen differs"
pass "card + needle + flip identical"

# --- guest agent -----------------------------------------------------------
check "guest agent answers guest-ping and guest-get-osinfo"
out=$("${VG_VIRSH[@]}" qemu-agent-command "$VG_NAME" '{"execute":"guest-ping"}') ||
    vg_fail "guest-ping failed"
[ "$out" = '{"return":{}}' ] || vg_fail "guest-ping answered $out"
out=$("${VG_VIRSH[@]}" qemu-agent-command "$VG_NAME" '{"execute":"guest-get-osinfo"}') ||
    vg_fail "guest-get-osinfo failed"
case "$out" in *'"id":"vredir-probe"'*) ;; *) vg_fail "guest-get-osinfo answered $out" ;; esac
pass "guest-ping, guest-get-osinfo"

check "guest-exec of loginctl terminate-seat seat0 is logged as logoff"
mark=$(vg_mark)
out=$("${VG_VIRSH[@]}" qemu-agent-command "$VG_NAME" \
    '{"execute":"guest-exec","arguments":{"path":"/usr/bin/loginctl","arg":["terminate-seat","seat0"]}}') ||
    vg_fail "guest-exec failed"
case "$out" in *'"pid":'*) ;; *) vg_fail "guest-exec answered $out" ;; esac
vg_wait_log --after "$mark" '^logoff$' 10 >/dev/null || vg_fail "no logoff logged"
screen_is logoff 1024 768 card || vg_fail "screen not reset to the card on logoff"
pass "logoff resets the screen to the card"

# --- mode change -----------------------------------------------------------
check "VNC SetDesktopSize 800x600 switches the probe to mode 800x600"
mark=$(vg_mark)
python3 "$guest/vnc_resize.py" "$VG_VNC_SOCKET" 800 600 || vg_fail "VNC SetDesktopSize failed"
vg_wait_log --after "$mark" '^mode 800x600$' 20 >/dev/null || vg_fail "no 'mode 800x600' logged"
screen_is mode 800 600 card || vg_fail "800x600 card differs"
pass "mode 800x600, card identical"

# --- ACPI power-off ----------------------------------------------------------
check "virsh shutdown --mode acpi powers the guest off within 30 s"
"${VG_VIRSH[@]}" shutdown --mode acpi "$VG_NAME" >/dev/null || vg_fail "virsh shutdown failed"
vg_wait_state "shut off" 30 || vg_fail "domain still '$(vg_state)' 30 s after ACPI shutdown"
vg_wait_log '^poweroff acpi$' 1 >/dev/null || vg_fail "probe did not log 'poweroff acpi'"
pass "shut off"

echo "PASS: guest smoke test"
