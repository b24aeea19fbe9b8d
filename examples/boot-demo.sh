#!/usr/bin/env bash
# boot-demo.sh - build the vredir test guest, define it as the libvirt domain
# "demo" (once per checkout) and boot it with vm-power. Leaves it running for the other
# examples:
#
#   vm-list
#   vm-power resolution 1280x800 demo --wait
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

# A demo domain that another checkout defined (its kernel and logs under that
# checkout, perhaps deleted since) is defined again from this one, unless it
# is running. A domain of that name that is not the demo guest is left alone.
if vm-power status "$name" >/dev/null 2>&1; then
    xml=$(virsh -q -c qemu:///system dumpxml --inactive "$name")
    if ! grep -qF "<kernel>$kernel</kernel>" <<<"$xml"; then
        if ! grep -q "<kernel>.*/guest/vmlinuz</kernel>" <<<"$xml" || ! grep -qF "/demo/$name/serial.log" <<<"$xml"; then
            echo "boot-demo: a domain '$name' exists and is not the demo guest (choose another name: VREDIR_DEMO_NAME=NAME)" >&2
            exit 1
        fi
        if [ "$(virsh -q -c qemu:///system domstate "$name")" = "shut off" ]; then
            virsh -q -c qemu:///system undefine "$name" >/dev/null
            echo "redefining $name from this checkout (it was defined from another one)" >&2
        fi
    fi
fi
if ! vm-power status "$name" >/dev/null 2>&1; then
    dir=$build/demo/$name
    mkdir -p "$dir"
    vg_domain_xml "$name" "$kernel" "$initrd" "$dir" >"$dir/domain.xml"
    virsh -q -c qemu:///system define "$dir/domain.xml" >/dev/null
    echo "defined $name (serial log: $dir/serial.log)" >&2
fi

vm-power -c qemu:///system start "$name" --wait --timeout 60
vm-list -c qemu:///system --name "$name"
