#!/usr/bin/env python3
"""Writes the seed corpora of the session, qmp, known_hosts, domain_xml, usbredir
serial and barrier fuzz targets from the readable descriptions below, into tests/fuzz/corpus/NAME/.
Run it again after changing a description; the fuzzers' own finds are added
to the same folders by tests/fuzz/long.sh.

    python3 tests/fuzz/seeds.py
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "lib"))
from vrs import MAGIC, SESSION, control, declare, end, frame, hello, key, session_opening  # noqa: E402


def opening():
    return session_opening()


def gdi_state(target):
    # STATE record (op 0x19): enough to be well formed for the gdi codec is
    # not needed here: before login the frame is refused by its header alone.
    return frame(9, 0x70, bytes([0x19]) + struct.pack("<I", target) + b"\0" * 32)


SESSION_SEEDS = {
    # Before login (first byte even): everything the client sends.
    "login-list": b"\0" + opening() + control("auth", {"user": "alice", "password": "pa"}) + end(),
    "login-wrong": b"\0" + opening() + control("auth", {"user": "alice", "password": "nope"}),
    "login-unknown-user": b"\0" + opening() + control("auth", {"user": "mallory", "password": "x"}),
    "login-cert": b"\0" + opening() + control("auth", {"user": "alice", "method": "cert"}),
    "pre-gdi-states": b"\0" + opening() + declare(9, 9, "app") + b"".join(gdi_state(t) for t in range(8)),
    "pre-big-frame": b"\0" + opening() + control("auth", {"user": "alice", "password": "x" * 4000}) * 20,
    "pre-deflate": b"\0" + opening() + frame(0, 0x04, b"\x4b\x4c\x04\x00"),
    "pre-select": b"\0" + opening() + control("select", {"vm": "test"}),
    "pre-other-channel": b"\0" + opening() + declare(1, 4, "kbd") + key(1, 1, 30, True),
    # After a valid login as alice (first byte odd): the rest of the session.
    "select-control": b"\1" + control("select", {"vm": "test", "streams": "0"}) + control("reboot")
    + control("frobnicate") + control("resolution", {"size": "800x600"}) + control("disconnect"),
    "select-by-id": b"\1" + control("select", {"vm": "1", "streams": "0"}) + end(),
    "select-denied": b"\1" + control("select", {"vm": "other", "streams": "0"}),
    "select-streams-input": b"\1" + control("select", {"vm": "test", "streams": "1"}) + declare(1, 4, "kbd")
    + key(1, 1, 30, True) + key(1, 2, 30, False) + end(),
    "after-login-unknown-kind": b"\1" + declare(3, 200, "thing") + frame(3, 0x90, b"xyz") + end(),
    # connect --usb: a usbredir channel in the session's USB ids, its bytes, its close.
    "usb-channel": b"\1" + control("select", {"vm": "test", "streams": "1"})
    + declare(0xFFE0, 10, "usbredir", {"purpose": "usbredir"}) + frame(0xFFE0, 0x80, b"usbredir bytes")
    + frame(0xFFE0, 0x03, b"") + end(),
    "usb-channel-bad-id": b"\1" + control("select", {"vm": "test", "streams": "1"})
    + declare(1, 10, "usbredir", {"purpose": "usbredir"}) + frame(1, 0x80, b"x") + end(),
    # serve --apps: a launch, the app's input channel (downstream=1), a denied
    # name, an unknown one, too many, empty names.
    "launch-input": b"\1" + control("launch", {"apps": "edit"}) + declare(9, 9, "gdi.edit", {"downstream": "1"})
    + frame(9, 0x70, bytes([0x80]) + struct.pack("<IHHBI", 1, 0x41, 0x1E, 1, 0x61)) + frame(9, 0x03, b"") + end(),
    "launch-denied": b"\1" + control("launch", {"apps": "edit,other"}),
    "launch-unknown": b"\1" + control("launch", {"apps": "nosuch"}),
    "launch-many": b"\1" + control("launch", {"apps": ",".join(["edit"] * 40)}),
    "launch-empty-names": b"\1" + control("launch", {"apps": ",,"}) + control("launch", {}),
    # The clipboard of a launched app: the client's channel (downstream=32769),
    # text, text that is not UTF-8, one with a downstream out of range.
    "launch-clipboard": b"\1" + control("launch", {"apps": "edit"})
    + declare(11, 11, "clipboard.edit", {"downstream": "32769"}) + frame(11, 0x90, b"\x01copied text")
    + frame(11, 0x90, b"\x01\xff\xfe") + frame(11, 0x90, b"\x07odd format") + frame(11, 0x03, b"")
    + declare(12, 11, "c", {"downstream": "32768"}) + frame(12, 0x90, b"\x01x") + end(),
    "launch-bad-downstream": b"\1" + control("launch", {"apps": "edit"}) + declare(9, 9, "g", {"downstream": "70000"})
    + declare(10, 9, "g", {"downstream": "0"}) + control("reboot") + control("disconnect"),
}

QMP_SEEDS = {
    "return-pid": '{"return": {"pid": 1000}}',
    "exec-status": '{"return": {"exited": true, "exitcode": 0}}',
    "exec-status-signal": '{"return": {"exited": true, "signal": 9}}',
    "exec-status-wrong-types": '{"return": {"exited": "yes", "exitcode": "0"}}',
    "osinfo-wrong-types": '{"return": {"id": 42, "kernel-name": ["Windows"], "name": {}}}',
    "error": '{"error": {"class": "CommandNotFound", "desc": "The command x has not been found"}}',
    "error-not-object": '{"error": 5}',
    "queue-element": '{"return": {"avail": {"idx": 12, "flags": 0}, "used": {"idx": 10}}}',
    "not-json": "return pid 7",
    "array": "[1, 2, 3]",
    "deep": "[" * 200 + "]" * 200,
}

KNOWN_HOSTS_SEEDS = {
    "one-host": "host.example:7000 " + "a" * 64 + "\n",
    "other-key": "host.example:7000 " + "b" * 64 + "\n",
    "colons": "host.example:7000 " + ":".join(["AB"] * 32) + "\n",
    "comments": "# known hosts\n\n[::1]:7000 " + "c" * 64 + "\n",
    "endpoint-tls": "tls://vmhost:7000",
    "endpoint-v6": "tls://[2001:db8::1]:7000",
    "endpoint-unix": "unix:/run/redir-mux.sock",
    "fingerprint": "SHA256 Fingerprint=" + ":".join(["0F"] * 32),
    "garbage": "host.example:7000\x00\xff junk\n" * 3,
}

DOMAIN_XML_SEEDS = {
    "guest": """<domain type='qemu'>
  <name>demo</name>
  <devices>
    <controller type='usb' index='0' model='qemu-xhci'/>
    <serial type='file'><source path='/tmp/serial.log'/><target port='0'/></serial>
    <channel type='unix'><source mode='bind' path='/tmp/qga.sock'/>
      <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>
    <input type='tablet' bus='usb'/>
    <input type='keyboard' bus='virtio'><alias name='input2'/></input>
    <graphics type='vnc' socket='/tmp/vnc.sock'/>
    <graphics type='dbus' p2p='yes'/>
    <sound model='ich9'><audio id='1'/></sound>
    <audio id='1' type='none'/>
    <video><model type='virtio' heads='2' primary='yes'/></video>
    <redirdev bus='usb' type='unix'><source mode='connect' path='/tmp/usb.sock'/></redirdev>
  </devices>
</domain>
""",
    "empty-devices": "<domain type='kvm'><name>x</name><devices/></domain>",
    "no-name": "<domain><devices><video><model heads='99999999999'/></video></devices></domain>",
    "entities": "<!DOCTYPE d [<!ENTITY a 'aaaaaaaa'>]><domain><name>&a;&a;</name></domain>",
    "not-xml": "<domain><devices><input type='",
    # PCI controllers and addresses: whether an input device can be hot-plugged.
    "q35-pci": """<domain><os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os><devices>
  <controller type='pci' index='0' model='pcie-root'/>
  <controller type='pci' index='1' model='pcie-root-port'>
    <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></controller>
  <controller type='pci' index='2' model='pcie-root-port'/>
  <controller type='usb' model='qemu-xhci'><address type='pci' bus='0x01' slot='0x00'/></controller>
  <serial type='pty'><target port='0'/></serial>
</devices></domain>""",
    "pci-hostile": "<domain><os><type machine='q35'/><type machine='pc'/></os><devices>"
                   "<controller type='pci' index='-7' model='pcie-root-port'/>"
                   "<controller type='pci' index='99999999999' model='pci-root'/>"
                   "<x><address type='pci' bus='0xffffffffffffffffff'/></x><y><address type='pci' bus='-1'/></y>"
                   "<z><address type='pci' bus=''/></z></devices></domain>",
}


# usbredir (usbredir_fuzz.cpp): byte 0 flags (1: allow-list), then records
# [direction][length][bytes], odd directions from the device side.
def usb_packet(ptype, body, id64=False, pid=1):
    return struct.pack("<II", ptype, len(body)) + (struct.pack("<Q", pid) if id64 else struct.pack("<I", pid)) + body


def usb_hello(caps):
    return usb_packet(0, b"test".ljust(64, b"\0") + struct.pack("<I", caps))


CAPS = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6)  # device version, max packet size, 64-bit ids, 32-bit bulk


def usb_interface_info(classes):
    n = len(classes)
    return usb_packet(4, struct.pack("<I", n) + bytes(range(n)).ljust(32, b"\0") + bytes(classes).ljust(32, b"\0")
                      + b"\0" * 64, True)


def usb_connect(vid, pid, cls=2):
    return usb_packet(1, struct.pack("<BBBBHHH", 2, cls, 0, 0, vid, pid, 0x100), True)


def usb_records(*parts):
    out = b""
    for direction, data in parts:
        for i in range(0, len(data), 200):
            out += bytes([direction, len(data[i:i + 200])]) + data[i:i + 200]
    return out


def usb_session(flags, vid, pid, extra=b""):
    device = usb_hello(CAPS) + usb_interface_info([2, 10]) + usb_packet(5, b"\0" * 160, True) + usb_connect(vid, pid)
    return bytes([flags]) + usb_records((0, usb_hello(CAPS)), (1, device + extra))


USBREDIR_SEEDS = {
    "session": usb_session(0, 0x1209, 1, usb_packet(101, struct.pack("<BBHIH", 0x82, 0, 5, 0, 0) + b"HELLO", True)),
    "allowed": usb_session(1, 0x1209, 1),
    "refused": usb_session(1, 0x1209, 2),
    "by-class": usb_session(1, 0x1234, 5) ,
    "data-before-connect": bytes([0]) + usb_records((0, usb_hello(CAPS)), (1, usb_hello(CAPS) + usb_packet(101, b"\0" * 10, True))),
    "huge-control": bytes([0]) + usb_records((0, usb_hello(CAPS)), (1, usb_hello(CAPS) + struct.pack("<IIQ", 4, 0xffffffff, 1))),
    "huge-data": usb_session(0, 0x1209, 1, struct.pack("<IIQ", 101, 0xfffffff0, 1)),
    "no-hello": bytes([0]) + usb_records((1, usb_connect(1, 1))),
    "short-connect": bytes([0]) + usb_records((0, usb_hello(CAPS)), (1, usb_hello(CAPS) + usb_interface_info([3]) + usb_packet(1, b"\2", True))),
    "bad-interfaces": bytes([0]) + usb_records((0, usb_hello(CAPS)), (1, usb_hello(CAPS) + usb_packet(4, struct.pack("<I", 99) + b"\0" * 128, True))),
    "32bit-ids": bytes([0]) + usb_records((0, usb_hello(0)), (1, usb_hello(CAPS) + usb_packet(4, struct.pack("<I", 1) + b"\0" * 128) + usb_packet(1, struct.pack("<BBBBHH", 2, 0, 0, 0, 1, 2)))),
    "device-first": bytes([0]) + usb_records((1, usb_hello(CAPS) + usb_interface_info([2]) + usb_connect(1, 2)), (0, usb_hello(CAPS))),
    "text-allow": "T046d:*, class:08,1209:0001",
    "text-allow-bad": "T046d:12345,class:8",
    "text-unix": "Tunix:/run/usb.sock",
    "text-tcp6": "Ttcp:[::1]:4000",
    "text-busaddr": "T3-17",
}


def serial_input(*chunks, purpose="serial"):
    out = MAGIC + hello("seed") + declare(1, 10, "serial", {"purpose": purpose})
    for c in chunks:
        out += frame(1, 0x80, c)
    return out


SERIAL_SEEDS = {
    # Console output (what the guest writes), for the wait.
    "output-login": b"\r\nDebian GNU/Linux 12 host ttyS0\r\n\r\nhost login: ",
    "output-match": b"/ # echo SER-$((6*7))-OK\r\nSER-42-OK\r\n/ # ",
    "output-escapes": b"\x1b[0;32mok\x1b[0m\r\n\x00\xff\xfe" + b"ab" * 3000 + b"c",
    "output-long-line": b"x" * 20000 + b"\n",
    # Input streams, for --serial-input.
    "input-text": serial_input(b"echo hi\n", b"\x1d") + end(),
    "input-other-purpose": serial_input(b"{}", purpose="qmp") + end(),
    "input-truncated": serial_input(b"echo hi\n")[:-3],
    "input-data-before-declare": MAGIC + hello("seed") + frame(1, 0x80, b"x"),
}


def barrier(body):
    return struct.pack(">I", len(body)) + body


BARRIER_SEEDS = {
    # What QEMU's Barrier client sends: its greeting back, keep-alive answers.
    "hello-back": barrier(b"Barrier\0\x01\0\x06" + struct.pack(">I", 10) + b"vredir-abc"),
    "keep-alive": barrier(b"CALV") * 3,
    "unknown": barrier(b"EUNK") + barrier(b"CALV"),
    "name-too-long": barrier(b"Barrier\0\x01\0\x06" + struct.pack(">I", 300) + b"n" * 300),
    "name-cut": barrier(b"Barrier\0\x01\0\x06" + struct.pack(">I", 99) + b"n"),
    "oversized": struct.pack(">I", 5000) + b"x" * 64,
    "zero-length": struct.pack(">I", 0) + barrier(b"CALV"),
    "split": barrier(b"CALV")[:6],
}


def write(name, seeds):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for file, content in seeds.items():
        data = content.encode() if isinstance(content, str) else content
        with open(os.path.join(d, file), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("session", SESSION_SEEDS)
    write("qmp", QMP_SEEDS)
    write("known_hosts", KNOWN_HOSTS_SEEDS)
    write("domain_xml", DOMAIN_XML_SEEDS)
    write("usbredir", USBREDIR_SEEDS)
    write("serial", SERIAL_SEEDS)
    write("barrier", BARRIER_SEEDS)
