#!/usr/bin/env bash
# Input-to-photon on the test guest's text console (TCG, 720x400 VGA text):
# from a key sent to the time its glyph is on the screen, median and p95 of
# KEYS keys, against the peer measured in the same run.
#
#  vredir  redir-inject and redir-capture both kept running, as a rig keeps
#          them: redir-inject reads a vredir stream from a pipe (one key's
#          down and up frames per trial, written by this script) and
#          redir-capture keeps a control socket. For each trial a wait-text
#          request for the prompt with one more character is sent first,
#          then the key; the latency is from writing the key to the answer.
#          The answer comes from the first frame QEMU sends that shows the
#          glyph (read through the VGA font; the font read and the socket
#          cost well under a millisecond).
#  virsh   `virsh send-key DOMAIN KEY_X`, then `virsh screenshot` until the
#          glyph's cell shows ink (its rows above the cursor's), as a rig
#          without a running capture would.
#
# KEYBOARD=vnc sends the keys through QEMU's VNC server instead of the
# guest's virtio keyboard. Timing here never decides a test's verdict.
#
# bash tests/bench/photon_bench.sh [KEYS]   (default 25)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-capture redir-inject
need_helpers vrs-build
keys=${1:-25}
keyboard=${KEYBOARD:-auto}
/usr/bin/python3 -c 'import cv2' 2>/dev/null || { echo "python3-opencv is missing (apt-get install python3-opencv)" >&2; exit 1; }
# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
out=$(mktemp -d /tmp/vredir-photon.XXXXXX)
vg_ensure_libvirt
vg_build
name=vredir-test-photon-$$
VG_CMDLINE=vredir.text vg_define "$name"
pids=()
trap 'rc=$?; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$out"; vg_cleanup $rc' EXIT
vg_start >/dev/null 2>&1 || vg_fail "the guest did not boot"
redir-capture "$name" --until-text '^/ #' --timeout 60 >/dev/null 2>&1 || vg_fail "no prompt"
redir-inject "$name" --type 'clear\n' 2>/dev/null
redir-capture "$name" --until-stable 1 --timeout 20 >/dev/null 2>&1

# The stream redir-inject reads: a header, a keyboard channel, then one
# key's down and up frames per trial (KEY_X, 45).
printf 'hello producer=photon-bench\ndeclare 1 keyboard kbd\nkey 1 1 45 down keysym=0x78\nkey 1 2 45 up keysym=0x78\nend\n' |
    vrs-build -o "$out/keys.vrs"
mkfifo "$out/keys.fifo"
sock=$out/ctl.sock
redir-capture "$name" --control "$sock" 2>"$out/cap.err" &
pids+=($!)
redir-inject "$name" --no-timing --keyboard "$keyboard" -i "$out/keys.fifo" 2>"$out/inj.err" &
pids+=($!)

/usr/bin/python3 - "$out/keys.vrs" "$out/keys.fifo" "$sock" "$keys" "$name" "$out/shot.png" <<'EOF'
import json, os, socket, statistics, subprocess, sys, time
import cv2

stream, fifo, sock, n, name, shot = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
data = open(stream, "rb").read()
# Frames: a 12-byte stream header, then 16-byte frame headers (u32 payload
# length first) each followed by its payload.
frames, pos = [], 12
while pos + 16 <= len(data):
    ln = int.from_bytes(data[pos:pos + 4], "little")
    frames.append(data[pos:pos + 16 + ln])
    pos += 16 + ln
head, down, up = data[:12] + frames[0] + frames[1], frames[2], frames[3]
w = os.open(fifo, os.O_WRONLY)
os.write(w, head)
for _ in range(50):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        break
    except OSError:
        time.sleep(0.1)
f = s.makefile("rwb")
def ask(line):
    f.write(line.encode() + b"\n"); f.flush()
    return json.loads(f.readline())
ask("wait-stable --timeout 20 1")

def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]

ours = []
for i in range(1, n + 1):
    # The wait is in place before the key goes.
    f.write(("wait-text --timeout 5 ^/ # x{%d}$\n" % i).encode()); f.flush()
    time.sleep(0.05)
    t0 = time.monotonic()
    os.write(w, down + up)
    r = json.loads(f.readline())
    t1 = time.monotonic()
    if r.get("status") == 0:
        ours.append((t1 - t0) * 1000)
    time.sleep(0.3)
print(f"vredir: redir-inject -> redir-capture (both running)  median {pct(ours, .5):6.1f} ms  p95 {pct(ours, .95):6.1f} ms  ({len(ours)}/{n} seen)", flush=True)
os.write(w, b"")

# The peer. The prompt is "/ # " then the x's: the next glyph goes to
# column 4 + count, row of the prompt.
virsh = ["virsh", "-q", "-c", "qemu:///system"]
def cell_has_ink(col, row):
    subprocess.run(virsh + ["screenshot", name, shot], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    img = cv2.imread(shot, cv2.IMREAD_GRAYSCALE)
    if img is None:
        return False
    cell = img[row * 16: row * 16 + 13, col * 9: col * 9 + 8]  # rows above the cursor's
    return int(cell.max()) > 64
r = ask("text")
lines = r["text"].split("\n")
row = max(i for i, l in enumerate(lines) if l.startswith("/ #"))
count = len(lines[row]) - 4
theirs = []
for i in range(n):
    col = 4 + count + i
    if col >= 79:
        break
    t0 = time.monotonic()
    subprocess.run(virsh + ["send-key", name, "KEY_X"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.monotonic() - t0 < 5:
        if cell_has_ink(col, row):
            theirs.append((time.monotonic() - t0) * 1000)
            break
    time.sleep(0.3)
print(f"virsh: send-key -> screenshot polling                  median {pct(theirs, .5):6.1f} ms  p95 {pct(theirs, .95):6.1f} ms  ({len(theirs)}/{n} seen)")
print(f"ratio median vredir / virsh: {pct(ours, .5) / pct(theirs, .5):.2f}")
EOF
