#!/usr/bin/env bash
# gdi-forward against bitmap remoting of the same Wine app, side by side in
# one run (Wine + Xvfb, no guest):
#  peers  gdi   gdi-forward run -- APP | x-replay - (drawing commands), the
#               app headless as on a server: no X server, Wine's null
#               display driver (the prefix's Graphics is "x11,null");
#         gdix  the same with the app also drawing natively on the server's
#               Xvfb (Wine's X11 driver);
#         xpra  Xpra in seamless mode: `xpra start` runs the app on its own
#               Xvfb, `xpra attach` over TCP shows the window (pixels,
#               Xpra's default encodings and lz4 packet compression; mmap
#               off so that the pixels cross the socket);
#         mux   the network path: `redir-mux serve --apps` (headless, the
#               app in the account's own prefix) and `redir-mux connect
#               --app APP -- x-replay -` over TLS 1.3 on loopback, through a
#               relay that counts the TLS bytes; the session process
#               (TLS, scheduling) counts as forwarder.
#         xpras Xpra as xpra, over its own SSL (--bind-ssl, the same
#               certificate), attached as ssl://: the peer of mux.
#         vnc   capturing the app's Xvfb: x11vnc exports the app's X window
#               (-id), xtightvncviewer shows it (RFB, lossless Tight: the
#               viewer would pick raw for a server on the same host).
#         bare  the app alone, headless (Wine's null display driver), with
#               nothing remoting it: the floor no forwarder goes below
#               (animation only; not in the default peers).
#         floor gdi-forward headless as gdi, with a hook built to record
#               nothing (VREDIR_GDI_HOOK_FLOOR): one FLUSH per frame goes
#               through the ring, the wake-ups and gdi-forward's stream.
#               What remoting by commands costs before any drawing is
#               recorded; the bench builds it (build target
#               gdi_forward_windows_floor; not in the default peers).
#         Every client runs on a second Xvfb; its CPU is not server CPU.
#  loads  textview  the scrolling text view driven through the client's
#                   window by XTEST (Down/Up keys and wheel notches, 20
#                   events/s, returning to the top every cycle);
#         animation the double-buffered animation (25 frames/s), no input.
#  server CPU  per process from /proc (utime+stime): the app, wineserver,
#         the other Wine processes of the prefix (explorer, services...), the
#         forwarder (gdi-forward.exe; the xpra server process; x11vnc) and
#         the X server the app draws on (Xpra, VNC and gdix: Wine's X11
#         driver draws there; gdi has none). The target is read on
#         app + wineserver + forwarder; +xsrv adds the X server, which the
#         peers need on the server (it takes the app's pixels and hands them
#         to x11vnc or Xpra) and a headless gdi-forward does not. Wine's
#         other processes (winedevice, services) burn alike under every
#         peer and are shown apart.
#  bytes  server to client: the stream gdi-forward wrote (what x-replay
#         read); Xpra's and RFB's bytes as counted by a relay in the TCP
#         connection. Upstream bytes too.
#  latency input-to-drawn on the client: XTEST Down key into the client's
#         window, then polling the window's top rows until they change.
#  share  the commands-versus-pixels share of the recorded gdi stream
#         (redir-dump --stats).
# Each run is DURATION seconds cut into SLICE-second intervals; rates are the
# median over the intervals. VREDIR_BENCH_ROUNDS=N (default 1) repeats the
# whole sequence of runs N times, peers interleaved, and takes the medians
# over the intervals of all rounds, so that a drift of the host's speed
# meets every peer alike; the report then also gives each round's ratio, to
# show how far one run's ratio moves. Timing here never decides a test's
# verdict.
#
# bash tests/bench/gdi_bench.sh [DURATION] [SLICE] [PROBES] [PEERS] [LOADS]
#   defaults: 60 10 15 "gdi gdix xpra vnc mux xpras" "textview animation"
#   (build dir: $VREDIR_BUILD_DIR or build/; VREDIR_BENCH_KEEP=1 keeps the
#   work directory with each run's files, and
#   bash tests/bench/gdi_bench.sh --report DIR prints its report again)
set -u
report_only=
if [ "${1:-}" = --report ]; then report_only=$2; shift 2; fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
VREDIR_BUILD_DIR=$(cd "$VREDIR_BUILD_DIR" && pwd) || exit 1
duration=${1:-60} slice=${2:-10} probes=${3:-15} peers=${4:-gdi gdix xpra vnc mux xpras} loads=${5:-textview animation}

# --- report: from results.txt and the runs' files in the current directory ----
report() {
cat host.txt
echo "== server CPU (ms of CPU per s) and bytes/s, $duration s per run, $rounds round(s), medians of $slice s intervals"
printf '%-5s %-9s %7s %7s %7s %7s %8s %7s %8s %10s %8s\n' peer load app wsrv wine fwd all xsrv +xsrv down/s up/s
while read -r peer load a b c d e f g h i n _; do
    [ "$peer" = "" ] && continue
    if [ "$a" = failed ]; then echo "$peer $load failed"; continue; fi
    printf '%-5s %-9s %7s %7s %7s %7s %8s %7s %8s %10s %8s\n' "$peer" "$load" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i"
done <results.txt
echo "(app: the app's process; wsrv: wineserver; wine: other Wine processes of the prefix; fwd: gdi-forward.exe"
echo " (with mux also redir-mux's listener and session), the xpra server process and its helpers, or x11vnc;"
echo " all = app+wsrv+wine+fwd; xsrv: the X server the app draws on)"
[ -s failed.txt ] && sed 's/^/# /' failed.txt
echo "== ratios gdi-forward (floor: the link alone, recording nothing; bare: the app alone, nothing remoting it) / peer: server CPU as app+wsrv+fwd"
echo "   (the target's reading), as app+wsrv+fwd+xsrv, as all+xsrv; bytes down"
for load in $loads; do
    for g in gdi gdix floor bare mux; do
    for peer in xpra vnc xpras; do
        awk -v L="$load" -v P="$peer" -v G="$g" '$2 == L && $1 == G && $3 != "failed" { c = $3 + $4 + $6; x = c + $8; t = $9; b = $10 }
            $2 == L && $1 == P && $3 != "failed" { pc = $3 + $4 + $6; px = pc + $8; pt = $9; pb = $10 }
            END { if (t > 0 && pt > 0) { bytes = (b > 0 && pb > 0) ? sprintf("%.3fx", b / pb) : "-"
                printf "%-9s %-4s/%-4s CPU app+wsrv+fwd %.2fx (%.1f/%.1f ms/s)  app+wsrv+fwd+xsrv %.2fx (%.1f/%.1f)  all+xsrv %.2fx  bytes %s\n", L, G, P, c / pc, c, pc, x / px, x, px, t / pt, bytes } }' results.txt
    done
    done
done
echo "== per process, CPU ms per s over each run (class, name)"
for f in *.procs; do
    [ -s "$f" ] || continue
    echo "-- ${f%.procs}"
    cat "$f"
done
if grep -q '^[a-z]* textview [0-9]' results.txt && [ "$probes" -gt 0 ]; then
    echo "== input-to-drawn latency on the client (XTEST Down/Up -> the window's top rows change)"
    awk '$2 == "textview" && $3 != "failed" { printf "%-5s median %7s ms  p95 %7s ms  (%s/%s seen)\n", $1, $13, $14, $15, $16 }' results.txt
fi
if [ "$rounds" -gt 1 ] && [ -f rounds.py ]; then
    echo "== round by round (app+wsrv+fwd, medians of each round's intervals)"
    /usr/bin/python3 rounds.py "$loads"
fi
if ls ./*-animation.frames >/dev/null 2>&1; then
    echo "== animation frames shown by the client (distinct images of its top rows, 5 s of polling after the run; 25/s drawn)"
    for f in ./*-animation.frames; do
        f=${f#./}
        read -r fps polls <"$f"
        printf '%-5s %6s frames/s  (%s polls/s)\n' "${f%-animation.frames}" "$fps" "$polls"
    done
fi
for load in $loads; do
    if [ -s "gdi-$load.down" ]; then
        awk -v L="$load" -v r="$(stat -c %s "gdi-$load.down")" -v z="$(gzip -1 -c "gdi-$load.down" | wc -c)" \
            'BEGIN { printf "%-9s the whole gdi stream: %d bytes on the wire (DEFLATE pieces); gzip -1 of it again, for reference: %d (%.3f)\n", L, r, z, z / r }'
    fi
done
for load in $loads; do
    if [ -f "gdi-$load.stats" ]; then
        echo "== redir-dump --stats of the gdi stream ($load)"
        cat "gdi-$load.stats"
    fi
done
}
if [ -n "$report_only" ]; then
    cd "$report_only" && read -r duration slice probes rounds loads <params.txt && report
    exit
fi
rounds=${VREDIR_BENCH_ROUNDS:-1}
for v in "$duration" "$slice" "$rounds" "${probes/#0/1}"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "gdi_bench: '$v' is not a positive whole number (DURATION SLICE, VREDIR_BENCH_ROUNDS; PROBES may be 0)" >&2; exit 2; }
done
for v in $peers; do
    [[ $v =~ ^(gdi|gdix|xpra|vnc|bare|floor|mux|xpras)$ ]] || { echo "gdi_bench: unknown peer '$v' (gdi gdix xpra vnc bare floor mux xpras)" >&2; exit 2; }
done
for v in $loads; do
    [[ $v =~ ^(textview|animation)$ ]] || { echo "gdi_bench: unknown load '$v' (textview animation)" >&2; exit 2; }
done
for t in gdi-forward redir-dump x-replay redir-mux; do
    command -v "$t" >/dev/null || PATH="$VREDIR_BUILD_DIR/tools/$t:$PATH"
    command -v "$t" >/dev/null || { echo "gdi_bench: $t is not built (cmake --build $VREDIR_BUILD_DIR)" >&2; exit 1; }
done
apps=$VREDIR_BUILD_DIR/tools/gdi-forward/windows/winapps
[ -f "$apps/textview.exe" ] || { echo "gdi_bench: the Windows test apps are not built ($apps)" >&2; exit 1; }
missing=()
for t in wine:wine wineboot:wine wineserver:wine Xvfb:xvfb xdotool:xdotool xpra:xpra x11vnc:x11vnc \
    xtightvncviewer:xtightvncviewer openssl:openssl; do
    command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
/usr/bin/python3 -c 'import Xlib' 2>/dev/null || missing+=(python3-xlib)
# without it the xpra client paints nothing (no cairo.Context converter)
/usr/bin/python3 -c 'import gi; gi.require_foreign("cairo")' 2>/dev/null || missing+=(python3-gi-cairo)
# without them the xpra server drops the client at its first window (PIL),
# and its packets fall back to zlib (lz4)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || missing+=(python3-pil)
/usr/bin/python3 -c 'import lz4' 2>/dev/null || missing+=(python3-lz4)
[ ${#missing[@]} -eq 0 ] || { echo "gdi_bench: missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1; }
py=/usr/bin/python3

work=$(mktemp -d "${TMPDIR:-/tmp}/vredir-gdibench.XXXXXX")
prefix=$work/prefix
pids=()
cleanup() {
    local p
    WINEPREFIX=$prefix wineserver -k 2>/dev/null
    [ -d "${mprefix:-}" ] && WINEPREFIX=$mprefix wineserver -k 2>/dev/null
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${VREDIR_BENCH_KEEP:-}" ]; then echo "# kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$work" || exit 1

floor_exe=$VREDIR_BUILD_DIR/tools/gdi-forward/windows-floor/gdi-forward.exe
if [[ " $peers " == *" floor "* ]]; then
    echo "# building the floor hook (target gdi_forward_windows_floor)"
    cmake --build "$VREDIR_BUILD_DIR" --target gdi_forward_windows_floor >floor-build.log 2>&1 ||
        { echo "gdi_bench: cannot build the floor hook: $(tail -1 floor-build.log)" >&2; exit 1; }
fi

# shellcheck source=../integration/lib/xvfb.sh
source "$VREDIR_SOURCE_DIR/tests/integration/lib/xvfb.sh"
start_xvfb srv 1280x1024x24   # where the app draws (gdi, vnc)
pids+=("$srv_pid")
start_xvfb cli 1280x1024x24   # the client side: x-replay, xpra attach, the VNC viewer
pids+=("$cli_pid")
# shellcheck disable=SC2154
echo "# server display $srv_dpy, client display $cli_dpy, work dir $work"

DISPLAY=$srv_dpy WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >wineboot.log 2>&1
WINEPREFIX=$prefix wineserver -w
[ -f "$prefix/system.reg" ] || { echo "gdi_bench: wineboot failed: $(tail -1 wineboot.log)" >&2; exit 1; }
# X11 where DISPLAY names an X server, else Wine's null display driver (the
# headless gdi peer); as gdi-forward sets up the prefix it creates.
WINEPREFIX=$prefix WINEDEBUG=-all wine reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d x11,null /f >>wineboot.log 2>&1
WINEPREFIX=$prefix wineserver -w
WINEPREFIX=$prefix wineserver -k 2>/dev/null
free_port() { $py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
app_args() { case $1 in animation) echo "/interval 40" ;; *) echo "" ;; esac; }
# The TLS peers: one certificate (mux and xpras), and for mux an account,
# a registry of the two loads and the account's prefix made ahead, so that
# no run pays for it.
mprefix=$work/mstate/apps/bench
if [[ " $peers " == *" mux "* || " $peers " == *" xpras "* ]]; then
    out=$work
    # shellcheck source=../integration/lib/mux_server.sh
    source "$VREDIR_SOURCE_DIR/tests/integration/lib/mux_server.sh"
    mux_make_cert || { echo "gdi_bench: openssl could not make the certificates" >&2; exit 1; }
    cat key.pem cert.pem >xpra.pem
fi
if [[ " $peers " == *" mux "* ]]; then
    echo bench-pw >bench.pw
    chmod 600 bench.pw
    VREDIR_PASSWORD=bench-pw redir-mux users add bench --users users --vms none >/dev/null
    printf '[app textview]\npath = %s\nallow = bench\n[app animation]\npath = %s\nargs = %s\nallow = bench\n' \
        "$apps/textview.exe" "$apps/animation.exe" "$(app_args animation)" >apps.conf
    echo "# making the bench account's Wine prefix (redir-mux users prepare)"
    env -u DISPLAY redir-mux users prepare bench --users users --state-dir "$work/mstate" >prepare.log 2>&1 ||
        { echo "gdi_bench: redir-mux users prepare failed: $(tail -1 prepare.log)" >&2; exit 1; }
fi

# --- helpers ------------------------------------------------------------------
# relay.py LISTEN TARGET COUNTS: TCP relay; COUNTS holds "down up" bytes.
cat >relay.py <<'EOF'
import os, socket, sys, threading, time
listen, target, counts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
n = {"down": 0, "up": 0}
def pump(a, b, key):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
            n[key] += len(d)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def writer():
    while True:
        with open(counts + ".tmp", "w") as f: f.write(f"{n['down']} {n['up']}\n")
        os.replace(counts + ".tmp", counts)
        time.sleep(0.2)
threading.Thread(target=writer, daemon=True).start()
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen)); srv.listen(4)
while True:
    c, _ = srv.accept()
    for _ in range(100):
        try: s = socket.create_connection(("127.0.0.1", target)); break
        except OSError: time.sleep(0.1)
    threading.Thread(target=pump, args=(s, c, "down"), daemon=True).start()
    threading.Thread(target=pump, args=(c, s, "up"), daemon=True).start()
EOF

# measure.py: every SLICE s for DURATION s, the CPU ticks of each process
# class and the bytes so far; one JSON line per slice (rates per second).
cat >measure.py <<'EOF'
import json, os, sys, time
a = dict(zip(sys.argv[1::2], sys.argv[2::2]))
prefix, xpid = a["prefix"], a.get("xserver", "")
fwd_pids = set(a.get("fwd_pids", "").split())
fwd_comm, app_comm = a.get("fwd_comm", "-"), a["app_comm"]
duration, slc = float(a["duration"]), float(a["slice"])
hz = os.sysconf("SC_CLK_TCK")
want = ("WINEPREFIX=" + prefix).encode()
def classify(pid, comm, parent):
    if pid == xpid: return "x"
    if comm == fwd_comm or pid in fwd_pids: return "fwd"
    try: env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    except OSError: return None
    if want in env:
        if comm == app_comm: return "app"
        if comm.startswith("wineserver"): return "wineserver"
        return "wine"
    p, seen = parent.get(pid), 0
    while p and p != "1" and seen < 64:  # a descendant of the forwarder (xpra's helpers)
        if p in fwd_pids: return "fwd"
        p, seen = parent.get(p), seen + 1
    return None
def sample():
    stats, parent, out = {}, {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit(): continue
        try: st = open(f"/proc/{pid}/stat").read()
        except OSError: continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        f = st[st.rindex(")") + 2:].split()
        stats[pid] = (comm, int(f[11]) + int(f[12]))
        parent[pid] = f[1]
    for pid, (comm, ticks) in stats.items():
        cls = classify(pid, comm, parent)
        if cls: out[pid] = (cls, ticks, comm)
    return out
def nbytes():
    if "bytes_counts" in a:
        try: d, u = open(a["bytes_counts"]).read().split()
        except (OSError, ValueError): d, u = 0, 0
        return int(d), int(u)
    def size(p):
        try: return os.path.getsize(p)
        except OSError: return 0
    return size(a["bytes_file"]), size(a.get("up_file", ""))
prev, pb, pt = sample(), nbytes(), time.monotonic()
first, t_first = prev, pt
end = pt + duration
while time.monotonic() < end - 0.01:
    time.sleep(max(0.0, min(slc, end - time.monotonic())))
    cur, cb, ct = sample(), nbytes(), time.monotonic()
    dt = ct - pt
    cls = {"app": 0, "wineserver": 0, "wine": 0, "fwd": 0, "x": 0}
    for pid, (c, t, _) in cur.items():
        cls[c] += t - (prev[pid][1] if pid in prev else 0)
    row = {k: v * 1000.0 / hz / dt for k, v in cls.items()}  # CPU ms per s
    row["down"] = (cb[0] - pb[0]) / dt
    row["up"] = (cb[1] - pb[1]) / dt
    print(json.dumps(row), flush=True)
    prev, pb, pt = cur, cb, ct
# per process over the whole run, on stderr: CPU ms per s, class, name
per = {}
for pid, (c, t, comm) in prev.items():
    k = (c, comm)
    per[k] = per.get(k, 0) + t - (first[pid][1] if pid in first else 0)
for (c, comm), t in sorted(per.items(), key=lambda kv: -kv[1]):
    print(f"{t * 1000.0 / hz / (pt - t_first):8.1f} ms/s  {c:10s} {comm}", file=sys.stderr)
EOF

# driver.py work WIN SECONDS | probe WIN N: XTEST input into a client window;
# driver.py frames WIN SECONDS: distinct images of the window's top rows seen
# by polling (the frames the client showed, at most the polling rate).
cat >driver.py <<'EOF'
import statistics, sys, time
from Xlib import X, XK, display
from Xlib.ext import xtest
d = display.Display()
mode, win, arg = sys.argv[1], int(sys.argv[2], 0), float(sys.argv[3])
w = d.create_resource_object("window", win)
g = w.get_geometry()
pos = w.translate_coords(d.screen().root, 0, 0)
rx, ry = -pos.x, -pos.y
d.set_input_focus(w, X.RevertToParent, X.CurrentTime)
xtest.fake_input(d, X.MotionNotify, x=rx + g.width // 2, y=ry + g.height // 2)
d.sync()
time.sleep(0.3)
def key(name):
    kc = d.keysym_to_keycode(XK.string_to_keysym(name))
    xtest.fake_input(d, X.KeyPress, kc)
    xtest.fake_input(d, X.KeyRelease, kc)
def wheel(button):
    xtest.fake_input(d, X.ButtonPress, button)
    xtest.fake_input(d, X.ButtonRelease, button)
if mode == "work":
    # one cycle: 15 Down, 5 wheel notches down (3 lines each), 15 Up, 5 up
    cycle = [lambda: key("Down")] * 15 + [lambda: wheel(5)] * 5 + [lambda: key("Up")] * 15 + [lambda: wheel(4)] * 5
    t0 = time.monotonic(); i = 0
    while time.monotonic() - t0 < arg:
        cycle[i % len(cycle)](); d.sync(); i += 1
        time.sleep(max(0.0, t0 + i * 0.05 - time.monotonic()))
    print(f"events {i}")
elif mode == "frames":
    rows = min(g.height, 40)
    grab = lambda: w.get_image(0, 0, g.width, rows, X.ZPixmap, 0xFFFFFFFF).data
    last, n, polls, t0 = grab(), 0, 0, time.monotonic()
    while time.monotonic() - t0 < arg:
        cur = grab(); polls += 1
        if cur != last: n += 1; last = cur
        time.sleep(0.002)
    print(f"{n / arg:.1f} {polls / arg:.0f}")
else:
    rows = min(g.height, 40)
    grab = lambda: w.get_image(0, 0, g.width, rows, X.ZPixmap, 0xFFFFFFFF).data
    lat = []
    for i in range(int(arg)):
        before = grab()
        t0 = time.perf_counter()
        key("Down" if i % 2 == 0 else "Up"); d.sync()
        while time.perf_counter() - t0 < 3.0:
            if grab() != before:
                lat.append((time.perf_counter() - t0) * 1000.0); break
        time.sleep(0.4)
    lat.sort()
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))] if lat else float("nan")
    med = statistics.median(lat) if lat else float("nan")
    print(f"{med:.1f} {p95:.1f} {len(lat)} {int(arg)}")
EOF

# summary.py FILE: medians over the slices of one run.
cat >summary.py <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = {k: statistics.median(r[k] for r in rows) for k in rows[0]} if rows else {}
srv = statistics.median(r["app"] + r["wineserver"] + r["wine"] + r["fwd"] for r in rows) if rows else 0
tot = statistics.median(r["app"] + r["wineserver"] + r["wine"] + r["fwd"] + r["x"] for r in rows) if rows else 0
print(f'{m.get("app",0):.1f} {m.get("wineserver",0):.1f} {m.get("wine",0):.1f} {m.get("fwd",0):.1f} {srv:.1f} {m.get("x",0):.1f} {tot:.1f} {m.get("down",0):.0f} {m.get("up",0):.0f} {len(rows)}')
EOF

# rounds.py LOADS: with several rounds, each round's medians of app+wsrv+fwd
# (per interval) for every pair of a gdi-forward peer and a bitmap peer, and
# the ratio round by round: how much a single run's ratio moves.
cat >rounds.py <<'EOF'
import glob, json, os, statistics, sys
def srv(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    return statistics.median(r["app"] + r["wineserver"] + r["fwd"] for r in rows) if rows else None
for load in sys.argv[1].split():
    for g in ("gdi", "gdix", "floor", "bare", "mux"):
        for p in ("xpra", "vnc", "xpras"):
            rows = []
            for i in range(1, len(glob.glob(f"{g}-{load}.slices.*")) + 1):
                a, b = f"{g}-{load}.slices.{i}", f"{p}-{load}.slices.{i}"
                x, y = (srv(a), srv(b)) if os.path.exists(a) and os.path.exists(b) else (None, None)
                if x and y:
                    rows.append((i, x, y))
            if len(rows) < 2:
                continue
            print(f"-- {load} {g}/{p}: round, {g} ms/s, {p} ms/s, ratio")
            for i, x, y in rows:
                print(f"   {i:<5} {x:6.1f} {y:6.1f}  {x / y:.3f}x")
            ratios = [x / y for _, x, y in rows]
            print(f"   median of the round ratios {statistics.median(ratios):.2f}x; rounds at or under 0.50x: "
                  f"{sum(r <= 0.5 for r in ratios)} of {len(ratios)} (range {min(ratios):.2f}x to {max(ratios):.2f}x)")
EOF

# client_window --name|--class REGEX: the client's window on the client display.
client_window() {
    local w
    for _ in $(seq 60); do
        w=$(DISPLAY=$cli_dpy xdotool search --onlyvisible "$1" "$2" 2>/dev/null | head -1)
        [ -n "$w" ] && { echo "$w"; return 0; }
        sleep 0.5
    done
    return 1
}
# server_window TITLE DISPLAY: the app's own X window.
server_window() {
    local w
    for _ in $(seq 60); do
        w=$(DISPLAY=$2 xdotool search --onlyvisible --name "^$1\$" 2>/dev/null | head -1)
        [ -n "$w" ] && { echo "$w"; return 0; }
        sleep 0.5
    done
    return 1
}

# run_one PEER LOAD: one measured run; sets the PEER LOAD line of results.txt
# from the intervals of this and earlier rounds.
# Everything it started is stopped before it returns.
run_one() {
    local peer=$1 load=$2 tag=$1-$2 win cwin xpid= fwd=() meas=() lat="- - - -" title="vredir $2" p started rc
    local exe=$apps/$load.exe xd= port rport
    started=("${pids[@]}")
    measure_one
    rc=$?
    # stop: the gdi loop ends when x-replay's upstream ends (gdi-forward
    # closes the app and ends its stream); the others are killed
    if [ "${peer#gdi}" != "$peer" ] && [ -f "$tag.xr.pid" ]; then
        kill "$(cat "$tag.xr.pid")" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$(cat "$tag.gf.pid")" 2>/dev/null || break; sleep 0.1; done
        kill "$(cat "$tag.gf.pid")" 2>/dev/null
    fi
    # mux: the client's end ends the session and its app
    if [ "$peer" = mux ] && [ -f "$tag.client.pid" ]; then
        kill -INT "$(cat "$tag.client.pid")" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$(cat "$tag.client.pid")" 2>/dev/null || break; sleep 0.1; done
    fi
    for p in "$prefix" "$mprefix"; do
        WINEPREFIX=$p wineserver -k 2>/dev/null
        WINEPREFIX=$p wineserver -w 2>/dev/null  # the next run must not meet it on its way out
    done
    for p in "${pids[@]}"; do
        [[ " ${started[*]} " == *" $p "* ]] || kill "$p" 2>/dev/null
    done
    sleep 1
    [ "${peer#xpra}" != "$peer" ] && [ -n "$xpid" ] && kill "$xpid" 2>/dev/null
    pids=("${started[@]}")
    if [ "$peer" = gdi ] && [ -s "$tag.down" ]; then
        redir-dump --stats "$tag.down" >"$tag.stats" 2>&1
    fi
    return $rc
}
measure_one() {
    case $peer in
    bare)
        [ "$load" = animation ] || { echo "$tag: the bare app runs the animation only (the text view's load comes through a client)" >&2; return 1; }
        DISPLAY= WINEPREFIX=$prefix WINEDEBUG=-all wine "$exe" $(app_args "$load") >"$tag.app.log" 2>&1 &
        pids+=($!)
        for _ in $(seq 100); do pgrep -f "$load.exe" >/dev/null && break; sleep 0.2; done
        xpid= cwin=
        meas=(fwd_comm - bytes_file /dev/null)
        ;;
    mux)
        port=$(free_port) rport=$(free_port)
        env -u DISPLAY redir-mux serve --listen "tls://127.0.0.1:$port" --cert cert.pem --key key.pem --users users \
            --apps apps.conf --no-vms --state-dir "$work/mstate" 2>"$tag.server.log" &
        pids+=($!)
        fwd=($!)
        $py relay.py "$rport" "$port" "$tag.counts" &
        pids+=($!)
        for _ in $(seq 100); do grep -q 'listening on' "$tag.server.log" && break; sleep 0.1; done
        DISPLAY=$cli_dpy redir-mux connect "tls://127.0.0.1:$rport" --ca ca.pem --user bench --password-file bench.pw \
            --app "$load" -- x-replay - >/dev/null 2>"$tag.client.log" &
        pids+=($!)
        echo "$!" >"$tag.client.pid"
        cwin=$(client_window --name "^$title\$") || { echo "$tag: no x-replay window ($(tail -1 "$tag.client.log"))" >&2; return 1; }
        xpid=
        meas=(prefix "$mprefix" fwd_comm gdi-forward.exe bytes_counts "$tag.counts")
        ;;
    gdi|gdix|floor)
        # gdi: headless, as on a server: no X server, Wine's null display
        # driver; gdix: the app draws on the server's Xvfb as well; floor:
        # headless, the hook that records nothing.
        local dpy= gfexe=${VREDIR_GDI_FORWARD_EXE:-}
        [ "$peer" = gdix ] && dpy=$srv_dpy
        [ "$peer" = floor ] && gfexe=$floor_exe
        rm -f "$tag.fifo" && mkfifo "$tag.fifo"
        { { echo "$BASHPID" >"$tag.gf.pid"; DISPLAY=$dpy WINEPREFIX=$prefix VREDIR_GDI_FORWARD_EXE=$gfexe exec gdi-forward run -- "$exe" $(app_args "$load") <"$tag.fifo" 2>"$tag.gf.err"; } |
            tee -p "$tag.down" | { echo "$BASHPID" >"$tag.xr.pid"; DISPLAY=$cli_dpy exec x-replay - 2>"$tag.xr.err"; } |
            tee -p "$tag.up" >"$tag.fifo"; } &
        pids+=($!)
        cwin=$(client_window --name "^$title\$") || { echo "$tag: no x-replay window ($(tail -1 "$tag.gf.err"))" >&2; return 1; }
        xpid=
        [ "$peer" = gdix ] && xpid=$srv_pid
        meas=(fwd_comm gdi-forward.exe bytes_file "$tag.down" up_file "$tag.up")
        ;;
    xpra|xpras)
        for xd in $(seq 150 250); do [ -e /tmp/.X11-unix/X$xd ] || [ -e /tmp/.X$xd-lock ] || break; done
        port=$(free_port) rport=$(free_port)
        local bind=(--bind-tcp="127.0.0.1:$port") at=tcp
        [ "$peer" = xpras ] && bind=(--bind-ssl="127.0.0.1:$port" --ssl-cert="$work/xpra.pem") at=ssl
        xpra start ":$xd" --daemon=no --socket-dir="$work" --bind=none "${bind[@]}" \
            --xvfb="Xvfb +extension Composite -screen 0 1280x1024x24+32 -nolisten tcp -noreset" \
            --start-child="env WINEPREFIX=$prefix WINEDEBUG=-all wine $exe $(app_args "$load")" --exit-with-children=yes \
            --mmap=no --mdns=no --pulseaudio=no --speaker=off --microphone=off --notifications=no --dbus-proxy=no \
            --dbus-launch= --systemd-run=no --printing=no --file-transfer=no --webcam=no --clipboard=no --html=off >"$tag.server.log" 2>&1 &
        pids+=($!)
        fwd=($!)
        $py relay.py "$rport" "$port" "$tag.counts" &
        pids+=($!)
        for _ in $(seq 100); do xpid=$(pgrep -P "${fwd[0]}" Xvfb | head -1); [ -n "$xpid" ] && break; sleep 0.2; done
        for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$xd" ] && break; sleep 0.2; done
        local trust=()
        [ "$peer" = xpras ] && trust=(--ssl-ca-certs="$work/ca.pem" --ssl-server-hostname=localhost)
        DISPLAY=$cli_dpy xpra attach "$at://127.0.0.1:$rport/" "${trust[@]}" --mmap=no --opengl=no --speaker=off --microphone=off \
            --clipboard=no --notifications=no --tray=no --system-tray=no --printing=no --file-transfer=no --webcam=no \
            --title=@title@ --socket-dir="$work" >"$tag.client.log" 2>&1 &
        pids+=($!)
        cwin=$(client_window --name "^$title\$") || { echo "$tag: no xpra client window ($(tail -1 "$tag.client.log"))" >&2; return 1; }
        xpid=$(pgrep -P "${fwd[0]}" Xvfb | head -1)
        echo "# xpra server pid ${fwd[0]}, its X server pid ${xpid:-not found}"
        meas=(fwd_comm - bytes_counts "$tag.counts")
        ;;
    vnc)
        port=$(free_port) rport=$(free_port)
        DISPLAY=$srv_dpy WINEPREFIX=$prefix WINEDEBUG=-all wine "$exe" $(app_args "$load") >"$tag.app.log" 2>&1 &
        pids+=($!)
        win=$(server_window "$title" "$srv_dpy") || { echo "$tag: the app's window did not appear" >&2; return 1; }
        x11vnc -display "$srv_dpy" -id "$(printf 0x%x "$win")" -localhost -rfbport "$port" -nopw -forever -shared -quiet \
            >"$tag.server.log" 2>&1 &
        pids+=($!)
        fwd=($!)
        $py relay.py "$rport" "$port" "$tag.counts" &
        pids+=($!)
        sleep 1
        DISPLAY=$cli_dpy xtightvncviewer -encodings "copyrect tight zlib hextile" -nojpeg "127.0.0.1::$rport" >"$tag.client.log" 2>&1 &
        pids+=($!)
        cwin=$(client_window --class "^Vncviewer\$") || { echo "$tag: no VNC viewer window ($(tail -1 "$tag.client.log"))" >&2; return 1; }
        xpid=$srv_pid
        meas=(fwd_comm - bytes_counts "$tag.counts")
        ;;
    esac
    sleep 3  # first paint and start-up are not part of the measurement
    $py measure.py prefix "$prefix" xserver "$xpid" fwd_pids "${fwd[*]:-}" app_comm "$load.exe" \
        duration "$duration" slice "$slice" "${meas[@]}" >"$tag.slices.$round" 2>"$tag.procs" &
    local mpid=$!
    if [ "$load" = textview ]; then
        DISPLAY=$cli_dpy $py driver.py work "$cwin" "$duration" >"$tag.driver" 2>&1
    fi
    wait "$mpid"
    if [ "$load" = textview ] && [ "$probes" -gt 0 ]; then
        lat=$(DISPLAY=$cli_dpy $py driver.py probe "$cwin" "$probes" 2>"$tag.probe.err") || lat="- - - -"
    fi
    if [ "$load" = animation ] && [ -n "$cwin" ]; then
        DISPLAY=$cli_dpy $py driver.py frames "$cwin" 5 >"$tag.frames" 2>&1
    fi
    cat "$tag".slices.[0-9]* >"$tag.slices"
    grep -v "^$peer $load " results.txt >results.tmp
    echo "$peer $load $($py summary.py "$tag.slices") $lat" >>results.tmp
    mv results.tmp results.txt
}

: >results.txt
: >failed.txt
echo "$duration $slice $probes $rounds $loads" >params.txt
for round in $(seq "$rounds"); do
    for load in $loads; do
        for peer in $peers; do
            echo "# round $round/$rounds: running $peer $load ($duration s)"
            # a failed run keeps the rounds that worked
            run_one "$peer" "$load" || { echo "round $round: $peer $load failed" >>failed.txt
                grep -q "^$peer $load " results.txt || echo "$peer $load failed" >>results.txt; }
        done
    done
done
echo "# host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(wine --version 2>/dev/null); $(xpra --version 2>&1 | head -1)" >host.txt
report
