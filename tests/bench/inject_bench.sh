#!/usr/bin/env bash
# Key throughput with zero loss: redir-inject --type, through the guest's
# virtio keyboard and through QEMU's VNC server, against `virsh send-key`
# called once per character (its only way to type a string), on the test
# guest, whose probe logs every key event it receives. openQA's default
# typing speed (30 keys/s) is printed as a reference line. Medians over RUNS
# runs; losses are counted from the probe's log for every run, with the
# guest's own reader overflows (SYN_DROPPED) beside them; a run that loses
# events keeps them in a directory named on stderr. The virtio
# keyboard's events go through the guest's D-Bus display (the default: it is
# on the domain's own bus), again without it (VREDIR_VIRTIO_VIA_DBUS=0, what
# a domain without such a display gets: QEMU's Barrier client, added for the
# run), and as QMP input-send-event (VREDIR_VIRTIO_VIA_BARRIER=0 too, the
# fallback).
#
# Then a domain defined without a virtio keyboard (the same guest without
# it, on its text console): redir-inject hot-plugs one for the run. HP_CHARS
# characters of text lines go into `cat > /tmp/typed`, and the guest's shell
# writes the file's size and checksum to the serial log; the VNC path on the
# same domain (--keyboard vnc, HP_VNC_CHARS) is its peer; the hot-plugged
# keyboard is also measured without the D-Bus display (the route of a stock
# domain, which has none: QEMU's Barrier client) and through QMP.
#
#   bash tests/bench/inject_bench.sh
#       (CHARS=10000 VNC_CHARS=600 VIRSH_CHARS=100 RUNS=3 HP_CHARS=10000 HP_VNC_CHARS=400)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
command -v redir-inject >/dev/null || PATH="$VREDIR_BUILD_DIR/tools/redir-inject:$PATH"
chars=${CHARS:-10000}
vnc_chars=${VNC_CHARS:-600}
virsh_chars=${VIRSH_CHARS:-100}
runs=${RUNS:-3}
hp_chars=${HP_CHARS:-10000}
hp_vnc_chars=${HP_VNC_CHARS:-400}

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
out=$(mktemp -d /tmp/vredir-injbench.XXXXXX)
vg_ensure_libvirt
vg_build
name=vredir-test-injbench-$$
vg_define "$name"
trap 'rc=$?; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start

# Text, its --type form, its virsh send-key calls and its expected key events.
gen() {
    python3 - "$1" "$2" <<'EOF'
import random, sys
n, prefix = int(sys.argv[1]), sys.argv[2]
rng = random.Random(n)
alphabet = [chr(c) for c in range(0x21, 0x7f)] + [" "]
text = [rng.choice(alphabet) for _ in range(n)]
us = {}
rows = [("`1234567890-=", "~!@#$%^&*()_+", [41] + list(range(2, 14))),
        ("qwertyuiop[]\\", "QWERTYUIOP{}|", list(range(16, 28)) + [43]),
        ("asdfghjkl;'", "ASDFGHJKL:\"", list(range(30, 41))),
        ("zxcvbnm,./", "ZXCVBNM<>?", list(range(44, 54)))]
for plain, shifted, codes in rows:
    for p, s, c in zip(plain, shifted, codes):
        us[p], us[s] = (c, False), (c, True)
us[" "] = (57, False)
exp, calls = [], []
for ch in text:
    code, shift = us[ch]
    exp += (["key 42 1"] if shift else []) + [f"key {code} 1", f"key {code} 0"] + (["key 42 0"] if shift else [])
    calls.append(("42 " if shift else "") + str(code))
open(prefix + ".expected", "w").write("\n".join(exp) + "\n")
open(prefix + ".type", "w").write("".join("\\\\" if c == "\\" else c for c in text))
open(prefix + ".virsh", "w").write("\n".join(calls) + "\n")
EOF
}
keys_after() { vg_events | tail -n +"$(($1 + 1))" | grep -E '^[0-9]+ key ' | cut -d' ' -f2- | grep -v ' 2$'; }
settle() {
    local mark=$1 want=$2 n last=-1 still=0
    while :; do
        n=$(keys_after "$mark" | wc -l)
        [ "$n" -ge "$want" ] && return 0
        if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; fi
        [ "$still" -ge 15 ] && return 1
        last=$n
        sleep 0.2
    done
}
lost() { python3 -c '
import collections, sys
e = open(sys.argv[1]).read().split(); g = sys.stdin.read().split()
exp = [" ".join(e[i:i+3]) for i in range(0, len(e), 3)]; got = [" ".join(g[i:i+3]) for i in range(0, len(g), 3)]
print(sum((collections.Counter(exp) - collections.Counter(got)).values()), 0 if exp == got else 1)' "$1"; }
median() { python3 -c 'import statistics, sys; print(round(statistics.median(float(x) for x in sys.argv[1:]), 1))' "$@"; }
now() { date +%s.%N; }

gen "$chars" "$out/inj"
gen "$vnc_chars" "$out/vnc"
gen "$virsh_chars" "$out/vir"
# inject_runs PREFIX CHARS ARGS...: sets rates, events, lost, reordered
inject_runs() {
    local prefix=$1 n=$2 r mark t0 t1 l o
    shift 2
    rates=() events=() lost_sum=0 reordered_sum=0 dropped_sum=0
    for r in $(seq 1 "$runs"); do
        mark=$(vg_mark)
        t0=$(now)
        redir-inject "$name" "$@" --type "$(cat "$prefix.type")" || echo "redir-inject $* failed" >&2
        t1=$(now)
        settle "$mark" "$(wc -l <"$prefix.expected")"
        read -r l o < <(keys_after "$mark" | lost "$prefix.expected")
        # The guest's own evdev reader falling behind (the kernel's
        # SYN_DROPPED, logged by the probe) is told apart from events that
        # never reached the guest.
        d=$(vg_events | tail -n +"$((mark + 1))" | grep -c 'input-dropped' || true)
        lost_sum=$((lost_sum + l)) reordered_sum=$((reordered_sum + o)) dropped_sum=$((dropped_sum + d))
        if [ "$l" != 0 ] || [ "$o" != 0 ]; then
            keep=$(mktemp -d "${TMPDIR:-/tmp}/vredir-injbench-loss.XXXXXX")
            cp "$prefix.expected" "$keep/expected"
            vg_events | tail -n +"$((mark + 1))" >"$keep/guest-events"
            echo "run $r of redir-inject $*: $l lost, $d reader overflows in the guest; its events are in $keep" >&2
        fi
        rates+=("$(python3 -c "print($n / ($t1 - $t0))")")
        events+=("$(python3 -c "print($(wc -l <"$prefix.expected") / ($t1 - $t0))")")
    done
}
inject_runs "$out/inj" "$chars" --keyboard virtio
inj=$(median "${rates[@]}") inj_ev=$(median "${events[@]}") inj_lost=$lost_sum inj_reordered=$reordered_sum inj_dropped=$dropped_sum
# The same keyboard as a domain without a D-Bus display has it: the events
# through QEMU's Barrier client, then through QMP.
VREDIR_VIRTIO_VIA_DBUS=0 inject_runs "$out/inj" "$chars" --keyboard virtio
bar=$(median "${rates[@]}") bar_ev=$(median "${events[@]}") bar_lost=$lost_sum bar_reordered=$reordered_sum bar_dropped=$dropped_sum
VREDIR_VIRTIO_VIA_DBUS=0 VREDIR_VIRTIO_VIA_BARRIER=0 inject_runs "$out/inj" "$chars" --keyboard virtio
qmp=$(median "${rates[@]}") qmp_ev=$(median "${events[@]}") qmp_lost=$lost_sum qmp_reordered=$reordered_sum qmp_dropped=$dropped_sum
inject_runs "$out/vnc" "$vnc_chars" --keyboard vnc
vnc=$(median "${rates[@]}") vnc_ev=$(median "${events[@]}") vnc_lost=$lost_sum vnc_reordered=$reordered_sum vnc_dropped=$dropped_sum
vir_rates=() vir_events=() vir_lost=0 vir_reordered=0
for r in $(seq 1 "$runs"); do
    mark=$(vg_mark)
    t0=$(now)
    while read -r codes; do
        # shellcheck disable=SC2086
        virsh -q -c qemu:///system send-key "$name" --codeset linux $codes >/dev/null || echo "virsh send-key failed" >&2
    done <"$out/vir.virsh"
    t1=$(now)
    settle "$mark" "$(wc -l <"$out/vir.expected")"
    read -r l o < <(keys_after "$mark" | lost "$out/vir.expected")
    vir_lost=$((vir_lost + l)) vir_reordered=$((vir_reordered + o))
    vir_rates+=("$(python3 -c "print($virsh_chars / ($t1 - $t0))")")
    vir_events+=("$(python3 -c "print($(wc -l <"$out/vir.expected") / ($t1 - $t0))")")
done
vir=$(median "${vir_rates[@]}")
echo "typing mixed printable ASCII on the test guest (TCG), median of $runs runs:"
printf '  %-40s %7s chars/s %7s key events/s  lost %s, reordered runs %s, guest reader overflows %s\n' \
    "redir-inject --keyboard virtio ($chars)" "$inj" "$inj_ev" "$inj_lost" "$inj_reordered" "$inj_dropped" \
    "  no D-Bus display: Barrier ($chars)" "$bar" "$bar_ev" "$bar_lost" "$bar_reordered" "$bar_dropped" \
    "  the same, through QMP ($chars)" "$qmp" "$qmp_ev" "$qmp_lost" "$qmp_reordered" "$qmp_dropped" \
    "redir-inject --keyboard vnc ($vnc_chars)" "$vnc" "$vnc_ev" "$vnc_lost" "$vnc_reordered" "$vnc_dropped" \
    "virsh send-key, 1 call/char ($virsh_chars)" "$vir" "$(median "${vir_events[@]}")" "$vir_lost" "$vir_reordered" "-"
printf '  %-40s %7s chars/s (reference, not measured)\n' "openQA type_string default" 30
echo "  ratio redir-inject (virtio) / virsh send-key: $(python3 -c "print(round($inj / $vir, 2))")x"
echo "  ratio redir-inject (vnc) / virsh send-key: $(python3 -c "print(round($vnc / $vir, 2))")x"

# ---- a domain without a virtio keyboard: hot-plugged for the run -------------------------
VG_CMDLINE=vredir.text vg_define "vredir-test-injbench-hp-$$"
vg_redefine "/<input type='keyboard' bus='virtio'\/>/d"
hp=$VG_NAME
vg_start >/dev/null 2>&1 || vg_fail "the guest without a virtio keyboard did not boot"
need_tools redir-capture
redir-capture "$hp" --until-text '^/ #' --timeout 60 >/dev/null 2>&1 || vg_fail "no prompt on $hp"
# type_file N ARGS...: N characters of 79-column lines into /tmp/typed; prints
# seconds, then "ok" or what arrived
type_file() {
    local n=$1 t0 t1 want got
    shift
    python3 - "$n" "$out/hp" <<'EOF'
import random, sys
n, prefix = int(sys.argv[1]), sys.argv[2]
r = random.Random(n)
alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_=+()[]{}<>/?!@#%^&*~"
text, line = [], []
for i in range(n):
    if len(line) == 79:
        text.append("".join(line) + "\n"); line = []
    else:
        line.append(r.choice(alphabet))
text.append("".join(line) + "\n")
t = "".join(text)[:n - 1] + "\n"
open(prefix + ".txt", "w").write(t)
open(prefix + ".type", "w").write(t.replace("\n", "\\n"))
EOF
    redir-inject "$hp" --type 'cat > /tmp/typed\n' 2>/dev/null
    sleep 0.5
    t0=$(now)
    redir-inject "$hp" "$@" --type "$(cat "$out/hp.type")" 2>"$out/hp.err" || echo "redir-inject $* failed: $(cat "$out/hp.err")" >&2
    t1=$(now)
    redir-inject "$hp" --key ctrl-d 2>/dev/null
    local mark
    mark=$(vg_serial | grep -a -c '')
    redir-inject "$hp" --type 'wc -c < /tmp/typed > /dev/ttyS0; md5sum /tmp/typed > /dev/ttyS0\n' 2>/dev/null
    want=$(md5sum <"$out/hp.txt" | cut -d' ' -f1)
    got=""
    for _ in $(seq 1 60); do
        got=$(vg_serial | tail -n +"$((mark + 1))" | grep -a -oE '^[0-9a-f]{32}  /tmp/typed' | tail -1 | cut -d' ' -f1)
        [ -n "$got" ] && break
        sleep 0.25
    done
    size=$(vg_serial | tail -n +"$((mark + 1))" | grep -a -E '^ *[0-9]+$' | tail -1 | tr -d ' ')
    echo "$(python3 -c "print($t1 - $t0)") $([ "$got" = "$want" ] && echo ok || echo "lost:$(( $(wc -c <"$out/hp.txt") - ${size:-0} ))")"
}
read -r hp_secs hp_ok < <(type_file "$hp_chars")
read -r hpb_secs hpb_ok < <(VREDIR_VIRTIO_VIA_DBUS=0 type_file "$hp_chars")
read -r hpq_secs hpq_ok < <(VREDIR_VIRTIO_VIA_DBUS=0 VREDIR_VIRTIO_VIA_BARRIER=0 type_file "$hp_chars")
read -r hpv_secs hpv_ok < <(type_file "$hp_vnc_chars" --keyboard vnc)
echo "typing lines into a domain without a virtio keyboard (text console), one run each:"
printf '  %-52s %7s chars/s  %s\n' \
    "redir-inject, hot-plugged virtio keyboard ($hp_chars)" "$(python3 -c "print(round($hp_chars / $hp_secs, 1))")" \
    "$hp_ok (the plug-in included)" \
    "  without the D-Bus display: Barrier ($hp_chars)" "$(python3 -c "print(round($hp_chars / $hpb_secs, 1))")" \
    "$hpb_ok" \
    "  the same, through QMP ($hp_chars)" "$(python3 -c "print(round($hp_chars / $hpq_secs, 1))")" \
    "$hpq_ok" \
    "redir-inject --keyboard vnc ($hp_vnc_chars)" "$(python3 -c "print(round($hp_vnc_chars / $hpv_secs, 1))")" "$hpv_ok"
printf '  %-52s %7s chars/s (reference, not measured)\n' "openQA type_string default" 30
echo "  ratio hot-plugged / VNC path: $(python3 -c "print(round(($hp_chars / $hp_secs) / ($hp_vnc_chars / $hpv_secs), 2))")x"
