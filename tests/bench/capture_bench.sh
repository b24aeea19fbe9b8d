#!/usr/bin/env bash
# redir-capture benchmarks on the test guest (TCG, 1024x768 test card):
#  1. snapshot latency: redir-capture --snapshot vs virsh screenshot vs
#     vncsnapshot, each run as a fresh process (connect, fetch, write the
#     file), median of N runs; redir-capture also through the VNC path
#     (VREDIR_SNAPSHOT_VNC=1), which a one-shot snapshot no longer takes;
#  2. a snapshot from a running session: a capture kept running with
#     --control, asked "snapshot FILE" over its socket (one connection kept
#     open, as a rig's harness would) and through redir-capture --via (a
#     process per snapshot, as a shell script would), against the same
#     virsh screenshot;
#  3. the RFB encoding asked of QEMU (VREDIR_RFB_ENCODING raw/zrle/zlib):
#     QEMU's extra CPU while the probe animates, and the capture's own CPU.
# Prints a ratio against the peer measured in the same run. Timing here never
# decides a test's verdict.
#
# bash tests/bench/capture_bench.sh [RUNS]   (build dir: $VREDIR_BUILD_DIR or build/)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PATH="$VREDIR_BUILD_DIR/tools/redir-capture:$VREDIR_BUILD_DIR/tools/redir-dump:$PATH"
runs=${1:-10}
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
out=$(mktemp -d /tmp/vredir-capbench.XXXXXX)
vg_ensure_libvirt
vg_build
name=vredir-test-capbench-$$
vg_define "$name"
trap 'rc=$?; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start >/dev/null 2>&1 || vg_fail "the guest did not boot"
sleep 2

ms_now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== snapshot latency (median of $runs runs, peers interleaved, 1024x768, one guest)"
# vncsnapshot speaks TCP only: the guest's VNC unix socket is bridged by
# socat on a free loopback port (one fork per connection, as vncsnapshot
# would see a TCP VNC server; the bridge's own cost is included).
command -v vncsnapshot >/dev/null || { echo "vncsnapshot missing: apt-get install vncsnapshot (or run tests/setup.sh)" >&2; exit 1; }
port=$((5900 + 40 + $$ % 50))
socat TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:"$VG_VNC_SOCKET" 2>/dev/null &
bridge=$!
sleep 0.5
one() {  # COMMAND...: its wall time in ms
    local t0
    t0=$(ms_now)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
    echo $((($(ms_now) - t0) / 1000000))
}
for i in $(seq 1 "$runs"); do
    one redir-capture "$name" --snapshot "$out/c.png" >>"$out/t-cap"
    one virsh -q -c qemu:///system screenshot "$name" "$out/v.png" >>"$out/t-vir"
    one env VREDIR_SNAPSHOT_VNC=1 redir-capture "$name" --snapshot "$out/cv.png" >>"$out/t-capvnc"
    one vncsnapshot -quiet -nojpeg -quality 100 127.0.0.1:$((port - 5900)) "$out/s.jpg" >>"$out/t-vns"
done
kill "$bridge" 2>/dev/null
cap=$(median <"$out/t-cap") vir=$(median <"$out/t-vir") capvnc=$(median <"$out/t-capvnc") vns=$(median <"$out/t-vns")
printf '%-62s %8s ms\n' "redir-capture $name --snapshot c.png" "$cap" "virsh screenshot $name v.png" "$vir" \
    "vncsnapshot (JPEG file, via socat) s.jpg" "$vns" "redir-capture --snapshot through VNC (VREDIR_SNAPSHOT_VNC=1)" "$capvnc"
awk -v a="$cap" -v b="$vir" 'BEGIN { printf "ratio redir-capture / virsh: %.2f\n", a / b }'
awk -v a="$cap" -v b="$vns" 'BEGIN { printf "ratio redir-capture / vncsnapshot: %.2f\n", a / b }'
awk -v a="$capvnc" -v b="$vir" 'BEGIN { printf "ratio redir-capture through VNC / virsh: %.2f\n", a / b }'

echo "== snapshot from a running session (median of $runs, peers interleaved)"
sock=$out/ctl.sock
redir-capture "$name" --control "$sock" 2>/dev/null &
ctl=$!
redir-capture --via "$sock" --until-stable 1 --timeout 30 >/dev/null 2>&1
/usr/bin/python3 - "$sock" "$out" "$runs" "$name" <<'EOF'
import json, socket, statistics, subprocess, sys, time
sock, out, runs, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
f = s.makefile("rwb")
kept, via, vir, encode = [], [], [], []
for i in range(runs):
    t = time.monotonic()
    f.write(f"snapshot {out}/k.png\n".encode()); f.flush()
    r = json.loads(f.readline())
    kept.append((time.monotonic() - t) * 1000)
    encode.append(r["encode_ms"])
    t = time.monotonic()
    subprocess.run(["redir-capture", "--via", sock, "--snapshot", f"{out}/p.png"], check=True)
    via.append((time.monotonic() - t) * 1000)
    t = time.monotonic()
    subprocess.run(["virsh", "-q", "-c", "qemu:///system", "screenshot", name, f"{out}/v.png"],
                   stdout=subprocess.DEVNULL, check=True)
    vir.append((time.monotonic() - t) * 1000)
m = statistics.median
print(f"{'socket kept open: snapshot FILE -> answer':62} {m(kept):8.2f} ms  (PNG encoding {m(encode):.2f} ms)")
print(f"{'redir-capture --via SOCKET --snapshot FILE':62} {m(via):8.2f} ms")
print(f"{'virsh screenshot':62} {m(vir):8.2f} ms")
print(f"ratio socket / virsh: {m(kept) / m(vir):.3f}; --via / virsh: {m(via) / m(vir):.3f}")
EOF
kill "$ctl" 2>/dev/null
wait "$ctl" 2>/dev/null

echo "== RFB encoding asked of QEMU (5 s of the moving bar, 25 fps, stream to /dev/null)"
qpid=$(pgrep -f "qemu-system.*guest=$name" | head -1)
[ -n "$qpid" ] || qpid=$(pgrep -f "qemu-system.*$name" | head -1)
ticks() { awk '{ print $14 + $15 }' "/proc/$qpid/stat"; }
vg_cmd "bar on"
t0=$(ticks)
sleep 5
idle=$(($(ticks) - t0))
printf '%-8s %14s %16s %8s\n' encoding "qemu cpu (ms)" "capture cpu (ms)" frames
printf '%-8s %14s %16s %8s\n' none $((idle * 10)) - -
for enc in raw zrle zlib; do
    t0=$(ticks)
    /usr/bin/time -f '%U %S' -o "$out/time" env VREDIR_RFB_ENCODING=$enc \
        redir-capture "$name" --duration 5 --no-audio -o "$out/$enc.vrs" 2>/dev/null
    q=$(($(ticks) - t0))
    c=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$out/time")
    f=$(redir-dump "$out/$enc.vrs" 2>/dev/null | grep -c FRAME_END)
    printf '%-8s %14s %16s %8s\n' "$enc" $((q * 10)) "$c" "$f"
done
vg_cmd "bar off"
