#!/usr/bin/env bash
# Continuous-capture benchmarks on the test guest (TCG, 1024x768), each a
# ratio against a peer measured in the same run, medians of RUNS:
#  fps    frames delivered per second while the probe animates (its moving
#         bar, 25 changes/s): redir-capture --fps 60 vs a `virsh screenshot`
#         loop (distinct images counted), and client CPU time per frame;
#  bytes  bytes on the wire for a SECS-second session of the animation: the
#         RFB bytes QEMU sent (counted by a socat relay on the VNC socket)
#         for RFB raw and ZRLE (VREDIR_RFB_ENCODING), and the stream bytes
#         redir-capture wrote with --encoding raw, zlib, and zlib with
#         --compress 6 (shown as zlib6);
#  photon input-to-photon: with the probe's `flipkeys on` every key flips the
#         screen; time from starting `redir-inject --key` to the flipped
#         frame arriving from a running redir-capture, vs `virsh send-key`
#         then `virsh screenshot` polling until the image changes.
# Timing here never decides a test's verdict.
#
#  cursor CPU of redir-capture and QEMU with the cursor channel (positions
#         through the D-Bus display) and with --no-cursor.
#
# bash tests/bench/stream_bench.sh [fps|bytes|photon|cursor|all] [RUNS] [SECS]
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PATH="$VREDIR_BUILD_DIR/tools/redir-capture:$VREDIR_BUILD_DIR/tools/redir-inject:$VREDIR_BUILD_DIR/tools/redir-dump:$PATH"
what=${1:-all} runs=${2:-3} secs=${3:-20}
for t in socat:socat python3:python3 virsh:libvirt-clients; do
    command -v "${t%%:*}" >/dev/null || { echo "${t%%:*} is missing (apt-get install ${t#*:})" >&2; exit 1; }
done
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
out=$(mktemp -d "${TMPDIR:-/tmp}/vredir-streambench.XXXXXX")
vg_ensure_libvirt
vg_build
name=vredir-test-streambench-$$
vg_define "$name"
trap 'rc=$?; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start >/dev/null 2>&1 || vg_fail "the guest did not boot"
sleep 2
virsh=(virsh -q -c qemu:///system)
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cpu_ms() { awk '{ printf "%d", ($1 + $2) * 1000 }' "$1"; }  # /usr/bin/time -f '%U %S' output

if [ "$what" = fps ] || [ "$what" = all ]; then
    d=10
    echo "== continuous capture: frames delivered in $d s of the moving bar (25 changes/s), median of $runs"
    vg_cmd "bar on" >/dev/null
    for i in $(seq "$runs"); do
        /usr/bin/time -f '%U %S' -o "$out/time" redir-capture "$name" --fps 60 --no-audio --no-cursor \
            --duration "$d" -o "$out/fps.vrs" 2>/dev/null
        f=$(redir-dump "$out/fps.vrs" 2>/dev/null | grep -c FRAME_END)
        echo "$f $(cpu_ms "$out/time")" >>"$out/cap.txt"
        # The peer: screenshots back to back for the same time; distinct images count.
        rm -rf "$out/shots" && mkdir "$out/shots"
        /usr/bin/time -f '%U %S' -o "$out/time" bash -c '
            end=$((SECONDS + '"$d"')) n=0
            while [ $SECONDS -lt $end ]; do n=$((n + 1)); virsh -q -c qemu:///system screenshot '"$name"' '"$out"'/shots/$n.ppm >/dev/null 2>&1; done'
        shots=$(ls "$out/shots" | wc -l)
        distinct=$(md5sum "$out"/shots/* | awk '{ print $1 }' | sort -u | wc -l)
        echo "$distinct $(cpu_ms "$out/time") $shots" >>"$out/vir.txt"
    done
    vg_cmd "bar off" >/dev/null
    cf=$(awk '{ print $1 }' "$out/cap.txt" | median) cc=$(awk '{ print $2 / $1 }' "$out/cap.txt" | median)
    vf=$(awk '{ print $1 }' "$out/vir.txt" | median) vc=$(awk '{ print $2 / $1 }' "$out/vir.txt" | median)
    vs=$(awk '{ print $3 }' "$out/vir.txt" | median)
    printf '%-52s %6.1f fps  %6.2f ms CPU/frame\n' "redir-capture $name --fps 60 (frames)" "$(awk -v f="$cf" -v d="$d" 'BEGIN { print f / d }')" "$cc"
    printf '%-52s %6.1f fps  %6.2f ms CPU/frame  (%s screenshots)\n' "virsh screenshot loop (distinct images)" "$(awk -v f="$vf" -v d="$d" 'BEGIN { print f / d }')" "$vc" "$vs"
    awk -v a="$cf" -v b="$vf" -v x="$cc" -v y="$vc" 'BEGIN { printf "ratio fps redir-capture / virsh: %.1fx; CPU per frame: %.2fx\n", a / b, x / y }'
fi

if [ "$what" = bytes ] || [ "$what" = all ]; then
    echo "== bytes on the wire: $secs s of the moving bar, median of $runs"
    printf '%-5s %-7s %14s %14s %8s\n' rfb stream "rfb bytes" "stream bytes" frames
    vg_cmd "bar on" >/dev/null
    for rfb in raw zrle; do
        for enc in raw zlib zlib6; do
            args=(--encoding "$enc")
            [ "$enc" = zlib6 ] && args=(--encoding zlib --compress 6)
            for i in $(seq "$runs"); do
                rm -f "$out/relay.sock" "$out/s2c.bin"
                # Relay QEMU's VNC socket; -R records what QEMU sends, byte for byte.
                socat -R "$out/s2c.bin" UNIX-LISTEN:"$out/relay.sock" UNIX-CONNECT:"$VG_VNC_SOCKET" 2>/dev/null &
                relay=$!
                for _ in $(seq 50); do [ -S "$out/relay.sock" ] && break; sleep 0.05; done
                VREDIR_RFB_ENCODING=$rfb redir-capture --vnc "unix:$out/relay.sock" --no-audio --no-cursor \
                    "${args[@]}" --duration "$secs" -o "$out/b.vrs" 2>/dev/null
                wait "$relay" 2>/dev/null
                echo "$(stat -c %s "$out/s2c.bin") $(stat -c %s "$out/b.vrs") $(redir-dump "$out/b.vrs" 2>/dev/null | grep -c FRAME_END)"
            done >"$out/bytes-$rfb-$enc.txt"
            printf '%-5s %-7s %14s %14s %8s\n' "$rfb" "$enc" "$(awk '{ print $1 }' "$out/bytes-$rfb-$enc.txt" | median)" \
                "$(awk '{ print $2 }' "$out/bytes-$rfb-$enc.txt" | median)" "$(awk '{ print $3 }' "$out/bytes-$rfb-$enc.txt" | median)"
        done
    done
    vg_cmd "bar off" >/dev/null
    awk -v rr="$(awk '{ print $1 }' "$out/bytes-raw-raw.txt" | median)" \
        -v rz="$(awk '{ print $1 }' "$out/bytes-zrle-zlib.txt" | median)" \
        -v sr="$(awk '{ print $2 }' "$out/bytes-raw-raw.txt" | median)" \
        -v sz="$(awk '{ print $2 }' "$out/bytes-zrle-zlib.txt" | median)" \
        -v s6="$(awk '{ print $2 }' "$out/bytes-zrle-zlib6.txt" | median)" \
        'BEGIN { printf "ratio stream zlib / RFB raw: %.3f; stream zlib / RFB ZRLE: %.2f; stream zlib / stream raw: %.3f\n", sz / rr, sz / rz, sz / sr
                 printf "ratio stream zlib --compress 6 / RFB raw: %.3f; / RFB ZRLE: %.2f\n", s6 / rr, s6 / rz }'
fi

if [ "$what" = cursor ] || [ "$what" = all ]; then
    # What the D-Bus display costs: 10 s of the moving bar captured with the
    # cursor channel (positions through QEMU's D-Bus display, which also
    # sends the listener every screen update) and with --no-cursor.
    echo "== cursor positions: CPU for 10 s of the moving bar, median of $runs"
    vg_cmd "bar on" >/dev/null
    qpid=$(pgrep -f "guest=$name" | head -1)
    qemu_ticks() { awk '{ print $14 + $15 }' "/proc/$qpid/stat"; }
    for mode in cursor no-cursor; do
        for i in $(seq "$runs"); do
            flag=(); [ "$mode" = no-cursor ] && flag=(--no-cursor)
            q0=$(qemu_ticks)
            /usr/bin/time -f '%U %S' -o "$out/cur.time" redir-capture "$name" --duration 10 --no-audio "${flag[@]}" \
                -o "$out/cur.vrs" 2>/dev/null
            q1=$(qemu_ticks)
            echo "$(cpu_ms "$out/cur.time") $(( (q1 - q0) * 1000 / $(getconf CLK_TCK) )) $(redir-dump "$out/cur.vrs" 2>/dev/null | grep -c CURSOR_POS)"
        done >"$out/cur-$mode.txt"
        printf '%-10s redir-capture %6s ms  QEMU %6s ms  (CURSOR_POS frames: %s)\n' "$mode" \
            "$(awk '{ print $1 }' "$out/cur-$mode.txt" | median)" "$(awk '{ print $2 }' "$out/cur-$mode.txt" | median)" \
            "$(awk '{ print $3 }' "$out/cur-$mode.txt" | median)"
    done
    vg_cmd "bar off" >/dev/null
fi

if [ "$what" = photon ] || [ "$what" = all ]; then
    n=$((runs * 7))
    echo "== input-to-photon: key -> flipped screen, $n keys each"
    vg_cmd "flipkeys on" >/dev/null
    # The capture outlives the trials by its --duration and then ends.
    redir-capture "$name" --fps 100 --no-audio --no-cursor --duration $((5 + n * 2)) -o - 2>/dev/null | python3 -c '
import os, subprocess, sys, threading, time
name, n = sys.argv[1], int(sys.argv[2])
frames, lock = [], threading.Lock()
def read():
    f = sys.stdin.buffer
    f.read(12)
    while True:
        h = f.read(16)
        if len(h) < 16: return
        ln = int.from_bytes(h[0:4], "little")
        f.read(ln)
        if h[6] == 0x12:  # FRAME_END
            with lock: frames.append(time.monotonic())
threading.Thread(target=read, daemon=True).start()
time.sleep(2)
def trial(cmd):
    with lock: seen = len(frames)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.monotonic() - t0 < 5:
        with lock:
            if len(frames) > seen: t1 = frames[seen]; break
        time.sleep(0.0005)
    else: t1 = None
    p.wait(); time.sleep(0.4)
    return None if t1 is None else (t1 - t0) * 1000
lat = [trial(["redir-inject", name, "--key", "a"]) for _ in range(n)]
lat = sorted(x for x in lat if x is not None)
def pct(v, q): return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]
print(f"redir-inject --key a -> redir-capture frame   median {pct(lat, .5):7.1f} ms  p95 {pct(lat, .95):7.1f} ms  ({len(lat)}/{n} seen)", flush=True)
os._exit(0)  # the reader thread is still blocked on the stream
' "$name" "$n" | tee "$out/photon-cap.txt"
    python3 -c '
import hashlib, subprocess, sys, time
name, n, shot = sys.argv[1], int(sys.argv[2]), sys.argv[3]
virsh = ["virsh", "-q", "-c", "qemu:///system"]
def digest():
    subprocess.run(virsh + ["screenshot", name, shot], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return hashlib.md5(open(shot, "rb").read()).hexdigest()
lat = []
for _ in range(n):
    before = digest()
    t0 = time.monotonic()
    subprocess.run(virsh + ["send-key", name, "KEY_A"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.monotonic() - t0 < 5:
        if digest() != before: lat.append((time.monotonic() - t0) * 1000); break
    time.sleep(0.4)
lat.sort()
def pct(v, q): return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]
print(f"virsh send-key KEY_A -> virsh screenshot poll  median {pct(lat, .5):7.1f} ms  p95 {pct(lat, .95):7.1f} ms  ({len(lat)}/{n} seen)")
' "$name" "$n" "$out/poll.ppm" | tee "$out/photon-vir.txt"
    vg_cmd "flipkeys off" >/dev/null
    awk 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "median") m[++k] = $(i + 1) } END { if (k == 2) printf "ratio median redir-inject+capture / virsh send-key+screenshot: %.2f\n", m[1] / m[2] }' \
        "$out/photon-cap.txt" "$out/photon-vir.txt"
fi
