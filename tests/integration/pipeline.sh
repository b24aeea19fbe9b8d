#!/usr/bin/env bash
# The local console pipeline, end to end, through examples/console.sh:
#
#   redir-capture DOMAIN | x-replay | redir-inject DOMAIN
#
# on an X server of its own (Xvfb) against the test guest (one boot). The
# x-replay window must show the guest's test card, and keys typed and a
# click made in that window with xdotool (XTEST, as from a real keyboard and
# mouse) must reach the guest, in order, as its serial log shows. Every check
# prints "ok - ..." or "not ok - ..."; the script fails if any did.
#
# Run by ctest, or by hand: bash tests/integration/pipeline.sh (the build dir
# defaults to build/).
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-capture x-replay redir-inject
export PATH
# The real components this test drives; a missing one is a failure, not a skip.
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/xvfb.sh"
need_packages Xvfb:xvfb xdotool:xdotool xdpyinfo:x11-utils import:imagemagick

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"

pixel() { python3 "$VREDIR_SOURCE_DIR/tests/guest/imgcmp.py" --pixel "$@"; }

out=$(mktemp -d /tmp/vredir-pipeline.XXXXXX)
xvfb_pid='' console_pid=''
cleanup() {
    local rc=$?
    # The pipeline runs in a session of its own: end all three tools at once.
    [ -n "$console_pid" ] && kill -TERM -- "-$console_pid" 2>/dev/null
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$out"
    vg_cleanup "$rc"
}

vg_ensure_libvirt
vg_build
name=vredir-test-pipeline-$$
vg_define "$name"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- an X server of our own (it picks a free display number itself) ------
pushd "$out" >/dev/null || exit 1
start_xvfb x 1280x1024x24
popd >/dev/null || exit 1
xvfb_pid=$x_pid dpy=$x_dpy
export DISPLAY=$dpy
ok "Xvfb running on $dpy"

vg_start

# --- the console ------------------------------------------------------------
err=$(env -u DISPLAY "$VREDIR_SOURCE_DIR/examples/console.sh" "$name" 2>&1 </dev/null)
rc=$?
check "console.sh without DISPLAY: exit 1, one line ($err)" \
    sh -c '[ "$1" = 1 ] && [ "$(printf "%s\n" "$2" | wc -l)" = 1 ]' _ "$rc" "$err"

setsid "$VREDIR_SOURCE_DIR/examples/console.sh" "$name" </dev/null >"$out/console.out" 2>"$out/console.err" &
console_pid=$!
win=$(timeout 30 xdotool search --sync --onlyvisible --name 'redir-capture' | head -1)
check "x-replay window opened ($(xdotool getwindowname "$win" 2>/dev/null))" [ -n "$win" ]
[ -n "$win" ] || { cat "$out/console.err"; exit 1; }
xdotool windowfocus --sync "$win"

# The window shows what the guest's display shows: the test card.
redir-capture "$name" --snapshot "$out/guest.png" 2>"$out/snap.err"
check "redir-capture --snapshot of the guest" [ -s "$out/guest.png" ]
same=no
for _ in $(seq 30); do
    import -window "$win" "$out/window.png" 2>/dev/null &&
        python3 "$VREDIR_SOURCE_DIR/tests/guest/imgcmp.py" "$out/window.png" "$out/guest.png" >"$out/cmp.txt" 2>&1 &&
        { same=yes; break; }
    sleep 0.5
done
check "x-replay window equals redir-capture --snapshot pixel for pixel ($(head -1 "$out/cmp.txt"))" [ $same = yes ]
check "window is 1024x768" sh -c "xdotool getwindowgeometry $win | grep -q 'Geometry: 1024x768'"
# A few pixels of the test card (tests/guest/PATTERNS.md, 1024x768).
got=$(for xy in "0 0" "1 1" "200 100" "900 300" "64 10" "100 500"; do pixel "$out/window.png" $xy; done | tr '\n' ' ')
check "window shows the test card: frame, bars, grid, ramp ($got)" \
    [ "$got" = "ffffff c0c0c0 c0c000 000000 404040 194d00 " ]

# --- keys and a click in the window reach the guest ---------------------------
mark=$(vg_mark)
xdotool type --delay 50 hi
xdotool mousemove --window "$win" 300 200 click 1
vg_wait_log --after "$mark" '^btn 272 0$' 20 >/dev/null
vg_wait_log --after "$mark" '^key 23 0$' 5 >/dev/null
events=$(vg_events | tail -n +"$((mark + 1))" | cut -d' ' -f2- | grep -E '^(key|btn|abs) ')
keys=$(grep '^key ' <<<"$events" | tr '\n' ' ')
check "typed 'hi': the guest logs key 35 1, 35 0, 23 1, 23 0 in order (got: $keys)" \
    [ "$keys" = "key 35 1 key 35 0 key 23 1 key 23 0 " ]
btns=$(grep '^btn ' <<<"$events" | tr '\n' ' ')
check "click: the guest logs btn 272 1 then 0 (got: $btns)" [ "$btns" = "btn 272 1 btn 272 0 " ]
check "click: at the window position 300,200" grep -qE '^abs [0-9]+ [0-9]+ 300 200$' <<<"$events"
order=$(grep -E '^(key 23 0|btn 272 1)$' <<<"$events" | tr '\n' ,)
check "keys before the click, as typed ($order)" [ "$order" = "key 23 0,btn 272 1," ]

check "pipeline still running" kill -0 "$console_pid"
kill -TERM -- "-$console_pid" 2>/dev/null
wait "$console_pid" 2>/dev/null
console_pid=
[ "$failures" = 0 ] || { echo "--- console.sh stderr"; tail -20 "$out/console.err"; }
tap_finish
