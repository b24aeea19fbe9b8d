#!/usr/bin/env bash
# redir-mux join / split (local composition) and session recording, first on
# built streams, then on the real test guest: a real capture split and joined
# back exactly, two live captures joined into one stream, and a recording of
# a joined session (display down, keys up) that redir-dump checks, x-replay
# shows and redir-inject replays into the guest.
#
# Run by ctest, or by hand: bash tests/integration/mux_local.sh (build dir
# defaults to build/).
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-mux redir-dump redir-capture redir-inject x-replay
need_helpers vrs-build
for t in Xvfb:xvfb xdpyinfo:x11-utils python3:python3; do
    command -v "${t%%:*}" >/dev/null || { echo "not ok - ${t%%:*} is missing (apt-get install ${t#*:})"; exit 1; }
done

source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/xvfb.sh"
lines() { wc -l <"$1" | tr -d ' '; }
exits_one_line() { [ "$1" = "$2" ] && [ "$(lines "$3")" = 1 ]; }

out=$(mktemp -d "${TMPDIR:-/tmp}/vredir-mux-local.XXXXXX")
cd "$out" || exit 1
xvfb_pid=
finish() {
    local rc=$?
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
    cd / && rm -rf "$out"
    if declare -F vg_cleanup >/dev/null; then vg_cleanup "$rc"; fi
    exit "$rc"
}
trap finish EXIT

# same A B [--no-time]: the two streams carry the same channel frames, as
# redir-dump --json sees them: per channel, in order, with every decoded
# field; declarations by id, kind, name and params (join's own input= and
# source= params aside). Byte offsets, HELLO and the CLOSE frames a join adds
# when an input ends are not compared; with --no-time neither are timestamps.
same() {
    python3 - "$@" <<'EOF'
import json, subprocess, sys
a, b = sys.argv[1], sys.argv[2]
no_time = "--no-time" in sys.argv
def frames(path):
    out = subprocess.run(["redir-dump", "--json", path], capture_output=True, text=True, check=True).stdout
    per = {}
    for line in out.splitlines():
        f = json.loads(line)
        if f["type"] in ("HELLO", "CLOSE"):
            continue
        for k in ("offset", "channel_name"):
            f.pop(k, None)
        if no_time:
            f.pop("t_us", None)
        if f["type"] == "DECLARE":
            for k in ("input", "source"):
                f["params"].pop(k, None)
            f.pop("length", None)
            key = "declare"
        elif f["type"] == "END":
            key = "end"
            f.pop("length", None); f.pop("message", None)
        else:
            key = f["channel"]
        per.setdefault(key, []).append(f)
    return per
fa, fb = frames(a), frames(b)
for per in (fa, fb):  # live inputs declare in arrival order
    per.get("declare", []).sort(key=lambda f: f["id"])
if fa != fb:
    for k in sorted(set(fa) | set(fb), key=str):
        if fa.get(k) != fb.get(k):
            x, y = fa.get(k, []), fb.get(k, [])
            for i in range(max(len(x), len(y))):
                if i >= len(x) or i >= len(y) or x[i] != y[i]:
                    print(f"channel {k} frame {i}: {x[i] if i < len(x) else None} != {y[i] if i < len(y) else None}", file=sys.stderr)
                    break
    sys.exit(1)
EOF
}
# same_pixels A B CHANNEL: every frame of a display channel, extracted to
# PNG from both streams, is byte-identical.
same_pixels() {
    rm -rf px-a px-b
    redir-dump "$1" --extract "$3" --to px-a -q >/dev/null 2>&1 && redir-dump "$2" --extract "$3" --to px-b -q >/dev/null 2>&1 &&
        [ "$(ls px-a | wc -l)" -gt 0 ] && diff -r px-a px-b >/dev/null
}

# ---- 1. built streams: split and join round-trip exactly ------------------------
cat >two.txt <<'EOF'
hello producer=test
declare 1 display screen width=4 height=3 head=0
declare 2 audio sound rate=8000 channels=1 format=s16le
surface 1 4 3
time 1000
rect 1 0 0 4 3 solid 000080
rect 1 0 0 2 1 raw ff0000 00ff00
frame-end 1 1
time 2000
audio 2 sine 1000 800 8000
time 40000
rect 1 2 1 2 2 zlib fill ffff00
frame-end 1 2
time 41000
audio 2 sine 500 800 8000
time 60000
end normal
EOF
vrs-build <two.txt >two.vrs || { not_ok "vrs-build two.txt"; exit 1; }
redir-mux split two.vrs --route display=disp.vrs --route audio=snd.vrs 2>err
rc=$?
check "split into two files exits 0 (rc $rc: $(head -c 200 err))" [ $rc = 0 ]
check "split: each output is a valid stream of its own" bash -c "redir-dump --check disp.vrs && redir-dump --check snd.vrs"
check "split: the display file holds only the display channel" \
    bash -c "[ \"\$(redir-dump --json disp.vrs | grep -c '\"channel\":2')\" = 0 ] && redir-dump --stats disp.vrs | grep -q screen"
redir-mux join disp.vrs snd.vrs >joined.vrs 2>err
rc=$?
check "join of the two files exits 0 (rc $rc: $(head -c 200 err))" [ $rc = 0 ]
check "round trip: every frame, field and timestamp is the same" same two.vrs joined.vrs
check "round trip: the display's pixels are identical (PNG per frame)" same_pixels two.vrs joined.vrs screen
check "round trip: the audio is identical (WAV)" bash -c \
    "rm -rf wa wb; redir-dump -q two.vrs --extract sound --to wa && redir-dump -q joined.vrs --extract sound --to wb && diff -r wa wb"
check "join says where each channel came from" \
    bash -c "redir-dump --json joined.vrs | grep '\"DECLARE\"' | grep '\"name\":\"sound\"' | grep -q '\"input\":\"1\",\"rate\":\"8000\",\"source\":\"snd.vrs\"'"

# The same through commands on both sides: live inputs get the join's clock,
# so the timestamps are compared only by their order.
redir-mux split two.vrs --route display=exec:"cat >disp2.vrs" --route "sound=exec:cat >snd2.vrs" >back.vrs 2>err
rc=$?
check "split to exec: commands exits 0 (rc $rc: $(head -c 200 err))" [ $rc = 0 ]
check "split to exec: the commands got the same streams as the files" bash -c "cmp disp.vrs disp2.vrs && cmp snd.vrs snd2.vrs"
redir-mux join "exec:cat disp2.vrs" "exec:cat snd2.vrs" >joined2.vrs 2>err
rc=$?
check "join of exec: commands exits 0 (rc $rc: $(head -c 200 err))" [ $rc = 0 ]
check "round trip through commands: every frame and field is the same" same two.vrs joined2.vrs --no-time
check "join of commands: timestamps never go backwards" python3 -c "
import json, subprocess
ts = [json.loads(l)['t_us'] for l in subprocess.run(['redir-dump', '--json', 'joined2.vrs'], capture_output=True, text=True).stdout.splitlines()]
assert ts == sorted(ts), ts"

# Two streams that both use channel 1: renumbered, both kept.
redir-mux join two.vrs two.vrs >twice.vrs 2>err
rc=$?
check "join of a stream with itself: exit 0, four channels (rc $rc)" \
    bash -c "[ $rc = 0 ] && [ \"\$(redir-dump --json twice.vrs | grep -c '\"DECLARE\"')\" = 4 ]"
check "join: the second copy's display got a free id and the same pixels" bash -c \
    "redir-dump --json twice.vrs | grep '\"DECLARE\"' | grep '\"source\":\"two.vrs\"' | grep '\"input\":\"1\"' | grep -q '\"id\":3' &&
     rm -rf t1 t3 && redir-dump -q twice.vrs --extract 1 --to t1 && redir-dump -q twice.vrs --extract 3 --to t3 && diff -r t1 t3"

# ---- 2. input routed back, both ways --------------------------------------------
cat >viewer.txt <<'EOF'
hello producer=x-replay
declare 1 keyboard keyboard device=x11
declare 2 pointer pointer-screen device=x11 display=3 width=4 height=3
time 1000
pointer 2 1 2 1 1
key 1 1 30 down
key 1 2 30 up
time 2000
end normal
EOF
vrs-build <viewer.txt >viewer.vrs
# Input 0 declares its channels (1, 2) at once and stays open for 5 s; input 1
# comes a second later, gets 3 and 4 and stays open for 3 s; the viewer's
# input arrives after 2 s, so joined display 3 is input 1's display 1. Input 1 is a command
# that writes a stream and saves whatever input it is given.
end_at=$(redir-dump two.vrs | tail -1 | sed 's/^@\([0-9]*\).*/\1/')
head -c "$end_at" two.vrs >two-body.vrs
tail -c +"$((end_at + 1))" two.vrs >two-end.vrs
(sleep 2; cat viewer.vrs) | redir-mux join "exec:cat two-body.vrs; sleep 5; cat two-end.vrs" \
    "exec:(sleep 1; cat two-body.vrs; sleep 3; cat two-end.vrs) & exec cat >up1.vrs" >joined3.vrs 2>err
rc=$?
check "join with input coming back exits 0 (rc $rc: $(head -c 200 err))" [ $rc = 0 ]
check "joined display 3 is input 1's display" bash -c \
    "redir-dump --json joined3.vrs | grep '\"DECLARE\"' | grep '\"id\":3' | grep -q '\"input\":\"1\"'"
check "input for joined display 3 reached the command that owns it, as a valid stream" redir-dump --check up1.vrs
check "input routed back: the pointer names the command's own display id (1) and the key follows the pointer" bash -c \
    "redir-dump --json up1.vrs | grep '\"DECLARE\"' | grep pointer-screen | grep -q '\"display\":\"1\"' &&
     [ \"\$(redir-dump up1.vrs | grep -cE 'POINTER|KEY')\" = 3 ]"

# split: what the commands write back comes out on stdout, renumbered.
redir-mux split two.vrs --route "display=exec:cat >/dev/null; cat viewer.vrs" --route "audio=exec:cat >/dev/null; cat viewer.vrs; true" >back2.vrs 2>err
rc=$?
check "split with commands writing input back exits 0 (rc $rc: $(head -c 200 err))" [ $rc = 0 ]
check "split: both commands' input is on stdout, as one valid stream saying where each came from" bash -c \
    "redir-dump --check back2.vrs && [ \"\$(redir-dump --json back2.vrs | grep '\"DECLARE\"' | grep -c '\"source\":\"exec:')\" = 4 ] &&
     [ \"\$(redir-dump --json back2.vrs | grep '\"DECLARE\"' | grep -o '\"input\":\"[01]\"' | sort -u | wc -l)\" = 2 ] &&
     [ \"\$(redir-dump back2.vrs | grep -c ' KEY ')\" = 4 ]"

# ---- 3. bad input: one line, documented exit code --------------------------------
head -c 300 two.vrs >cut.vrs
redir-mux join cut.vrs two.vrs >/dev/null 2>err
rc=$?
check "join of a truncated input: exit 6, one line (rc $rc: $(cat err))" exits_one_line $rc 6 err
printf 'not a stream at all, just some text\n' >bad.vrs
redir-mux join two.vrs bad.vrs >/dev/null 2>err
rc=$?
check "join of a malformed input: exit 7, one line (rc $rc: $(cat err))" exits_one_line $rc 7 err
redir-mux split bad.vrs --route display=x.vrs 2>err
rc=$?
check "split of a malformed input: exit 7, one line (rc $rc: $(cat err))" exits_one_line $rc 7 err
redir-mux split cut.vrs --route display=x.vrs 2>err
rc=$?
check "split of a truncated input: exit 6, one line; its output still ends with END (rc $rc)" \
    bash -c "exits_one_line() { [ \"\$1\" = \"\$2\" ] && [ \"\$(wc -l <\"\$3\")\" = 1 ]; }; exits_one_line $rc 6 err && redir-dump x.vrs | tail -1 | grep -q 'END reason=error'"
redir-mux split two.vrs --route display 2>err
rc=$?
check "split with a route that is not MATCH=TARGET: exit 2, one line (rc $rc: $(cat err))" exits_one_line $rc 2 err
redir-mux join missing.vrs 2>err
rc=$?
check "join of a missing file: exit 3, one line (rc $rc: $(cat err))" exits_one_line $rc 3 err
redir-mux join 2>err
rc=$?
check "join without inputs: exit 2 (rc $rc)" [ $rc = 2 ]

# ---- 4. the real guest ----------------------------------------------------------
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
vg_ensure_libvirt
vg_build
name=vredir-test-muxlocal-$$
vg_define "$name"
vg_start
vg_cmd "bar on" >/dev/null  # an animation, so every capture has frames

redir-capture "$name" --no-audio --duration 3 -o cap.vrs 2>err
rc=$?
check "a real capture (rc $rc: $(head -c 200 err))" bash -c "[ $rc = 0 ] && redir-dump --check cap.vrs"
redir-mux split cap.vrs --route display=cap-display.vrs --route cursor=cap-cursor.vrs 2>err &&
    redir-mux join cap-display.vrs cap-cursor.vrs >cap-joined.vrs 2>>err
rc=$?
check "real capture: split into display and cursor, joined back (rc $rc: $(head -c 200 err))" [ $rc = 0 ]
check "real capture round trip: every frame, field and timestamp is the same" same cap.vrs cap-joined.vrs
check "real capture round trip: every display frame is pixel-identical" same_pixels cap.vrs cap-joined.vrs display

# Two live captures of the guest in one stream.
redir-mux join "exec:redir-capture $name --no-audio --duration 3" "exec:redir-capture $name --no-audio --duration 3" >live2.vrs 2>err
rc=$?
check "join of two live captures exits 0 (rc $rc: $(head -c 200 err))" bash -c "[ $rc = 0 ] && redir-dump --check live2.vrs"
# Which ids the two displays get depends on the order their DECLAREs arrive
# in (a taken id moves to the lowest free one), so they are read back.
displays=$(redir-dump --json live2.vrs | grep '"DECLARE"' | grep '"kind":"display"' | grep -o '"id":[0-9]*' | cut -d: -f2 | xargs)
check "join of two live captures: two display channels ($displays), each with frames" bash -c \
    "set -- $displays; [ \$# = 2 ] && rm -rf la lb && redir-dump -q live2.vrs --extract \$1 --to la &&
     redir-dump -q live2.vrs --extract \$2 --to lb && [ \"\$(ls la | wc -l)\" -gt 0 ] && [ \"\$(ls lb | wc -l)\" -gt 0 ]"

# A recorded session: the guest's display down, typed keys up.
cat >keys.txt <<'EOF'
hello producer=test
declare 1 keyboard kbd
time 300000
key 1 1 30 down
key 1 2 30 up
key 1 3 48 down
key 1 4 48 up
key 1 5 46 down
key 1 6 46 up
time 400000
end normal
EOF
vrs-build <keys.txt >keys.vrs
want="key 30 1 key 30 0 key 48 1 key 48 0 key 46 1 key 46 0 "
keys_after() { vg_events | tail -n +"$(($1 + 1))" | cut -d' ' -f2- | grep -E '^key [0-9]+ [01]$' | tr '\n' ' '; }
mark=$(vg_mark)
redir-mux join --record rec.vrs "exec:redir-capture $name --no-audio --duration 4 & exec redir-inject $name" \
    <keys.vrs >session.vrs 2>err
rc=$?
vg_wait_log --after "$mark" '^key 46 0$' 10 >/dev/null
check "a joined live session (capture down, inject up) exits 0 (rc $rc: $(head -c 200 err))" [ $rc = 0 ]
check "the keys sent up reached the guest, in order (got: $(keys_after "$mark"))" [ "$(keys_after "$mark")" = "$want" ]
check "the recording is a valid stream: redir-dump --check" redir-dump --check rec.vrs
check "the recording holds the display (down) and the keyboard (up, direction=up, id 32768+)" bash -c \
    "redir-dump --json rec.vrs | grep '\"DECLARE\"' | grep -q '\"kind\":\"display\"' &&
     redir-dump --json rec.vrs | grep '\"DECLARE\"' | grep '\"kind\":\"keyboard\"' | grep '\"direction\":\"up\"' | grep -q '\"id\":32769' &&
     [ \"\$(redir-dump rec.vrs | grep -c ' KEY ')\" = 6 ] && [ \"\$(redir-dump rec.vrs | grep -c ' RECT ')\" -gt 0 ]"
check "the recording's display frames are those of the joined session" same_pixels session.vrs rec.vrs 1
mark=$(vg_mark)
redir-inject "$name" --no-timing <rec.vrs 2>err
rc=$?
vg_wait_log --after "$mark" '^key 46 0$' 10 >/dev/null
check "redir-inject replays the recording's input into the guest (rc $rc, got: $(keys_after "$mark"))" \
    [ $rc = 0 -a "$(keys_after "$mark")" = "$want" ]

start_xvfb x 1280x1024x24
xvfb_pid=$x_pid dpy=$x_dpy
DISPLAY=$dpy x-replay --no-audio --no-timing --screenshot-on-exit rec.png rec.vrs >/dev/null 2>err
rc=$?
check "x-replay shows the recording and exits 0 at its end (rc $rc: $(head -c 200 err))" \
    bash -c "[ $rc = 0 ] && [ \"\$(head -c 8 rec.png | od -An -tx1 | tr -d ' ')\" = 89504e470d0a1a0a ]"
kill "$xvfb_pid" 2>/dev/null
wait "$xvfb_pid" 2>/dev/null
xvfb_pid=

tap_finish
