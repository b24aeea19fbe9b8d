#!/usr/bin/env bash
# Several heads: the test guest with a two-headed virtio-gpu (heads='2'),
# booted once, lights its second head (the probe's "head2": a mode set on the
# second connector through a DRM dumb buffer, filled with a known colour and a
# square of its inverse). redir-capture takes head 0 through VNC and head 1
# through QEMU's D-Bus display, each as a display channel of its own with its
# size and content; --head picks one; a redir-mux session carries both; and
# x-replay opens a window per head. vm-list --json counts a display channel
# per head. Seats: two redir-inject --seat runs at once each type 2,000
# characters through a virtio keyboard of their own, bound to their head and
# hot-plugged for the run; the probe reads evdev per device (keydev on).
#
# Run by ctest, or by hand: bash tests/integration/heads.sh (build dir
# defaults to build/).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools vm-list redir-capture redir-dump redir-mux x-replay
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/mux_server.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/xvfb.sh"
need_packages Xvfb:xvfb xdotool:xdotool convert:imagemagick

out=$(mktemp -d /tmp/vredir-heads.XXXXXX)
serve_pid= xvfb_pid= viewer_pid=
cleanup() {
    local rc=$?
    for p in "$viewer_pid" "$serve_pid" "$xvfb_pid"; do
        [ -n "$p" ] && { kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
    done
    [ "$rc" = 0 ] && rm -rf "$out" || echo "# kept $out" >&2
    vg_cleanup "$rc"
}

vg_ensure_libvirt
vg_build
name=vredir-test-heads-$$
vg_define "$name"
trap cleanup EXIT   # after vg_define, which installs its own trap
vg_redefine "s/heads='1'/heads='2'/"
# Two spare pcie-root-ports for the seats' keyboards, after the ones libvirt
# placed for the domain's own devices.
virsh -q -c qemu:///system dumpxml --inactive "$name" | python3 -c '
import re, sys
x = sys.stdin.read()
n = max(int(i) for i in re.findall(r"<controller type=.pci. index=.(\d+).", x))
ports = "".join("<controller type=\"pci\" index=\"%d\" model=\"pcie-root-port\"/>" % (n + k) for k in (1, 2))
sys.stdout.write(x.replace("</devices>", ports + "</devices>"))' >"$VG_DIR/seats.xml" &&
    virsh -q -c qemu:///system define "$VG_DIR/seats.xml" >/dev/null || vg_fail "cannot add the spare root ports"
check "$name has a two-headed virtio video and a D-Bus display" \
    eval "virsh -q -c qemu:///system dumpxml $name | grep -q \"heads='2'\" &&
          virsh -q -c qemu:///system dumpxml $name | grep -q \"<graphics type='dbus'\""

# json_check NAME EXPR < JSON-lines: EXPR over `d`, the object named NAME.
json_check() {
    python3 -c 'import json, sys
d = {o["name"]: o for o in map(json.loads, filter(str.strip, sys.stdin))}.get(sys.argv[1])
sys.exit(0 if d is not None and eval(sys.argv[2]) else 1)' "$1" "$2"
}
# displays FILE: "NAME:HEAD:WxH" for each display channel the stream
# declares, in order, on one line.
displays() { redir-dump --json "$1" 2>/dev/null | python3 -c '
import json, sys
print(" ".join("%s:%s:%sx%s" % (o["name"], o["params"].get("head"), o["params"].get("width"), o["params"].get("height"))
      for o in map(json.loads, sys.stdin) if o.get("declared_kind") == "display"))'; }
# last_pixels FILE CHANNEL X,Y...: the colours (rrggbb) at X,Y of the last
# frame of CHANNEL, space separated.
last_pixels() {
    local f=$1 ch=$2 d p
    shift 2
    d=$out/x-$ch-$RANDOM
    mkdir -p "$d"
    redir-dump "$f" --extract "$ch" --to "$d" >/dev/null 2>&1 || { echo none; return; }
    p=$(ls "$d" | sort | tail -1)
    [ -n "$p" ] || { echo none; return; }
    for xy in "$@"; do
        printf '%s ' "$(convert "$d/$p" -format "%[hex:p{${xy}}]" info: 2>/dev/null | cut -c1-6 | tr 'A-F' 'a-f')"
    done
}

vm-list --all --json >"$out/list.json" 2>"$out/list.err"
check "vm-list --json: a display channel per head [$(json_check "$name" 'print(d["channels"]) or True' <"$out/list.json")]" \
    json_check "$name" 'd["channels"][:2] == ["display", "display"] and d["channels"].count("display") == 2' <"$out/list.json"

vg_start
vg_cmd "solid 0000ff"
vg_cmd "head2 ff8000"
vg_wait_log '^head2 640x480 ff8000' 10 >/dev/null
check "the probe lit its second head at 640x480" vg_wait_log '^head2 640x480 ff8000' 1

# ---- both heads, each its own channel ---------------------------------------------
redir-capture "$name" --duration 3 -o "$out/both.vrs" 2>"$out/both.err"
rc=$?
d=$(displays "$out/both.vrs")
check "redir-capture: two display channels, head 0 at 1024x768 and head 1 at 640x480 (rc $rc) [$d]" \
    eval '[ $rc = 0 ] && [ "$d" = "display:0:1024x768 display-1:1:640x480" ]'
p0=$(last_pixels "$out/both.vrs" display 512,384)
p1=$(last_pixels "$out/both.vrs" display-1 320,240 40,40 100,100)
check "head 0 shows the first head's blue [$p0]" [ "$p0" = "0000ff " ]
check "head 1 shows the second head's orange, the inverse square at 16,16 [$p1]" [ "$p1" = "ff8000 007fff ff8000 " ]

# ---- changes of the second head stream as they come ---------------------------------
redir-capture "$name" --duration 6 -o "$out/live.vrs" 2>"$out/live.err" &
cap=$!
sleep 2.5
vg_cmd "head2 00c000"
wait "$cap"
rc=$?
p1=$(last_pixels "$out/live.vrs" display-1 320,240 40,40)
n=$(redir-dump --stats "$out/live.vrs" 2>/dev/null | awk '$2 == "display-1" {print $4}')
check "a capture running while the second head changes: its last frame is green with the inverse square (rc $rc, $n frames) [$p1]" \
    eval '[ $rc = 0 ] && [ "$p1" = "00c000 ff3fff " ] && [ "${n:-0}" -ge 2 ]'
p0=$(last_pixels "$out/live.vrs" display 512,384)
check "... and head 0 kept its own picture [$p0]" [ "$p0" = "0000ff " ]

# ---- --head picks one ----------------------------------------------------------------
redir-capture "$name" --head 1 --duration 2 -o "$out/h1.vrs" 2>"$out/h1.err"
rc=$?
d=$(displays "$out/h1.vrs")
k=$(redir-dump --json "$out/h1.vrs" 2>/dev/null | grep -c '"declared_kind":"cursor"')
check "--head 1: the second head alone, and no cursor channel (rc $rc) [$d]" \
    eval '[ $rc = 0 ] && [ "$d" = "display-1:1:640x480" ] && [ "$k" = 0 ]'
redir-capture "$name" --head 0 --duration 2 -o "$out/h0.vrs" 2>"$out/h0.err"
rc=$?
d=$(displays "$out/h0.vrs")
check "--head 0: the first head alone (rc $rc) [$d]" eval '[ $rc = 0 ] && [ "$d" = "display:0:1024x768" ]'
redir-capture "$name" --head 2 --duration 2 -o "$out/h2.vrs" 2>"$out/h2.err"
rc=$?
check "--head 2 exits 3 with one line (rc $rc): $(cat "$out/h2.err")" \
    eval '[ $rc = 3 ] && [ "$(wc -l <"$out/h2.err")" = 1 ] && grep -q "2 heads (0 to 1)" "$out/h2.err"'
redir-capture "$name" --frames 1 --timeout 20 -o "$out/f1.vrs" 2>"$out/f1.err"
rc=$?
s=$(redir-dump --stats "$out/f1.vrs" 2>/dev/null | awk '$3 == "display" {printf "%s=%s ", $2, $4}')
check "--frames 1 ends once every head has had a frame (rc $rc) [$s]" \
    eval '[ $rc = 0 ] && [[ "$s" == *"display-1="* ]] && ! [[ "$s" == *"=0 "* ]]'

# ---- a redir-mux session carries both --------------------------------------------------
mux_serve_alice 'vredir-test-heads-*'
timeout -s INT 8 redir-mux connect "$url" --ca "$out/ca.pem" --user alice --password-file "$out/alice.pw" --vm "$name" \
    </dev/null 2>"$out/session.err" >"$out/session.vrs"
d=$(displays "$out/session.vrs")
p1=$(last_pixels "$out/session.vrs" display-1 320,240)
check "a redir-mux session over TLS carries both heads [$d], head 1 green [$p1]" \
    eval '[[ "$d" == *":0:1024x768 "*":1:640x480" ]] && [ "$p1" = "00c000 " ]'

# ---- x-replay: a window per head -------------------------------------------------------
cd "$out" || exit 1
start_xvfb x 1920x1200x24
xvfb_pid=$x_pid
export DISPLAY=$x_dpy
x-replay --no-audio --hold "$out/both.vrs" >"$out/replay.out" 2>"$out/replay.err" &
viewer_pid=$!
w0=$(timeout 10 xdotool search --sync --onlyvisible --name '^display - redir-capture$' | head -1)
w1=$(timeout 10 xdotool search --sync --onlyvisible --name '^display-1 - redir-capture$' | head -1)
g0=$([ -n "$w0" ] && xdotool getwindowgeometry "$w0" | awk '/Geometry/ {print $2}')
g1=$([ -n "$w1" ] && xdotool getwindowgeometry "$w1" | awk '/Geometry/ {print $2}')
check "x-replay: a window per head, 1024x768 and 640x480 [$g0 $g1]" eval '[ "$g0" = 1024x768 ] && [ "$g1" = 640x480 ]'
# Side by side (there is no window manager to place them).
[ -n "$w1" ] && xdotool windowmove --sync "$w1" 1100 0 && xdotool mousemove --window "$w1" 30 40 click 1
sleep 0.5
kill -INT "$viewer_pid" 2>/dev/null
wait "$viewer_pid" 2>/dev/null
viewer_pid=
ph=$(redir-dump --json "$out/replay.out" 2>/dev/null | python3 -c '
import json, sys
print(" ".join("%s:%s" % (o["name"], o["params"].get("head")) for o in map(json.loads, sys.stdin)
      if o.get("declared_kind") == "pointer"))')
check "x-replay: each window's pointer channel names its head [$ph]" \
    eval '[[ " $ph " == *" pointer-display:0 "* ]] && [[ " $ph " == *" pointer-display-1:1 "* ]]'
# The VM's pointer devices follow its first head: a click in the second
# head's window is skipped with one warning, not put on the wrong spot.
mark=$(vg_events | wc -l)
redir-inject "$name" -i "$out/replay.out" --no-timing 2>"$out/inject.err"
rc=$?
sleep 1
check "redir-inject: a click on head 1 is skipped with one warning (rc $rc): $(grep -c . "$out/inject.err") line(s)" \
    eval '[ $rc = 0 ] && grep -q "pointer input on head \"1\" skipped" "$out/inject.err" && [ "$(grep -c . "$out/inject.err")" = 1 ] &&
          ! vg_events | tail -n +$((mark + 1)) | grep -qE "^[0-9]+ btn 272 1"'

# ---- seats: each terminal types on a keyboard of its own --------------------------------
vg_cmd "keydev on"
# Two texts of 2,000 random letters; each run waits 2.5 s after plugging its
# keyboard in, so that the probe (it looks for new devices every second) reads
# it from the first key on. At 1 ms a key event each: the pacing on the
# guest's virtio buffers sees the driver take the events, not the probe's one
# reader thread reading them from evdev, whose 64-event buffers overflow
# (SYN_DROPPED, inside the guest) when two keyboards type at full speed on
# the one TCG vCPU.
python3 - "$out" <<'PY'
import random, sys
for seat in (0, 1):
    r = random.Random(seat + 11)
    text = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2000))
    open("%s/seat%d.txt" % (sys.argv[1], seat), "w").write(text)
    open("%s/seat%d.script" % (sys.argv[1], seat), "w").write("sleep 2500\ntype %s\n" % text)
PY
mark=$(vg_mark)
t0=$(date +%s%N)
redir-inject "$name" --seat 0 --key-interval 1 --script "$out/seat0.script" -v 2>"$out/seat0.err" &
s0=$!
redir-inject "$name" --seat 1 --key-interval 1 --script "$out/seat1.script" -v 2>"$out/seat1.err" &
s1=$!
wait "$s0"
r0=$?
wait "$s1"
r1=$?
ms=$((($(date +%s%N) - t0) / 1000000))
sleep 1.5
vg_events | tail -n +"$((mark + 1))" >"$out/seat.events"
# per device: the letters whose key went down, in order; and which devices
# came and went
seats=$(python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
codes = dict(zip("qwertyuiop", range(16, 26)))
codes.update(zip("asdfghjkl", range(30, 39)))
codes.update(zip("zxcvbnm", range(44, 51)))
letter = {v: k for k, v in codes.items()}
typed, added, gone = {}, [], []
for line in open(out + "/seat.events"):
    f = line.split()
    if len(f) >= 5 and f[1] == "key" and f[3] == "1":
        typed.setdefault(f[4], []).append(letter.get(int(f[2]), "?"))
    elif len(f) >= 3 and f[1] == "input" and "Virtio Keyboard" in line:
        added.append(f[2])
    elif len(f) >= 3 and f[1] == "input-gone":
        gone.append(f[2])
want = [open("%s/seat%d.txt" % (out, s)).read() for s in (0, 1)]
got = {dev: "".join(k) for dev, k in typed.items()}
match = [[dev for dev, t in got.items() if t == w] for w in want]
print("devices=%s added=%s gone=%s seat0=%s seat1=%s lengths=%s" % (
    ",".join(sorted(got)), ",".join(added), ",".join(gone),
    ",".join(match[0]) or "none", ",".join(match[1]) or "none",
    ",".join("%s:%d" % (d, len(t)) for d, t in sorted(got.items()))), end="")
ok = (len(got) == 2 and len(match[0]) == 1 and len(match[1]) == 1 and match[0] != match[1]
      and set(got) <= set(added) and set(got) <= set(gone))
print(" dropped=%d" % sum(1 for line in open(out + "/seat.events") if " input-dropped " in line))
sys.exit(0 if ok else 1)
PY
)
rc=$?
note "two seats typed 2,000 characters each at once in $ms ms (the 2.5 s wait and the plug-in included)"
check "two seats at once (exit $r0 and $r1): each text complete and in order on a keyboard of its own, plugged in and out again [$seats]" \
    eval '[ $r0 = 0 ] && [ $r1 = 0 ] && [ $rc = 0 ]'
check "each seat's keyboard is bound to its head" \
    eval 'grep -q "seat 0: a virtio keyboard of this run.s own, bound to video0 head 0" "$out/seat0.err" &&
          grep -q "seat 1: a virtio keyboard of this run.s own, bound to video0 head 1" "$out/seat1.err"'
redir-inject "$name" --seat 1 --click 10,10 2>"$out/seatclick.err"
rc=$?
check "--seat 1 with a click: exit 2, one line (rc $rc): $(cat "$out/seatclick.err")" \
    eval '[ $rc = 2 ] && [ "$(wc -l <"$out/seatclick.err")" = 1 ]'
redir-inject "$name" --seat 2 --type x 2>"$out/seat2.err"
rc=$?
check "--seat 2 on a two-headed VM: exit 3, one line (rc $rc): $(cat "$out/seat2.err")" \
    eval '[ $rc = 3 ] && [ "$(wc -l <"$out/seat2.err")" = 1 ]'
n=$(virsh -q -c qemu:///system qemu-monitor-command "$name" '{"execute":"qom-list","arguments":{"path":"/machine/peripheral"}}' |
    grep -o 'vredir-seat' | wc -l)
check "no seat device is left in QEMU after the runs ($n)" [ "$n" = 0 ]

tap_finish
