#!/usr/bin/env bash
# redir-capture against real libvirt + QEMU (TCG) with the test guest, booted
# once for the whole group: the test card pixel-exact in the stream, in
# --snapshot and against virsh screenshot; animation; audio through QEMU's VNC
# audio extension; cursor; the CI waits; bad input; a slow consumer; signals;
# and the VM shutting down mid-capture. Every check prints "ok - ..." or
# "not ok - ..."; the script fails if any check failed.
#
# Run by ctest (VREDIR_SOURCE_DIR, VREDIR_BUILD_DIR and PATH given), or by
# hand: bash tests/integration/capture.sh (the build dir defaults to build/).
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-capture redir-dump
need_helpers wav-tone

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"

source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

out=$(mktemp -d /tmp/vredir-capture.XXXXXX)
bg_pids=()
guest=$VREDIR_SOURCE_DIR/tests/guest
cc -O2 -o "$out/expect" "$guest/expect.c" || vg_fail "compiling expect.c failed"
imgcmp() { python3 "$guest/imgcmp.py" "$@"; }
lines() { grep -c '' "$1"; }

vg_ensure_libvirt
vg_build
name=vredir-test-capture-$$
vg_define "$name"
trap 'rc=$?; for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start
[ "$VG_MODE" = 1024x768 ] || vg_fail "expected mode 1024x768, got $VG_MODE"
"$out/expect" 1024 768 card >"$out/card.ppm"

# The needle PNG, from the same formula as the probe (patterns.h).
write_needle() {  # FILE [inverted]
    python3 - "$@" <<'EOF'
import struct, sys, zlib
inv = len(sys.argv) > 2
rows = b""
for dy in range(96):
    rows += b"\0"
    for dx in range(96):
        c = 0x00FF00 if 40 <= dx < 56 and 40 <= dy < 56 else 0xFF00FF
        if inv:
            c ^= 0xFFFFFF
        rows += bytes([(c >> 16) & 255, (c >> 8) & 255, c & 255])
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 96, 96, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
EOF
}
write_needle "$out/needle.png"
write_needle "$out/never.png" inverted

# ---- bad input ----------------------------------------------------------------
redir-capture no-such-domain-$$ --snapshot "$out/x.png" 2>"$out/err"
rc=$?
[ "$rc" = 3 ] && [ "$(lines "$out/err")" = 1 ] && grep -q "not found" "$out/err" &&
    ok "unknown domain: exit 3, one line" || not_ok "unknown domain: rc $rc: $(cat "$out/err")"
redir-capture "$name" --until-match "$out/missing.png" --timeout 5 2>"$out/err"
rc=$?
[ "$rc" = 3 ] && [ "$(lines "$out/err")" = 1 ] && ok "missing needle: exit 3, one line" ||
    not_ok "missing needle: rc $rc: $(cat "$out/err")"
head -c 300 /dev/urandom >"$out/garbage.png"
redir-capture "$name" --until-match "$out/garbage.png" --timeout 5 2>"$out/err"
rc=$?
[ "$rc" = 1 ] && [ "$(lines "$out/err")" = 1 ] && ok "garbage needle: exit 1, one line" ||
    not_ok "garbage needle: rc $rc: $(cat "$out/err")"
redir-capture "$name" --display 1 2>"$out/err" >/dev/null
rc=$?
[ "$rc" = 1 ] && grep -q "has 1 display (0)" "$out/err" && ok "--display 1 on a one-display domain: exit 1" ||
    not_ok "--display 1: rc $rc: $(cat "$out/err")"

# ---- the test card, pixel-exact ------------------------------------------------
t0=$(date +%s%N)
redir-capture "$name" --snapshot "$out/snap.png" 2>"$out/err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 0 ] && imgcmp "$out/snap.png" "$out/card.ppm" >"$out/cmp" 2>&1 &&
    ok "--snapshot is the test card, pixel-exact (${ms} ms)" || not_ok "--snapshot: rc $rc $(cat "$out/err" "$out/cmp")"
vg_screenshot "$out/virsh.img"
same_image() { imgcmp "$@" >"$out/cmp" 2>&1 || { sed 's/^/# /' "$out/cmp"; return 1; }; }
check "--snapshot equals virsh screenshot" same_image "$out/snap.png" "$out/virsh.img"
redir-capture --vnc "unix:$VG_VNC_SOCKET" --snapshot "$out/vnc.png" 2>"$out/err"
rc=$?
[ "$rc" = 0 ] && imgcmp "$out/vnc.png" "$out/card.ppm" >/dev/null && ok "--vnc unix:PATH snapshot is the test card" ||
    not_ok "--vnc unix:PATH: rc $rc $(cat "$out/err")"

for enc in raw zlib auto "zlib --compress 6"; do
    # shellcheck disable=SC2086
    redir-capture "$name" --frames 1 --encoding $enc -o "$out/card-${enc// /}.vrs" 2>"$out/err"
    rc=$?
    enc=${enc// /}
    rm -rf "$out/x"
    if [ "$rc" = 0 ] && redir-dump --check "$out/card-$enc.vrs" >/dev/null 2>&1 &&
        redir-dump "$out/card-$enc.vrs" --extract display --to "$out/x" >/dev/null 2>&1 &&
        imgcmp "$out/x/frame-000001.png" "$out/card.ppm" >"$out/cmp" 2>&1; then
        ok "stream --encoding $enc: the first frame is the test card, pixel-exact"
    else
        not_ok "stream --encoding $enc: rc $rc $(cat "$out/err" "$out/cmp" 2>/dev/null)"
    fi
done
check "stream --compress 6 is smaller than --encoding zlib alone ($(stat -c %s "$out/card-zlib--compress6.vrs") < $(stat -c %s "$out/card-zlib.vrs") bytes)" \
    test "$(stat -c %s "$out/card-zlib--compress6.vrs")" -lt "$(stat -c %s "$out/card-zlib.vrs")"
redir-dump "$out/card-auto.vrs" >"$out/dump" 2>&1
check "stream: HELLO, display declared 1024x768, SURFACE before RECT, END normal" \
    bash -c "grep -q 'HELLO producer=\"redir-capture\"' '$out/dump' && grep -q 'DECLARE id=1 kind=display.*height=768 width=1024' '$out/dump' &&
             [ \$(grep -n SURFACE '$out/dump' | head -1 | cut -d: -f1) -lt \$(grep -n RECT '$out/dump' | head -1 | cut -d: -f1) ] &&
             tail -1 '$out/dump' | grep -q 'END reason=normal'"

# ---- animation --------------------------------------------------------------------
vg_cmd "bar on"
redir-capture "$name" --duration 3 --no-audio -o "$out/anim.vrs" 2>"$out/err"
rc=$?
vg_cmd "bar off"
redir-dump "$out/anim.vrs" >"$out/dump" 2>&1
seqs=$(grep -o 'FRAME_END seq=[0-9]*' "$out/dump" | cut -d= -f2)
rm -rf "$out/x"
redir-dump "$out/anim.vrs" --extract display --to "$out/x" >/dev/null 2>&1
distinct=$(md5sum "$out"/x/*.png 2>/dev/null | cut -d' ' -f1 | sort -u | wc -l)
increasing=$(awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { print bad ? "no" : "yes" }' <<<"$seqs")
[ "$rc" = 0 ] && [ "$increasing" = yes ] && [ "$distinct" -ge 10 ] &&
    ok "animation: $(wc -l <<<"$seqs") frames in 3 s, FRAME_END seqs increasing, $distinct distinct" ||
    not_ok "animation: rc $rc, increasing $increasing, distinct $distinct: $(cat "$out/err")"

# ---- audio ----------------------------------------------------------------------
# QEMU's VNC audio capture (pseudo-encoding -259, s16le 48 kHz stereo).
# The guest's first playback after boot reaches QEMU as silence (QEMU's own
# "wavcapture" records zeros too), and now and then the second does as well:
# short tones warm the sound card up, each captured, until one is heard (at
# most three). The check below is then one capture of its own.
warm=
for i in 1 2 3; do
    redir-capture "$name" --duration 2 --no-cursor -o "$out/warm.vrs" 2>/dev/null &
    cap=$!
    sleep 0.5
    mark=$(vg_mark)
    vg_cmd "tone 440 600"
    vg_wait_log --after "$mark" "^tone 440 600" 10 >/dev/null || not_ok "the warm-up tone did not finish"
    wait "$cap"
    rm -rf "$out/w"
    redir-dump "$out/warm.vrs" --extract audio --to "$out/w" >/dev/null 2>&1
    if [ "$(wav-tone "$out/w/audio.wav" 2>&1 | grep -o 'peak_hz=[0-9]*')" != peak_hz=0 ]; then warm=$i; break; fi
done
note "the sound card carried a tone after ${warm:-more than 3} warm-up tone(s)"
redir-capture "$name" --duration 5 --no-cursor -o "$out/audio.vrs" 2>"$out/err" &
cap=$!
sleep 1
vg_cmd "tone 440 2000"
vg_wait_log "^tone 440 2000" 10 >/dev/null
wait "$cap"
rc=$?
rm -rf "$out/x"
redir-dump "$out/audio.vrs" --extract audio --to "$out/x" >"$out/dump" 2>&1
tone=$(wav-tone "$out/x/audio.wav" 2>&1)
hz=$(grep -o 'peak_hz=[0-9]*' <<<"$tone" | cut -d= -f2)
if [ "$rc" = 0 ] && [ -n "$hz" ] && [ "$hz" -ge 430 ] && [ "$hz" -le 450 ]; then
    ok "audio: a 440 Hz tone arrives in the audio channel ($tone)"
else
    not_ok "audio: rc $rc, wav-tone: $tone; redir-dump: $(cat "$out/dump"); capture: $(cat "$out/err")"
    redir-dump --stats "$out/audio.vrs" 2>&1 | sed 's/^/# /'
fi
grep -q 'DECLARE id=3 kind=audio.*channels=2 format=s16le rate=48000' <(redir-dump "$out/audio.vrs" 2>&1) &&
    ok "audio channel declared s16le 48000 Hz stereo" || not_ok "audio channel declaration"

# ---- cursor ---------------------------------------------------------------------
redir-dump "$out/card-auto.vrs" >"$out/dump" 2>&1
check "cursor channel declared for the display" grep -q 'DECLARE id=2 kind=cursor.*display=1' "$out/dump"
# The probe's hardware cursor (patterns.h, vredir_cursor_pixel) reaches the
# cursor channel with its hotspot, pixel-exact in its opaque and transparent
# parts. Shapes come through VNC; positions come through the domain's D-Bus
# display (QEMU's VNC server never reports them), so every move the probe
# makes on its cursor plane must show up as a CURSOR_POS, in order.
# Each probe command takes about a second on TCG: the capture outlasts them.
redir-capture "$name" --duration 12 --no-audio -o "$out/cursor.vrs" 2>"$out/err" &
cap=$!
sleep 1.5
vg_cmd "cursor on" || not_ok "probe: cursor on"
sleep 0.3
vg_cmd "cursor move 100 60" || not_ok "probe: cursor move"
sleep 0.3
# Key events through the same D-Bus display in between: the display is on the
# domain's own bus, so the capture's listener stays (on a peer-to-peer
# display, QEMU 7.2 would close it for the new client).
t_inj=$SECONDS
redir-inject "$name" -v --type "k" 2>"$out/inj.err"
note "redir-inject took $((SECONDS - t_inj)) s: $(tail -n 2 "$out/inj.err" | tr "\n" " ")"
check "redir-inject sends its key events through the D-Bus display by default" \
    grep -q "via the D-Bus display" "$out/inj.err"
vg_cmd "cursor move 700 500" || not_ok "probe: cursor move"
sleep 0.3
vg_cmd "cursor off" || not_ok "probe: cursor off"
wait "$cap"
note "redir-capture exit $?: $(head -c 300 "$out/err")"
redir-dump "$out/cursor.vrs" >"$out/dump" 2>&1
check "cursor: the probe's 64x64 shape with hotspot 3,5 arrives in the cursor channel" \
    grep -q 'CURSOR_SHAPE 64x64 hot=3,5' "$out/dump"
mid="$((${VG_MODE%x*} / 2)),$((${VG_MODE#*x} / 2))"
grep -o 'CURSOR_POS .*' "$out/dump" | sed 's/^/# /'
cursor_path() {
    # visible at the middle, then 100,60, then 700,500, then hidden
    grep -o 'CURSOR_POS .*' "$out/dump" | awk -v mid="$mid" '
        step == 0 && $2 == mid && NF == 2 { step = 1; next }
        step == 1 && $2 == "100,60" && NF == 2 { step = 2; next }
        step == 2 && $2 == "700,500" && NF == 2 { step = 3; next }
        step == 3 && $3 == "hidden" { step = 4 }
        END { exit step == 4 ? 0 : 1 }'
}
check "cursor: positions arrive in order (middle $mid, 100,60, 700,500, then hidden)" cursor_path
rm -rf "$out/cursor"
redir-dump -q --extract 2 --to "$out/cursor" "$out/cursor.vrs" 2>"$out/err"
cursor_png=$(ls "$out"/cursor/cursor-*-hot-3-5.png 2>/dev/null | tail -1)
cursor_exact() {
    [ -n "$cursor_png" ] || return 1
    convert "$cursor_png" txt:- | python3 -c '
import re, sys
bad = 0
for line in sys.stdin:
    m = re.match(r"(\d+),(\d+):\((\d+),(\d+),(\d+),(\d+)\)", line.replace(" ", ""))
    if not m:
        continue
    x, y, r, g, b, a = map(int, m.groups())
    if x < 16 and y < 16:
        want = ((x * 16) & 255, (y * 16) & 255, 0x40, 255)
    elif x <= 16 and y <= 16:
        continue  # half-transparent frame: alpha depends on the cursor encoding QEMU chose
    else:
        want = None  # fully transparent: colour does not matter
    if want is None:
        bad += a != 0
    else:
        bad += (r, g, b, a) != want
sys.exit(1 if bad else 0)'
}
check "cursor: the extracted shape matches the probe's pattern pixel for pixel" cursor_exact

# ---- waits ----------------------------------------------------------------------
t0=$SECONDS
redir-capture "$name" --until-stable 2 --timeout 30 2>"$out/err"
rc=$?
[ "$rc" = 0 ] && [ $((SECONDS - t0)) -le 10 ] && ok "--until-stable 2 on a static screen: 0 after $((SECONDS - t0)) s" ||
    not_ok "--until-stable: rc $rc after $((SECONDS - t0)) s: $(cat "$out/err")"

mark=$(vg_mark)
vg_cmd "needle 3000"
t0=$SECONDS
redir-capture "$name" --until-match "$out/needle.png" --timeout 30 --json >"$out/match.json" 2>"$out/err"
rc=$?
took=$((SECONDS - t0))
logged=$(vg_wait_log --after "$mark" '^needle ' 5)
if [ "$rc" = 0 ] && python3 -c '
import json, sys
j = json.loads(open(sys.argv[1]).read())
sys.exit(0 if j["event"] == "match" and (j["x"], j["y"]) == (720, 144) and j["score"] >= 0.99 else 1)' "$out/match.json" &&
    [ "$took" -ge 2 ] && grep -q "needle 720 144 96 96" <<<"$logged"; then
    ok "--until-match finds the needle at 720,144 once drawn (${took} s): $(cat "$out/match.json")"
else
    not_ok "--until-match: rc $rc after $took s, json $(cat "$out/match.json"), log '$logged': $(cat "$out/err")"
fi
redir-capture "$name" --until-match "$out/needle.png" --region 700,100,200,200 --timeout 10 2>"$out/err"
rc=$?
[ "$rc" = 0 ] && grep -q "at 720,144" "$out/err" && ok "--until-match --region reports the position on stderr" ||
    not_ok "--until-match --region: rc $rc: $(cat "$out/err")"

t0=$SECONDS
redir-capture "$name" --until-match "$out/never.png" --timeout 4 --snapshot "$out/last.png" 2>"$out/err"
rc=$?
took=$((SECONDS - t0))
"$out/expect" 1024 768 card needle >"$out/card-needle.ppm"
[ "$rc" = 5 ] && [ "$took" -le 7 ] && [ "$(lines "$out/err")" = 1 ] && imgcmp "$out/last.png" "$out/card-needle.ppm" >/dev/null &&
    ok "a needle that never shows: exit 5 after $took s, one line, --snapshot holds the last screen" ||
    not_ok "never-matching needle: rc $rc after $took s: $(cat "$out/err")"

# ---- slow consumer ----------------------------------------------------------------
vg_cmd "bar on"
redir-capture "$name" --encoding raw 2>"$out/slow.err" | (sleep 15; cat >/dev/null) &
bg_pids+=($!)
sleep 1
pid=$(pgrep -n -x redir-capture)
hwm=0
for _ in $(seq 1 12); do
    sleep 1
    v=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
done
[ "$hwm" -gt 0 ] && [ "$hwm" -lt 102400 ] && ok "slow consumer (animation, raw): peak RSS $((hwm / 1024)) MiB" ||
    not_ok "slow consumer: peak RSS ${hwm} KiB"
kill -INT "$pid" 2>/dev/null
wait
bg_pids=()
vg_cmd "bar off"

# ---- SIGINT -----------------------------------------------------------------------
redir-capture "$name" -o "$out/int.vrs" 2>"$out/err" &
cap=$!
sleep 2
kill -INT "$cap"
wait "$cap"
rc=$?
[ "$rc" = 130 ] && redir-dump "$out/int.vrs" 2>/dev/null | tail -1 | grep -q 'END reason=interrupted' &&
    ok "SIGINT: exit 130, stream ends with END interrupted" || not_ok "SIGINT: rc $rc: $(cat "$out/err")"

# ---- libvirt goes away mid-capture ----------------------------------------------
# Restarting the host's libvirtd would disturb everything else on it, so the
# capture reaches libvirt through a proxy of its socket (passing file
# descriptors, which virDomainOpenGraphicsFD needs) and the proxy goes away:
# for the client that is what a libvirtd restart looks like. The VNC socket
# stays open, so only the capture's own libvirt check can notice.
python3 - "$out/libvirt.sock" /var/run/libvirt/libvirt-sock <<'EOF' &
import array, os, socket, sys, threading
path, target = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(8)
def pump(a, b):
    try:
        while True:
            data, anc, _, _ = a.recvmsg(65536, socket.CMSG_SPACE(64))
            if not data:
                break
            fds = [f for lvl, typ, d in anc if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS
                   for f in array.array("i", d[: len(d) - len(d) % 4])]
            if fds:  # the descriptor travels with the last byte, as libvirt sends it
                if len(data) > 1:
                    b.sendall(data[:-1])
                b.sendmsg([data[-1:]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
                for f in fds:
                    os.close(f)
            else:
                b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = srv.accept()
    u = socket.socket(socket.AF_UNIX)
    u.connect(target)
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
EOF
proxy=$!
bg_pids+=("$proxy")
for _ in $(seq 1 50); do [ -S "$out/libvirt.sock" ] && break; sleep 0.1; done
redir-capture -c "qemu+unix:///system?socket=$out/libvirt.sock" "$name" -o "$out/lost.vrs" 2>"$out/err" &
cap=$!
sleep 3
kill "$proxy"
wait "$cap"
rc=$?
redir-dump "$out/lost.vrs" >"$out/dump" 2>&1
drc=$?
[ "$rc" = 6 ] && [ "$drc" = 0 ] && tail -1 "$out/dump" | grep -q 'END reason=source-gone' &&
    ok "libvirt connection lost mid-capture: exit 6, END source-gone ($(cat "$out/err"))" ||
    not_ok "libvirt lost mid-capture: rc $rc, redir-dump rc $drc, last: $(tail -1 "$out/dump"); $(cat "$out/err")"

# ---- the VM shuts down mid-capture -------------------------------------------------
redir-capture "$name" -o "$out/gone.vrs" 2>"$out/err" &
cap=$!
sleep 2
"${VG_VIRSH[@]}" shutdown "$name" --mode acpi >/dev/null
wait "$cap"
rc=$?
redir-dump "$out/gone.vrs" >"$out/dump" 2>&1
drc=$?
[ "$rc" = 6 ] && [ "$drc" = 0 ] && tail -1 "$out/dump" | grep -q 'END reason=source-gone' &&
    ok "VM shut down mid-capture: exit 6, END source-gone, the file is valid ($(cat "$out/err"))" ||
    not_ok "shutdown mid-capture: rc $rc, redir-dump rc $drc, last: $(tail -1 "$out/dump"); $(cat "$out/err")"

tap_finish
