#!/usr/bin/env bash
# redir-mux serve/connect on the real test guest, over real TLS 1.3 on
# loopback with a throwaway CA: login, bans, pre-auth limits, ACLs (on what a
# name, UUID or id resolves to), boot on select (never by a view-only
# account), streaming both ways, two clients, crash isolation, clients that
# stop reading, a guest agent that answers with the wrong types, fingerprint
# pinning and ACPI shutdown. One guest for the whole group; the checks that
# need no guest are in mux_hostile.sh.
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-mux redir-capture redir-inject redir-dump
need_helpers vrs-build
command -v openssl >/dev/null || { echo "not ok - openssl is missing (apt-get install -y openssl)"; exit 1; }

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"

source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

out=$(mktemp -d /tmp/vredir-mux.XXXXXX)
pids=()
cleanup() {
    local rc=$? p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "${serve_pid:-}" ] && { kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; }
    [ "$rc" = 0 ] && rm -rf "$out" || echo "# kept $out" >&2
    vg_cleanup "$rc"
}

# ---- a throwaway CA and a server certificate for 127.0.0.1 ------------------
source "$(dirname "${BASH_SOURCE[0]}")/lib/mux_server.sh"
mux_make_cert vredir-test-ca || vg_fail "openssl could not make a certificate"

vg_ensure_libvirt
vg_build
name=vredir-test-mux-$$
vg_define "$name"
trap cleanup EXIT   # after vg_define, which installs its own trap
# A UUID that starts with "db": an ACL glob "db*" must not match it (M1).
uuid=db5e0000-0000-4000-8000-$(printf '%012d' $$)
virsh -c qemu:///system dumpxml --inactive "$name" | sed "s|<uuid>[^<]*</uuid>|<uuid>$uuid</uuid>|" >"$out/db.xml"
virsh -c qemu:///system undefine "$name" >/dev/null && virsh -c qemu:///system define "$out/db.xml" >/dev/null ||
    vg_fail "could not give $name the UUID $uuid"

# ---- users: alice types, vera only watches, carol may see nothing here ------
users=$out/users
echo 'alice-pw' >"$out/alice.pw"
echo 'vera-pw' >"$out/vera.pw"
echo 'wrong-pw' >"$out/wrong.pw"
VREDIR_PASSWORD=alice-pw redir-mux users add alice --users "$users" --vms 'vredir-test-mux-*'
VREDIR_PASSWORD=vera-pw redir-mux users add vera --users "$users" --vms 'vredir-test-mux-*' --view-only
VREDIR_PASSWORD=carol-pw redir-mux users add carol --users "$users" --vms 'elsewhere-*'
VREDIR_PASSWORD=dora-pw redir-mux users add dora --users "$users" --vms 'db*'
check "users file is mode 0600" [ "$(stat -c %a "$users")" = 600 ]
check "users list shows the four accounts" [ "$(redir-mux users list --users "$users" | wc -l)" = 4 ]
chmod 644 "$users"
redir-mux serve --listen tls://127.0.0.1:0 --cert "$out/cert.pem" --key "$out/key.pem" --users "$users" \
    2>"$out/refused.err"
rc=$?
check "serve refuses a world-readable users file (exit 4)" [ $rc = 4 ]
chmod 600 "$users"
redir-mux serve --listen tcp://0.0.0.0:0 --users "$users" 2>"$out/plain.err"
check "serve refuses plain tcp:// on a non-loopback address (exit 2)" [ $? = 2 ]

# ---- the server --------------------------------------------------------------
ban_time=6
mkdir "$out/rec"
mux_start_serve "$out/serve.log" --record "$out/rec" --users "$users" \
    -c qemu:///system --auth-timeout 2 --ban-time $ban_time --stall-timeout 12 ||
    vg_fail "serve did not start: $(cat "$out/serve.log")"
mux() { redir-mux connect "$url" --ca "$out/ca.pem" "$@"; }

# ---- server identity ---------------------------------------------------------
fp=$(openssl x509 -noout -fingerprint -sha256 -in "$out/cert.pem")
redir-mux connect "$url" --fingerprint "$fp" --user alice --password-file "$out/alice.pw" --list >/dev/null 2>&1
check "a pinned fingerprint in openssl's colon form is accepted" [ $? = 0 ]
other=$(openssl x509 -noout -fingerprint -sha256 -in "$out/ca.pem")
redir-mux connect "$url" --fingerprint "$other" --user alice --password-file "$out/alice.pw" --list \
    >/dev/null 2>"$out/fp.err"
rc=$?
check "a pinned-fingerprint mismatch exits 4 with one clear line" \
    eval '[ $rc = 4 ] && [ "$(wc -l <"$out/fp.err")" = 1 ] && grep -q "fingerprint mismatch" "$out/fp.err"'
redir-mux connect "$url" --known-hosts "$out/kh" --user alice --password-file "$out/alice.pw" --list >/dev/null 2>&1
sed -i "s/ [0-9a-f]*\$/ $(printf '00%.0s' $(seq 32))/" "$out/kh"
redir-mux connect "$url" --known-hosts "$out/kh" --user alice --password-file "$out/alice.pw" --list \
    >/dev/null 2>"$out/kh.err"
rc=$?
check "known hosts: first use trusted, a changed key refused loudly (exit 4)" \
    eval '[ $rc = 4 ] && grep -q "HAS CHANGED" "$out/kh.err"'

# ---- list and ACL ------------------------------------------------------------
mux --user alice --password-file "$out/alice.pw" --list >"$out/list" 2>"$out/list.err"
check "--list shows the guest to alice, shut off, with its devices" \
    grep -qE "^$name +shutoff +.*vnc" "$out/list"
mux --user carol --password-file <(echo carol-pw) --list --json >"$out/list.carol"
check "--list shows carol none of the VMs her ACL does not allow" [ ! -s "$out/list.carol" ]
mux --user alice --password-file "$out/alice.pw" --list --json | grep -q "\"name\":\"$name\""
check "--list --json has one object per VM" [ $? = 0 ]
mux --user carol --password-file <(echo carol-pw) --vm "$name" >/dev/null 2>"$out/forbid.err"
rc=$?
check "selecting a forbidden VM exits 4" eval '[ $rc = 4 ] && grep -q "not allowed" "$out/forbid.err"'
mux --user dora --password-file <(echo dora-pw) --vm "$uuid" </dev/null >/dev/null 2>"$out/m1.err"
rc=$?
check "M1: ACL db* and the VM's UUID $uuid: exit 4, and the VM was not booted" \
    eval '[ $rc = 4 ] && grep -q "not allowed" "$out/m1.err" && [ "$(vg_state)" = "shut off" ]'
mux --user vera --password-file "$out/vera.pw" --vm "$name" </dev/null >/dev/null 2>"$out/l1.err"
rc=$?
check "L1: a view-only account selecting a shut-off VM: exit 4, booting needs input rights, not booted" \
    eval '[ $rc = 4 ] && grep -q "needs input rights" "$out/l1.err" && [ "$(vg_state)" = "shut off" ]'

# ---- wrong password, unknown user --------------------------------------------
t0=$(date +%s%N)
mux --user alice --password-file "$out/wrong.pw" --list >/dev/null 2>"$out/wrong.err"
rc_wrong=$?
t1=$(date +%s%N)
mux --user nosuchuser --password-file "$out/wrong.pw" --list >/dev/null 2>"$out/unknown.err"
rc_unknown=$?
t2=$(date +%s%N)
check "a wrong password exits 4" [ $rc_wrong = 4 ]
check "an unknown user gets the same exit and message" \
    eval '[ $rc_unknown = 4 ] && cmp -s "$out/wrong.err" "$out/unknown.err"'
ms_wrong=$(((t1 - t0) / 1000000)) ms_unknown=$(((t2 - t1) / 1000000))
echo "# wrong password ${ms_wrong} ms, unknown user ${ms_unknown} ms"
check "an unknown user takes a similar time (within a factor 2)" \
    eval '[ $((ms_unknown * 2)) -ge $ms_wrong ] && [ $((ms_wrong * 2)) -ge $ms_unknown ]'
check "every attempt is logged in one parseable line" \
    eval 'grep -q "auth result=fail addr=127.0.0.1 user=\"alice\"$" "$out/serve.log" && grep -q "auth result=fail addr=127.0.0.1 user=\"nosuchuser\"$" "$out/serve.log"'

# ---- five failures ban; the ban ends -----------------------------------------
sleep $((ban_time + 1))   # earlier failures count toward the address: start clean
for i in 1 2 3 4 5; do mux --user alice --password-file "$out/wrong.pw" --list >/dev/null 2>&1; done
mux --user alice --password-file "$out/alice.pw" --list >/dev/null 2>"$out/ban.err"
rc=$?
check "after five failures even the right password is refused (exit 4, try again)" \
    eval '[ $rc = 4 ] && grep -q "try again" "$out/ban.err" && grep -q "result=banned addr=127.0.0.1 user=\"alice\"" "$out/serve.log"'
sleep $((ban_time + 1))
mux --user alice --password-file "$out/alice.pw" --list >/dev/null 2>&1
check "after the ban period the right password works again" [ $? = 0 ]

# ---- pre-auth limits ---------------------------------------------------------
python3 - "$port" >"$out/silent" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.time()
s.settimeout(30)
try:
    while s.recv(4096):
        pass
except OSError:
    pass
print(round(time.time() - t, 1))
EOF
silent=$(cat "$out/silent")
check "a silent connection is dropped after the pre-auth timeout (${silent} s, timeout 2 s)" \
    python3 -c "import sys; sys.exit(0 if 1.5 <= $silent <= 6 else 1)"
python3 - "$port" "$out/hold" <<'EOF' &
import socket, sys, time, os
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(100)]
open(sys.argv[2], "w").write("open\n")
time.sleep(20)
EOF
hold_pid=$!
pids+=("$hold_pid")
for _ in $(seq 1 100); do [ -s "$out/hold" ] && break; sleep 0.1; done
mux --user alice --password-file "$out/alice.pw" --source 127.0.0.2 --list >/dev/null 2>"$out/flood.err"
check "100 silent connections from 127.0.0.1 do not stop a real login from 127.0.0.2" [ $? = 0 ]
kill "$hold_pid" 2>/dev/null

# ---- boot on select, display frames ------------------------------------------
timeout -s INT 60 redir-mux connect "$url" --ca "$out/ca.pem" --user alice --password-file "$out/alice.pw" \
    --vm "$name" </dev/null 2>"$out/boot.err" | head -c 500000 >"$out/boot.vrs"
check "selecting a shut-off VM boots it (progress: booting, waiting for display)" \
    eval 'grep -q "booting" "$out/boot.err" && grep -q "waiting for display" "$out/boot.err"'
redir-dump "$out/boot.vrs" >"$out/boot.txt" 2>/dev/null
check "display frames arrive from the booted VM" \
    eval 'grep -q "SURFACE" "$out/boot.txt" && grep -q "RECT" "$out/boot.txt"'
vg_wait_log '^ready [0-9]+x[0-9]+$' 90 >/dev/null || vg_fail "the guest booted by serve did not get ready"

# ---- two clients: both see, only alice types ---------------------------------
mkfifo "$out/a.in" "$out/v.in"
mux --user alice --password-file "$out/alice.pw" --vm "$name" --record "$out/a.rec.vrs" <"$out/a.in" >"$out/a.vrs" \
    2>"$out/a.err" &
a_pid=$!
mux --user vera --password-file "$out/vera.pw" --vm "$name" <"$out/v.in" >"$out/v.vrs" 2>"$out/v.err" &
v_pid=$!
pids+=("$a_pid" "$v_pid")
exec 7>"$out/a.in" 8>"$out/v.in"
# keys WHO CODE...: the next part of WHO's one long keyboard stream (no END:
# an END would end the session), pressing and releasing each key.
declare -A kb_sent=([a]=0 [v]=0) kb_seq=([a]=0 [v]=0)
for who in a v; do printf 'hello producer=test\ntime 0\ndeclare 1 keyboard kbd\n' >"$out/kb.$who"; done
keys() {
    local who=$1 code
    shift
    for code in "$@"; do
        echo "key 1 $((++kb_seq[$who])) $code down"
        echo "key 1 $((++kb_seq[$who])) $code up"
    done >>"$out/kb.$who"
    vrs-build "$out/kb.$who" >"$out/kb.$who.vrs" || vg_fail "vrs-build failed"
    tail -c +$((kb_sent[$who] + 1)) "$out/kb.$who.vrs"
    kb_sent[$who]=$(stat -c %s "$out/kb.$who.vrs")
}
sleep 3
vg_cmd "bar on"
mark=$(vg_mark)
keys v 48 46 >&8   # vera: b c (must not arrive)
keys a 30 >&7      # alice: a
vg_wait_log --after "$mark" '^key 30 0$' 20 >/dev/null
check "alice's key reaches the guest through serve (probe serial log)" [ $? = 0 ]
sleep 1
check "vera (view-only) cannot type: none of her keys reached the guest" \
    eval '! vg_events | tail -n +$((mark + 1)) | grep -qE "^[0-9]+ key (48|46) "'
a_session=$(sed -n "s/.*(pid \([0-9]*\)) user=\"alice\": VM '$name'\$/\1/p" "$out/serve.log" | tail -1)
v_session=$(sed -n "s/.*(pid \([0-9]*\)) user=\"vera\": VM '$name'\$/\1/p" "$out/serve.log" | tail -1)
n_a=$(redir-dump "$out/a.vrs" 2>/dev/null | grep -c RECT)
n_v=$(redir-dump "$out/v.vrs" 2>/dev/null | grep -c RECT)
check "both clients get display frames ($n_a and $n_v RECT frames)" eval '[ "$n_a" -gt 0 ] && [ "$n_v" -gt 0 ]'
check "alice gets acks for her input" eval 'redir-dump "$out/a.vrs" 2>/dev/null | grep -q ACK'
check "serve deflates the stream to a TLS client by default (DEFLATE frames on the wire)" python3 -c "
import sys; sys.path.insert(0, '$VREDIR_SOURCE_DIR/tests/integration/lib'); import vrs
frames, _ = vrs.read_frames(open('$out/a.vrs', 'rb').read()[12:])
sys.exit(0 if any(c == 0 and t == 0x04 for c, t, _ in frames) else 1)"

# ---- one session killed, the other goes on -----------------------------------
kill -9 "$v_session" 2>/dev/null
sleep 1.5
mark=$(vg_mark)
keys a 31 >&7
vg_wait_log --after "$mark" '^key 31 0$' 20 >/dev/null
check "after vera's session was killed, alice's session still types" [ $? = 0 ]
check "the killed session left no processes (its group is gone)" eval '! pgrep -g "$v_session" >/dev/null'
check "no zombies under the listener" eval '! ps -o stat= --ppid "$serve_pid" | grep -q Z'
n1=$(redir-dump "$out/a.vrs" 2>/dev/null | grep -c RECT); sleep 2
n2=$(redir-dump "$out/a.vrs" 2>/dev/null | grep -c RECT)
check "alice's display keeps flowing ($n1 -> $n2 RECT frames)" [ "$n2" -gt "$n1" ]
mux --user alice --password-file "$out/alice.pw" --list >/dev/null 2>&1
check "the listener still accepts logins" [ $? = 0 ]
exec 8>&-

# ---- M1 by id; clients that stop reading (M2) -------------------------------
id=$(virsh -c qemu:///system domid "$name")
mux --user dora --password-file <(echo dora-pw) --vm "$id" </dev/null >/dev/null 2>"$out/m1id.err"
rc=$?
check "M1: ACL db* and the running VM's id $id: exit 4" eval '[ $rc = 4 ] && grep -q "not allowed" "$out/m1id.err"'
# Summed Pss (KiB) of serve and every process under it.
pss() {
    local all=" $serve_pid " grew=1 p pp
    while [ $grew = 1 ]; do
        grew=0
        while read -r p pp; do
            case "$all" in *" $pp "*) case "$all" in *" $p "*) ;; *) all="$all$p "; grew=1 ;; esac ;; esac
        done < <(ps -e -o pid=,ppid=)
    done
    for p in $all; do awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'
}
# Two clients, one view-only, that stop reading while the screen changes
# wholesale (a solid colour, then another, each a full raw frame).
port_of_url=${url##*:}
peer="python3 $VREDIR_SOURCE_DIR/tests/integration/lib/mux_peer.py"
colours=(ff0000 00ff00 0000ff ffffff)
$peer stall "$port_of_url" 127.0.0.20 alice alice-pw "$name" 40 >"$out/stall-a" 2>&1 &
stall_a=$!
$peer stall "$port_of_url" 127.0.0.21 vera vera-pw "$name" 40 >"$out/stall-v" 2>&1 &
stall_v=$!
pids+=("$stall_a" "$stall_v")
for _ in $(seq 1 300); do [ "$(cat "$out/stall-a" "$out/stall-v" | grep -c '^selected')" = 2 ] && break; sleep 0.1; done
t0=$(date +%s)
# The sessions' display tools start up first; then the memory is watched.
for i in 1 2 3; do vg_cmd "solid ${colours[$i]}" >/dev/null; sleep 1; done
base=$(pss)
peak=$base
dropped=0
for i in $(seq 1 30); do
    vg_cmd "solid ${colours[$((i % 4))]}" >/dev/null
    p=$(pss)
    [ "$p" -gt "$peak" ] && peak=$p
    dropped=$(grep -c 'user=.*: client stopped reading for 12 s; dropped' "$out/serve.log")
    [ "$dropped" -ge 2 ] && break
    sleep 1
done
waited=$(($(date +%s) - t0))
echo "# M2: two clients stopped reading while the screen changed: serve's summed Pss $((base / 1024)) -> peak" \
    "$((peak / 1024)) MiB; $dropped dropped ${waited} s after they stopped"
check "M2: both clients got the VM's streams before they stopped reading" \
    eval '[ "$(cat "$out/stall-a" "$out/stall-v" | grep -c "^selected")" = 2 ]'
check "M2: memory stays flat while two clients do not read (+$(((peak - base) / 1024)) MiB)" \
    [ $((peak - base)) -lt 12288 ]
check "M2: both are dropped after the stall timeout (12 s; after ${waited} s), with the reason in the log" \
    eval '[ "$dropped" = 2 ] && [ $waited -ge 11 ] && [ $waited -le 28 ]'
kill "$stall_a" "$stall_v" 2>/dev/null
vg_cmd card >/dev/null

# ---- L4: a guest agent answering with the wrong JSON types --------------------
vg_cmd "agent-replies malformed"
mux --user alice --password-file "$out/alice.pw" --vm "$name" --control logoff 2>"$out/l4.err"
rc=$?
vg_cmd "agent-replies normal"
check "L4: logoff with malformed guest agent replies: a clean error (exit $rc: $(cat "$out/l4.err"))" \
    eval '[ $rc = 7 ] && [ "$(wc -l <"$out/l4.err")" = 1 ] && grep -q "guest-exec-status" "$out/l4.err"'
check "L4: the server is still there" kill -0 "$serve_pid"

# ---- resolution through the session -----------------------------------------
mark=$(vg_mark)
mux --user alice --password-file "$out/alice.pw" --vm "$name" --control resolution=800x600 2>"$out/res.err"
rc=$?
vg_wait_log --after "$mark" '^mode 800x600$' 30 >/dev/null
mode_rc=$?
check "--control resolution=800x600 exits 0 and the guest switches mode" eval '[ $rc = 0 ] && [ $mode_rc = 0 ]'
mux --user alice --password-file "$out/alice.pw" --vm "$name" --control resolution=1x >/dev/null 2>&1
check "a malformed resolution is refused (exit 2)" [ $? = 2 ]
mux --user vera --password-file "$out/vera.pw" --vm "$name" --control shutdown >/dev/null 2>"$out/vera-ctl.err"
rc=$?
check "a view-only user cannot send control commands (exit 4)" \
    eval '[ $rc = 4 ] && [ "$(vg_state)" = running ] && grep -q "view-only" "$out/vera-ctl.err"'

# ---- reboot: alice's streaming session survives it ---------------------------
mark=$(vg_mark)
mux --user alice --password-file "$out/alice.pw" --vm "$name" --control reboot 2>"$out/reboot.err"
rc=$?
vg_wait_log --after "$mark" '^ready [0-9]+x[0-9]+$' 90 >/dev/null
ready_rc=$?
check "--control reboot exits 0 and the guest comes back" eval '[ $rc = 0 ] && [ $ready_rc = 0 ]'
vg_cmd "bar on"
n1=$(redir-dump "$out/a.vrs" 2>/dev/null | grep -c RECT); sleep 2
n2=$(redir-dump "$out/a.vrs" 2>/dev/null | grep -c RECT)
check "alice's session survives the reboot: still running, frames still flowing ($n1 -> $n2)" \
    eval 'kill -0 "$a_pid" && [ "$n2" -gt "$n1" ]'
mark=$(vg_mark)
keys a 32 >&7
vg_wait_log --after "$mark" '^key 32 0$' 20 >/dev/null
check "alice's input still reaches the guest after the reboot" [ $? = 0 ]

# ---- shutdown through ACPI ends the session with the reason ------------------
exec 7>&-
wait "$a_pid" 2>/dev/null
mux --user alice --password-file "$out/alice.pw" --vm "$name" --control shutdown 2>"$out/shutdown.err"
rc=$?
check "--control shutdown exits 0 with the reason" eval '[ $rc = 0 ] && grep -q "shut down" "$out/shutdown.err"'
check "the guest went down through ACPI (probe logged: poweroff acpi)" eval 'vg_events | grep -q "poweroff acpi"'
check "the VM is shut off" [ "$(vg_state)" = "shut off" ]

# ---- recordings --------------------------------------------------------------
redir-dump "$out/a.rec.vrs" >"$out/a.rec.txt" 2>&1
check "connect --record: display down and keys up in one stream" \
    eval 'grep -q RECT "$out/a.rec.txt" && grep -q KEY "$out/a.rec.txt"'
rec_ok=0
for f in "$out"/rec/*.vrs; do
    redir-dump "$f" 2>/dev/null | grep -q KEY && redir-dump "$f" 2>/dev/null | grep -q RECT && rec_ok=1
done
check "serve --record: a session file holds display down and keys up" [ $rec_ok = 1 ]
# The recordings are deflated, so a short pattern can occur by chance in the
# raw bytes: look for the whole passwords, raw and decoded.
for f in "$out/a.rec.vrs" "$out"/rec/*.vrs; do redir-dump --json "$f" 2>/dev/null; done >"$out/rec.all.txt"
check "no recording holds a password" \
    eval '! grep -qaE -- "(alice|vera|carol|dora)-pw" "$out/a.rec.vrs" "$out"/rec/*.vrs "$out/rec.all.txt"'

kill "$serve_pid"
wait "$serve_pid"
check "serve exits 0 on SIGTERM" [ $? = 0 ]
serve_pid=
tap_finish
