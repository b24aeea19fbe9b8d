# shellcheck shell=bash
# usb_device.sh - the software USB test device (tests/tools/usb_test_device.cpp)
# for the usb integration group and the USB benchmark. Source it after
# setting $out (a work directory), then:
#   usb_start_device TAG ARGS...   a device on $out/TAG.sock (pid in
#                                  $out/TAG.dev.pid, log in $out/TAG.dev.log)
#   usb_stop_all                   kills what was started (pids in usb_pids)
usb_pids=()

usb_stop_all() {
    local p
    for p in "${usb_pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}

usb_start_device() {
    local tag=$1 i
    shift
    usb-test-device --listen "$out/$tag.sock" --once "$@" 2>"$out/$tag.dev.log" &
    usb_pids+=($!)
    echo $! >"$out/$tag.dev.pid"
    for i in $(seq 1 100); do [ -S "$out/$tag.sock" ] && return 0; sleep 0.1; done
    vg_fail "usb-test-device did not listen: $(cat "$out/$tag.dev.log")"
}
