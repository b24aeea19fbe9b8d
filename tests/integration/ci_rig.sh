#!/usr/bin/env bash
# The CI-rig features on the test guest's text console (the kernel
# command-line word vredir.text: a busybox shell on QEMU's 720x400 VGA text
# screen, its cursor blinking), booted once for the group:
#  - the text read exactly (--text, --until-text, --region, --json boxes);
#  - a wait that gives up: exit 5 and a PNG of the last screen;
#  - --until-stable on the blinking prompt, where a pixel-exact wait never
#    returns; --ignore over a clock;
#  - os-autoinst needles (--needle-new, an exclude area over a clock, a
#    needle that differs), with the similarity checked against OpenCV doing
#    what os-autoinst does (tests/bench/needle_openqa.py);
#  - the control socket (--control, --via and the raw protocol);
#  - a recording turned into WebM and MP4, checked with ffprobe, and the
#    recording's text (redir-dump --text, --until-text);
#  - the one-shot snapshot through QEMU's screendump against the VNC path.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-capture redir-inject redir-dump
need_helpers png-pixels
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
need_packages ffprobe:ffmpeg convert:imagemagick py:cv2:python3-opencv
[ -e "$VREDIR_BUILD_DIR/plugins/vredir-video-ffmpeg.so" ] ||
    { echo "not ok - the video plugin is not built (apt-get install libavcodec-dev libavformat-dev libswscale-dev libavutil-dev, then cmake)"; exit 1; }

out=$(mktemp -d /tmp/vredir-cirig.XXXXXX)
bg_pids=()
lines() { grep -c '' "$1"; }
jget() { /usr/bin/python3 -c 'import json, sys; j = json.loads(sys.stdin.readline()); print(eval(sys.argv[1]))' "$1"; }

vg_ensure_libvirt
vg_build
name=vredir-test-cirig-$$
VG_CMDLINE=vredir.text vg_define "$name"
trap 'rc=$?; for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start
[ "$VG_MODE" = 720x400 ] || vg_fail "expected the 720x400 text mode, got $VG_MODE"
redir-capture "$name" --until-text '^/ #' --timeout 60 >/dev/null 2>"$out/err" || vg_fail "no shell prompt: $(cat "$out/err")"

# ---- the text console, read exactly ------------------------------------------------
redir-inject "$name" --type 'echo OCR-$((6*7))-DONE\n' 2>"$out/err"
t0=$(date +%s%N)
redir-capture "$name" --until-text 'OCR-42-DONE' --timeout 30 --json >"$out/found.json" 2>"$out/err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "--until-text OCR-42-DONE after typing: exit 0 ($ms ms): $(cat "$out/found.json")" \
    [ "$rc" = 0 -a "$(jget 'j["text"]' <"$out/found.json")" = OCR-42-DONE ]
check "its box is the characters' cells and its centre their middle" \
    [ "$(jget '(j["x"], j["y"] % 16, j["width"], j["height"], j["centre"]["x"] - j["x"], j["centre"]["y"] - j["y"], j["source"])' <"$out/found.json")" = "(0, 0, 99, 16, 49, 8, 'vga-font')" ]
redir-capture "$name" --text >"$out/text" 2>"$out/err"
check "--text reads the command as typed and its output, exactly" \
    bash -c "grep -qxF '/ # echo OCR-\$((6*7))-DONE' '$out/text' && grep -qxF 'OCR-42-DONE' '$out/text'"
row=$(jget 'j["y"]' <"$out/found.json")
redir-capture "$name" --text --region "0,$row,720,16" >"$out/row" 2>"$out/err"
check "--text --region reads one row: $(cat "$out/row")" [ "$(cat "$out/row")" = OCR-42-DONE ]
redir-capture "$name" --text --json >"$out/words.json" 2>"$out/err"
check "--text --json: words with boxes and confidence" \
    [ "$(jget '[ (w["x"], w["width"], w["height"], w["confidence"]) for w in j["words"] if w["text"] == "OCR-42-DONE" ][0]' <"$out/words.json")" = "(0, 99, 16, 1.0)" ]

# ---- a wait that gives up ----------------------------------------------------------
t0=$SECONDS
redir-capture "$name" --until-text 'NEVER-SHOWN-[0-9]+' --timeout 3 2>"$out/err"
rc=$?
png=$(sed -n 's/.*(last screen: \(.*\.png\))$/\1/p' "$out/err")
check "a regex that never shows: exit 5 after $((SECONDS - t0)) s, one line: $(cat "$out/err")" \
    [ "$rc" = 5 -a "$(lines "$out/err")" = 1 -a -n "$png" ]
check "... and the last screen in a PNG in \$TMPDIR ($png)" \
    bash -c "[ \"\$(png-pixels '$png' | head -1)\" = 720x400 ] && rm -f '$png'"
redir-capture "$name" --until-text 'OCR-42-DONE' --region 0,0,720,16 --timeout 2 --snapshot "$out/last.png" 2>"$out/err"
rc=$?
check "--region leaves out the rest of the screen (exit $rc); the PNG goes to --snapshot" \
    bash -c "[ $rc = 5 ] && grep -q '(last screen: $out/last.png)' '$out/err' && [ \"\$(png-pixels '$out/last.png' | head -1)\" = 720x400 ]"
redir-capture "$name" --until-text '(' --timeout 2 2>"$out/err"
rc=$?
check "a bad regular expression: exit $rc ($(cat "$out/err"))" [ $rc = 2 ]

# ---- the blinking cursor ---------------------------------------------------------------
t0=$SECONDS
redir-capture "$name" --until-stable 2 --timeout 30 --json >"$out/stable.json" 2>"$out/err"
rc=$?
took=$((SECONDS - t0))
check "--until-stable 2 on the blinking prompt: exit 0 after $took s ($(cat "$out/stable.json"))" \
    [ "$rc" = 0 -a "$took" -le 6 ]
check "... the cursor's blink was seen and left out (a 9x2 box)" \
    [ "$(jget '(j["blink"]["width"], j["blink"]["height"])' <"$out/stable.json")" = "(9, 2)" ]
redir-capture "$name" --until-stable 2 --timeout 6 --no-blink-filter 2>"$out/err"
rc=$?
check "a pixel-exact wait (--no-blink-filter) never returns there: exit $rc" [ $rc = 5 ]

# ---- a clock: --ignore, and needles with an exclude area ------------------------------
# (--type's escapes: \\r types a backslash and r for printf.)
redir-inject "$name" --type 'clear; echo NEEDLE-CLOCK-TEST; while :; do printf "\\r%s " $(date +%S%S%S%S%S%S%S%S); sleep 1; done\n' \
    2>"$out/err" || not_ok "typing the clock loop: $(cat "$out/err")"
redir-capture "$name" --until-text '^NEEDLE-CLOCK-TEST$' --timeout 20 >/dev/null 2>"$out/err" ||
    not_ok "the clock screen did not show: $(cat "$out/err")"
sleep 1.5
# Row 0 holds the title, row 1 the seconds eight times (16 cells) and the
# cursor (cells 16-17). Eight copies, so that any tick changes enough of the
# needle's area to fail os-autoinst's 96 %: after the blur, one pair of digits
# that differ in a stroke (5 to 6, 8 to 9) is within it.
redir-capture "$name" --until-stable 2 --timeout 6 2>"$out/err"
rc=$?
check "the ticking clock keeps the screen unsettled: exit $rc" [ $rc = 5 ]
t0=$SECONDS
redir-capture "$name" --until-stable 2 --ignore 0,16,162,16 --timeout 20 2>"$out/err"
rc=$?
check "--ignore over the clock: exit $rc after $((SECONDS - t0)) s" [ $rc = 0 ]
redir-capture "$name" --needle-new "$out/clock" --area 0,0,240,40 --ignore 0,16,162,16 2>"$out/err"
check "--needle-new writes a needle pair" \
    bash -c "grep -q '\"type\": \"exclude\"' '$out/clock.json' && [ \"\$(png-pixels '$out/clock.png' | head -1)\" = 720x400 ]"
sleep 2.2  # the clock moves on
redir-capture "$name" --until-match "$out/clock.json" --timeout 10 --json >"$out/m.json" 2>"$out/err"
rc=$?
check "the needle with an exclude area over the clock matches: exit $rc ($(cat "$out/m.json"))" \
    [ "$(jget 'j["similarity"]' <"$out/m.json")" = 1.0 ]
/usr/bin/python3 - "$out/clock.json" "$out/noexcl.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["area"] = [a for a in j["area"] if a["type"] != "exclude"]
json.dump(j, open(sys.argv[2], "w"))
EOF
cp "$out/clock.png" "$out/noexcl.png"
redir-capture "$name" --until-match "$out/noexcl.json" --timeout 4 2>"$out/err"
rc=$?
check "the same needle without the exclude area does not match (the clock moved): exit $rc ($(cat "$out/err"))" [ $rc = 5 ]
# A needle whose match area shows something else, and the similarity
# os-autoinst would give it.
convert "$out/clock.png" -fill '#a8a8a8' -draw 'rectangle 200,20,203,23' "$out/other.png"
# needle_match SRC.json DST.json PERCENT: the needle with another match %.
needle_match() {
    /usr/bin/python3 - "$@" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
for a in j["area"]:
    if a["type"] == "match":
        a["match"] = int(sys.argv[3])
json.dump(j, open(sys.argv[2], "w"))
EOF
}
needle_match "$out/clock.json" "$out/other.json" 96
redir-capture "$name" --until-match "$out/other.json" --timeout 4 2>"$out/err"
rc=$?
check "a needle whose match area differs does not match: exit $rc ($(cat "$out/err"))" [ $rc = 5 ]
redir-capture "$name" --snapshot "$out/screen.png" 2>/dev/null
/usr/bin/python3 "$VREDIR_SOURCE_DIR/tests/bench/needle_openqa.py" "$out/other.json" "$out/screen.png" >"$out/cv.json"
cp "$out/other.png" "$out/low.png"
needle_match "$out/other.json" "$out/low.json" 10
redir-capture "$name" --until-match "$out/low.json" --timeout 4 --json >"$out/low-m.json" 2>"$out/err"
ours=$(jget 'j["similarity"]' <"$out/low-m.json")
theirs=$(jget 'j["areas"][0]["similarity"]' <"$out/cv.json")
check "the similarity is os-autoinst's (OpenCV: $theirs, ours: $ours)" \
    /usr/bin/python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(a - b) < 1e-6 and a < 0.96 else 1)" "$theirs" "$ours"
redir-inject "$name" --key ctrl-c --type 'clear\n' 2>/dev/null

# ---- the control socket ---------------------------------------------------------------
sock=$out/ctl.sock
redir-capture "$name" --control "$sock" 2>"$out/ctl.err" &
cap=$!
bg_pids+=($cap)
redir-capture --via "$sock" --until-stable 1 --timeout 20 2>"$out/err"
rc=$?
check "--via: a wait through the socket (exit $rc)" [ $rc = 0 ]
redir-inject "$name" --type 'echo VIA-$((5*5))-OK\n' 2>/dev/null
redir-capture --via "$sock" --until-text 'VIA-25-OK' --timeout 20 --json >"$out/via.json" 2>"$out/err"
rc=$?
check "--via --until-text: exit $rc ($(cat "$out/via.json"))" [ "$(jget 'j["text"]' <"$out/via.json")" = VIA-25-OK ]
redir-capture --via "$sock" --snapshot "$out/via.png" 2>"$out/err"
check "--via --snapshot writes the live screen" bash -c "[ \"\$(png-pixels '$out/via.png' | head -1)\" = 720x400 ]"
redir-capture --via "$sock" --text >"$out/via.txt" 2>"$out/err"
check "--via --text" grep -qxF 'VIA-25-OK' "$out/via.txt"
redir-capture --via "$sock" --until-text NEVER --timeout 2 2>"$out/err"
rc=$?
png=$(sed -n 's/.*(last screen: \(.*\.png\))$/\1/p' "$out/err")
check "--via: a wait that gives up is exit 5 with the last screen ($png)" [ "$rc" = 5 -a -s "$png" ]
rm -f "$png"
/usr/bin/python3 - "$sock" >"$out/raw.txt" <<'EOF'
import json, socket, statistics, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
def ask(line):
    f.write(line.encode() + b"\n"); f.flush()
    return json.loads(f.readline())
print("bad", ask("frobnicate now")["status"])
print("text", ask("text --region 0,0,720,400")["status"])
times = []
for _ in range(20):
    t = time.monotonic(); r = ask("snapshot /dev/null"); times.append((time.monotonic() - t) * 1000)
print("snapshot", r["status"], round(statistics.median(times), 2))
EOF
check "the raw protocol: a bad request is refused with status 2 and the connection stays ($(tr '\n' ' ' <"$out/raw.txt"))" \
    bash -c "grep -qx 'bad 2' '$out/raw.txt' && grep -qx 'text 0' '$out/raw.txt' && grep -q '^snapshot 0 ' '$out/raw.txt'"
redir-capture "$name" --control "$sock" 2>"$out/err"
rc=$?
check "a second capture on a socket in use: exit $rc ($(cat "$out/err"))" [ $rc = 1 ]
kill -INT "$cap"
wait "$cap"
rc=$?
check "the capture ends on SIGINT (exit $rc) and removes its socket" [ "$rc" = 130 -a ! -e "$sock" ]
check "snapshots written to /dev/null left it a device" test -c /dev/null

# ---- a recording, as text and as video ----------------------------------------------------
redir-capture "$name" --duration 6 --no-audio -o "$out/rec.vrs" 2>"$out/err" &
rec=$!
sleep 2
redir-inject "$name" --type 'echo RECORDED-$((8*8))\n' 2>/dev/null
wait "$rec"
redir-dump "$out/rec.vrs" >"$out/rec.txt" 2>/dev/null
frames=$(grep -c ' FRAME_END ' "$out/rec.txt")
first=$(grep -m1 ' FRAME_END ' "$out/rec.txt" | sed 's/.* t=\([0-9.]*\) .*/\1/')
last=$(grep ' END ' "$out/rec.txt" | tail -1 | sed 's/.* t=\([0-9.]*\) .*/\1/')
redir-dump "$out/rec.vrs" --text >"$out/rec-text" 2>/dev/null
check "redir-dump --text reads the recording's last screen" grep -qx 'RECORDED-64' "$out/rec-text"
redir-dump "$out/rec.vrs" --until-text 'RECORDED-64' --json >"$out/rec-found" 2>/dev/null
check "redir-dump --until-text finds when it showed ($(cat "$out/rec-found"))" \
    /usr/bin/python3 -c "import json, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if 2 < j['t'] < 6.5 else 1)" "$out/rec-found"
for f in run.webm run.mp4; do
    redir-dump "$out/rec.vrs" --extract display --to "$out/$f" 2>"$out/err"
    rc=$?
    probe=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=codec_name,width,height,nb_read_frames \
        -show_entries format=duration -of default=nw=1 "$out/$f" 2>&1 | tr '\n' ' ')
    check "--extract display --to $f: exit $rc; ffprobe: $probe; the stream: $frames frames, $first to $last s" \
        /usr/bin/python3 - "$probe" "$frames" "$first" "$last" <<'EOF'
import sys
p = dict(kv.split("=", 1) for kv in sys.argv[1].split())
frames, first, last = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ok = p["width"] == "720" and p["height"] == "400" and int(p["nb_read_frames"]) == frames
ok = ok and abs(float(p["duration"]) - (last - first)) <= 0.1
sys.exit(0 if ok else 1)
EOF
done

# ---- the one-shot snapshot: QEMU's screendump against the VNC path -------------------
redir-capture "$name" --snapshot "$out/dump.png" 2>"$out/err"
VREDIR_SNAPSHOT_VNC=1 redir-capture "$name" --snapshot "$out/vnc.png" 2>>"$out/err"
# The two are taken a moment apart: only the cursor's cell may differ.
differ=$(/usr/bin/python3 - "$out/dump.png" "$out/vnc.png" <<'EOF'
import subprocess, sys
a, b = (subprocess.run(["png-pixels", p], capture_output=True, text=True).stdout.split() for p in sys.argv[1:3])
print(-1 if a[0] != b[0] else sum(x != y for x, y in zip(a[1:], b[1:])))
EOF
)
check "a one-shot snapshot (screendump) equals the VNC path's ($differ pixels differ; a cursor cell is 144)" \
    [ "$differ" -ge 0 -a "$differ" -le 144 ]
tap_finish
