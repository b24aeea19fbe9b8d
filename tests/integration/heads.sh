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
# hot-plugged for the run with a tablet bound there too; the probe reads
# evdev per device (keydev on). Through redir-mux, two seat terminals type
# and click at once, each on its own keyboard and tablet.
#
# Run by ctest, or by hand: bash tests/integration/heads.sh (build dir
# defaults to build/).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools vm-list redir-capture redir-dump redir-mux x-replay redir-inject
need_helpers vrs-build
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
# Four spare pcie-root-ports for the seats' keyboards and tablets, after the
# ones libvirt placed for the domain's own devices.
virsh -q -c qemu:///system dumpxml --inactive "$name" | python3 -c '
import re, sys
x = sys.stdin.read()
n = max(int(i) for i in re.findall(r"<controller type=.pci. index=.(\d+).", x))
ports = "".join("<controller type=\"pci\" index=\"%d\" model=\"pcie-root-port\"/>" % (n + k) for k in (1, 2, 3, 4))
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
# seat_check PREFIX: of the probe's lines in $out/seat.events, per device the
# letters whose key went down, in order, must be $out/PREFIX0.txt on one new
# device and $out/PREFIX1.txt on another, both unplugged again; prints what
# it found.
seat_check() {
    python3 - "$out" "$1" <<'PY'
import sys
out, prefix = sys.argv[1], sys.argv[2]
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
want = [open("%s/%s%d.txt" % (out, prefix, s)).read() for s in (0, 1)]
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
}
seats=$(seat_check seat)
rc=$?
note "two seats typed 2,000 characters each at once in $ms ms (the 2.5 s wait and the plug-in included)"
check "two seats at once (exit $r0 and $r1): each text complete and in order on a keyboard of its own, plugged in and out again [$seats]" \
    eval '[ $r0 = 0 ] && [ $r1 = 0 ] && [ $rc = 0 ]'
check "each seat's keyboard and tablet are bound to its head" \
    eval 'grep -q "seat 0: a virtio keyboard and tablet of this run.s own, bound to video0 head 0" "$out/seat0.err" &&
          grep -q "seat 1: a virtio keyboard and tablet of this run.s own, bound to video0 head 1" "$out/seat1.err"'
# A click by flags on seat 0 lands through its own tablet, at the spot on
# head 0 (the probe maps the tablet's position to head 0's pixels).
mark=$(vg_mark)
redir-inject "$name" --seat 0 --script <(printf 'sleep 2000\nclick 20 30\n') 2>"$out/seatclick0.err"
rc=$?
sleep 1.5
vg_events | tail -n +"$((mark + 1))" >"$out/click0.events"
tab=$(awk '$2 == "input" && /Virtio Tablet/ {print $3}' "$out/click0.events" | head -1)
check "--seat 0 --click 20,30 (exit $rc): through a tablet of the run's own ($tab), at 20,30 of head 0, pressed and released there" \
    eval '[ $rc = 0 ] && [ -n "$tab" ] && grep -qE "^[0-9]+ abs [0-9]+ [0-9]+ 20 30 $tab\$" "$out/click0.events" &&
          grep -qE "^[0-9]+ btn 272 1 $tab\$" "$out/click0.events" && grep -qE "^[0-9]+ btn 272 0 $tab\$" "$out/click0.events" &&
          grep -qE "^[0-9]+ input-gone $tab\$" "$out/click0.events"'
redir-inject "$name" --seat 1 --click 10,10 2>"$out/seatclick.err"
rc=$?
check "--seat 1 with a click by flags (head 1's size comes with a stream): exit 2, one line (rc $rc): $(cat "$out/seatclick.err")" \
    eval '[ $rc = 2 ] && [ "$(wc -l <"$out/seatclick.err")" = 1 ]'
redir-inject "$name" --seat 2 --type x 2>"$out/seat2.err"
rc=$?
check "--seat 2 on a two-headed VM: exit 3, one line (rc $rc): $(cat "$out/seat2.err")" \
    eval '[ $rc = 3 ] && [ "$(wc -l <"$out/seat2.err")" = 1 ]'
n=$(virsh -q -c qemu:///system qemu-monitor-command "$name" '{"execute":"qom-list","arguments":{"path":"/machine/peripheral"}}' |
    grep -o 'vredir-seat' | wc -l)
check "no seat device is left in QEMU after the runs ($n)" [ "$n" = 0 ]

# ---- two terminals through redir-mux, a seat each ----------------------------------------
# Each client sends its keys as a terminal does, a little at a time (16 keys
# every 50 ms) once both seats' keyboards are in; vera, view-only, asks for a
# seat too and gets its head without a keyboard.
VREDIR_PASSWORD=vera-pw redir-mux users add vera --users "$users" --vms 'vredir-test-heads-*' --view-only
echo 'vera-pw' >"$out/vera.pw"
python3 - "$out" <<'PY'
import random, sys
for seat in (0, 1):
    r = random.Random(seat + 23)
    text = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2000))
    open("%s/term%d.txt" % (sys.argv[1], seat), "w").write(text)
    codes = dict(zip("qwertyuiop", range(16, 26)))
    codes.update(zip("asdfghjkl", range(30, 39)))
    codes.update(zip("zxcvbnm", range(44, 51)))
    # The pointer of the seat's head, as x-replay declares it for the
    # head's window: after the keys, a move and a click at a spot of its own.
    lines = ["hello producer=test", "time 0", "declare 1 keyboard kbd",
             "declare 2 pointer ptr head=%d width=640 height=480" % seat]
    seq = 0
    for ch in text:
        for state in ("down", "up"):
            seq += 1
            lines.append("key 1 %d %d %s" % (seq, codes[ch], state))
    x, y = 100 + 200 * seat, 50 + 100 * seat
    for i, buttons in enumerate((0, 1, 0)):
        lines.append("pointer 2 %d %d %d %d" % (i + 1, x, y, buttons))
    open("%s/term%d.abs" % (sys.argv[1], seat), "w").write("%d %d" % (x * 32767 // 640, y * 32767 // 480))
    open("%s/term%d.txt.vrs-src" % (sys.argv[1], seat), "w").write("\n".join(lines) + "\n")
PY
for t in 0 1; do vrs-build "$out/term$t.txt.vrs-src" >"$out/term$t.vrs" || vg_fail "vrs-build failed"; done
# feed FILE: the stream's header, HELLO and DECLARE at once, then its frames
# 32 at a time (16 keys) every 50 ms after $out/go appears; no END (the
# session would end), and the input stays open 4 s after the last key.
feed() {
    python3 - "$VREDIR_SOURCE_DIR/tests/integration/lib" "$1" "$out/go" <<'PY'
import os, sys, time
sys.path.insert(0, sys.argv[1])
import vrs
data = open(sys.argv[2], "rb").read()
frames, _ = vrs.read_frames(data[12:])
out = sys.stdout.buffer
head = 0
while frames[head][1] in (0x01, 0x02):  # HELLO and DECLAREs
    head += 1
out.write(data[:12] + b"".join(vrs.frame(c, t, p) for c, t, p in frames[:head]))
out.flush()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.1)
keys = [f for f in frames[head:] if f[1] != 0x03]  # no END
for i in range(0, len(keys), 32):
    out.write(b"".join(vrs.frame(c, t, p) for c, t, p in keys[i:i + 32]))
    out.flush()
    time.sleep(0.05)
time.sleep(4)
PY
}
rm -f "$out/go"
mark=$(vg_mark)
feed "$out/term0.vrs" | timeout -s INT 90 redir-mux connect "$url" --ca "$out/ca.pem" --user alice \
    --password-file "$out/alice.pw" --vm "$name" --seat 0 >"$out/term0.out" 2>"$out/term0.err" &
t0_pid=$!
feed "$out/term1.vrs" | timeout -s INT 90 redir-mux connect "$url" --ca "$out/ca.pem" --user alice \
    --password-file "$out/alice.pw" --vm "$name" --seat 1 >"$out/term1.out" 2>"$out/term1.err" &
t1_pid=$!
timeout -s INT 15 redir-mux connect "$url" --ca "$out/ca.pem" --user vera --password-file "$out/vera.pw" \
    --vm "$name" --seat 1 </dev/null >"$out/vera.out" 2>"$out/vera.err" &
v_pid=$!
for _ in $(seq 1 150); do
    [ "$(vg_events | tail -n +"$((mark + 1))" | grep -c 'input event[0-9]* QEMU Virtio Keyboard')" -ge 2 ] && break
    sleep 0.2
done
sleep 1.5   # the probe opens each new device within a second
touch "$out/go"
wait "$t0_pid"
r0=$?
wait "$t1_pid"
r1=$?
wait "$v_pid"
sleep 1.5
vg_events | tail -n +"$((mark + 1))" >"$out/seat.events"
seats=$(seat_check term)
rc=$?
k=$(grep -c 'input event[0-9]* QEMU Virtio Keyboard' "$out/seat.events")
check "two redir-mux terminals with --seat 0 and 1 (exit $r0 and $r1): 2,000 characters each, complete and in order on a keyboard of its own [$seats]" \
    eval '[ $rc = 0 ]'
check "vera (view-only) got her seat's head and no keyboard: 2 keyboards plugged in, not 3 ($k)" [ "$k" = 2 ]
d=$(displays "$out/term1.out")
check "the seat 1 terminal shows head 1 alone [$d]" eval '[[ "$d" == *":1:640x480" ]] && [[ "$d" != *":0:"* ]]'
check "each terminal heard it has a keyboard and tablet of its own" \
    eval 'grep -q "seat 0: head 0 and a keyboard and tablet of this terminal.s own" "$out/term0.err" &&
          grep -q "seat 1: head 1 and a keyboard and tablet of this terminal.s own" "$out/term1.err"'
# Each terminal's click: on a tablet of its own, added for the session and
# gone after it, at the raw position its head's 640x480 spot scales to.
tabs=$(python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
ev = [l.split() for l in open(out + "/seat.events")]
tablets = [f[2] for f in ev if len(f) >= 3 and f[1] == "input" and "Virtio Tablet" in " ".join(f)]
gone = {f[2] for f in ev if len(f) >= 3 and f[1] == "input-gone"}
found, ok = [], True
for seat in (0, 1):
    rx, ry = open("%s/term%d.abs" % (out, seat)).read().split()
    at = [f[6] for f in ev if len(f) >= 7 and f[1] == "abs" and f[2] == rx and f[3] == ry]
    dev = at[0] if len(set(at)) == 1 else None
    pressed = dev and ["btn", "272", "1", dev] in [f[1:] for f in ev] and ["btn", "272", "0", dev] in [f[1:] for f in ev]
    found.append("seat%d=%s" % (seat, dev or "none"))
    ok = ok and dev in tablets and dev in gone and bool(pressed)
print("tablets=%s %s" % (",".join(tablets), " ".join(found)), end="")
sys.exit(0 if ok and len(tablets) == 2 and found[0] != found[1] else 1)
PY
)
rc=$?
check "each terminal's click came through a tablet of its own, bound to its head, at its spot, pressed and released, unplugged at the end [$tabs]" \
    [ "$rc" = 0 ]
timeout 20 redir-mux connect "$url" --ca "$out/ca.pem" --user alice --password-file "$out/alice.pw" --vm "$name" \
    --seat 5 </dev/null >/dev/null 2>"$out/seat5.err"
rc=$?
check "--seat 5 on a two-headed VM: exit 3, one line (rc $rc): $(cat "$out/seat5.err")" \
    eval '[ $rc = 3 ] && [ "$(wc -l <"$out/seat5.err")" = 1 ]'

tap_finish
