#!/usr/bin/env bash
# redir-capture benchmarks on the test guest (TCG, 1024x768 test card):
#  1. snapshot latency: redir-capture --snapshot vs virsh screenshot vs
#     vncsnapshot, each run as a fresh process (connect, fetch, write the
#     file), median of N runs;
#  2. the RFB encoding asked of QEMU (VREDIR_RFB_ENCODING raw/zrle/zlib):
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
time_runs() {  # COMMAND...: prints the median wall time in ms over $runs runs
    local i t0
    for i in $(seq 1 "$runs"); do
        t0=$(ms_now)
        "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
        echo $((($(ms_now) - t0) / 1000000))
    done | median
}

echo "== snapshot latency (median of $runs runs, 1024x768, one guest)"
cap=$(time_runs redir-capture "$name" --snapshot "$out/c.png")
vir=$(time_runs virsh -q -c qemu:///system screenshot "$name" "$out/v.png")
# vncsnapshot speaks TCP only: the guest's VNC unix socket is bridged by
# socat on a free loopback port (one fork per connection, as vncsnapshot
# would see a TCP VNC server; the bridge's own cost is included).
command -v vncsnapshot >/dev/null || { echo "vncsnapshot missing: apt-get install vncsnapshot (or run tests/setup.sh)" >&2; exit 1; }
port=$((5900 + 40 + $$ % 50))
socat TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:"$VG_VNC_SOCKET" 2>/dev/null &
bridge=$!
sleep 0.5
vns=$(time_runs vncsnapshot -quiet -nojpeg -quality 100 127.0.0.1:$((port - 5900)) "$out/s.jpg")
kill "$bridge" 2>/dev/null
printf '%-46s %8s ms\n' "redir-capture $name --snapshot c.png" "$cap" "virsh screenshot $name v.png" "$vir" \
    "vncsnapshot (JPEG file, via socat) s.jpg" "$vns"
awk -v a="$cap" -v b="$vir" 'BEGIN { printf "ratio redir-capture / virsh: %.2f\n", a / b }'
awk -v a="$cap" -v b="$vns" 'BEGIN { printf "ratio redir-capture / vncsnapshot: %.2f\n", a / b }'

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
