#!/usr/bin/env bash
# redir-inject on a domain defined without a virtio keyboard (a PS/2
# keyboard and a USB tablet, as stock domains are): it hot-plugs a virtio
# keyboard for the run (virt/input_hotplug), types through it once the
# guest's driver is bound, and unplugs it at the end, also when interrupted;
# and it keeps the VNC path, saying why once, when there is no free slot or
# the guest never binds a driver. The test guest (text console, booted once)
# shows what was typed; long text goes into a file whose checksum the
# guest's shell writes to the serial log.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-inject redir-capture
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

out=$(mktemp -d /tmp/vredir-hotplug.XXXXXX)
virsh=(virsh -q -c qemu:///system)
vg_ensure_libvirt
vg_build
name=vredir-test-hotplug-$$
VG_CMDLINE=vredir.text vg_define "$name"
trap 'rc=$?; rm -rf "$out"; vg_cleanup $rc' EXIT
# The same guest without its virtio keyboard and without its D-Bus display,
# as a stock domain is (VNC, a PS/2 keyboard and a USB tablet).
vg_redefine "/<input type='keyboard' bus='virtio'\/>/d; /<graphics type='dbus'\/>/d"
vg_start
check "the domain has no virtio keyboard" bash -c "! ${virsh[*]} dumpxml $name | grep -q \"bus='virtio'\""
check "the domain has no D-Bus display" bash -c "! ${virsh[*]} dumpxml $name | grep -q \"graphics type='dbus'\""
redir-capture "$name" --until-text '^/ #' --timeout 60 >/dev/null 2>&1 || vg_fail "no shell prompt"
plugged() { "${virsh[@]}" dumpxml "$name" | grep -c "ua-vredir-" || true; }
wait_unplugged() {  # up to 15 s
    local i
    for i in $(seq 1 30); do [ "$(plugged)" = 0 ] && return 0; sleep 0.5; done
    return 1
}

# ---- hot-plugged for the run ----------------------------------------------------------
mark=$(vg_mark)
redir-inject "$name" --type 'echo HOTPLUG-$((2+3))-OK\n' 2>"$out/err"
rc=$?
check "redir-inject types through a hot-plugged virtio keyboard (exit $rc): $(cat "$out/err")" \
    bash -c "[ $rc = 0 ] && grep -q 'has no virtio keyboard: one is plugged in for this run' '$out/err'"
redir-capture "$name" --until-text '^HOTPLUG-5-OK$' --timeout 20 >/dev/null 2>"$out/err"
rc=$?
check "the guest's shell got it (exit $rc) $(cat "$out/err")" [ $rc = 0 ]
check "the keyboard is unplugged after the run" wait_unplugged

# ---- long text, nothing lost -------------------------------------------------------------
/usr/bin/python3 - "$out/long" <<'EOF'
import random, sys
r = random.Random(7)
alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_=+()[]{}<>/?!@#%^&*~"
lines = ["".join(r.choice(alphabet) for _ in range(79)) for _ in range(25)]
text = "\n".join(lines) + "\n"
open(sys.argv[1] + ".txt", "w").write(text)
# --type escapes: backslash would need doubling; the alphabet has none.
open(sys.argv[1] + ".type", "w").write(text.replace("\n", "\\n"))
EOF
want=$(md5sum <"$out/long.txt" | cut -d' ' -f1)
chars=$(wc -c <"$out/long.txt")
redir-inject "$name" --type 'cat > /tmp/typed\n' 2>/dev/null
sleep 0.5
t0=$(date +%s%N)
redir-inject "$name" -v --type "$(cat "$out/long.type")" 2>"$out/err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
redir-inject "$name" --key ctrl-d 2>/dev/null
mark=$(vg_mark)
redir-inject "$name" --type 'md5sum /tmp/typed > /dev/ttyS0\n' 2>/dev/null
got=""
for _ in $(seq 1 40); do
    got=$(vg_serial | grep -a -oE '^[0-9a-f]{32}  /tmp/typed' | tail -1 | cut -d' ' -f1)
    [ -n "$got" ] && break
    sleep 0.25
done
note "typed $chars characters in $ms ms through the hot-plugged keyboard ($((chars * 1000 / (ms > 0 ? ms : 1))) characters/s, the plug-in included)"
check "$chars characters arrive in order, none lost (md5 $got, want $want)" [ "$rc" = 0 -a "$got" = "$want" ]
check "with no D-Bus display, the keys went through QEMU's Barrier client" \
    grep -q "keys through the virtio keyboard .* (via QEMU's Barrier client)" "$out/err"

# ---- no free slot: the VNC path, said once -----------------------------------------------
echo "<input type='mouse' bus='virtio'><alias name='ua-test-blocker-$$'/></input>" >"$out/blocker.xml"
# redir-inject waits until the guest has released its keyboard, so the
# spare slot is free again right after it exits.
"${virsh[@]}" attach-device "$name" "$out/blocker.xml" --live >/dev/null 2>"$out/blocker.err" ||
    not_ok "cannot attach the device that takes the spare slot ($(tr '\n' ' ' <"$out/blocker.err"))"
redir-inject "$name" --type 'clear; echo FALLBACK-$((3+4))-OK\n' 2>"$out/err"
rc=$?
check "no free pcie-root-port: exit $rc, one line naming it, the VNC path ($(cat "$out/err"))" \
    bash -c "[ $rc = 0 ] && [ \$(grep -c '' '$out/err') = 1 ] && grep -q 'pcie-root-port' '$out/err' && grep -q 'VNC server' '$out/err'"
redir-capture "$name" --until-text '^FALLBACK-7-OK$' --timeout 20 >/dev/null 2>&1
rc=$?
check "... and the keys still arrive (exit $rc)" [ $rc = 0 ]
redir-inject "$name" --keyboard virtio --type 'x' 2>"$out/err"
rc=$?
check "--keyboard virtio without a way to get one: exit $rc ($(cat "$out/err"))" [ $rc = 1 ]
"${virsh[@]}" detach-device-alias "$name" "ua-test-blocker-$$" --live >/dev/null 2>&1
for _ in $(seq 1 30); do "${virsh[@]}" dumpxml "$name" | grep -q ua-test-blocker || break; sleep 0.5; done

# ---- interrupted: unplugged all the same -------------------------------------------------
redir-inject "$name" --type "$(head -c 3000 "$out/long.type")" 2>"$out/err" &
inj=$!
for _ in $(seq 1 40); do [ "$(plugged)" != 0 ] && break; sleep 0.25; done
sleep 0.5
kill -INT "$inj"
wait "$inj"
rc=$?
check "redir-inject interrupted while typing: exit $rc" [ "$rc" = 130 ]
check "... the keyboard it plugged in is unplugged" wait_unplugged
redir-inject "$name" --key ctrl-c 2>/dev/null

# ---- a guest without the driver: the VNC path, said once ---------------------------------
redir-inject "$name" --type 'clear; rmmod virtio_input; echo RMMOD-DONE\n' 2>/dev/null
redir-capture "$name" --until-text '^RMMOD-DONE$' --timeout 20 >/dev/null 2>&1 || not_ok "rmmod virtio_input did not run"
t0=$SECONDS
redir-inject "$name" --type 'echo NODRIVER-$((4+4))-OK\n' 2>"$out/err"
rc=$?
check "the guest never binds a driver: exit $rc after $((SECONDS - t0)) s, one line, the VNC path ($(cat "$out/err"))" \
    bash -c "[ $rc = 0 ] && [ \$(grep -c '' '$out/err') = 1 ] && grep -q 'did not bind a driver' '$out/err'"
redir-capture "$name" --until-text '^NODRIVER-8-OK$' --timeout 20 >/dev/null 2>&1
rc=$?
check "... and the keys still arrive (exit $rc)" [ $rc = 0 ]
check "... and the keyboard that was never bound is unplugged" wait_unplugged
tap_finish
