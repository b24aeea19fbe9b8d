#!/usr/bin/env bash
# USB redirection end to end on the test guest, through redir-usb:
#   redir-usb share unix:SOCKET <ret | redir-usb attach DOMAIN >ret
# (the loop man/redir-usb.1 documents, the return path through a FIFO).
#
# The device is a software device, tests/tools/usb_test_device.cpp: a
# CDC-ACM serial port (1209:0001, the pid.codes test ID) that speaks the
# real usbredir protocol, device side, through usbredirparser, to QEMU's
# usb-redir device; no USB hardware is involved (the libusb path of `share`
# is covered by the unit tests only). Checked here:
#  - the guest enumerates 1209:0001 (the probe's "usb" line) and its ttyACM
#    echoes a line uppercased: bytes went both ways through the stream;
#  - the device vanishes from the guest when the stream ends (the device
#    closes), and the port is unplugged from the domain;
#  - SIGINT to attach unplugs too (exit 130), with --allow matching an
#    interface class;
#  - a device that --allow refuses is never plugged in: exit 4 with one
#    line, and the guest sees nothing;
#  - a missing domain is exit 3.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-usb
need_helpers usb-test-device
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/usb_device.sh"

out=$(mktemp -d /tmp/vredir-usb.XXXXXX)
virsh=(virsh -q -c qemu:///system)
vg_ensure_libvirt
vg_build
name=vredir-test-usb-$$
vg_define "$name"
trap 'rc=$?; usb_stop_all; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start

ports() { "${virsh[@]}" dumpxml "$name" | grep -c "ua-vredir-usb-" || true; }
wait_file() { local i; for i in $(seq 1 "$2"); do [ -s "$1" ] && return 0; sleep 0.5; done; return 1; }
# start_loop TAG ATTACH_ARGS...: share | attach with the return path through
# a FIFO; pids and exit statuses land in $out/TAG.{share,attach}.{pid,rc}.
start_loop() {
    local tag=$1
    shift
    mkfifo "$out/$tag.ret"
    ( redir-usb share "unix:$out/$tag.sock" <"$out/$tag.ret" 2>"$out/$tag.share.err" & echo $! >"$out/$tag.share.pid"
      wait $!; echo $? >"$out/$tag.share.rc" ) |
    ( redir-usb attach "$name" "$@" >"$out/$tag.ret" 2>"$out/$tag.attach.err" & echo $! >"$out/$tag.attach.pid"
      wait $!; echo $? >"$out/$tag.attach.rc" ) &
    usb_pids+=($!)
    wait_file "$out/$tag.attach.pid" 20 || vg_fail "the share | attach loop did not start"
}
rc_of() { cat "$out/$1.rc" 2>/dev/null; }
say() { tr '\n' ' ' <"$out/$1" | cut -c1-300; }

# ---- plugged, echoes, unplugged when the stream ends --------------------------------
usb_start_device a
mark=$(vg_mark)
start_loop a
line=$(vg_wait_log --after "$mark" '^usb [^ ]+ 1209:0001$' 60)
check "the guest enumerates the redirected device 1209:0001 ($line) $(say a.attach.err)" [ -n "$line" ]
check "one USB redirection port is plugged into the domain" [ "$(ports)" = 1 ]
echo_line=$(vg_wait_log --after "$mark" '^usb-echo ttyACM[0-9]+ ' 60)
check "the guest's ttyACM line comes back uppercased through the device ($echo_line)" \
    grep -qE 'usb-echo ttyACM[0-9]+ VREDIR USB ECHO [0-9]+$' <<<"$echo_line"
check "attach names the device it plugged in" grep -q "USB device 1209:0001 class 02 interfaces 02,0a plugged into '$name'" "$out/a.attach.err"
mark2=$(vg_mark)
kill "$(cat "$out/a.dev.pid")"  # the device goes: the stream ends
gone=$(vg_wait_log --after "$mark2" '^usb-gone [^ ]+ 1209:0001$' 30)
check "the device vanishes from the guest when the stream ends ($gone)" [ -n "$gone" ]
wait_file "$out/a.attach.rc" 30
wait_file "$out/a.share.rc" 30
check "share ends with 0 when the device closes (exit $(rc_of a.share)) $(say a.share.err)" [ "$(rc_of a.share)" = 0 ]
check "attach ends with 0 at the end of the stream (exit $(rc_of a.attach)) $(say a.attach.err)" [ "$(rc_of a.attach)" = 0 ]
check "the port is unplugged from the domain" [ "$(ports)" = 0 ]
check "the device saw the echo bytes" grep -q "disconnected (echoed [1-9][0-9]* bytes)" "$out/a.dev.log"

# ---- SIGINT to attach; allowed by an interface class -------------------------------
usb_start_device b
mark=$(vg_mark)
start_loop b --allow 'class:0a'
line=$(vg_wait_log --after "$mark" '^usb [^ ]+ 1209:0001$' 60)
check "--allow class:0a (the CDC data interface) lets it in ($line) $(say b.attach.err)" [ -n "$line" ]
echo_line=$(vg_wait_log --after "$mark" '^usb-echo ttyACM[0-9]+ ' 60)
check "it echoes again ($echo_line)" grep -qE 'VREDIR USB ECHO [0-9]+$' <<<"$echo_line"
mark2=$(vg_mark)
kill -INT "$(cat "$out/b.attach.pid")"
gone=$(vg_wait_log --after "$mark2" '^usb-gone [^ ]+ 1209:0001$' 30)
check "SIGINT to attach unplugs the device ($gone)" [ -n "$gone" ]
wait_file "$out/b.attach.rc" 30
wait_file "$out/b.share.rc" 30
check "attach exits 130 when interrupted (exit $(rc_of b.attach))" [ "$(rc_of b.attach)" = 130 ]
check "share ends with 0 at the end of the return stream (exit $(rc_of b.share)) $(say b.share.err)" [ "$(rc_of b.share)" = 0 ]
check "the port is unplugged after the interrupt" [ "$(ports)" = 0 ]

# ---- refused by --allow: never plugged ----------------------------------------------
usb_start_device c --pid 0002
mark=$(vg_mark)
start_loop c --allow '1209:0001,class:08'
wait_file "$out/c.attach.rc" 60
err=$(cat "$out/c.attach.err")
check "attach refuses 1209:0002 with exit 4 (exit $(rc_of c.attach))" [ "$(rc_of c.attach)" = 4 ]
check "in one line naming the device and the list ($err)" bash -c \
    "[ \$(wc -l <<<\"\$1\") = 1 ] && grep -q \"redir-usb: USB device 1209:0002 class 02 interfaces 02,0a is not on the allow-list (1209:0001,class:08): not plugged in\" <<<\"\$1\"" _ "$err"
sleep 3
never_seen() { ! vg_events | tail -n +$((mark + 1)) | grep -q " $1\$"; }
check "the guest never saw the refused device" never_seen 1209:0002
check "no port is left in the domain" [ "$(ports)" = 0 ]
wait_file "$out/c.share.rc" 30
check "share ends when attach refuses (exit $(rc_of c.share))" [ -n "$(rc_of c.share)" ]

# ---- a missing domain ------------------------------------------------------------------
redir-usb attach "no-such-domain-$$" </dev/null >/dev/null 2>"$out/missing.err"
rc=$?
check "attach to a missing domain exits 3 (exit $rc: $(cat "$out/missing.err"))" [ $rc = 3 ]

tap_finish
