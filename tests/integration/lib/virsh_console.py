"""Drives `virsh console DOMAIN` on a pseudo-terminal (virsh wants one): waits
for its banner, writes lines to the guest's console and waits for what they
print, then leaves with Ctrl-]. Used by the serial group (virsh console still
works during a plain capture) and by the serial benchmark (its round trips).

  virsh_console.py DOMAIN expect SEND REGEX [TIMEOUT]
      writes SEND (a line), exits 0 once REGEX shows in the output
  virsh_console.py DOMAIN rounds N
      N round trips: a line written until its output comes back; prints the
      milliseconds of each, one per line
"""
import os
import pty
import re
import select
import sys
import termios
import time

URI = os.environ.get("LIBVIRT_DEFAULT_URI", "qemu:///system")


class Console:
    def __init__(self, domain):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp("virsh", ["virsh", "-c", URI, "console", domain])  # not -q: it hides the banner
        self.buf = b""
        if not self.wait(rb"Escape character is[^\n]*\n", 15):
            raise SystemExit("virsh console did not start: %r" % self.buf[-300:])
        # virsh prints its banner before it puts the terminal in raw mode, and
        # that switch flushes pending input: a line written in between is
        # lost. The master shares the terminal's settings, so wait for ECHO
        # to go off before writing anything.
        end = time.monotonic() + 10
        while termios.tcgetattr(self.fd)[3] & termios.ECHO:
            if time.monotonic() > end:
                raise SystemExit("virsh console never put its terminal in raw mode")
            self.read(0.05)
        self.buf = b""

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            raise SystemExit("virsh console ended: %r" % self.buf[-300:])
        if not data:
            raise SystemExit("virsh console ended: %r" % self.buf[-300:])
        self.buf += data
        return True

    def wait(self, regex, timeout):
        end = time.monotonic() + timeout
        pat = re.compile(regex)
        while not pat.search(self.buf):
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.read(left)
        return True

    def send(self, text):
        os.write(self.fd, text.encode())

    def close(self):
        os.write(self.fd, b"\x1d")  # Ctrl-]
        for _ in range(50):
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return
            time.sleep(0.1)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)


def main():
    domain, mode = sys.argv[1], sys.argv[2]
    c = Console(domain)
    try:
        if mode == "expect":
            send, regex = sys.argv[3], sys.argv[4]
            timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 20
            c.send(send + "\r")
            if not c.wait(regex.encode(), timeout):
                print("no %r in %r" % (regex, c.buf[-300:]), file=sys.stderr)
                return 1
            return 0
        if mode == "rounds":
            for i in range(int(sys.argv[3])):
                time.sleep(0.2)
                c.buf = b""
                t0 = time.monotonic()
                c.send("echo RT-%d-$((%d+1))\r" % (i, i))
                if not c.wait(("RT-%d-%d" % (i, i + 1)).encode(), 20):
                    print("round %d: no answer" % i, file=sys.stderr)
                    return 1
                print("%.3f" % ((time.monotonic() - t0) * 1000))
            return 0
        print("unknown mode " + mode, file=sys.stderr)
        return 2
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
