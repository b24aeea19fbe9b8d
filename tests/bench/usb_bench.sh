#!/usr/bin/env bash
# USB bulk throughput into the test guest: BYTES through the software test
# device's CDC-ACM port (tests/tools/usb_test_device.cpp, speaking usbredir
# to QEMU) both ways at once (the probe's `usbbulk`: a pattern written to
# bulk OUT comes back uppercased on bulk IN and is checked byte by byte),
#   - through vredir: usb-test-device <- redir-usb share unix: | redir-usb
#     attach (the return path through a FIFO),
#   - through a redir-mux session over TLS on loopback (connect --usb: the
#     client relays the device's socket, the session QEMU's usb-redir port), and
#   - against the same device wired straight to QEMU's usb-redir chardev
#     (a <redirdev> hot-plugged with virsh, its socket the device's).
# The three devices are plugged in at once, each its own ttyACM, and the
# runs take turns (round i: vredir, mux, direct, in an order that rotates),
# so that the guest's state as it warms up weighs on all three alike.
# Medians over RUNS rounds; the ratios are vredir's throughput over the
# direct one (goal >= 0.9).
#
#   bash tests/bench/usb_bench.sh        (BYTES=1048576 RUNS=5)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-usb
need_helpers usb-test-device
bytes=${BYTES:-1048576}
runs=${RUNS:-5}

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$VREDIR_SOURCE_DIR/tests/integration/lib/usb_device.sh"
source "$VREDIR_SOURCE_DIR/tests/integration/lib/mux_server.sh"
need_tools redir-mux
out=$(mktemp -d /tmp/vredir-usbbench.XXXXXX)
virsh=(virsh -q -c qemu:///system)
vg_ensure_libvirt
vg_build
name=vredir-test-usbbench-$$
vg_define "$name"
serve_pid=
trap 'rc=$?; [ -n "$serve_pid" ] && kill "$serve_pid"; usb_stop_all; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start

# run_on LABEL TTY: one usbbulk transfer on that ttyACM; prints its
# milliseconds.
run_on() {
    local line ms mark
    mark=$(vg_mark)
    vg_cmd "usbbulk $bytes $2" >/dev/null || vg_fail "usbbulk not acknowledged"
    line=$(vg_wait_log --after "$mark" '^usb-bulk' 300) || vg_fail "$1: no usb-bulk line"
    grep -q "^[0-9]* usb-bulk $2 " <<<"$line" || vg_fail "$1: $line"
    ms=$(awk '{print $5}' <<<"$line")
    echo "# $1 ($2): $bytes bytes each way in $ms ms" >&2
    echo "$ms"
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# wait_echo MARK LABEL: the ttyACM of the device just plugged in, once its
# echo came back.
wait_echo() {
    local line
    line=$(vg_wait_log --after "$1" '^usb-echo ttyACM[0-9]+ VREDIR USB ECHO' 60) || vg_fail "$2: no echo"
    awk '{print $3}' <<<"$line"
}

# ---- through vredir ---------------------------------------------------------------------
usb_start_device v
mark=$(vg_mark)
mkfifo "$out/ret"
redir-usb share "unix:$out/v.sock" <"$out/ret" 2>"$out/share.err" | redir-usb attach "$name" >"$out/ret" 2>"$out/attach.err" &
usb_pids+=($!)
tty_v=$(wait_echo "$mark" vredir)

# ---- through a redir-mux session over TLS ------------------------------------------------
mux_make_cert vredir-bench-ca || vg_fail "openssl could not make a certificate"
echo bench-pw >"$out/bench.pw"
VREDIR_PASSWORD=bench-pw redir-mux users add bench --users "$out/users" --vms "$name" --usb-allow 1209:0001 ||
    vg_fail "users add failed"
mux_start_serve "$out/serve.log" --users "$out/users" -c qemu:///system || vg_fail "serve did not start: $(cat "$out/serve.log")"
usb_start_device m
mark=$(vg_mark)
redir-mux connect "$url" --ca "$out/ca.pem" --user bench --password-file "$out/bench.pw" --vm "$name" \
    --usb "unix:$out/m.sock" </dev/null >/dev/null 2>"$out/connect.err" &
client=$!
tty_m=$(wait_echo "$mark" mux)

# ---- straight to QEMU's usb-redir chardev ------------------------------------------------
usb_start_device d
mark=$(vg_mark)
echo "<redirdev bus='usb' type='unix'><source mode='connect' path='$out/d.sock'/><alias name='ua-bench-direct-$$'/></redirdev>" >"$out/direct.xml"
"${virsh[@]}" attach-device "$name" "$out/direct.xml" --live >/dev/null || vg_fail "cannot attach the direct redirdev"
tty_d=$(wait_echo "$mark" direct)
[ "$tty_v" != "$tty_m" ] && [ "$tty_m" != "$tty_d" ] && [ "$tty_v" != "$tty_d" ] ||
    vg_fail "the three devices should be three ttyACMs (got $tty_v $tty_m $tty_d)"

# ---- the rounds --------------------------------------------------------------------------
paths=(v m d)
declare -A tty=([v]=$tty_v [m]=$tty_m [d]=$tty_d) label=([v]=vredir [m]="mux (TLS)" [d]=direct) ms=()
for i in $(seq 0 $((runs - 1))); do
    for k in 0 1 2; do
        p=${paths[$(((i + k) % 3))]}
        ms[$p]+="$(run_on "${label[$p]} round $((i + 1))" "${tty[$p]}") "
    done
done
for p in "${paths[@]}"; do
    [ "$(wc -w <<<"${ms[$p]}")" = "$runs" ] || vg_fail "${label[$p]}: $runs runs expected, got: ${ms[$p]}"
done
vredir_ms=$(tr ' ' '\n' <<<"${ms[v]}" | grep . | median)
mux_ms=$(tr ' ' '\n' <<<"${ms[m]}" | grep . | median)
direct_ms=$(tr ' ' '\n' <<<"${ms[d]}" | grep . | median)

# Each path still unplugs its device when it ends.
mark=$(vg_mark)
kill "$client"
vg_wait_log --after "$mark" '^usb-gone [^ ]+ 1209:0001$' 30 >/dev/null || vg_fail "the device did not go after the client"
wait "$client"
"${virsh[@]}" detach-device-alias "$name" "ua-bench-direct-$$" --live >/dev/null
mark=$(vg_mark)
kill "$(cat "$out/v.dev.pid")"
vg_wait_log --after "$mark" '^usb-gone [^ ]+ 1209:0001$' 30 >/dev/null || vg_fail "the device did not go"

awk -v b="$bytes" -v v="$vredir_ms" -v m="$mux_ms" -v d="$direct_ms" 'BEGIN {
    printf "vredir (share | attach): %d bytes each way, median %.0f ms (%.2f MB/s each way)\n", b, v, b / v / 1000
    printf "vredir (connect --usb over TLS): %d bytes each way, median %.0f ms (%.2f MB/s each way)\n", b, m, b / m / 1000
    printf "direct (usb-redir chardev): %d bytes each way, median %.0f ms (%.2f MB/s each way)\n", b, d, b / d / 1000
    printf "ratio vredir/direct throughput: %.2f (goal >= 0.9)\n", d / v
    printf "ratio mux (TLS)/direct throughput: %.2f (goal >= 0.9)\n", d / m
}'
