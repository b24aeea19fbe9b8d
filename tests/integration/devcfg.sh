#!/usr/bin/env bash
# The domain's device configuration decides the channels: the test guest
# without its sound device, booted once, gets no audio channel from
# redir-capture nor from a redir-mux session, and an explicit --audio exits 3
# with one line; the same guest with its sound device (started afterwards,
# with no need to boot) gets one. vm-list --json and redir-mux connect --list
# report the channels of both.
#
# Run by ctest, or by hand: bash tests/integration/devcfg.sh (build dir
# defaults to build/).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools vm-list redir-capture redir-dump redir-mux
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/mux_server.sh"

out=$(mktemp -d /tmp/vredir-devcfg.XXXXXX)
virsh=(virsh -q -c qemu:///system)
serve_pid=
cleanup() {
    local rc=$?
    [ -n "$serve_pid" ] && { kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; }
    [ "$rc" = 0 ] && rm -rf "$out" || echo "# kept $out" >&2
    vg_cleanup "$rc"
}

vg_ensure_libvirt
vg_build
sound=vredir-test-devcfg-snd-$$
name=vredir-test-devcfg-$$
vg_define "$sound"
vg_define "$name"
trap cleanup EXIT   # after vg_define, which installs its own trap
# The second one without its sound device.
vg_redefine "/<sound model='ich9'>/,/<\/sound>/d"
check "$name has no sound device, $sound has one" \
    eval "! ${virsh[*]} dumpxml $name | grep -q '<sound' && ${virsh[*]} dumpxml $sound | grep -q '<sound'"

# json_check NAME EXPR < JSON-lines (one object per domain): EXPR over `d`,
# the object whose "name" is NAME, must hold.
json_check() {
    python3 -c 'import json, sys
d = {o["name"]: o for o in map(json.loads, filter(str.strip, sys.stdin))}.get(sys.argv[1])
sys.exit(0 if d is not None and eval(sys.argv[2]) else 1)' "$1" "$2"
}
# kinds FILE: the kinds a stream declares, one line, in order.
kinds() { redir-dump --json "$1" 2>/dev/null | python3 -c '
import json, sys
print(" ".join(o["declared_kind"] for o in map(json.loads, sys.stdin) if "declared_kind" in o))'; }
# capture_has DOMAIN EXPECT [FLAGS...]: a 3 s capture of DOMAIN with FLAGS
# exits 0 and declares a display, and an audio channel exactly when EXPECT is
# "audio" (else "none").
capture_has() {
    local dom=$1 expect=$2 rc k audio=none
    shift 2
    redir-capture "$dom" --duration 3 "$@" -o "$out/$dom.vrs" 2>"$out/$dom.err"
    rc=$?
    k=$(kinds "$out/$dom.vrs")
    [[ " $k " == *" audio "* ]] && audio=audio
    check "redir-capture $* on $dom (rc $rc): a display, audio: $expect [$k]" eval \
        '[ $rc = 0 ] && [[ " $k " == *" display "* ]] && [ "$audio" = "$expect" ]'
}

# ---- vm-list: the channels of both ---------------------------------------------------
vm-list --all --json >"$out/list.json" 2>"$out/list.err"
note "$name: $(json_check "$name" 'print(json.dumps({k: d[k] for k in ("channels", "on_request", "input_hotplug")})) or True' <"$out/list.json")"
check "vm-list --json: $name opens display, cursor, keyboard, pointer and no audio" json_check "$name" \
    'd["channels"] == ["display", "cursor", "keyboard", "pointer"]' <"$out/list.json"
check "vm-list --json: $sound opens audio too" json_check "$sound" \
    'd["channels"] == ["display", "cursor", "audio", "keyboard", "pointer"]' <"$out/list.json"
check "vm-list --json: serial (a pty console) and usb (qemu-xhci) on request" json_check "$name" \
    'd["on_request"] == ["serial", "usb"]' <"$out/list.json"
check "vm-list --json: the q35 guest can take hot-plugged input devices (a spare pcie-root-port)" \
    json_check "$name" 'd["input_hotplug"] is True' <"$out/list.json"

# ---- redir-capture on the soundless guest ------------------------------------------
vg_start
capture_has "$name" none
redir-capture "$name" --audio --duration 3 -o "$out/forced.vrs" 2>"$out/forced.err"
rc=$?
check "redir-capture --audio on $name exits 3 with one line (rc $rc): $(cat "$out/forced.err")" \
    eval '[ $rc = 3 ] && [ "$(wc -l <"$out/forced.err")" = 1 ] && grep -q "no sound device" "$out/forced.err"'

# ---- a redir-mux session on it, and its VM list -----------------------------------------
mux_serve_alice 'vredir-test-devcfg-*'
mux() { redir-mux connect "$url" --ca "$out/ca.pem" --user alice --password-file "$out/alice.pw" "$@"; }
mux --list --json >"$out/mux.json" 2>"$out/mux.err"
check "redir-mux connect --list --json: the same channels as vm-list [$(tr '\n' ' ' <"$out/mux.json")]" eval \
    "json_check $name 'd[\"channels\"] == [\"display\", \"cursor\", \"keyboard\", \"pointer\"]' <$out/mux.json &&
     json_check $sound 'd[\"channels\"] == [\"display\", \"cursor\", \"audio\", \"keyboard\", \"pointer\"]' <$out/mux.json"
mux --list >"$out/mux.txt" 2>&1
check "redir-mux connect --list: a CHANNELS column" \
    eval "grep -q '^NAME .*CHANNELS .*DEVICES' $out/mux.txt && grep -qE '^$name +running +display,cursor,keyboard,pointer ' $out/mux.txt"
timeout -s INT 8 redir-mux connect "$url" --ca "$out/ca.pem" --user alice --password-file "$out/alice.pw" --vm "$name" </dev/null \
    2>"$out/session.err" | head -c 400000 >"$out/session.vrs"
k=$(kinds "$out/session.vrs")
check "a redir-mux session on $name opens a display and no audio channel [$k]" \
    eval '[[ " $k " == *" display "* ]] && [[ " $k " != *" audio "* ]]'

# ---- the same guest with sound --------------------------------------------------------
"${virsh[@]}" destroy "$name" >/dev/null 2>&1
"${virsh[@]}" start "$sound" >/dev/null || vg_fail "cannot start $sound"
capture_has "$sound" audio
capture_has "$sound" audio --audio
"${virsh[@]}" destroy "$sound" >/dev/null 2>&1

tap_finish
