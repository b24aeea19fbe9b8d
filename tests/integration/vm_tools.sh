#!/usr/bin/env bash
# vm-list and vm-power against real libvirt + QEMU (TCG) with the test guest.
# The guest is built and defined once for the whole group; every check prints
# "ok - ..." or "not ok - ..." and the script fails if any check failed.
#
# Run by ctest (VREDIR_SOURCE_DIR, VREDIR_BUILD_DIR and PATH given), or by
# hand: bash tests/integration/vm_tools.sh (the build dir defaults to build/).
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools vm-list vm-power

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"

source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

out=$(mktemp -d /tmp/vredir-vmtools.XXXXXX)
watch_pid=

vg_ensure_libvirt
vg_build
name=vredir-test-vmtools-$$
vg_define "$name"
trap 'rc=$?; [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null; rm -rf "$out"; vg_cleanup $rc' EXIT

state() { vm-power status "$name" 2>/dev/null; }
ready_count() { vg_events | grep -c ' ready [0-9]*x[0-9]*$'; }
# wait_ready N: waits until the serial log holds more than N "ready" lines.
wait_ready() {
    local before=$1 end=$((SECONDS + ${2:-60}))
    while [ "$(ready_count)" -le "$before" ]; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.2
    done
}
# json_check EXPR < JSON-lines: the Python expression over `d` (the object of
# our domain) must be true.
json_check() {
    python3 -c '
import json, sys
name, expr = sys.argv[1], sys.argv[2]
doms = [json.loads(l) for l in sys.stdin if l.strip()]
d = next((x for x in doms if x["name"] == name), None)
sys.exit(0 if d is not None and eval(expr) else 1)' "$name" "$1"
}

# ---- listing a defined, shut off domain -------------------------------------
vm-list --json --all >"$out/list.json" 2>"$out/err"
check "vm-list --json --all shows $name shut off" json_check 'd["state"] == "shutoff" and d["id"] is None' <"$out/list.json"
check "vm-list --json shows the VNC display on a socket" \
    json_check 'any(g["type"] == "vnc" and g["listen"] == "socket" for g in d["devices"]["graphics"])' <"$out/list.json"
check "vm-list --json shows the D-Bus display on its own bus" \
    json_check 'any(g["type"] == "dbus" and g["listen"] == "bus" for g in d["devices"]["graphics"])' <"$out/list.json"
check "vm-list --json shows virtio video" json_check 'd["devices"]["video"][0]["model"] == "virtio"' <"$out/list.json"
check "vm-list --json shows tablet and keyboard inputs" \
    json_check '{"tablet", "keyboard"} <= {i["type"] for i in d["devices"]["inputs"]}' <"$out/list.json"
check "vm-list --json shows ich9 sound with its audio backend" \
    json_check 'd["devices"]["sound"][0]["model"] == "ich9" and d["devices"]["audio"][0]["id"] == d["devices"]["sound"][0]["audio"]' <"$out/list.json"
check "vm-list --json shows two serial ports and the agent channel" \
    json_check 'len([s for s in d["devices"]["serials"] if s["element"] == "serial"]) == 2 and d["devices"]["agent"] is not None' <"$out/list.json"
vm-list --all >"$out/table" 2>&1
check "vm-list --all table has the domain and its device summary" \
    grep -qE "^$name +- +shutoff .* vnc:1 video:virtio\(1\) in:tablet,kbd,mouse snd:ich9 usb:1 serial:2 agent" "$out/table"

# ---- start -----------------------------------------------------------------
t0=$SECONDS
vm-power start "$name" --wait --timeout 60 2>"$out/err"
rc=$?
[ "$rc" = 0 ] && [ "$(state)" = running ] && ok "vm-power start --wait returns 0 and the domain runs" ||
    not_ok "vm-power start --wait (rc $rc, state $(state)): $(cat "$out/err")"
if wait_ready 0 60; then ok "guest booted (ready after $((SECONDS - t0)) s)"; else vg_fail "guest did not log ready"; fi

vm-power start "$name" 2>"$out/err"
rc=$?
[ "$rc" = 0 ] && grep -q "already running" "$out/err" && ok "start on a running domain is 0 with a note" ||
    not_ok "start again: rc $rc, stderr: $(cat "$out/err")"

vm-list >"$out/table" 2>&1
check "vm-list (running only) shows the domain" grep -qE "^$name +[0-9]+ +running " "$out/table"
vm-list --state shutoff >"$out/table" 2>&1
check "vm-list --state shutoff hides it" bash -c "! grep -q '^$name ' '$out/table'"

# ---- watch events caused by another process ---------------------------------
# -v logs "watching lifecycle events" once the event callback is registered:
# events before that are not the watcher's to see, so wait for it.
vm-list -v --watch --name "$name" >"$out/watch" 2>"$out/watch.err" &
watch_pid=$!
end=$((SECONDS + 20))
until grep -q "watching lifecycle events" "$out/watch.err" || [ "$SECONDS" -ge "$end" ]; do sleep 0.1; done
before=$(ready_count)
"${VG_VIRSH[@]}" destroy "$name" >/dev/null
"${VG_VIRSH[@]}" start "$name" >/dev/null
end=$((SECONDS + 15))
until grep -q '"event":"started"' "$out/watch" || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
kill -INT "$watch_pid"
wait "$watch_pid"
rc=$?
watch_pid=
check "vm-list --watch prints the stop by virsh" grep -q "\"domain\":\"$name\".*\"event\":\"stopped\",\"detail\":\"destroyed\"" "$out/watch"
check "vm-list --watch prints the start by virsh" grep -q "\"domain\":\"$name\".*\"event\":\"started\",\"detail\":\"booted\"" "$out/watch"
check "vm-list --watch lines are JSON" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$out/watch"
[ "$rc" = 130 ] && ok "vm-list --watch exits 130 on SIGINT" || not_ok "vm-list --watch exit $rc on SIGINT"
# The serial log file is reopened by the new QEMU process.
if wait_ready 0 60 || wait_ready "$before" 1; then ok "guest booted again"; else vg_fail "guest did not boot again"; fi

# ---- suspend / resume ----------------------------------------------------------
vm-power suspend "$name" --wait --timeout 10
rc=$?
[ "$rc" = 0 ] && [ "$(state)" = paused ] && ok "suspend: paused" || not_ok "suspend: rc $rc, state $(state)"
vm-power suspend "$name" 2>"$out/err"
[ $? = 0 ] && grep -q "already paused" "$out/err" && ok "suspend on paused is 0 with a note" || not_ok "suspend again"
vm-power resume "$name" --wait --timeout 10
rc=$?
[ "$rc" = 0 ] && [ "$(state)" = running ] && ok "resume: running" || not_ok "resume: rc $rc, state $(state)"

# ---- reset -------------------------------------------------------------------
before=$(ready_count)
vm-power reset "$name" 2>"$out/err"
rc=$?
if [ "$rc" = 0 ] && wait_ready "$before" 60; then
    ok "reset: the probe logged another ready"
else
    not_ok "reset: rc $rc, ready lines $(ready_count) (were $before), state $(state): $(cat "$out/err")"
fi

# ---- reboot (ACPI: the probe powers off, libvirt restarts it) -------------------
before=$(ready_count)
vm-power reboot "$name" --wait --timeout 60 2>"$out/err"
rc=$?
if [ "$rc" = 0 ] && [ "$(state)" = running ] && wait_ready "$before" 60; then
    ok "reboot --wait: rebooted and ready again"
else
    not_ok "reboot --wait: rc $rc, state $(state), ready lines $(ready_count) (were $before): $(cat "$out/err")"
fi

# ---- resolution through the VNC server ------------------------------------------
mark=$(vg_mark)
vm-power resolution 800x600 "$name" --wait --timeout 60 2>"$out/err"
rc=$?
if [ "$rc" = 0 ] && vg_wait_log --after "$mark" '^mode 800x600$' 10 >/dev/null; then
    ok "resolution 800x600 --wait: the guest logged mode 800x600"
else
    not_ok "resolution 800x600 --wait: rc $rc: $(cat "$out/err"); log: $(vg_events | tail -n 3 | tr '\n' '|')"
fi

# A paused guest cannot apply a mode: the request is sent and the wait times out.
vm-power suspend "$name" >/dev/null 2>&1
vm-power resolution 1024x768 "$name" --wait --timeout 2 2>"$out/err"
rc=$?
[ "$rc" = 5 ] && [ "$(wc -l <"$out/err")" = 1 ] && ok "resolution on a paused guest times out with 5 and one line" ||
    not_ok "resolution timeout: rc $rc, stderr: $(cat "$out/err")"
vm-power resume "$name" >/dev/null 2>&1

vm-power resolution 800x600 "$name" --head 3 2>"$out/err"
rc=$?
[ "$rc" = 1 ] && grep -q "head" "$out/err" && ok "resolution --head 3 on a one-head display fails with 1" ||
    not_ok "resolution --head 3: rc $rc, stderr: $(cat "$out/err")"

# ---- logoff through the guest agent ---------------------------------------------
mark=$(vg_mark)
vm-power logoff "$name" --timeout 30 2>"$out/err"
rc=$?
if [ "$rc" = 0 ] && vg_wait_log --after "$mark" '^logoff$' 10 >/dev/null; then
    ok "logoff: the guest agent ran loginctl and the probe logged logoff"
else
    not_ok "logoff: rc $rc: $(cat "$out/err")"
fi

# ---- shutdown (ACPI, not a hard power-off) ----------------------------------------
mark=$(vg_mark)
vm-power shutdown "$name" --wait --timeout 60 2>"$out/err"
rc=$?
if [ "$rc" = 0 ] && [ "$(state)" = shutoff ] && vg_wait_log --after "$mark" '^poweroff acpi$' 1 >/dev/null; then
    ok "shutdown --wait: shut off through ACPI (probe logged poweroff acpi)"
else
    not_ok "shutdown --wait: rc $rc, state $(state): $(cat "$out/err"); log: $(vg_events | tail -n 2 | tr '\n' '|')"
fi
vm-power shutdown "$name" 2>"$out/err"
[ $? = 0 ] && grep -q "already shut off" "$out/err" && ok "shutdown on shutoff is 0 with a note" || not_ok "shutdown again"

# ---- poweroff ---------------------------------------------------------------------
vm-power start "$name" --wait >/dev/null 2>&1
vm-power poweroff "$name" --wait --timeout 10 2>"$out/err"
rc=$?
[ "$rc" = 0 ] && [ "$(state)" = shutoff ] && ok "poweroff: shut off" || not_ok "poweroff: rc $rc, state $(state): $(cat "$out/err")"
vm-power status "$name" --json >"$out/status" 2>&1
check "status --json names the state and reason" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["state"]=="shutoff" and d["reason"]=="destroyed" and d["id"] is None else 1)' "$out/status"

# ---- exit codes ---------------------------------------------------------------------
vm-power start "no-such-domain-$$" 2>"$out/err"
rc=$?
[ "$rc" = 3 ] && [ "$(wc -l <"$out/err")" = 1 ] && grep -q "not found on qemu:///system (try: vm-list --all)" "$out/err" &&
    ok "unknown domain: exit 3 with one line" || not_ok "unknown domain: rc $rc, stderr: $(cat "$out/err")"
vm-power frobnicate "$name" 2>"$out/err"
rc=$?
[ "$rc" = 2 ] && grep -q "valid: start, shutdown" "$out/err" && ok "unknown action: exit 2 naming the actions" ||
    not_ok "unknown action: rc $rc, stderr: $(cat "$out/err")"
vm-power logoff test -c test:///default 2>"$out/err"
rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$out/err")" = 1 ] && grep -q "no guest agent channel" "$out/err" &&
    ok "logoff without an agent channel: exit 1 with one line" || not_ok "logoff without agent: rc $rc, stderr: $(cat "$out/err")"
vm-power start "$name" -c "test:///no/such/file.xml" 2>"$out/err"
rc=$?
[ "$rc" = 1 ] && grep -q "cannot connect to test:///no/such/file.xml" "$out/err" && ok "bad URI: exit 1 naming the URI" ||
    not_ok "bad URI: rc $rc, stderr: $(cat "$out/err")"

tap_finish
