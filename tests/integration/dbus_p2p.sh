#!/usr/bin/env bash
# A domain whose D-Bus display is peer-to-peer (<graphics type='dbus'
# p2p='yes'/>), which QEMU 7.2 serves to one client at a time: the next
# connection takes QEMU's objects and the previous one is closed. On the test
# guest so configured:
#   - redir-inject keeps its key events on QMP by default, so a running
#     capture's cursor positions go on through its own connection;
#   - asked to take the display (VREDIR_VIRTIO_VIA_DBUS=1) while captures
#     connect and take it back, it loses no key event: what the closed
#     connection did not deliver goes through QEMU's monitor, from where the
#     guest's used index says it stopped.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-inject redir-capture redir-dump
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

out=$(mktemp -d /tmp/vredir-p2p.XXXXXX)
virsh=(virsh -q -c qemu:///system)
vg_ensure_libvirt
vg_build
name=vredir-test-p2p-$$
vg_define "$name"
trap 'rc=$?; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_redefine "s|<graphics type='dbus'/>|<graphics type='dbus' p2p='yes'/>|"
vg_start
check "the domain's D-Bus display is peer-to-peer" bash -c "${virsh[*]} dumpxml $name | grep -q \"type='dbus' p2p='yes'\""

events_after() { vg_events | tail -n +"$(($1 + 1))" | grep -E '^[0-9]+ key ' | cut -d' ' -f2- | grep -v ' 2$'; }

# ---- 1. by default the display stays the capture's ------------------------------
# Each probe command takes about a second on TCG: the capture outlasts them.
redir-capture "$name" --duration 12 --no-audio -o "$out/cursor.vrs" 2>"$out/cap.err" &
cap=$!
sleep 1.5
vg_cmd "cursor on" || not_ok "probe: cursor on"
vg_cmd "cursor move 100 60" || not_ok "probe: cursor move"
redir-inject "$name" -v --type "k" 2>"$out/inj.err"
check "on a peer-to-peer display, key events go through QEMU's Barrier client by default" grep -q "(via QEMU's Barrier client)" "$out/inj.err"
vg_cmd "cursor move 700 500" || not_ok "probe: cursor move"
vg_cmd "cursor off" || not_ok "probe: cursor off"
wait "$cap"
redir-dump "$out/cursor.vrs" 2>&1 | grep -o 'CURSOR_POS .*' >"$out/pos"
sed 's/^/# /' "$out/pos"
after_inject() {  # the moves made after redir-inject ran still arrive, in order
    awk '$2 == "100,60" { s = 1; next } s == 1 && $2 == "700,500" { s = 2; next }
         s == 2 && $3 == "hidden" { s = 3 } END { exit s == 3 ? 0 : 1 }' "$out/pos"
}
check "the capture's cursor positions go on after redir-inject ran (100,60, 700,500, hidden)" after_inject

# ---- 2. taking the display anyway: nothing lost when it is taken back -----------
text=$(python3 -c "print('abcdefghij' * 300, end='')")
want=$((2 * ${#text}))
mark=$(vg_mark)
VREDIR_VIRTIO_VIA_DBUS=1 redir-inject "$name" -v --type "$text" 2>"$out/inj2.err" &
inj=$!
sleep 0.5
for i in 1 2 3; do
    redir-capture "$name" --duration 0.5 --no-audio -o /dev/null 2>>"$out/cap2.err" || not_ok "capture $i"
done
rc=0
wait "$inj" || rc=$?
tail -n 4 "$out/inj2.err" | sed 's/^/# /'
end=$((SECONDS + 30))
while [ "$(events_after "$mark" | wc -l)" -lt "$want" ] && [ $SECONDS -lt $end ]; do sleep 0.5; done
got=$(events_after "$mark" | wc -l)
check "VREDIR_VIRTIO_VIA_DBUS=1 starts on the peer-to-peer display" grep -q '(via the D-Bus display)' "$out/inj2.err"
check "when a capture takes the display, the key events go on through QEMU's monitor" \
    grep -q "key events go through QEMU's monitor instead" "$out/inj2.err"
expected() { python3 -c "
import sys
for c in sys.argv[1]:
    code = 30 + 'asdfghjkl'.index(c) if c in 'asdfghjkl' else {'b': 48, 'c': 46, 'e': 18, 'i': 23}[c]
    print(f'key {code} 1'); print(f'key {code} 0')" "$text"; }
in_order() { [ "$rc" = 0 ] && cmp -s <(expected) <(events_after "$mark"); }
check "all $want key events of ${#text} characters arrived in order (got $got, exit $rc)" in_order

tap_finish
