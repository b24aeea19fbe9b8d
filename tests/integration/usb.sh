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
#  - a missing domain is exit 3;
#  - through redir-mux over TLS (connect --usb, the account's usb= list):
#    plugged, echoing, unplugged when the client ends; an account without a
#    list, one whose list refuses the device, and a view-only one get exit 4
#    and the guest sees nothing; a VM without a USB controller is exit 3.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-usb
need_helpers usb-test-device
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/usb_device.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/mux_server.sh"

out=$(mktemp -d /tmp/vredir-usb.XXXXXX)
virsh=(virsh -q -c qemu:///system)
vg_ensure_libvirt
vg_build
name=vredir-test-usb-$$
vg_define "$name"
serve_pid=
nousb=vredir-test-nousb-$$
cleanup() {
    local rc=$1
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
    usb_stop_all
    "${virsh[@]}" destroy "$nousb" >/dev/null 2>&1
    "${virsh[@]}" undefine "$nousb" >/dev/null 2>&1
    rm -rf "$out"
    vg_cleanup "$rc"
}
trap 'cleanup $?' EXIT
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

# ---- through redir-mux over TLS ----------------------------------------------------------
command -v openssl >/dev/null || vg_fail "openssl is missing (apt-get install -y openssl)"
mux_make_cert || vg_fail "openssl could not make a certificate"
users=$out/users
for u in ua ub uc uv; do echo "$u-pw" >"$out/$u.pw"; done
VREDIR_PASSWORD=ua-pw redir-mux users add ua --users "$users" --vms "vredir-test-*" --usb-allow '1209:0001'
VREDIR_PASSWORD=ub-pw redir-mux users add ub --users "$users" --vms "$name"
VREDIR_PASSWORD=uc-pw redir-mux users add uc --users "$users" --vms "$name" --usb-allow '046d:*,class:08'
VREDIR_PASSWORD=uv-pw redir-mux users add uv --users "$users" --vms "$name" --view-only
redir-mux users add ux --users "$users" --usb-allow 'zz:1' </dev/null 2>"$out/ux.err"
rc=$?
check "users add refuses a bad --usb-allow with exit 2 ($(cat "$out/ux.err"))" [ $rc = 2 ]
check "users list --json shows the account's USB list" \
    bash -c "redir-mux users list --users '$users' --json | grep '\"name\":\"ua\"' | grep -q '\"usb_allow\":\"1209:0001\"'"
mux_start_serve "$out/serve.log" --users "$users" -c qemu:///system || vg_fail "serve did not start: $(cat "$out/serve.log")"

usb_start_device m
mark=$(vg_mark)
# (not through mux(): $! must be the client itself, for the SIGINT below)
redir-mux connect "$url" --ca "$out/ca.pem" --user ua --password-file "$out/ua.pw" --vm "$name" \
    --usb "unix:$out/m.sock" </dev/null >"$out/m.vrs" 2>"$out/m.err" &
client=$!
usb_pids+=("$client")
line=$(vg_wait_log --after "$mark" '^usb [^ ]+ 1209:0001$' 60)
check "through the mux over TLS the guest enumerates 1209:0001 ($line) $(say m.err)" [ -n "$line" ]
echo_line=$(vg_wait_log --after "$mark" '^usb-echo ttyACM[0-9]+ ' 60)
check "its ttyACM line comes back uppercased through the TLS session ($echo_line)" \
    grep -qE 'usb-echo ttyACM[0-9]+ VREDIR USB ECHO [0-9]+$' <<<"$echo_line"
check "serve ran the redirection with the account's list" grep -q "USB redirection into '$name' (channel 65504, allowed 1209:0001)" "$out/serve.log"
check "one USB redirection port is plugged in for the session" [ "$(ports)" = 1 ]
check "the session itself checked the device against the list and names it" \
    grep -q "USB device 1209:0001 class 02 interfaces 02,0a plugged into '$name'" "$out/serve.log"
check "no redir-usb process stands between the session and QEMU" bash -c "! pgrep -f '[r]edir-usb .*attach $name' >/dev/null"
mark2=$(vg_mark)
kill -INT "$client"
gone=$(vg_wait_log --after "$mark2" '^usb-gone [^ ]+ 1209:0001$' 30)
check "the device vanishes from the guest when the client ends ($gone)" [ -n "$gone" ]
wait "$client"
rc=$?
check "the interrupted client exits 130 (exit $rc) $(say m.err)" [ $rc = 130 ]
for _ in $(seq 1 20); do [ "$(ports)" = 0 ] && break; sleep 0.5; done
check "the port is unplugged when the session ends" [ "$(ports)" = 0 ]
check "serve says the device was unplugged" grep -q "USB device 1209:0001 class 02 interfaces 02,0a unplugged from '$name'" "$out/serve.log"
check "the device saw the echo bytes" grep -q "disconnected (echoed [1-9][0-9]* bytes)" "$out/m.dev.log"
check "the client's stream has the usbredir channel from the server's side" \
    bash -c "redir-dump '$out/m.vrs' 2>/dev/null | grep -q 'DECLARE id=65504 kind=bytes name=\"usbredir\"'"

# refused: no list, a list without it, view-only. Each: exit 4, one line, nothing plugged.
no_usb_since() { ! vg_events | tail -n +$(($1 + 1)) | grep -q '^usb '; }
refused() {  # refused TAG USER EXPECT
    local tag=$1 u=$2 want=$3 rc m
    usb_start_device "$tag"
    m=$(vg_mark)
    timeout 90 redir-mux connect "$url" --ca "$out/ca.pem" --user "$u" --password-file "$out/$u.pw" --vm "$name" \
        --usb "unix:$out/$tag.sock" </dev/null >/dev/null 2>"$out/$tag.err"
    rc=$?
    check "$u: --usb is refused with exit 4 in one line (exit $rc: $(say "$tag.err"))" \
        bash -c "[ $rc = 4 ] && [ \$(wc -l <'$out/$tag.err') = 1 ] && grep -q \"\$1\" '$out/$tag.err'" _ "$want"
    sleep 2
    check "$u: the guest never saw the device" no_usb_since "$m"
    check "$u: no port is left in the domain" [ "$(ports)" = 0 ]
}
refused r1 ub "may not redirect USB devices (no usb= allow-list"
refused r2 uc "USB device 1209:0001 class 02 interfaces 02,0a is not on the allow-list (046d:\*,class:08)"
refused r3 uv "is view-only: no USB redirection"

# A VM without a USB controller: exit 3 (the session boots it first).
mkdir -p "$out/nousb"
vg_domain_xml "$nousb" "$VG_KERNEL" "$VG_INITRD" "$out/nousb" |
    sed -e "s|<controller type='usb' model='qemu-xhci'/>|<controller type='usb' model='none'/>|" -e "/<input type='tablet' bus='usb'\/>/d" >"$out/nousb.xml"
"${virsh[@]}" define "$out/nousb.xml" >/dev/null || vg_fail "could not define $nousb"
usb_start_device n
timeout 120 redir-mux connect "$url" --ca "$out/ca.pem" --user ua --password-file "$out/ua.pw" --vm "$nousb" \
    --usb "unix:$out/n.sock" </dev/null >/dev/null 2>"$out/n.err"
rc=$?
# (the session booted it first: progress notes, then the one error line)
check "a VM without a USB controller: exit 3, its error in one line (exit $rc: $(say n.err))" \
    bash -c "[ $rc = 3 ] && [ \$(grep -vc ': booting\$\|: waiting for display\$' '$out/n.err') = 1 ] &&
             tail -n 1 '$out/n.err' | grep -q \"VM '$nousb' has no USB controller\$\""

tap_finish
