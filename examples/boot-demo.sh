#!/usr/bin/env bash
# boot-demo.sh - build the vredir test guest, define it as the libvirt domain
# "demo" (once per checkout) with its text console, and boot it with
# vm-power. Leaves it running for the other examples:
#
#   vm-list
#   redir-capture demo --text
#   vm-power shutdown demo --wait
#
# Needs root (qemu:///system) and the build tree (default: build/, or
# $VREDIR_BUILD_DIR). VREDIR_DEMO_NAME picks another domain name.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VREDIR_BUILD_DIR:-$repo/build}
name=${VREDIR_DEMO_NAME:-demo}
for t in vm-list vm-power; do
    command -v "$t" >/dev/null || PATH="$build/tools/$t:$PATH"
done
export PATH

# libvirtd and virtlogd, started when they are not running.
source "$repo/tests/guest/fixture.sh"
vg_ensure_libvirt

# The guest: the host's Debian kernel plus a busybox initramfs with the probe.
paths=$(bash "$repo/tests/guest/build-guest.sh" "$build/guest")
kernel=$(sed -n 1p <<<"$paths")
initrd=$(sed -n 2p <<<"$paths")

# The demo guest runs its text console (a shell on the VGA text screen, the
# kernel command-line word vredir.text), so that what is typed into it and
# its output show on the screen.
export VG_CMDLINE=vredir.text
virsh=(virsh -q -c qemu:///system)
# A demo domain defined earlier is kept when it is this checkout's, with the
# text console. One that another checkout defined (its kernel and logs under
# that checkout, perhaps deleted since) is defined again from this one unless
# it is running; one without the text console (an older demo) is defined
# again, powered off first if it runs. A domain of that name that is not the
# demo guest is left alone.
if vm-power status "$name" >/dev/null 2>&1; then
    xml=$("${virsh[@]}" dumpxml --inactive "$name")
    if ! grep -q "<kernel>.*/guest/vmlinuz</kernel>" <<<"$xml" || ! grep -qF "/demo/$name/serial.log" <<<"$xml"; then
        echo "boot-demo: a domain '$name' exists and is not the demo guest (choose another name: VREDIR_DEMO_NAME=NAME)" >&2
        exit 1
    fi
    state=$("${virsh[@]}" domstate "$name")
    if ! grep -q "vredir.text" <<<"$xml" && [ "$state" != "shut off" ]; then
        echo "powering off $name to define it again with its text console" >&2
        vm-power -c qemu:///system poweroff "$name" --wait --timeout 30
        state="shut off"
    fi
    if { ! grep -qF "<kernel>$kernel</kernel>" <<<"$xml" || ! grep -q "vredir.text" <<<"$xml"; } &&
        [ "$state" = "shut off" ]; then
        "${virsh[@]}" undefine "$name" >/dev/null
        echo "redefining $name from this checkout" >&2
    fi
fi
if ! vm-power status "$name" >/dev/null 2>&1; then
    dir=$build/demo/$name
    mkdir -p "$dir"
    vg_domain_xml "$name" "$kernel" "$initrd" "$dir" >"$dir/domain.xml"
    "${virsh[@]}" define "$dir/domain.xml" >/dev/null
    echo "defined $name (serial log: $dir/serial.log)" >&2
fi
# The directory of its serial log is made when the domain is defined; a
# checkout's "rm -rf build" removes it, and QEMU cannot start without it.
log=$("${virsh[@]}" dumpxml --inactive "$name" | sed -n "s/.*<\(source path\|log file\)='\([^']*\/serial\.log\)'.*/\2/p" | head -1)
[ -n "$log" ] && mkdir -p "$(dirname "$log")"

vm-power -c qemu:///system start "$name" --wait --timeout 60
vm-list -c qemu:///system --name "$name"
