#!/usr/bin/env bash
# x-replay on a real X server (Xvfb) with real input (xdotool, XTEST):
# pixel-exact display read back from X, input frames on stdout, the escape
# chord, window closing, damage exit codes, playback timing, audio and cursor.
# Every check prints "ok - ..." or "not ok - ..."; the script fails if any did.
#
# Run by ctest (VREDIR_SOURCE_DIR, VREDIR_BUILD_DIR and PATH given), or by
# hand: bash tests/integration/x_replay.sh (the build dir defaults to build/).
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools x-replay redir-dump
need_helpers vrs-build png-pixels
# The real components this test drives; a missing one is a failure, not a skip.
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/xvfb.sh"
need_packages Xvfb:xvfb xdotool:xdotool xdpyinfo:x11-utils import:imagemagick py:Xlib:python3-xlib


out=$(mktemp -d /tmp/vredir-xreplay.XXXXXX)
xvfb_pid= viewer_pid=
cleanup() {
    [ -n "$viewer_pid" ] && kill "$viewer_pid" 2>/dev/null
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$out"
}
trap cleanup EXIT
cd "$out" || exit 1

# --- an X server of our own (it picks a free display number itself) ------
start_xvfb x 1280x1024x24
xvfb_pid=$x_pid dpy=$x_dpy
export DISPLAY=$dpy
ok "Xvfb running on $dpy"

# Starts x-replay in the background (stdout to $1, stderr to $1.err) and
# waits for its window named $2; sets viewer_pid and win.
start_viewer() {
    local file=$1 name=$2
    shift 2
    x-replay "$@" >"$file" 2>"$file.err" &
    viewer_pid=$!
    win=$(timeout 10 xdotool search --sync --onlyvisible --name "^$name\$" | head -1)
    [ -n "$win" ] && xdotool windowfocus --sync "$win"
}
# Waits for the background x-replay to exit; sets rc.
wait_viewer() {
    local i
    for i in $(seq 100); do kill -0 "$viewer_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$viewer_pid" 2>/dev/null && kill -KILL "$viewer_pid"
    wait "$viewer_pid"
    rc=$?
    viewer_pid=
}
# The KEY frames of an input stream as "code:down code:up ..." (seq checked).
keys_of() {
    redir-dump "$1" | awk '/ KEY /{ for (i = 1; i <= NF; i++) { if ($i ~ /^seq=/) s = substr($i, 5); if ($i ~ /^code=/) c = substr($i, 6) }
        if (s != ++n) { print "bad-seq"; exit } printf "%s%s:%s", (n > 1 ? " " : ""), c, ($0 ~ / down /) ? "down" : "up" } END { print "" }'
}
# "x,y:buttons" of every POINTER frame, with seq checked to run 1, 2, 3...
pointers_of() {
    redir-dump "$1" | awk '/ POINTER /{ for (i = 1; i <= NF; i++) { if ($i ~ /^seq=/) s = substr($i, 5); if ($i ~ /^buttons=/) b = substr($i, 9); if ($i ~ /^[0-9-]+,[0-9-]+$/) p = $i }
        if (s != ++n) { print "bad-seq"; exit } printf "%s%s:%s", (n > 1 ? " " : ""), p, b } END { print "" }'
}

# --- 1. a test card, pixel-exact as X shows it -----------------------------
cat >card.txt <<'EOF'
hello producer=test-card
declare 1 display card width=64 height=48 head=0
surface 1 64 48
time 1000
rect 1 0 0 64 48 solid 202020
rect 1 0 0 32 24 solid ff0000
rect 1 32 0 32 24 zlib fill 00ff00
rect 1 0 24 4 2 raw 0000ff 00ffff ff00ff ffff00 123456 654321 abcdef fedcba
rect 1 8 30 16 10 copy 0 0
rect 1 40 30 10 10 zlib fill 808080
frame-end 1 1
time 2000
surface 1 80 40
rect 1 0 0 80 40 solid 000040
rect 1 10 5 20 10 solid ffffff
rect 1 40 20 3 1 raw 010203 040506 070809
rect 1 50 20 6 6 copy 10 5
rect 1 70 30 10 10 zlib fill 7f3f1f
frame-end 1 2
time 3000
end
EOF
vrs-build card.txt -o card.vrs
redir-dump --extract card --to frames card.vrs 2>/dev/null
png-pixels frames/frame-000002.png >expected.txt
check "test card: expected frame is the resized 80x40 surface" [ "$(head -1 expected.txt)" = 80x40 ]

x-replay --no-audio --screenshot-on-exit shm.png card.vrs >card-input.vrs 2>card.err
rc=$?
check "test card (MIT-SHM): exit 0 at END" [ $rc = 0 ]
check "test card (MIT-SHM): read back from X equals redir-dump --extract" cmp -s <(png-pixels shm.png) expected.txt
x-replay --no-audio --no-shm --screenshot-on-exit put.png card.vrs >/dev/null 2>&1
check "test card (PutImage strips): read back from X equals redir-dump --extract" cmp -s <(png-pixels put.png) expected.txt
check "test card: input stream is valid, ends with END" sh -c 'redir-dump --check card-input.vrs && redir-dump card-input.vrs | tail -1 | grep -q "END reason=normal"'
check "test card: pointer channel follows the resize (declared 64x48, then 80x40)" \
    sh -c 'redir-dump card-input.vrs | grep DECLARE | grep -q "display=1 head=0 height=48 width=64" && redir-dump card-input.vrs | grep DECLARE | grep -q "display=1 head=0 height=40 width=80"'

# An independent capture of the window by ImageMagick (X GetImage on the window).
start_viewer held.vrs "card - test-card" --no-audio --hold card.vrs
check "test card: window titled with channel and producer" [ -n "$win" ]
sleep 0.3
import -window "$win" imported.png 2>/dev/null
check "test card: 'import -window' capture equals redir-dump --extract" cmp -s <(png-pixels imported.png) expected.txt
# Another window over it, then gone: x-replay redraws the Expose from its image.
x_client cover
sleep 0.3
import -window "$win" exposed.png 2>/dev/null
check "test card: redrawn after being covered and uncovered (Expose)" cmp -s <(png-pixels exposed.png) expected.txt
check "test card: window is 80x40 after the resize" \
    sh -c "xdotool getwindowgeometry $win | grep -q 'Geometry: 80x40'"
check "test card: WM_CLASS is x-replay, vredir" sh -c "xprop -id $win WM_CLASS | grep -q '\"x-replay\", \"vredir\"'"

# --- 2. keys and clicks from xdotool come out as input frames --------------
xdotool type --delay 20 ab
xdotool mousemove --window "$win" 10 20 click 1
xdotool mousemove --window "$win" 5 6 click 3 click 4
sleep 0.3
kill -TERM "$viewer_pid"
wait_viewer
check "input: SIGTERM ends x-replay with 130" [ $rc = 130 ]
check "input: stream on stdout is valid and ends with END reason=interrupted" \
    sh -c 'redir-dump --check held.vrs && redir-dump held.vrs | tail -1 | grep -q "END reason=interrupted"'
got=$(keys_of held.vrs)
check "input: 'ab' typed gives KEY 30 down/up, 48 down/up (got: $got)" [ "$got" = "30:down 30:up 48:down 48:up" ]
check "input: keysyms a and b" sh -c 'redir-dump held.vrs | grep -q "code=30 down keysym=0x000061" && redir-dump held.vrs | grep -q "code=48 down keysym=0x000062"'
got=$(pointers_of held.vrs)
check "input: click 1 at 10,20 gives POINTER 10,20 buttons=1 then 0 (got: $got)" \
    grep -q '10,20:1 10,20:0' <<<"$got"
check "input: right click and wheel up at 5,6 give buttons 4, 0, 8, 0" grep -q '5,6:4 5,6:0 5,6:8 5,6:0' <<<"$got"
check "input: pointer channel declared with display=1" sh -c 'redir-dump held.vrs | grep -q "kind=pointer .*display=1"'

# --- 3. the escape chord ----------------------------------------------------
start_viewer chord.vrs "card - test-card" --no-audio --hold card.vrs
xdotool key Menu Delete
xdotool key Menu F1
xdotool key Menu Menu
xdotool key Menu x
sleep 0.3
# Closing the window the way a window manager does: WM_DELETE_WINDOW.
x_client close "$win"
wait_viewer
check "window: WM_DELETE_WINDOW on the last window ends x-replay with 0" [ $rc = 0 ]
check "window: input stream ends with END reason=normal" sh -c 'redir-dump chord.vrs | tail -1 | grep -q "END reason=normal"'
got=$(keys_of chord.vrs)
check "chord: Menu Delete gives ctrl+alt+delete (got: $got)" \
    grep -q '^29:down 56:down 111:down 111:up 56:up 29:up' <<<"$got"
check "chord: Menu F1 gives ctrl+alt+F1" grep -q '29:down 56:down 59:down 59:up 56:up 29:up' <<<"$got"
check "chord: Menu Menu gives Menu" grep -q '127:down 127:up' <<<"$got"
check "chord: Menu then another key drops the escape, sends the key" grep -q '127:up 45:down 45:up$' <<<"$got"

# --- 3b. the pointer grab: escape key, G ------------------------------------
# Grabbed, the pointer is warped back to the window's centre after each
# motion and the motion goes out as POINTER_REL frames; the title says so.
start_viewer grab.vrs "card - test-card" --no-audio --hold card.vrs
xdotool key Menu g
sleep 0.3
title_grabbed=$(xdotool getwindowname "$win")
for d in "7 -3" "-2 5" "10 4" "-30 -12"; do
    # shellcheck disable=SC2086
    xdotool mousemove_relative -- $d
    sleep 0.2
done
xdotool click 1
sleep 0.2
xdotool key Menu g
sleep 0.3
title_released=$(xdotool getwindowname "$win")
xdotool mousemove --window "$win" 10 12
sleep 0.3
x_client close "$win"
wait_viewer
# "dx,dy" sums of the POINTER_REL frames, and the kinds of pointer frames in order.
rel_sum() { redir-dump "$1" | awk '/ POINTER_REL /{ for (i = 1; i <= NF; i++) if ($i ~ /^[-+][0-9]+,[-+][0-9]+$/) { split($i, v, ","); x += v[1]; y += v[2] } }
    END { printf "%d,%d\n", x, y }'; }
kinds() { redir-dump "$1" | awk '/ POINTER(_REL)? /{ print $4 }' | uniq | tr '\n' ' '; }
check "grab: the title says the pointer is grabbed ($title_grabbed)" grep -q 'pointer grabbed' <<<"$title_grabbed"
check "grab: released, the title is the plain one again ($title_released)" [ "$title_released" = "card - test-card" ]
got=$(rel_sum grab.vrs)
check "grab: POINTER_REL frames sum to the motion made (got $got, want -15,-6)" [ "$got" = "-15,-6" ]
check "grab: the click while grabbed is a POINTER_REL with buttons=1, then 0" \
    sh -c 'redir-dump grab.vrs | grep " POINTER_REL " | grep -q "+0,+0 buttons=1" && redir-dump grab.vrs | grep " POINTER_REL " | grep -q "+0,+0 buttons=0"'
got=$(kinds grab.vrs)
check "grab: relative frames, then absolute ones again after the release (got: $got)" grep -q 'POINTER_REL POINTER $' <<<"$got"
check "grab: the input stream is valid" redir-dump --check grab.vrs

# A window destroyed by another client counts as closed.
start_viewer destroyed.vrs "card - test-card" --no-audio --hold card.vrs
xdotool windowclose "$win"
wait_viewer
check "window: destroyed by another client ends x-replay with 0 and END" \
    sh -c "[ $rc = 0 ] && redir-dump destroyed.vrs | tail -1 | grep -q 'END reason=normal'"

# A reader that goes away (EPIPE) ends x-replay quietly with 0.
(
    x-replay --no-audio --hold card.vrs 2>epipe.err | head -c 1 >/dev/null
    echo "${PIPESTATUS[0]}" >epipe.rc
) &
epipe_pid=$!
win=$(timeout 10 xdotool search --sync --onlyvisible --name '^card - test-card$' | head -1)
sleep 0.3
xdotool mousemove --window "$win" 3 3 sleep 0.1 mousemove --window "$win" 4 4
for _ in $(seq 50); do [ -s epipe.rc ] && break; sleep 0.1; done
[ -s epipe.rc ] || pkill -TERM -P "$epipe_pid" x-replay
wait "$epipe_pid"
check "EPIPE: x-replay exits with 0 once its reader is gone (rc $(cat epipe.rc 2>/dev/null))" \
    [ "$(cat epipe.rc 2>/dev/null)" = 0 ]
check "EPIPE: nothing on stderr" [ ! -s epipe.err ]

# --- 4. damage and no display -----------------------------------------------
head -c 400 card.vrs >cut.vrs
x-replay --no-audio cut.vrs >/dev/null 2>cut.err
rc=$?
check "truncated stream: exit 6" [ $rc = 6 ]
check "truncated stream: one line naming the offset ($(cat cut.err))" \
    sh -c '[ "$(wc -l <cut.err)" = 1 ] && grep -q "^x-replay: cut.vrs: .*offset 400" cut.err'
sed 's/\r$//' card.vrs >dos.vrs
x-replay --no-audio dos.vrs >/dev/null 2>dos.err
rc=$?
check "malformed stream (text-mode damage): exit 7, one line" sh -c "[ $rc = 7 ] && [ \$(wc -l <dos.err) = 1 ]"
printf 'hello producer=t\ndeclare 1 display s\nsurface 1 4 4\nrect 1 3 3 2 2 solid ffffff\nend\n' | vrs-build >outside.vrs
x-replay --no-audio <outside.vrs >/dev/null 2>outside.err
rc=$?
check "malformed stream (rect outside its surface) on stdin: exit 7, one line" \
    sh -c "[ $rc = 7 ] && [ \$(wc -l <outside.err) = 1 ] && grep -q 'stdin: rect 2x2+3+3 outside' outside.err"
# One memory budget for the whole process: many channels, each within the
# per-channel caps, together over --max-memory.
{
    echo 'hello producer=t'
    for i in 1 2 3 4 5 6; do echo "declare $i display big$i"; done
    for i in 1 2 3 4 5 6; do echo "surface $i 2048 2048"; done
    echo end
} | vrs-build >big.vrs
timeout 30 x-replay --no-audio --max-memory 160 big.vrs >/dev/null 2>big.err
rc=$?
check "channels over --max-memory together: exit 7, one line naming the channel ($(cat big.err))" \
    sh -c "[ $rc = 7 ] && [ \$(wc -l <big.err) = 1 ] && grep -q 'channel 6 (\"big6\") needs 33554432 bytes, over x-replay.s memory budget of 160 MiB' big.err"
timeout 30 x-replay --no-audio --no-timing --max-memory 256 big.vrs >/dev/null 2>big-ok.err
rc=$?
check "the same stream within --max-memory 256: exit 0 ($(cat big-ok.err))" [ $rc = 0 ]
head -c 4096 /dev/urandom | tr '\211' x >random.bin
timeout 10 x-replay --no-audio random.bin >/dev/null 2>random.err
rc=$?
check "random bytes: exit 7, one line" sh -c "[ $rc = 7 ] && [ \$(wc -l <random.err) = 1 ]"
unused=:$((${dpy#:} + 1000))
err=$(x-replay --x-display "$unused" card.vrs 2>&1 >/dev/null)
rc=$?
check "no X display: exit 1 with one line ($err)" \
    sh -c "[ $rc = 1 ] && [ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && printf '%s' \"\$1\" | grep -q \"cannot open X display '$unused'\"" _ "$err"
err=$(env -u DISPLAY x-replay card.vrs 2>&1 >/dev/null)
rc=$?
check "DISPLAY unset: exit 1 with one line ($err)" sh -c "[ $rc = 1 ] && [ -n \"\$1\" ]" _ "$err"

# --- 5. recorded streams play with their own timing --------------------------
cat >timed.txt <<'EOF'
hello producer=t
declare 1 display timed width=8 height=8
surface 1 8 8
rect 1 0 0 8 8 solid ff0000
frame-end 1 1
time 1000000
rect 1 0 0 8 8 solid 00ff00
frame-end 1 2
time 1200000
end
EOF
vrs-build timed.txt -o timed.vrs
seconds() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
ms=$(seconds x-replay --no-audio timed.vrs)
check "timing: a recording 1.2 s long takes about that long (${ms} ms)" [ "$ms" -ge 1100 -a "$ms" -lt 5000 ]
ms=$(seconds x-replay --no-audio --no-timing timed.vrs)
check "timing: --no-timing is fast (${ms} ms)" [ "$ms" -lt 800 ]
ms=$(seconds x-replay --no-audio --speed 4 timed.vrs)
check "timing: --speed 4 plays four times as fast (${ms} ms)" [ "$ms" -ge 250 -a "$ms" -lt 1000 ]
ms=$(seconds sh -c 'cat timed.vrs | x-replay --no-audio')
check "timing: a pipe is shown as fast as it arrives (${ms} ms)" [ "$ms" -lt 800 ]

# --- audio and cursor ---------------------------------------------------------
cat >av.txt <<'EOF'
hello producer=t
declare 1 display av width=16 height=8
declare 2 cursor pointer display=1
declare 3 audio sound rate=8000 channels=1 format=s16le
surface 1 16 8
rect 1 0 0 16 8 solid 000000
frame-end 1 1
cursor-shape 2 2 2 1 1 ffff0000 ff00ff00 800000ff 00ffffff
cursor-pos 2 6 4
audio 3 sine 440 4000 8000
time 500000
audio 3 sine 440 4000 8000
time 600000
end
EOF
vrs-build av.txt -o av.vrs
x-replay --audio-device null --screenshot-on-exit av.png av.vrs >/dev/null 2>av.err
rc=$?
check "audio: plays to ALSA device 'null', exit 0, nothing on stderr" sh -c "[ $rc = 0 ] && [ ! -s av.err ]"
x-replay --audio-device no-such-device --no-timing av.vrs >/dev/null 2>nodev.err
rc=$?
check "audio: a device that cannot be opened is one warning, exit 0 ($(head -1 nodev.err))" \
    sh -c "[ $rc = 0 ] && [ \$(wc -l <nodev.err) = 1 ] && grep -q \"ALSA device 'no-such-device'\" nodev.err"
# The cursor is drawn over the surface at CURSOR_POS minus its hotspot (1,1):
# red at (5,3), green at (6,3), half-transparent blue over black at (5,4).
row3=$(png-pixels av.png | sed -n 5p)
row4=$(png-pixels av.png | sed -n 6p)
check "cursor: drawn at its position, alpha blended ($(echo $row3 | cut -d' ' -f5-7) / $(echo $row4 | cut -d' ' -f5-7))" \
    sh -c "[ '$(echo $row3 | cut -d' ' -f6-7)' = 'ff0000 00ff00' ] && [ '$(echo $row4 | cut -d' ' -f6-8)' = '000080 000000 000000' ]"

# --- two display channels, two windows ---------------------------------------
cat >two.txt <<'EOF'
hello producer=t
declare 1 display left width=8 height=8
declare 2 display right width=8 height=8
surface 1 8 8
surface 2 12 6
rect 1 0 0 8 8 solid 112233
rect 2 0 0 12 6 solid 445566
frame-end 1 1
frame-end 2 1
end
EOF
vrs-build two.txt -o two.vrs
start_viewer two-input.vrs "left - t" --no-audio --hold --screenshot-on-exit two.png two.vrs
right=$(timeout 10 xdotool search --sync --onlyvisible --name '^right - t$' | head -1)
check "two displays: two windows" [ -n "$win" -a -n "$right" ]
kill -INT "$viewer_pid"
wait_viewer
check "two displays: SIGINT gives 130" [ $rc = 130 ]
check "two displays: screenshot is the first display channel" \
    sh -c 'png-pixels two.png | head -2 | tr "\n" " " | grep -q "^8x8 112233"'
check "two displays: one pointer channel per window" \
    [ "$(redir-dump two-input.vrs | grep -c 'kind=pointer')" = 2 ]

tap_finish
