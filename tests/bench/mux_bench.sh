#!/usr/bin/env bash
# redir-mux serve/connect benchmarks over real TLS 1.3 on loopback, each a
# ratio against a peer measured in the same run, medians of RUNS:
#  throughput  a fixed SIZE_MB stream (raw 1024x768 RECT frames made once with
#              vrs-build) through serve -> connect, vs socat OPENSSL-LISTEN ->
#              socat OPENSSL forced to the same TLS 1.3 cipher suite. The
#              session's display source is a stand-in `redir-capture` (a
#              script beside a copy of redir-mux, which serve runs first) that
#              cats the prepared file, and the VM is test:///default's "test":
#              this measures the transport (TLS, the session's frame relay,
#              connect's frame parsing), not capture. Timed from the producer
#              starting (after TLS, login and select) to the last byte read.
#  latency     one control round trip through a session: a CONTROL frame
#              with an unknown verb, which the session process decodes and
#              answers with a `result` frame without touching libvirt (a
#              control-only session, streams=0), vs the same frame echoed by
#              socat (OPENSSL-LISTEN ... PIPE), same cipher suite; the client
#              is one small Python TLS client for both.
#  setup       connection set-up on the running test guest: TCP, TLS, auth
#              (password hash), VM list, select, and the first display RECT
#              from the session's real redir-capture, per phase; the same
#              through `redir-mux connect` (process start included) vs a
#              local `redir-capture` started with serve's arguments.
#  cpu         CPU per session, from /proc, with 1 and VIEWERS concurrent
#              view-only viewers of one guest while its bar animates (25
#              changes/s): listener, session processes, capture children,
#              QEMU and the clients, in CPU seconds per second.
#  bytes       what a remote client receives by default (connect with no
#              flags, serve's defaults: the stream deflated at level 6) for
#              SECS seconds of the moving bar, counted on the wire by a TCP
#              relay, vs QEMU's ZRLE for the same seconds (a relay on its VNC
#              socket). The other modes run serve with --compress 0, as their
#              earlier figures were taken.
# Timing here never decides a test's verdict.
#
# bash tests/bench/mux_bench.sh [throughput|latency|setup|cpu|bytes|all] [RUNS] [VIEWERS]
#   env: SIZE_MB (default 1024), PINGS (default 300), SECS (cpu window, default 20)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PATH="$VREDIR_BUILD_DIR/tools/redir-mux:$VREDIR_BUILD_DIR/tools/redir-capture:$VREDIR_BUILD_DIR/tools/redir-dump:$VREDIR_BUILD_DIR/tests:$PATH"
what=${1:-all} runs=${2:-5} viewers=${3:-20}
size_mb=${SIZE_MB:-1024} pings=${PINGS:-300} secs=${SECS:-20}
for t in socat:socat python3:python3 openssl:openssl redir-mux:redir-mux vrs-build:vrs-build; do
    command -v "${t%%:*}" >/dev/null || {
        case ${t#*:} in redir-mux | vrs-build) echo "${t%%:*} is not built (cmake --build $VREDIR_BUILD_DIR)" >&2 ;;
        *) echo "${t%%:*} is missing (apt-get install ${t#*:})" >&2 ;; esac
        exit 1
    }
done
want() { [ "$what" = all ] || [ "$what" = "$1" ]; }

out=$(mktemp -d "${TMPDIR:-/tmp}/vredir-muxbench.XXXXXX")
pids=()
guest=0
cleanup() {
    local rc=$? p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$out"
    [ "$guest" = 1 ] && vg_cleanup "$rc"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ns() { date +%s%N; }

# ---- certificates (a throwaway CA), users -------------------------------------
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib/mux_server.sh"
mux_make_cert vredir-bench-ca || { echo "openssl could not make a certificate" >&2; exit 1; }
users=$out/users
echo bench-pw >"$out/bench.pw"
VREDIR_PASSWORD=bench-pw redir-mux users add bench --users "$users" --vms '*' || exit 1
VREDIR_PASSWORD=bench-pw redir-mux users add viewer --users "$users" --vms '*' --view-only || exit 1

# start_serve BINARY URI LOG [ARGS...]: starts serve on a free loopback port; sets $port.
start_serve() {
    "$1" serve --listen tls://127.0.0.1:0 --cert "$out/cert.pem" --key "$out/key.pem" --users "$users" \
        -c "$2" "${@:4}" 2>"$3" &
    pids+=($!)
    serve_pid=$!
    port=
    for _ in $(seq 1 100); do
        port=$(sed -n 's|.*listening on tls://127.0.0.1:\([0-9]*\).*|\1|p' "$3")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "serve did not start: $(cat "$3")" >&2; exit 1; }
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# suite_of PORT: the TLS 1.3 suite a default OpenSSL client gets from PORT.
suite_of() {
    openssl s_client -connect "127.0.0.1:$1" -tls1_3 </dev/null 2>/dev/null | sed -n 's/^New, TLSv1.3, Cipher is //p' | head -1
}

# The client for the latency and set-up runs: frames are the stream format's
# 16-byte header (u32 length, u16 channel, u8 type, u8 flags, u64 time); the
# bytes it sends are made by vrs-build.
cat >"$out/client.py" <<'EOF'
import socket, ssl, statistics, struct, subprocess, sys, time

def frames(data):
    """Splits a vrs-build file (12-byte stream header, then frames)."""
    head, i, out = data[:12], 12, []
    while i < len(data):
        n = struct.unpack_from("<I", data, i)[0]
        out.append(data[i:i + 16 + n]); i += 16 + n
    return head, out

class Reader:
    def __init__(self, recv, header=True):
        self.recv, self.buf, self.skip = recv, b"", 12 if header else 0
    def frame(self):
        while True:
            if self.skip and len(self.buf) >= self.skip:
                self.buf, self.skip = self.buf[self.skip:], 0
            if not self.skip and len(self.buf) >= 16:
                n, ch, typ = struct.unpack_from("<IHB", self.buf)
                if len(self.buf) >= 16 + n:
                    f, self.buf = self.buf[:16 + n], self.buf[16 + n:]
                    return ch, typ, f[16:]
            d = self.recv(65536)
            if not d: raise EOFError("peer closed")
            self.buf += d
    def until_control(self, verb):
        while True:
            ch, typ, p = self.frame()
            if typ == 0x0f and ch == 0: raise EOFError("END: " + repr(p[3:]))
            if typ == 0x60 and p[1:1 + p[0]].decode() == verb: return

def tls(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")

def pct(v, q): v = sorted(v); return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]

mode = sys.argv[1]
if mode == "ping":    # PORT CA LOGIN.vrs N: control round trips through a session
    port, ca, n = int(sys.argv[2]), sys.argv[3], int(sys.argv[5])
    head, (hello, decl, auth, select, ping) = frames(open(sys.argv[4], "rb").read())
    s = tls(port, ca); r = Reader(s.recv)
    s.sendall(head + hello + decl + auth); r.until_control("list-end")
    s.sendall(select); r.until_control("selected")
    lat = []
    for i in range(n):
        t = time.perf_counter(); s.sendall(ping); r.until_control("result")
        lat.append((time.perf_counter() - t) * 1e6)
    print(f"{statistics.median(lat):.1f} {pct(lat, .95):.1f} {s.cipher()[0]} {len(ping)}")
elif mode == "echo":  # PORT CA LOGIN.vrs N: the same ping frame echoed back
    port, ca, n = int(sys.argv[2]), sys.argv[3], int(sys.argv[5])
    ping = frames(open(sys.argv[4], "rb").read())[1][-1]
    s = tls(port, ca)
    lat = []
    for i in range(n):
        t = time.perf_counter(); s.sendall(ping); got = b""
        while len(got) < len(ping):
            d = s.recv(65536)
            if not d: raise EOFError("peer closed")
            got += d
        lat.append((time.perf_counter() - t) * 1e6)
    print(f"{statistics.median(lat):.1f} {pct(lat, .95):.1f} {s.cipher()[0]} {len(ping)}")
elif mode == "setup":  # PORT CA LOGIN.vrs: ms to each step of a session
    port, ca = int(sys.argv[2]), sys.argv[3]
    head, fr = frames(open(sys.argv[4], "rb").read())
    hello, decl, auth, select = fr[:4]
    t0 = time.perf_counter(); ms = lambda: (time.perf_counter() - t0) * 1000
    raw = socket.create_connection(("127.0.0.1", port)); t_tcp = ms()
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ctx = ssl.create_default_context(cafile=ca); ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1"); t_tls = ms()
    r = Reader(s.recv)
    s.sendall(head + hello + decl + auth); r.until_control("auth-ok"); t_auth = ms()
    r.until_control("list-end"); t_list = ms()
    s.sendall(select); r.until_control("selected"); t_sel = ms()
    while r.frame()[1] != 0x11: pass
    t_rect = ms()
    s.close()
    print(f"{t_tcp:.1f} {t_tls:.1f} {t_auth:.1f} {t_list:.1f} {t_sel:.1f} {t_rect:.1f}")
elif mode == "firstrect":  # COMMAND...: ms from starting it to the first RECT on its stdout
    t0 = time.perf_counter()
    p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    r = Reader(lambda n: p.stdout.read1(n))
    while r.frame()[1] != 0x11: pass
    print(f"{(time.perf_counter() - t0) * 1000:.1f}")
    p.terminate(); p.wait()
EOF

# socat forced to serve's TLS 1.3 suite through an OpenSSL configuration.
socat_conf() {
    cat >"$out/socat-openssl.cnf" <<EOF
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.3
MaxProtocol = TLSv1.3
Ciphersuites = $1
EOF
}
socat_tls() { OPENSSL_CONF=$out/socat-openssl.cnf socat "$@"; }
sopts="cert=$out/cert.pem,key=$out/key.pem,verify=0"

# ---- serve on test:///default with a stand-in display source -----------------
if want throughput || want latency; then
    mkdir "$out/standin"
    cp "$(command -v redir-mux)" "$out/standin/redir-mux"
    # Beside the copy, so the session runs it instead of the real capture.
    # It stays open after the file (the session would otherwise stop
    # relaying while it checks whether the VM went away); the session's
    # teardown ends it when the reader has had its bytes.
    printf '#!/bin/sh\nnow=$(date +%%s%%N)\necho "$now" >"%s"\ncat "%s"\nexec sleep 60\n' "$out/start" "$out/stream.vrs" \
        >"$out/standin/redir-capture"
    chmod +x "$out/standin/redir-capture"
    start_serve "$out/standin/redir-mux" test:///default "$out/serve-a.log" --compress 0
    suite=$(suite_of "$port")
    [ -n "$suite" ] || { echo "could not read serve's cipher suite" >&2; exit 1; }
    socat_conf "$suite"
    sport=$(free_port)
    socat_tls OPENSSL-LISTEN:"$sport",bind=127.0.0.1,reuseaddr,$sopts PIPE 2>/dev/null &
    probe=$!
    sleep 0.3
    socat_suite=$(suite_of "$sport")
    kill "$probe" 2>/dev/null
    wait "$probe" 2>/dev/null
    echo "== TLS: serve negotiates $suite with a default OpenSSL client; socat forced to it negotiates $socat_suite"
    urla=tls://127.0.0.1:$port
fi

if want throughput; then
    frames=$(((size_mb * 1048576 + 3145727) / 3145728))
    {
        echo "hello producer=mux-bench"
        echo "time 0"
        echo "declare 1 display screen"
        echo "surface 1 1024 768"
        for i in $(seq 1 "$frames"); do
            printf 'rect 1 0 0 1024 768 raw fill %06x\nframe-end 1 %d\n' $((i * 2654435 % 16777216)) "$i"
        done
        echo "end"
    } >"$out/stream.txt"
    vrs-build "$out/stream.txt" >"$out/stream.vrs" || { echo "vrs-build failed" >&2; exit 1; }
    bytes=$(stat -c %s "$out/stream.vrs")
    blocks=$((bytes / 1048576 - 1))   # what the reader waits for: all but the tail
    echo "== throughput: $frames raw 1024x768 RECT frames ($bytes bytes), reader stops at $blocks MiB, median of $runs"
    sink() { dd of=/dev/null bs=1M count="$blocks" iflag=fullblock status=none; now_ns >"$out/end"; }
    cat "$out/stream.vrs" >/dev/null   # in the page cache for both
    for i in $(seq "$runs"); do
        rm -f "$out/start" "$out/end"
        redir-mux connect "$urla" --ca "$out/ca.pem" --user bench --password-file "$out/bench.pw" --vm test \
            </dev/null 2>/dev/null | sink
        echo "$(($(cat "$out/end") - $(cat "$out/start")))" >>"$out/tp-mux"
        for b in 8192 65536; do
            rm -f "$out/start" "$out/end"
            sport=$(free_port)
            socat_tls -b "$b" OPENSSL-LISTEN:"$sport",bind=127.0.0.1,reuseaddr,$sopts EXEC:"$out/standin/redir-capture" \
                2>/dev/null &
            srv=$!
            for _ in $(seq 50); do ss -ltn | grep -q "127.0.0.1:$sport " && break; sleep 0.05; done
            socat_tls -b "$b" -u "OPENSSL:127.0.0.1:$sport,cafile=$out/ca.pem,commonname=localhost" STDOUT \
                2>/dev/null | sink
            wait "$srv" 2>/dev/null
            echo "$(($(cat "$out/end") - $(cat "$out/start")))" >>"$out/tp-socat-$b"
        done
    done
    mbs() { awk -v b="$((blocks * 1048576))" '{ printf "%.1f\n", b / ($1 / 1e9) / 1e6 }' "$1" | median; }
    m=$(mbs "$out/tp-mux") s8=$(mbs "$out/tp-socat-8192") s64=$(mbs "$out/tp-socat-65536")
    printf '%-58s %8.1f MB/s  (runs: %s)\n' "redir-mux serve -> connect ($suite)" "$m" "$(awk -v b="$((blocks * 1048576))" '{ printf "%.0f ", b / ($1 / 1e9) / 1e6 }' "$out/tp-mux")"
    printf '%-58s %8.1f MB/s  (runs: %s)\n' "socat OPENSSL-LISTEN -> OPENSSL, -b 8192 (its default)" "$s8" "$(awk -v b="$((blocks * 1048576))" '{ printf "%.0f ", b / ($1 / 1e9) / 1e6 }' "$out/tp-socat-8192")"
    printf '%-58s %8.1f MB/s  (runs: %s)\n' "socat OPENSSL-LISTEN -> OPENSSL, -b 65536" "$s64" "$(awk -v b="$((blocks * 1048576))" '{ printf "%.0f ", b / ($1 / 1e9) / 1e6 }' "$out/tp-socat-65536")"
    awk -v m="$m" -v a="$s8" -v b="$s64" 'BEGIN { printf "ratio redir-mux / socat -b 8192: %.2f; redir-mux / socat -b 65536: %.2f (target >= 0.9)\n", m / a, m / b }'
fi

if want latency; then
    printf 'hello producer=mux-bench\ntime 0\ndeclare 0xfff0 control session\ncontrol 0xfff0 auth user=bench password=bench-pw\ncontrol 0xfff0 select vm=test streams=0\ncontrol 0xfff0 ping\n' \
        >"$out/ping.txt"
    vrs-build "$out/ping.txt" >"$out/ping.vrs" || exit 1
    sport=$(free_port)
    socat_tls OPENSSL-LISTEN:"$sport",bind=127.0.0.1,reuseaddr,$sopts PIPE 2>/dev/null &
    srv=$!
    pids+=("$srv")
    sleep 0.3
    echo "== control round trip: $pings round trips per run, median of the runs' medians, $runs runs"
    for i in $(seq "$runs"); do
        python3 "$out/client.py" ping "$port" "$out/ca.pem" "$out/ping.vrs" "$pings" >>"$out/rt-mux" || exit 1
        python3 "$out/client.py" echo "$sport" "$out/ca.pem" "$out/ping.vrs" "$pings" >>"$out/rt-socat" || exit 1
        if [ "$i" -lt "$runs" ]; then   # socat without fork serves one connection
            wait "$srv" 2>/dev/null
            socat_tls OPENSSL-LISTEN:"$sport",bind=127.0.0.1,reuseaddr,$sopts PIPE 2>/dev/null &
            srv=$!
            pids+=("$srv")
            sleep 0.3
        fi
    done
    m=$(awk '{ print $1 }' "$out/rt-mux" | median) mp=$(awk '{ print $2 }' "$out/rt-mux" | median)
    s=$(awk '{ print $1 }' "$out/rt-socat" | median) sp=$(awk '{ print $2 }' "$out/rt-socat" | median)
    read -r _ _ mc fl <"$out/rt-mux"
    read -r _ _ sc _ <"$out/rt-socat"
    printf '%-62s median %7.1f us  p95 %7.1f us  (%s)\n' "session: CONTROL ping -> result (unknown verb, streams=0)" "$m" "$mp" "$mc" \
        "socat OPENSSL-LISTEN PIPE: the same $fl-byte frame echoed" "$s" "$sp" "$sc"
    awk -v m="$m" -v s="$s" 'BEGIN { printf "added per hop (median): %.1f us; ratio session / socat: %.2f\n", m - s, m / s }'
fi

# ---- the real guest: set-up time and CPU per session -------------------------
if want setup || want cpu || want bytes; then
    # shellcheck source=../guest/fixture.sh
    source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
    vg_ensure_libvirt
    vg_build
    name=vredir-test-muxbench-$$
    guest=1
    vg_define "$name"
    trap cleanup EXIT
    vg_start >/dev/null 2>&1 || vg_fail "the guest did not boot"
    sleep 2
    # Transport and CPU figures as recorded before serve deflated by default.
    start_serve "$(command -v redir-mux)" qemu:///system "$out/serve-b.log" --compress 0
    urlb=tls://127.0.0.1:$port
fi

if want bytes; then
    # What a remote client receives by default (connect, no flags; serve's
    # defaults), counted on the wire by a TCP relay, against QEMU's ZRLE for
    # the same seconds of the same animation, counted by a relay on its VNC
    # socket (redir-capture asks for ZRLE there).
    start_serve "$(command -v redir-mux)" qemu:///system "$out/serve-c.log"
    portc=$port
    echo "== bytes a remote client receives by default: $secs s of the moving bar, median of $runs"
    vg_cmd "bar on" >/dev/null
    for i in $(seq "$runs"); do
        rm -f "$out/zrle.sock" "$out/zrle.bin" "$out/tls.bin"
        socat -R "$out/zrle.bin" UNIX-LISTEN:"$out/zrle.sock" UNIX-CONNECT:"$VG_VNC_SOCKET" 2>/dev/null &
        zrelay=$!
        relay_port=$(free_port)
        socat -R "$out/tls.bin" TCP-LISTEN:"$relay_port",bind=127.0.0.1,reuseaddr TCP:127.0.0.1:"$portc" 2>/dev/null &
        trelay=$!
        for _ in $(seq 50); do [ -S "$out/zrle.sock" ] && break; sleep 0.05; done
        sleep 0.3
        VREDIR_RFB_ENCODING=zrle redir-capture --vnc "unix:$out/zrle.sock" --no-audio --no-cursor \
            --duration "$secs" -o /dev/null 2>/dev/null &
        zcap=$!
        timeout -s INT "$secs" redir-mux connect "tls://127.0.0.1:$relay_port" --ca "$out/ca.pem" --user bench \
            --password-file "$out/bench.pw" --vm "$name" </dev/null >"$out/c.vrs" 2>/dev/null
        wait "$zcap" 2>/dev/null
        kill "$zrelay" "$trelay" 2>/dev/null
        wait "$zrelay" "$trelay" 2>/dev/null
        echo "$(stat -c %s "$out/tls.bin") $(stat -c %s "$out/zrle.bin") $(redir-dump "$out/c.vrs" 2>/dev/null | grep -c FRAME_END)"
    done >"$out/bytes.txt"
    vg_cmd "bar off" >/dev/null
    tb=$(awk '{ print $1 }' "$out/bytes.txt" | median) zb=$(awk '{ print $2 }' "$out/bytes.txt" | median)
    fr=$(awk '{ print $3 }' "$out/bytes.txt" | median)
    printf '%-62s %12s bytes  (%s frames)
' "redir-mux connect (TLS on the wire, serve's defaults)" "$tb" "$fr" \
        "QEMU VNC ZRLE (the same seconds)" "$zb" "-"
    awk -v t="$tb" -v z="$zb" 'BEGIN { printf "ratio redir-mux default / ZRLE: %.2fx\n", t / z }'
fi

if want setup; then
    printf 'hello producer=mux-bench\ntime 0\ndeclare 0xfff0 control session\ncontrol 0xfff0 auth user=bench password=bench-pw\ncontrol 0xfff0 select vm=%s streams=1\n' \
        "$name" >"$out/setup.txt"
    vrs-build "$out/setup.txt" >"$out/setup.vrs" || exit 1
    n=$((runs * 2 - 1))
    echo "== connection set-up on the running guest, median of $n"
    for i in $(seq "$n"); do
        python3 "$out/client.py" setup "$port" "$out/ca.pem" "$out/setup.vrs" >>"$out/setup-steps" || exit 1
        sleep 0.5
        python3 "$out/client.py" firstrect redir-mux connect "$urlb" --ca "$out/ca.pem" --user bench \
            --password-file "$out/bench.pw" --vm "$name" >>"$out/setup-cli" || exit 1
        sleep 0.5
        python3 "$out/client.py" firstrect redir-capture -q -c qemu:///system "$name" >>"$out/setup-local" || exit 1
        sleep 0.5
    done
    col() { awk -v c="$1" '{ print $c }' "$out/setup-steps" | median; }
    printf 'steps (ms from the start, one Python TLS client):  TCP %s  TLS %s  auth-ok %s  list-end %s  selected %s  first RECT %s\n' \
        "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" "$(col 5)" "$(col 6)"
    awk -v a="$(col 2)" -v b="$(col 3)" -v c="$(col 4)" -v d="$(col 5)" -v e="$(col 6)" 'BEGIN {
        printf "per step (ms): TLS %.1f  auth %.1f  list %.1f  select %.1f  select -> first RECT %.1f\n", a, b - a, c - b, d - c, e - d }'
    cli=$(median <"$out/setup-cli") loc=$(median <"$out/setup-local")
    printf '%-72s %7.1f ms\n' "redir-mux connect --vm (process start -> first RECT on its stdout)" "$cli" \
        "redir-capture -q -c qemu:///system NAME, local (start -> first RECT)" "$loc"
    awk -v a="$cli" -v b="$loc" 'BEGIN { printf "ratio remote connect / local capture: %.2f (remote adds %.1f ms)\n", a / b, a - b }'
    # What the login costs by design: the users file's default hash,
    # scrypt ln=14 r=8 p=5 (OpenSSL's, through Python's hashlib).
    python3 -c 'import hashlib, statistics, time
def one():
    t = time.perf_counter(); hashlib.scrypt(b"bench-pw", salt=bytes(16), n=1 << 14, r=8, p=5, maxmem=256 << 20, dklen=32)
    return (time.perf_counter() - t) * 1000
print("one scrypt ln=14 r=8 p=5 hash (the default users-file hash), median of 3: %.1f ms" % statistics.median(one() for _ in range(3)))'
    echo "(auth-ok is sent together with the VM list, so the auth step includes listing the VMs)"
fi

if want cpu; then
    hz=$(getconf CLK_TCK)
    qpid=$(pgrep -f "qemu-system.*guest=$name" | head -1)
    # Bytes a client wrote (its stdout: the stream it received).
    wchar() { local p s=0; for p in "$@"; do s=$((s + $(awk '$1 == "wchar:" { print $2 }' "/proc/$p/io" 2>/dev/null || echo 0))); done; echo $s; }
    ticks() { local p s=0; for p in "$@"; do s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $s; }
    vg_cmd "bar on" >/dev/null
    echo "== CPU with concurrent view-only viewers, ${secs} s window while the bar animates (CPU s per s; $hz ticks/s)"
    printf '%-8s %9s %9s %9s %9s %9s %9s %9s %11s\n' viewers listener session capture "per sess" total qemu clients "kB/s/viewer"
    for v in 1 "$viewers"; do
        vpids=()
        rm -f "$out"/v.*
        seen=$(grep -c "user=viewer: VM '$name'" "$out/serve-b.log")
        for i in $(seq "$v"); do
            bash -c 'echo $$ >"$1"; exec redir-mux connect "$2" --ca "$3" --user viewer --password-file "$4" --vm "$5" </dev/null 2>/dev/null' \
                _ "$out/v.$i.pid" "$urlb" "$out/ca.pem" "$out/bench.pw" "$name" >/dev/null &
            vpids+=($!)
            pids+=($!)
        done
        for _ in $(seq 1 600); do
            [ "$(grep -c "user=viewer: VM '$name'" "$out/serve-b.log")" -ge $((seen + v)) ] && break
            sleep 0.1
        done
        sleep 3
        mapfile -t sessions < <(pgrep -P "$serve_pid")
        mapfile -t captures < <(for s in "${sessions[@]}"; do pgrep -P "$s"; done)
        mapfile -t clients < <(cat "$out"/v.*.pid)
        l0=$(ticks "$serve_pid") s0=$(ticks "${sessions[@]}") c0=$(ticks "${captures[@]}") q0=$(ticks "$qpid") k0=$(ticks "${clients[@]}")
        t0=$(now_ns)
        w0=$(wchar "${clients[@]}")
        sleep "$secs"
        l1=$(ticks "$serve_pid") s1=$(ticks "${sessions[@]}") c1=$(ticks "${captures[@]}") q1=$(ticks "$qpid") k1=$(ticks "${clients[@]}")
        w1=$(wchar "${clients[@]}")
        t1=$(now_ns)
        for p in "${clients[@]}"; do kill "$p" 2>/dev/null; done
        for p in "${vpids[@]}"; do wait "$p" 2>/dev/null; done
        awk -v v="$v" -v n="${#sessions[@]}" -v hz="$hz" -v d="$(((t1 - t0) / 1000000))" -v w=$((w1 - w0)) \
            -v l=$((l1 - l0)) -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v q=$((q1 - q0)) -v k=$((k1 - k0)) 'BEGIN {
            sec = d / 1000; f = 1 / hz / sec
            printf "%-8s %9.3f %9.3f %9.3f %9.4f %9.3f %9.3f %9.3f %11.1f\n", v " (" n ")", l * f, s * f, c * f, (s + c) * f / v,
                (l + s + c) * f, q * f, k * f, w / 1000 / sec / v }'
        sleep 2
    done
    vg_cmd "bar off" >/dev/null
    echo "guacd's rule of thumb: about 25 sessions per core = 0.040 CPU s/s per session"
    uptime
fi
