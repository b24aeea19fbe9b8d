#!/usr/bin/env bash
# redir-inject against real libvirt + QEMU (TCG) with the test guest, which
# logs every input event it receives. One guest boot for the whole group;
# every check prints "ok - ..." or "not ok - ..." and the script fails if any
# check failed. The first check is the main proof: 10,000 characters typed
# with nothing lost and nothing reordered.
#
# Run by ctest, or by hand: bash tests/integration/inject.sh (build dir
# defaults to build/). INJECT_CHARS changes the size of the typing check.
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-inject vm-power redir-dump
need_helpers vrs-build
chars=${INJECT_CHARS:-10000}

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"

source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
lines() { wc -l <"$1" | tr -d ' '; }
# exits_one_line RC WANT ERRFILE: the exit code and a one-line message.
exits_one_line() { [ "$1" = "$2" ] && [ "$(lines "$3")" = 1 ]; }
# Pointer positions as "abs PX PY", raw tablet values dropped.
no_raw() { sed -E 's/^abs [0-9]+ [0-9]+ /abs /'; }

out=$(mktemp -d /tmp/vredir-inject.XXXXXX)
vg_ensure_libvirt
vg_build
name=vredir-test-inject-$$
vg_define "$name"
trap 'rc=$?; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start

# Key and pointer lines the probe logged after mark N, "kind args" only.
events_after() { vg_events | tail -n +"$(($1 + 1))" | grep -E '^[0-9]+ (key|btn|abs|rel 8) ' | cut -d' ' -f2-; }
keys_after() { events_after "$1" | grep '^key ' | grep -v ' 2$'; }
# settle MARK COUNT [TIMEOUT]: waits until COUNT key lines (autorepeat aside)
# follow MARK, or until none arrived for 3 s.
settle() {
    local mark=$1 want=$2 end=$((SECONDS + ${3:-60})) n last=-1 still=0
    while :; do
        n=$(keys_after "$mark" | wc -l)
        [ "$n" -ge "$want" ] && return 0
        if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; fi
        [ "$still" -ge 15 ] || [ "$SECONDS" -ge "$end" ] && return 1
        last=$n
        sleep 0.2
    done
}
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

# ---- 1. 10,000 characters, nothing lost, nothing reordered ------------------
# Deterministic text: every printable US ASCII character, Enter, Tab and
# Backspace, then a seeded random mix. The generator also writes the escaped
# --type arguments (two invocations) and the expected key events of the us
# keymap: per character, Shift down if needed, key down, key up, Shift up.
python3 - "$chars" "$out" <<'EOF'
import random, sys
n, out = int(sys.argv[1]), sys.argv[2]
alphabet = [chr(c) for c in range(0x20, 0x7f)] + ["\n", "\t", "\b"]
rng = random.Random(20240601)
text = alphabet + [rng.choice(alphabet) for _ in range(max(0, n - len(alphabet)))]
text = text[:n]
us = {}
rows = [("`1234567890-=", "~!@#$%^&*()_+", [41] + list(range(2, 14))),
        ("qwertyuiop[]\\", "QWERTYUIOP{}|", list(range(16, 28)) + [43]),
        ("asdfghjkl;'", "ASDFGHJKL:\"", list(range(30, 41))),
        ("zxcvbnm,./", "ZXCVBNM<>?", list(range(44, 54)))]
for plain, shifted, codes in rows:
    for p, s, c in zip(plain, shifted, codes):
        us[p] = (c, False)
        us[s] = (c, True)
us[" "] = (57, False); us["\n"] = (28, False); us["\t"] = (15, False); us["\b"] = (14, False)
expected = []
for ch in text:
    code, shift = us[ch]
    if shift: expected.append("key 42 1")
    expected += [f"key {code} 1", f"key {code} 0"]
    if shift: expected.append("key 42 0")
open(f"{out}/expected", "w").write("\n".join(expected) + "\n")
esc = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\b": "\\b"}
half = len(text) // 2
for i, part in enumerate([text[:half], text[half:]]):
    open(f"{out}/type{i}", "w").write("".join(esc.get(c, c) for c in part))
EOF
want=$(wc -l <"$out/expected")
mark=$(vg_mark)
t0=$(now)
rc=0
redir-inject "$name" -v --type "$(cat "$out/type0")" 2>"$out/err0" || rc=$?
redir-inject "$name" -v --type "$(cat "$out/type1")" 2>"$out/err1" || rc=$?
t1=$(now)
settle "$mark" "$want" 60
keys_after "$mark" >"$out/got"
repeats=$(events_after "$mark" | grep -c '^key .* 2$')
secs=$(elapsed "$t0" "$t1")
verdict=$(python3 - "$out/expected" "$out/got" <<'EOF'
import collections, sys
exp = open(sys.argv[1]).read().split("\n")[:-1]
got = open(sys.argv[2]).read().split("\n")[:-1]
missing = collections.Counter(exp) - collections.Counter(got)
extra = collections.Counter(got) - collections.Counter(exp)
lost, added = sum(missing.values()), sum(extra.values())
first = next((i for i, (a, b) in enumerate(zip(exp, got)) if a != b), None)
reordered = 0 if exp == got else (1 if lost == 0 and added == 0 else 0)
print(f"expected {len(exp)} got {len(got)} lost {lost} extra {added} reordered {reordered} first-mismatch {first}")
EOF
)
echo "# typing: $chars chars, $want key events in $secs s ($(python3 -c "print(round($chars / $secs, 1))") chars/s," \
    "$(python3 -c "print(round($want / $secs, 1))") key events/s); $verdict; autorepeat lines: $repeats"
check "typed $chars characters with redir-inject --type (exit 0)" [ "$rc" = 0 ]
check "all $want key events of $chars characters arrived in order (0 lost, 0 reordered)" cmp -s "$out/expected" "$out/got"
[ "$rc" = 0 ] || cat "$out/err0" "$out/err1" >&2
check "by default the keys went through the guest's virtio keyboard, via its D-Bus display (on the domain's bus)" \
    grep -q 'keys through the virtio keyboard .* (via the D-Bus display)' "$out/err0"

# ---- 1b. the VNC key path, for VMs without a virtio keyboard ---------------
# QEMU's VNC server releases one key event per 10 ms; a shorter text keeps
# the group's time down while still crossing many pacing windows.
python3 -c '
import random, sys
rng = random.Random(7)
alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-="
open(sys.argv[1], "w").write("".join(rng.choice(alphabet) for _ in range(300)))
' "$out/vnc_text"
vnc_want=$(python3 -c 'import sys; print(sum(4 if c.isupper() else 2 for c in open(sys.argv[1]).read()))' "$out/vnc_text")
mark=$(vg_mark)
rc=0
redir-inject "$name" -v --keyboard vnc --type "$(cat "$out/vnc_text")" 2>"$out/errv" || rc=$?
settle "$mark" "$vnc_want" 60
vnc_got=$(keys_after "$mark" | wc -l)
keys_after "$mark" >"$out/vnc_keys"
vnc_path_ok() { [ "$rc" = 0 ] && [ "$vnc_got" = "$vnc_want" ] && grep -q 'keys through the VNC server' "$out/errv"; }
check "--keyboard vnc: 300 characters through the VNC server, all $vnc_want key events arrived (got $vnc_got)" vnc_path_ok

# ---- 1c. the virtio keyboard path (--keyboard virtio), without the D-Bus display
# The same text through the guest's virtio keyboard, asked for by name, with
# the D-Bus display left out (VREDIR_VIRTIO_VIA_DBUS=0, the route of a domain
# whose D-Bus display is peer-to-peer or absent): by default its events go
# through QEMU's Barrier client (an input-barrier object added for the run,
# connected to redir-inject on loopback), and with VREDIR_VIRTIO_VIA_BARRIER=0
# as QMP input-send-event. Each time all of it arrives, and the probe (whose
# reader runs at real-time priority) never sees its evdev buffer overflow
# (input-dropped). The Barrier client is removed at the end of the run.
virtio_route() {  # ROUTE-WORDS ENV... : types the text, sets virtio_got and virtio_drops
    local route=$1
    shift
    mark=$(vg_mark)
    rc=0
    env VREDIR_VIRTIO_VIA_DBUS=0 "$@" redir-inject "$name" -v --keyboard virtio --type "$(cat "$out/vnc_text")" \
        2>"$out/errq" || rc=$?
    settle "$mark" "$vnc_want" 60
    virtio_got=$(keys_after "$mark" | wc -l)
    virtio_drops=$(vg_events | tail -n +"$((mark + 1))" | grep -c ' input-dropped ' || true)
    # The same key codes, in the same order, as through the VNC server.
    [ "$rc" = 0 ] && grep -q "keys through the virtio keyboard .* (via $route)" "$out/errq" &&
        [ "$virtio_got" = "$vnc_want" ] && [ "$virtio_drops" = 0 ] && keys_after "$mark" | cmp -s - "$out/vnc_keys"
}
barrier_objects() { virsh -q -c qemu:///system qemu-monitor-command "$name" '{"execute":"qom-list","arguments":{"path":"/objects"}}' |
    grep -o '"vredir-kbd-[^"]*"' | wc -l; }
rc_route=0
virtio_route "QEMU's Barrier client" || rc_route=1
check "--keyboard virtio without the D-Bus display: through QEMU's Barrier client, all $vnc_want key events arrived, the same codes in the same order as through VNC (got $virtio_got, guest-side drops $virtio_drops)" \
    [ "$rc_route" = 0 ]
[ "$rc_route" = 0 ] || cat "$out/errq" >&2
check "the Barrier client added for the run is gone after it ($(barrier_objects) left)" [ "$(barrier_objects)" = 0 ]
rc_route=0
virtio_route QMP VREDIR_VIRTIO_VIA_BARRIER=0 || rc_route=1
check "--keyboard virtio through QMP (VREDIR_VIRTIO_VIA_BARRIER=0): all $vnc_want key events arrived (got $virtio_got, guest-side drops $virtio_drops)" \
    [ "$rc_route" = 0 ]

# ---- 2. combinations ----------------------------------------------------------
mark=$(vg_mark)
redir-inject "$name" --key shift-a alt-f4 --key ctrl-alt-f12 super 2>"$out/err"
settle "$mark" 18 10
check "--key shift-a alt-f4 ctrl-alt-f12 super: pressed in order, released in reverse" \
    diff <(keys_after "$mark" | tr '\n' ' ') \
    <(echo -n "key 42 1 key 30 1 key 30 0 key 42 0 key 56 1 key 62 1 key 62 0 key 56 0 key 29 1 key 56 1 key 88 1 key 88 0 key 56 0 key 29 0 key 125 1 key 125 0 ")

# ---- 3. pointer ------------------------------------------------------------------
mark=$(vg_mark)
redir-inject "$name" --move 100,200 --click 300,400 --click 1023,767,right --scroll -2 --scroll 1 2>"$out/err"
vg_wait_log --after "$mark" '^rel 8 -1$' 10 >/dev/null
check "--move/--click/--scroll land at the sent pixels (1024x768)" \
    diff <(events_after "$mark" | no_raw | tr '\n' ' ') \
    <(echo -n "abs 100 200 abs 300 400 btn 272 1 btn 272 0 abs 1023 767 btn 273 1 btn 273 0 rel 8 1 rel 8 1 rel 8 -1 ")
if vm-power resolution 800x600 "$name" --wait --timeout 60 2>"$out/err" && vg_wait_log --after "$mark" '^mode 800x600$' 30 >/dev/null; then
    mark=$(vg_mark)
    redir-inject "$name" --click 700,500 --move 799,599 --move 0,0 2>"$out/err"
    vg_wait_log --after "$mark" '^abs 0 0 0 0$' 10 >/dev/null
    check "after the switch to 800x600, pointer events land in the new surface's pixels" \
        diff <(events_after "$mark" | no_raw | tr '\n' ' ') \
        <(echo -n "abs 700 500 btn 272 1 btn 272 0 abs 799 599 abs 0 0 ")
else
    not_ok "vm-power resolution 800x600 (needed for the resized pointer check): $(head -1 "$out/err")"
fi

# ---- 4. script ------------------------------------------------------------------
cat >"$out/script" <<'EOF'
# a small script
type ls -l\n
key ctrl-c
move 10 20
sleep 600
click 30 40 middle
type "  x"
EOF
mark=$(vg_mark)
t0=$(now)
redir-inject "$name" --script "$out/script" 2>"$out/err"
rc=$?
t1=$(now)
vg_wait_log --after "$mark" '^key 45 0$' 10 >/dev/null
exp="key 38 1 key 38 0 key 31 1 key 31 0 key 57 1 key 57 0 key 12 1 key 12 0 key 38 1 key 38 0 key 28 1 key 28 0 "
exp+="key 29 1 key 46 1 key 46 0 key 29 0 abs 10 20 abs 30 40 btn 274 1 btn 274 0 key 57 1 key 57 0 key 57 1 key 57 0 key 45 1 key 45 0 "
check "--script: actions in order (rc $rc)" diff <(events_after "$mark" | no_raw | tr '\n' ' ') <(echo -n "$exp")
check "--script: sleep 600 honoured (took $(elapsed "$t0" "$t1") s)" python3 -c "import sys; sys.exit(0 if $(elapsed "$t0" "$t1") >= 0.6 else 1)"

# ---- 5. other layouts ----------------------------------------------------------------
layout_check() {
    local km=$1 text=$2 expect=$3 mark
    mark=$(vg_mark)
    redir-inject "$name" --keymap "$km" --type "$text" 2>"$out/err"
    settle "$mark" "$(echo "$expect" | wc -w | awk '{print $1 / 3}')" 10
    check "--keymap $km --type '$text'" diff <(keys_after "$mark" | tr '\n' ' ') <(echo -n "$expect")
}
layout_check de 'zy@^' "key 21 1 key 21 0 key 44 1 key 44 0 key 100 1 key 16 1 key 16 0 key 100 0 key 41 1 key 41 0 key 57 1 key 57 0 "
layout_check fr 'aq1m' "key 16 1 key 16 0 key 30 1 key 30 0 key 42 1 key 2 1 key 2 0 key 42 0 key 39 1 key 39 0 "
layout_check gb '"@#\\' "key 42 1 key 3 1 key 3 0 key 42 0 key 42 1 key 40 1 key 40 0 key 42 0 key 43 1 key 43 0 key 86 1 key 86 0 "

# ---- 6. replaying a recorded stream, timing and --ack ---------------------------------
cat >"$out/rec.txt" <<'EOF'
hello producer=test
declare 1 display screen width=4 height=3
declare 2 keyboard kbd
declare 3 pointer tablet width=1024 height=768
declare 4 text typing
surface 1 4 3
time 0
key 2 1 30 down
key 2 2 30 up
time 500000
pointer 3 3 512 384 0
text 4 4 "b"
time 1000000
key 2 5 46 down
key 2 6 46 up
end normal
EOF
vrs-build <"$out/rec.txt" >"$out/rec.vrs"
mark=$(vg_mark)
t0=$(now)
redir-inject "$name" <"$out/rec.vrs" 2>"$out/err"
rc=$?
t1=$(now)
settle "$mark" 6 10
check "stream replay (rc $rc): frames in order, display frames skipped, pointer scaled to 800x600" \
    diff <(events_after "$mark" | sed -E 's/^abs .*/abs/' | tr '\n' ' ') \
    <(echo -n "key 30 1 key 30 0 abs key 48 1 key 48 0 key 46 1 key 46 0 ")
check "stream replay: the recorded pointer (512,384 of 1024x768) lands at 400,300" \
    grep -q ' 400 300$' <(events_after "$mark" | grep '^abs')
check "stream replay honours timestamps (1 s recorded, took $(elapsed "$t0" "$t1") s)" \
    python3 -c "import sys; sys.exit(0 if $(elapsed "$t0" "$t1") >= 0.95 else 1)"
t0=$(now)
redir-inject "$name" --no-timing <"$out/rec.vrs" 2>"$out/err"
t1=$(now)
check "--no-timing replays at once (took $(elapsed "$t0" "$t1") s)" \
    python3 -c "import sys; sys.exit(0 if $(elapsed "$t0" "$t1") < 0.8 else 1)"

redir-inject "$name" --no-timing --ack <"$out/rec.vrs" >"$out/acks.vrs" 2>"$out/err"
rc=$?
redir-dump "$out/acks.vrs" >"$out/acks.txt" 2>&1
drc=$?
check "--ack on a stream: a valid stream (redir-dump exit $drc, inject rc $rc)" [ "$rc$drc" = 00 ]
check "--ack on a stream: one ACK per input frame (ch/seq 2/1 2/2 3/3 4/4 2/5 2/6)" \
    [ "$(grep -c ' ACK ' "$out/acks.txt")" = 6 ]
redir-inject "$name" --key ctrl-alt-f1 --click 5,5 --ack 2>"$out/err" | redir-dump - >"$out/acks2.txt" 2>&1
acks_and_end() { [ "$(grep -c ' ACK ' "$1")" = "$2" ] && grep -q ' END ' "$1"; }
check "--ack with flags: 6 key + 3 pointer ACKs, then END" acks_and_end "$out/acks2.txt" 9
# The acked channels are declared in the ack stream: keys on 2, pointer on 3.
flag_acks_declared() {
  grep -q 'DECLARE id=2 kind=keyboard' "$1" && grep -q 'DECLARE id=3 kind=pointer' "$1" &&
    [ "$(grep -c ' ACK .*channel=2 ' "$1")" = 6 ] && [ "$(grep -c ' ACK .*channel=3 ' "$1")" = 3 ]
}
check "--ack with flags: ACKs name the declared keyboard (2) and pointer (3) channels" flag_acks_declared "$out/acks2.txt"

# ---- 7. relative motion -------------------------------------------------------------------
# Through QEMU's monitor to the guest's relative mouse (the domain's PS/2
# mouse; the tablet takes only absolute positions). The probe logs its REL_X
# as "rel 0 N" and REL_Y as "rel 1 N"; PS/2 splits a move into packets of at
# most 127, so the sums are what must match.
rel_sums() {
    vg_events | tail -n +"$(($1 + 1))" |
        awk '$2 == "rel" && ($3 == "0" || $3 == "1") { s[$3] += $4 } END { printf "%d,%d\n", s["0"], s["1"] }'
}
# wait_rel MARK WANT: the sums after MARK once they equal WANT, or after 15 s.
wait_rel() {
    local end=$((SECONDS + 15))
    while [ "$(rel_sums "$1")" != "$2" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.3; done
    rel_sums "$1"
}
mark=$(vg_mark)
redir-inject "$name" --move-rel 40,-25 2>"$out/err"
rc=$?
got=$(wait_rel "$mark" 40,-25)
check "--move-rel 40,-25 (rc $rc): REL_X/REL_Y sum to $got" [ "$rc $got" = "0 40,-25" ]
mark=$(vg_mark)
redir-inject "$name" --move-rel 300,200 --move-rel -7,3 --move-rel 0,-150 --move-rel -500,-1 2>"$out/err"
rc=$?
got=$(wait_rel "$mark" -207,52)
check "four --move-rel (rc $rc): REL_X/REL_Y sum to $got (want -207,52)" [ "$rc $got" = "0 -207,52" ]
# Ordered with absolute moves: abs, then the relative motion, then abs.
mark=$(vg_mark)
redir-inject "$name" --move 100,100 --move-rel 20,10 --move 200,150 2>"$out/err"
vg_wait_log --after "$mark" '^abs [0-9]+ [0-9]+ 200 150$' 10 >/dev/null
order_of() { vg_events | tail -n +"$(($1 + 1))" | grep -E '^[0-9]+ (abs|rel [01]) ' | cut -d' ' -f2 | uniq | tr '\n' ' '; }
check "--move, --move-rel, --move arrive in that order ($(order_of "$mark"))" [ "$(order_of "$mark")" = "abs rel abs " ]
printf 'move-rel 11 -4\nsleep 100\nmove-rel -1 -1\n' >"$out/rel-script"
mark=$(vg_mark)
redir-inject "$name" --script "$out/rel-script" 2>"$out/err"
rc=$?
got=$(wait_rel "$mark" 10,-5)
check "script move-rel lines (rc $rc): sums $got" [ "$rc $got" = "0 10,-5" ]
# A stream's POINTER_REL frames, acknowledged like the other input frames.
cat >"$out/rel.txt" <<'EOF'
hello producer=test
declare 1 pointer mouse
pointer-rel 1 1 25 -30 0
pointer-rel 1 2 -5 12 0
pointer-rel 1 3 100 0 0
end normal
EOF
vrs-build <"$out/rel.txt" >"$out/rel.vrs"
mark=$(vg_mark)
redir-inject "$name" --no-timing --ack <"$out/rel.vrs" >"$out/rel-acks.vrs" 2>"$out/err"
rc=$?
got=$(wait_rel "$mark" 120,-18)
check "stream POINTER_REL frames (rc $rc): sums $got (want 120,-18)" [ "$rc $got" = "0 120,-18" ]
check "stream POINTER_REL frames: three ACKs delivered" \
    [ "$(redir-dump "$out/rel-acks.vrs" 2>&1 | grep ' ACK ' | grep -c 'delivered')" = 3 ]
redir-inject --vnc unix:/nonexistent --move-rel 1,1 2>"$out/err"
rc=$?
check "--move-rel with --vnc: usage error, exit 2, its reason and the --help hint ($(head -n 1 "$out/err"))" \
    eval '[ $rc = 2 ] && grep -q "needs a DOMAIN" "$out/err" && [ "$(lines "$out/err")" = 2 ]'
redir-inject "$name" --move-rel 40000,1 2>"$out/err"
check "--move-rel out of range: exit 2, one line" exits_one_line $? 2 "$out/err"

# ---- 8. bad input ---------------------------------------------------------------------------
redir-inject no-such-domain-$$ --type x 2>"$out/err"
check "unknown domain: exit 3, one line" exits_one_line $? 3 "$out/err"
printf 'this is not a vredir stream at all, just text\n' | redir-inject "$name" 2>"$out/err"
check "malformed stream on stdin: exit 7, one line" exits_one_line $? 7 "$out/err"
head -c 200 "$out/rec.vrs" | redir-inject "$name" --no-timing 2>"$out/err"
check "truncated stream on stdin: exit 6, one line" exits_one_line $? 6 "$out/err"
mark=$(vg_mark)
redir-inject "$name" --type ok --key ctrl-nosuchkey 2>"$out/err"
check "unknown key name: exit 2, one line" exits_one_line $? 2 "$out/err"
redir-inject "$name" --type 'café' 2>"$out/err"
rc=$?
check "unmappable character: exit 2, one line naming it and the keymap" \
    exits_one_line $rc 2 "$out/err"
check "unmappable character: the message names U+00E9 and keymap 'us'" grep -q "U+00E9.*keymap 'us'" "$out/err"
printf 'type fine\nclick 1 2 sideways\n' >"$out/bad-script"
redir-inject "$name" --script "$out/bad-script" 2>"$out/err"
rc=$?
check "bad script line: exit 2, one line" exits_one_line $rc 2 "$out/err"
check "bad script line: the message names file:line" grep -q "bad-script:2: unknown button" "$out/err"
sleep 1
check "nothing was typed by the rejected invocations" [ "$(keys_after "$mark" | wc -l)" = 0 ]

# ---- 9. ctrl-alt-delete (last: the probe reboots on it) ---------------------------------------
mark=$(vg_mark)
redir-inject "$name" --key ctrl-alt-delete 2>"$out/err"
settle "$mark" 3 10
check "--key ctrl-alt-delete: 29, 56, 111 pressed in that order (the guest then reboots)" \
    diff <(keys_after "$mark" | head -3 | tr '\n' ' ') <(echo -n "key 29 1 key 56 1 key 111 1 ")

tap_finish
