#!/usr/bin/env bash
# redir-mux serve against hostile peers, over real TLS 1.3 on loopback, with
# 127.0.0.N as different source addresses (connect --source): memory before
# login, per-source and global pre-auth limits, parallel guessing, accounts
# guessed from elsewhere, log injection, client certificates, the audit log,
# the idle timeout, private recordings and users files. The server runs on
# libvirt's test driver (test:///default, one running domain "test"): these
# checks are about the network face, and no guest has to boot for them (the
# VM-side checks are in mux.sh).
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-mux redir-dump
need_helpers vrs-build
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
need_packages openssl:openssl python3:python3
peer="python3 $VREDIR_SOURCE_DIR/tests/integration/lib/mux_peer.py"

out=$(mktemp -d /tmp/vredir-mux-hostile.XXXXXX)
serve_pid=
pids=()
cleanup() {
    local rc=$? p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$serve_pid" ] && { kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; }
    [ "$rc" = 0 ] && [ "$failures" = 0 ] && rm -rf "$out" || echo "# kept $out" >&2
}
trap cleanup EXIT

# ---- certificates: a CA and the server's; two self-signed client certificates
source "$(dirname "${BASH_SOURCE[0]}")/lib/mux_server.sh"
mux_make_cert vredir-test-ca || { not_ok "openssl could not make a certificate"; exit 1; }
for c in carl stranger; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$c" \
        -keyout "$out/$c.key" -out "$out/$c.pem" 2>/dev/null
done
carl_fp=$(openssl x509 -noout -fingerprint -sha256 -in "$out/carl.pem")

# ---- users -------------------------------------------------------------------
users=$out/users
echo alice-pw >"$out/alice.pw"
echo wrong-pw >"$out/wrong.pw"
VREDIR_PASSWORD=alice-pw redir-mux users add alice --users "$users" --vms 'te*'
VREDIR_PASSWORD=bob-pw redir-mux users add bob --users "$users" --vms '*'
redir-mux users add carl --users "$users" --vms 'te*' --cert-fingerprint "$carl_fp"
check "a certificate-only account needs no password" \
    eval 'redir-mux users list --users "$users" --json | grep -q "\"name\":\"carl\".*\"login\":\"cert\""'

# L3: a users file that group or others can write is refused.
chmod 622 "$users"
redir-mux serve --listen tls://127.0.0.1:0 --cert "$out/cert.pem" --key "$out/key.pem" --users "$users" \
    2>"$out/l3.err"
rc=$?
check "L3: serve refuses a users file others can write (exit 4, one line: $(cat "$out/l3.err"))" \
    eval '[ $rc = 4 ] && [ "$(wc -l <"$out/l3.err")" = 1 ] && grep -q "writable by others" "$out/l3.err"'
chmod 600 "$users"

# ---- the server --------------------------------------------------------------
mkdir "$out/rec"
(umask 022; exec redir-mux serve --listen tls://127.0.0.1:0 --cert "$out/cert.pem" --key "$out/key.pem" \
    --users "$users" -c test:///default --audit "$out/audit.jsonl" --record "$out/rec" --auth-timeout 10 \
    --ban-time 30 --idle-timeout 3 --max-pending-per-source 30 --max-startups 10:30:60 2>"$out/serve.log") &
serve_pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$out/serve.log" && break; sleep 0.1; done
port=$(sed -n 's|.*listening on tls://127.0.0.1:\([0-9]*\).*|\1|p' "$out/serve.log")
[ -n "$port" ] || { not_ok "serve did not start: $(cat "$out/serve.log")"; exit 1; }
url=tls://127.0.0.1:$port
mux() { redir-mux connect "$url" --ca "$out/ca.pem" "$@"; }

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

mux --user alice --password-file "$out/alice.pw" --list >"$out/list" 2>"$out/list.err"
check "a login works ($(head -2 "$out/list" | tail -1))" grep -q '^test ' "$out/list"

# ---- L2: recordings are private ------------------------------------------------
rec=$(ls "$out"/rec/*.vrs 2>/dev/null | head -1)
check "L2: serve --record files are mode 0600 under umask 022 ($(stat -c %a "$rec" 2>/dev/null))" \
    [ "$(stat -c %a "$rec" 2>/dev/null)" = 600 ]

# ---- H1: memory before login -------------------------------------------------
# Well-formed GDI STATE frames with many clip rects, as fast as the server takes them.
{
    echo 'hello producer=flood'
    echo 'declare 9 gdi app'
    clip=$(python3 -c "print(';'.join('%d,%d,2,2' % (i % 300, i // 300) for i in range(3500)))")
    for t in $(seq 1 40); do echo "gdi 9 state target=$t clip=$clip"; done
    echo end
} | vrs-build >"$out/states.vrs"
check "the flood stream is well formed ($(stat -c %s "$out/states.vrs") bytes of STATE frames)" \
    redir-dump --check "$out/states.vrs"
base=$(pss)
for i in $(seq 10 25); do
    $peer flood "$port" "127.0.0.$i" 10000000 "$out/states.vrs" 25 >"$out/flood.$i" &
    pids+=($!)
done
peak=$base
login_rc=9
for s in $(seq 1 24); do
    p=$(pss)
    [ "$p" -gt "$peak" ] && peak=$p
    if [ $s = 8 ]; then
        mux --user alice --password-file "$out/alice.pw" --source 127.0.0.99 --list >/dev/null 2>"$out/h1-login.err"
        login_rc=$?
    fi
    sleep 1
done
wait "${pids[@]}" 2>/dev/null
pids=()
sent=$(cat "$out"/flood.* | sed -n 's/.*sent=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
conns=$(cat "$out"/flood.* | sed -n 's/.*connections=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
growth=$(((peak - base) / 1024))
echo "# H1: 16 sources pushed $((sent / 1048576)) MiB of STATE frames over $conns connections;" \
    "serve's summed Pss $((base / 1024)) -> peak $((peak / 1024)) MiB (+$growth MiB)"
check "H1: 16 flooding sources grow serve's summed Pss by under 32 MiB (+$growth MiB)" [ "$growth" -lt 32 ]
check "H1: a real login from another address succeeds meanwhile" [ "$login_rc" = 0 ]
check "H1: the flood was refused before login (its gdi channel)" \
    grep -q 'channel 9 declared before login' "$out/serve.log"

# What one pending connection costs: 8 held open after the TLS handshake
# (fewer than --max-startups' START, so none is refused at random).
base=$(pss)
for i in $(seq 30 37); do
    $peer late-login "$port" "127.0.0.$i" alice alice-pw "$out/never" 20 >"$out/pending.$i" 2>&1 &
    pids+=($!)
done
for _ in $(seq 1 80); do [ "$(pgrep -P "$serve_pid" | wc -l)" -ge 8 ] && break; sleep 0.1; done
sleep 1  # their TLS handshakes
held=$(pss)
n=$(pgrep -P "$serve_pid" | wc -l)
per=$(((held - base) / 8))
echo "# one connection waiting to log in (after its TLS handshake) costs $per KiB of summed Pss ($n sessions)"
check "8 connections wait to log in ($n session processes)" [ "$n" = 8 ]
check "a pending connection costs a few hundred KiB at most ($per KiB)" [ "$per" -lt 600 ]
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
wait "${pids[@]}" 2>/dev/null
pids=()

# ---- M3: per-source limit; a login in progress elsewhere survives -------------
$peer late-login "$port" 127.0.0.3 alice alice-pw "$out/go" 30 >"$out/m3.late" 2>&1 &
late=$!
sleep 1
$peer silent "$port" 127.0.0.2 100 4 "$out/m3.ready" >"$out/m3.silent" 2>&1
: >"$out/go"
wait "$late"
check "M3: 100 silent connections from 127.0.0.2 ($(cat "$out/m3.silent")): 30 held (the per-source limit), the rest refused" \
    grep -q 'opened=100 closed_by_server=70' "$out/m3.silent"
check "M3: the connection from 127.0.0.3 waiting to log in survives them and logs in ($(cat "$out/m3.late"))" \
    grep -qx auth-ok "$out/m3.late"
check "M3: the refusal is logged once per source, not per connection" \
    eval '[ "$(grep -c "refused 127.0.0.2 .*from this source" "$out/serve.log")" -le 2 ]'

# The global cap: 40 sources, 2 connections each, nobody logging in.
for i in $(seq 100 139); do $peer silent "$port" "127.0.0.$i" 2 3 "$out/g.$i" >"$out/global.$i" 2>&1 & pids+=($!); done
wait "${pids[@]}" 2>/dev/null
pids=()
held=$(cat "$out"/global.* | sed -n 's/opened=\([0-9]*\) closed_by_server=\([0-9]*\)/\1 \2/p' | awk '{h += $1 - $2} END {print h}')
check "the global cap: of 80 silent connections from 40 sources at most 60 were held ($held)" [ "$held" -le 60 ]
sleep 1

# ---- M4: parallel guessing from one source ------------------------------------
before=$(grep -c 'auth result=fail addr=127.0.0.4 ' "$out/serve.log")
for i in $(seq 1 24); do
    mux --user alice --password-file "$out/wrong.pw" --source 127.0.0.4 --list >/dev/null 2>&1 &
    pids+=($!)
done
wait "${pids[@]}" 2>/dev/null
pids=()
sleep 0.5
evaluated=$(($(grep -c 'auth result=fail addr=127.0.0.4 ' "$out/serve.log") - before))
banned=$(grep -c 'auth result=banned addr=127.0.0.4 ' "$out/serve.log")
echo "# M4: 24 parallel wrong passwords from 127.0.0.4: $evaluated evaluated, $banned refused unchecked"
check "M4: at most 5 of 24 parallel wrong passwords are evaluated ($evaluated)" \
    eval '[ "$evaluated" -ge 1 ] && [ "$evaluated" -le 5 ]'
mux --user alice --password-file "$out/alice.pw" --source 127.0.0.4 --list >/dev/null 2>"$out/m4.err"
rc=$?
check "M4: the right password from that source is then refused (exit 4: $(cat "$out/m4.err"))" \
    eval '[ $rc = 4 ] && grep -q "try again" "$out/m4.err"'

# ---- M5: an account guessed from elsewhere is slowed, never locked -------------
for i in $(seq 1 20); do mux --user bob --password-file "$out/wrong.pw" --source 127.0.0.5 --list >/dev/null 2>&1; done
t0=$(date +%s%N)
VREDIR_PASSWORD=bob-pw mux --user bob --source 127.0.0.6 --list >/dev/null 2>"$out/m5.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# M5: bob's login from 127.0.0.6 after 20 wrong passwords from 127.0.0.5 took $ms ms"
check "M5: after 20 wrong passwords for bob from 127.0.0.5, bob logs in from 127.0.0.6 at once ($ms ms)" \
    eval '[ $rc = 0 ] && [ $ms -lt 6000 ]'

# ---- M6: log injection after login ---------------------------------------------
evil=$(printf 'x\nauth result=ok addr=1.2.3.4 user=root\033[2J')$(head -c 10240 /dev/zero | tr '\0' v)
mux --user alice --password-file "$out/alice.pw" --vm "$evil" >/dev/null 2>"$out/m6.err"
rc=$?
line=$(grep 'VM "x' "$out/serve.log" | tail -1)
check "M6: a VM name with a newline, ESC and 10 KB is refused (exit 4)" [ $rc = 4 ]
check "M6: it gives one bounded log line (${#line} bytes), escaped" \
    eval '[ -n "$line" ] && [ ${#line} -lt 400 ] && [[ "$line" == *"\\x0a"* ]] && [[ "$line" == *"\\x1b"* ]]'
check "M6: no forged line reached the log" eval '! grep -q "^auth result=ok addr=1.2.3.4" "$out/serve.log"'
check "M6: no raw ESC in the log" eval '! grep -q $'"'"'\033'"'"' "$out/serve.log"'

# ---- client certificates -------------------------------------------------------
mux --user carl --cert "$out/carl.pem" --key "$out/carl.key" --list >"$out/carl.list" 2>"$out/carl.err"
check "a client certificate logs in as the account that names it" grep -q '^test ' "$out/carl.list"
mux --user carl --cert "$out/stranger.pem" --key "$out/stranger.key" --source 127.0.0.7 --list >/dev/null \
    2>"$out/stranger.err"
rc=$?
check "an unknown certificate is refused (exit 4: $(cat "$out/stranger.err"))" [ $rc = 4 ]
VREDIR_PASSWORD=- mux --user carl --source 127.0.0.7 --list >/dev/null 2>&1
check "a certificate-only account takes no password" [ $? = 4 ]
check "certificate logins are in the auth log" grep -q 'auth result=fail addr=127.0.0.7 user="carl"' "$out/serve.log"

# ---- a control command (audited) -----------------------------------------------
mux --user alice --password-file "$out/alice.pw" --vm test --control reboot 2>"$out/reboot.err"
check "a control command on the test driver's VM works" [ $? = 0 ]

# ---- idle timeout --------------------------------------------------------------
idle=$($peer idle "$port" 127.0.0.8 alice alice-pw 15)
check "an idle session ends after --idle-timeout 3 ($idle)" eval '[[ "$idle" == idle* ]]'

# ---- the audit log -------------------------------------------------------------
kill "$serve_pid"
wait "$serve_pid"
serve_pid=
python3 - "$out/audit.jsonl" >"$out/audit.check" <<'EOF'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    j = json.loads(line)
    assert set(j) == {"time", "source", "account", "event", "what", "result"}, j
    seen.add((j["event"], j["result"], j["what"] if j["event"] == "login" else ""))
need = [("login", "ok", "password"), ("login", "fail", "password"), ("login", "banned", "password"),
        ("login", "ok", "certificate"), ("login", "fail", "certificate"), ("refused", "refused", ""),
        ("select", "denied", ""), ("select", "ok", ""), ("command", "ok", ""), ("end", "normal", "")]
missing = [n for n in need if n not in seen]
print("missing: %s" % missing if missing else "all events present")
EOF
check "the audit log has one JSON line per login, refusal, selection and end ($(cat "$out/audit.check"))" \
    grep -qx 'all events present' "$out/audit.check"
check "the audit log is private (mode $(stat -c %a "$out/audit.jsonl"))" [ "$(stat -c %a "$out/audit.jsonl")" = 600 ]
tap_finish
