#!/usr/bin/env bash
# Serial console round-trip latency: a command line written to the test
# guest's shell on ttyS0 until its output comes back, through vredir and
# through `virsh console`, driven the same way, in one run on one guest.
#   vredir: redir-capture --serial --serial-input FIFO -o - (the console held
#           both ways by one process); the line goes in as a DATA frame on
#           the FIFO, the round trip ends when the DATA frames on the stream
#           hold its output
#   virsh:  `virsh console` on a pseudo-terminal; the line goes to the pty,
#           the round trip ends when the pty shows its output
# Each round is "echo RT-<i>-$((<i>+1))" and waits for "RT-<i>-<i+1>", which
# only the shell's output has. ROUNDS rounds per side (first one dropped as
# warm-up), medians and the ratio vredir/virsh.
#
#   bash tests/bench/serial_bench.sh          (ROUNDS=30)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-capture
rounds=${ROUNDS:-30}
lib=$VREDIR_SOURCE_DIR/tests/integration/lib

# shellcheck source=../guest/fixture.sh
source "$VREDIR_SOURCE_DIR/tests/guest/fixture.sh"
name=vredir-test-serialbench-$$
vg_serial_shell_guest "$name"
out=$(mktemp -d /tmp/vredir-serialbench.XXXXXX)
trap 'rc=$?; rm -rf "$out"; vg_cleanup $rc' EXIT

mkfifo "$out/in.fifo"
PYTHONPATH=$lib python3 - "$name" "$rounds" "$out/in.fifo" >"$out/vredir.ms" <<'EOF' || vg_fail "the vredir side failed"
import os, re, select, struct, subprocess, sys, time
import vrs
name, rounds, fifo = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cap = subprocess.Popen(["redir-capture", name, "--serial", "--serial-input", fifo, "--no-audio", "--no-cursor",
                        "--fps", "1", "-o", "-"], stdout=subprocess.PIPE)
w = open(fifo, "wb", buffering=0)
w.write(vrs.MAGIC + vrs.hello("serial-bench") + vrs.declare(1, 10, "serial", {"purpose": "serial"}))
fd = cap.stdout.fileno()
buf, text, serial = b"", b"", None

def pump(timeout):
    """Reads the stream; appends the serial channel's DATA to text."""
    global buf, text, serial
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return
    data = os.read(fd, 1 << 20)
    if not data:
        raise SystemExit("redir-capture ended")
    buf += data
    if buf.startswith(vrs.MAGIC):
        buf = buf[len(vrs.MAGIC):]
    while len(buf) >= 16:
        n, ch, ft, _, _ = struct.unpack("<IHBBQ", buf[:16])
        if len(buf) < 16 + n:
            break
        p, buf = buf[16:16 + n], buf[16 + n:]
        if ft == 0x02 and p[2] == 10:
            serial = struct.unpack("<H", p[:2])[0]
        elif ft == 0x80 and ch == serial:
            text += p

def wait_for(pat, timeout):
    end = time.monotonic() + timeout
    while not re.search(pat, text):
        left = end - time.monotonic()
        if left <= 0:
            return False
        pump(left)
    return True

# The console is held once the serial channel is declared; QEMU notices the
# new client within a second.
end = time.monotonic() + 20
while serial is None and time.monotonic() < end:
    pump(0.5)
time.sleep(1.5)
for i in range(rounds):
    time.sleep(0.2)
    pump(0)
    text = b""
    t0 = time.monotonic()
    w.write(vrs.frame(1, 0x80, ("echo RT-%d-$((%d+1))\n" % (i, i)).encode()))
    if not wait_for(("RT-%d-%d" % (i, i + 1)).encode(), 20):
        raise SystemExit("round %d: no answer" % i)
    print("%.3f" % ((time.monotonic() - t0) * 1000))
w.write(vrs.end())
w.close()
cap.terminate()
cap.wait()
EOF
python3 "$lib/virsh_console.py" "$name" rounds "$rounds" >"$out/virsh.ms" || vg_fail "the virsh console side failed"

python3 - "$out/vredir.ms" "$out/virsh.ms" <<'EOF'
import statistics, sys
def load(p):
    v = [float(x) for x in open(p).read().split()]
    return v[1:]  # the first round warms up
a, b = load(sys.argv[1]), load(sys.argv[2])
ma, mb = statistics.median(a), statistics.median(b)
print(f"serial round trip, {len(a)} rounds each (median / min / max ms):")
print(f"  vredir (redir-capture --serial --serial-input): {ma:7.2f} / {min(a):6.2f} / {max(a):7.2f}")
print(f"  virsh console:                                 {mb:7.2f} / {min(b):6.2f} / {max(b):7.2f}")
print(f"  ratio vredir / virsh: {ma / mb:.2f}")
EOF
