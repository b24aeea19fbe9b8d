#!/usr/bin/env bash
# The serial console against real libvirt + QEMU (TCG): the test guest runs a
# busybox shell on ttyS0 (kernel word vredir.serial-shell), whose port 0 is a
# pty (the domain's console) logged to the serial log. Checks:
#   - a plain capture does not open the console: virsh console works during it
#   - redir-capture --serial holds the console both ways: a command written
#     through --serial-input (a FIFO) runs in the guest's shell and its output
#     is in the stream's serial channel (redir-dump, text and JSON)
#   - redir-inject --serial-text reaches the shell (its output in the log)
#   - --until-serial finds output, also output that shows later; gives up
#     with exit 5 and one line
#   - a --serial-text while a capture holds the console: exit 1, one line;
#     with --force it takes the console over, and the capture goes on with
#     its serial channel closed
#   - redir-mux connect --console over TLS: what is typed runs in the guest's
#     shell and its output comes back on standard output; Ctrl-] leaves with
#     exit 0; a view-only account sees the console but its keys never reach
#     the shell
#
# Run by ctest, or by hand: bash tests/integration/serial.sh
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-capture redir-inject redir-dump
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
source "$here/lib/tap.sh"
source "$here/lib/mux_server.sh"
need_packages python3:python3 virsh:libvirt-clients

lines() { wc -l <"$1" | tr -d ' '; }
# The stream of serial DATA frames that types TEXT (python escapes).
serial_stream() {
    PYTHONPATH=$here/lib python3 - "$1" <<'EOF'
import sys, vrs
text = sys.argv[1].encode().decode("unicode_escape").encode()
sys.stdout.buffer.write(vrs.MAGIC + vrs.hello("serial-test") + vrs.declare(1, 10, "serial", {"purpose": "serial"})
                        + vrs.frame(1, 0x80, text) + vrs.end())
EOF
}
# wait_for FILE REGEX TIMEOUT: until a line of FILE matches.
wait_for() {
    local end=$((SECONDS + $3))
    until grep -aqE "$2" "$1" 2>/dev/null; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.2
    done
}
# The serial log's lines that are exactly LINE (the shell's output, not the
# echo of the command that printed it).
log_has_line() { vg_serial | grep -axq -- "$1"; }

name=vredir-test-serial-$$
vg_serial_shell_guest "$name"
out=$(mktemp -d /tmp/vredir-serial.XXXXXX)
pids=()
trap 'rc=$?; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$out"; vg_cleanup $rc' EXIT

# ---- 1. a plain capture leaves the console alone ------------------------------
redir-capture "$name" --no-audio --duration 15 -o "$out/plain.vrs" 2>"$out/plain.err" &
cap=$!
pids+=("$cap")
sleep 3
if python3 "$here/lib/virsh_console.py" "$name" expect 'echo VC-$((5*5))-OK' 'VC-25-OK' 30 2>"$out/vc.err"; then
    ok "virsh console works while a plain capture runs (guest shell answered VC-25-OK)"
else
    not_ok "virsh console during a plain capture: $(tail -n 2 "$out/vc.err")"
fi
wait "$cap"
rc=$?
check "the plain capture ended normally (rc $rc)" test "$rc" = 0
if redir-dump --json "$out/plain.vrs" >"$out/plain.json" 2>/dev/null; then
    check "the plain capture has no serial channel" \
        bash -c "! grep -q '\"declared_kind\":\"bytes\"' '$out/plain.json'"
else
    not_ok "redir-dump could not read the plain capture"
fi

# ---- 2. capture --serial both ways through a FIFO -------------------------------
mkfifo "$out/in.fifo"
redir-capture "$name" --serial --serial-input "$out/in.fifo" --no-audio --duration 25 -o "$out/serial.vrs" \
    2>"$out/serial.err" &
cap=$!
pids+=("$cap")
wait_for_declare() {
    local end=$((SECONDS + 20))
    until redir-dump "$out/serial.vrs" 2>/dev/null | grep -q 'DECLARE id=4 kind=bytes name="serial"'; do
        [ "$SECONDS" -ge "$end" ] && return 1
        kill -0 "$cap" 2>/dev/null || return 1
        sleep 0.2
    done
}
if wait_for_declare; then
    ok "capture --serial declares its serial channel (the console is held)"
else
    not_ok "capture --serial declared no serial channel: $(tail -n 2 "$out/serial.err")"
fi
sleep 1.5  # QEMU notices a new console client within a second
serial_stream 'echo SER-$((6*7))-OK\n' >"$out/in.fifo"

end=$((SECONDS + 20))
until log_has_line SER-42-OK || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
check "the command written through --serial-input ran in the guest's shell" log_has_line SER-42-OK
sleep 0.5

# ---- 3. a second holder: exit 1 and one line; --force takes over -------------
redir-inject "$name" --serial-text 'echo HELD-$((2*3))\n' >"$out/held.out" 2>"$out/held.err"
rc=$?
if [ "$rc" = 1 ] && [ "$(lines "$out/held.err")" = 1 ] && grep -q "in use by another client" "$out/held.err"; then
    ok "--serial-text while a capture holds the console: exit 1, one line ($(cat "$out/held.err"))"
else
    not_ok "--serial-text while the console is held: rc $rc, stderr: $(head -c 300 "$out/held.err")"
fi
redir-inject "$name" --force --serial-text 'echo FORCE-$((20+22))-OK\n' 2>"$out/force.err"
rc=$?
check "--serial-text --force takes the console over (rc $rc)" test "$rc" = 0
end=$((SECONDS + 20))
until log_has_line FORCE-42-OK || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
check "the forced text reached the guest's shell (FORCE-42-OK in the serial log)" log_has_line FORCE-42-OK
if log_has_line HELD-6; then not_ok "the refused text reached the shell"; else ok "the refused text never reached the shell (no HELD-6)"; fi

wait "$cap"
rc=$?
check "the capture whose console was taken over went on to its end (rc $rc)" test "$rc" = 0
check "it said the console went, in one warning" grep -q "serial console of domain '$name'" "$out/serial.err"
redir-dump "$out/serial.vrs" >"$out/serial.txt" 2>"$out/serial.dump.err"
redir-dump --json "$out/serial.vrs" >"$out/serial.json" 2>/dev/null
check "redir-dump reads the --serial capture to its END" grep -q 'END reason=normal' "$out/serial.txt"
# The shell's output line in the text dump: the channel's quoted, escaped
# pieces (QEMU may hand it over a few bytes at a time) put together.
check "the stream's serial channel holds the shell's output SER-42-OK (text dump)" \
    python3 -c '
import re, sys
pieces = re.findall(r"^@\d+ t=\S+ ch=4\(serial\) DATA bytes=\d+ \"(.*)\"$", open(sys.argv[1], encoding="latin-1").read(), re.M)
text = "".join(p.encode("latin-1").decode("unicode_escape") for p in pieces)
sys.exit(0 if "SER-42-OK" in text.replace("\r", "").split("\n") else 1)' "$out/serial.txt"
check "the JSON dump has it as text on the serial channel" \
    python3 -c '
import json, sys
texts = "".join(e.get("text", "") for e in map(json.loads, open(sys.argv[1])) if e.get("channel") == 4 and e["type"] == "DATA")
sys.exit(0 if "SER-42-OK" in texts.replace("\r", "").split("\n") else 1)' "$out/serial.json"
check "the serial channel was closed when the console was taken over" grep -q 'ch=4(serial) CLOSE' "$out/serial.txt"

# ---- 4. --serial-text alone reaches the shell ----------------------------------
redir-inject "$name" --serial-text 'echo INJ-$((6*7))-OK\n' 2>"$out/inj.err"
rc=$?
check "--serial-text with the console free (rc $rc)" test "$rc" = 0
end=$((SECONDS + 20))
until log_has_line INJ-42-OK || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
check "--serial-text reached the guest's shell on ttyS0 (INJ-42-OK in the serial log)" log_has_line INJ-42-OK

# ---- 5. --until-serial ----------------------------------------------------------
# Typed through its own input and found in the output, one process both ways.
mkfifo "$out/until.fifo"
redir-capture "$name" --until-serial 'SER-[0-9]+-OK' --serial-input "$out/until.fifo" --timeout 60 --json \
    >"$out/until.json" 2>"$out/until.err" &
cap=$!
pids+=("$cap")
sleep 2.5
serial_stream 'echo SER-$((7*6))-OK\n' >"$out/until.fifo"
wait "$cap"
rc=$?
check "--until-serial found SER-42-OK (rc $rc)" test "$rc" = 0
check "its --json report names the match" python3 -c '
import json, sys
j = json.loads(open(sys.argv[1]).read())
sys.exit(0 if j["event"] == "serial" and j["text"] == "SER-42-OK" and j["line"] == "SER-42-OK" and j["elapsed_s"] > 0 else 1)' \
    "$out/until.json"
# Output that shows later, from elsewhere: the probe's acknowledgement of a
# command sent on its command port is a line on ttyS0.
redir-capture "$name" --until-serial '^VRP [0-9]+ ok solid 00ff00$' --timeout 60 >/dev/null 2>"$out/until2.err" &
cap=$!
pids+=("$cap")
sleep 2.5
vg_cmd "solid 00ff00"
wait "$cap"
rc=$?
check "--until-serial found a line that showed while it waited (rc $rc)" test "$rc" = 0
t0=$SECONDS
redir-capture "$name" --until-serial 'NEVER-THERE' --timeout 3 --json >"$out/never.json" 2>"$out/never.err"
rc=$?
if [ "$rc" = 5 ] && [ "$(lines "$out/never.err")" = 1 ] && [ ! -s "$out/never.json" ] && [ $((SECONDS - t0)) -lt 15 ]; then
    ok "--until-serial gives up after --timeout: exit 5, one line ($(cat "$out/never.err"))"
else
    not_ok "--until-serial timeout: rc $rc, stderr: $(head -c 300 "$out/never.err")"
fi
redir-capture "$name" --until-serial '(' --timeout 3 2>"$out/badre.err"
rc=$?
check "a bad --until-serial expression is exit 2 (rc $rc)" test "$rc" = 2

# ---- 5b. the console alone: --serial --no-display ----------------------------------------
# No VNC connection and no display channel; the console both ways.
mkfifo "$out/nd.fifo"
redir-capture "$name" --serial --no-display --serial-input "$out/nd.fifo" --duration 12 -o "$out/nd.vrs" \
    2>"$out/nd.err" &
cap=$!
pids+=("$cap")
sleep 2.5
serial_stream 'echo ND-$((3*3))-OK\n' >"$out/nd.fifo"
wait "$cap"
rc=$?
redir-dump "$out/nd.vrs" >"$out/nd.txt" 2>&1
check "capture --serial --no-display ends at --duration with exit 0 (rc $rc: $(tail -n 1 "$out/nd.err"))" test "$rc" = 0
check "its stream declares the serial channel and nothing else" \
    bash -c "[ \$(grep -c ' DECLARE ' '$out/nd.txt') = 1 ] && grep -q 'DECLARE id=4 kind=bytes name=\"serial\"' '$out/nd.txt'"
check "what it wrote to the console ran, and the answer is in its stream" \
    python3 -c '
import re, sys
pieces = re.findall(r"^@\d+ t=\S+ ch=4\(serial\) DATA bytes=\d+ \"(.*)\"$", open(sys.argv[1], encoding="latin-1").read(), re.M)
text = "".join(p.encode("latin-1").decode("unicode_escape") for p in pieces)
sys.exit(0 if "ND-9-OK" in text.replace("\r", "").split("\n") else 1)' "$out/nd.txt"
redir-capture "$name" --no-display --duration 1 2>"$out/nd2.err"
rc=$?
check "--no-display without --serial is a usage error, exit 2 (rc $rc)" test "$rc" = 2
redir-capture "$name" --serial --no-display --snapshot "$out/x.png" 2>"$out/nd3.err"
rc=$?
check "--no-display with --snapshot is a usage error, exit 2 (rc $rc)" test "$rc" = 2

# ---- 6. redir-mux connect --console over TLS ----------------------------------------
command -v openssl >/dev/null || vg_fail "openssl is missing (apt-get install -y openssl)"
mux_make_cert || vg_fail "openssl could not make a certificate"
users=$out/users
echo co-pw >"$out/co.pw"
echo cv-pw >"$out/cv.pw"
VREDIR_PASSWORD=co-pw redir-mux users add co --users "$users" --vms "$name"
VREDIR_PASSWORD=cv-pw redir-mux users add cv --users "$users" --vms "$name" --view-only
mux_start_serve "$out/serve.log" --users "$users" -c qemu:///system || vg_fail "serve did not start: $(cat "$out/serve.log")"
pids+=("$serve_pid")
# Keys: a command line, time for its answer, then the escape character.
# The session's processes, seen while it runs.
(sleep 3; ps -eo args >"$out/con.ps") &
{ sleep 4; printf 'echo CON-$((6*7))-OK\r'; sleep 4; printf '\035'; sleep 30; } |
    timeout 90 redir-mux connect "$url" --ca "$out/ca.pem" --user co --password-file "$out/co.pw" --vm "$name" \
        --console >"$out/con.out" 2>"$out/con.err"
rc=$?
check "connect --console leaves on Ctrl-] with exit 0 (rc $rc: $(head -c 300 "$out/con.err"))" test "$rc" = 0
check "what was typed ran in the guest's shell (CON-42-OK on the client's standard output)" \
    bash -c "tr -d '\r' <'$out/con.out' | grep -axq CON-42-OK"
check "only console bytes on standard output (no stream frames)" bash -c "! grep -aq VRS '$out/con.out'"
check "the shell's output is in the serial log too" log_has_line CON-42-OK
check "the console session's capture runs with --no-display" grep -Eq "(^|/)redir-capture .*--serial --no-display" "$out/con.ps"
check "and no display capture or input injection runs for it" \
    bash -c "! grep -E '(^|/)redir-(inject|capture) ' '$out/con.ps' | grep -v -- '--no-display' | grep -q -- '$name'"
{ sleep 4; printf 'echo VIEW-$((6*7))-OK\r'; sleep 4; printf '\035'; sleep 30; } |
    timeout 90 redir-mux connect "$url" --ca "$out/ca.pem" --user cv --password-file "$out/cv.pw" --vm "$name" \
        --console >"$out/conv.out" 2>"$out/conv.err"
rc=$?
check "a view-only --console leaves on Ctrl-] with exit 0 (rc $rc: $(head -c 300 "$out/conv.err"))" test "$rc" = 0
check "it is told the console is read-only" grep -q 'read-only' "$out/conv.err"
sleep 2
if log_has_line VIEW-42-OK || grep -aq 'VIEW-42-OK' "$out/conv.out"; then
    not_ok "a view-only account's keys reached the shell"
else
    ok "a view-only account's keys never reached the shell"
fi
# The console held by another client: the session says so by name.
redir-capture "$name" --serial --no-audio --duration 30 -o "$out/hold.vrs" 2>"$out/hold.err" &
hold=$!
pids+=("$hold")
end=$((SECONDS + 20))
until redir-dump "$out/hold.vrs" 2>/dev/null | grep -q 'kind=bytes name="serial"' || [ "$SECONDS" -ge "$end" ]; do sleep 0.2; done
sleep 1.5  # QEMU notices a new console client within a second
{ sleep 20; } | timeout 60 redir-mux connect "$url" --ca "$out/ca.pem" --user co --password-file "$out/co.pw" \
    --vm "$name" --console >"$out/conh.out" 2>"$out/conh.err"
rc=$?
check "connect --console while a capture holds the console: exit 1, one line naming it (rc $rc: $(head -c 300 "$out/conh.err"))" \
    bash -c "[ $rc = 1 ] && [ \$(grep -c '' '$out/conh.err') = 1 ] && grep -q 'in use by another client' '$out/conh.err'"
kill "$hold" 2>/dev/null
wait "$hold" 2>/dev/null
redir-mux connect "$url" --ca "$out/ca.pem" --user co --password-file "$out/co.pw" --console </dev/null 2>"$out/conu.err"
rc=$?
check "--console without --vm is a usage error, exit 2 (rc $rc)" test "$rc" = 2

tap_finish
