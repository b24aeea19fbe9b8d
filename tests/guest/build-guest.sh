#!/usr/bin/env bash
# build-guest.sh OUTDIR - builds the vredir test guest from the host's
# Debian packages (nothing is downloaded):
#   OUTDIR/vmlinuz     copy of the newest Debian kernel in /boot
#   OUTDIR/initrd.img  gzip'd cpio (newc): /init = static probe, busybox,
#                      and only the kernel modules the probe needs
# Outputs newer than their inputs are reused (prints the paths and exits).
#
# Environment:
#   VREDIR_GUEST_KERNEL  kernel image to use (default: newest
#                        /boot/vmlinuz-*-amd64); its modules must be in
#                        /lib/modules/<version>.
#   CC                   C compiler (default gcc)
set -euo pipefail

die() { echo "build-guest: $*" >&2; exit 1; }
need_pkg() { # need_pkg PACKAGE WHAT
    die "missing $2: apt-get install -y $1"
}

[ $# -eq 1 ] || die "usage: build-guest.sh OUTDIR"
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/$(basename "${BASH_SOURCE[0]}")"
cc=${CC:-gcc}

# ---- locate inputs -------------------------------------------------------
kernel=${VREDIR_GUEST_KERNEL:-}
if [ -z "$kernel" ]; then
    kernel=$(ls -1 /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
fi
{ [ -n "$kernel" ] && [ -r "$kernel" ]; } || need_pkg linux-image-amd64 "Debian kernel (/boot/vmlinuz-*-amd64)"
kver=${kernel##*/vmlinuz-}
moddir=/lib/modules/$kver
[ -r "$moddir/modules.dep" ] || need_pkg "linux-image-$kver" "modules for $kver ($moddir)"
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=/usr/bin/busybox
[ -x "$busybox" ] || need_pkg busybox-static "busybox"
command -v "$cc" >/dev/null || need_pkg gcc "C compiler"
command -v cpio >/dev/null || need_pkg cpio "cpio"
command -v gzip >/dev/null || need_pkg gzip "gzip"
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need_pkg libc6-dev "static C library (libc.a)"
[ -e /usr/include/linux/input.h ] || need_pkg linux-libc-dev "Linux UAPI headers"

mkdir -p "$out"
out=$(cd "$out" && pwd)
vmlinuz=$out/vmlinuz
initrd=$out/initrd.img

# ---- cache check -----------------------------------------------------------
fresh=1
for o in "$vmlinuz" "$initrd"; do
    [ -e "$o" ] || { fresh=0; break; }
    for i in "$here/probe.c" "$here/patterns.h" "$script" "$kernel"; do
        [ "$o" -nt "$i" ] || { fresh=0; break 2; }
    done
done
if [ "$fresh" = 1 ] && [ "$(cat "$out/kernel-version" 2>/dev/null)" = "$kver" ]; then
    echo "$vmlinuz"
    echo "$initrd"
    exit 0
fi

# ---- busybox must be static (busybox-static, not busybox) -----------------
if command -v file >/dev/null && ! file -L "$busybox" | grep -q static; then
    need_pkg busybox-static "static busybox ($busybox is dynamic)"
fi

# ---- modules: closure over modules.dep, dependencies first -----------------
# name[:params]  (params are passed to finit_module)
wanted=(
    virtio_pci
    virtio_console
    drm_kms_helper:fbdev_emulation=0
    virtio-gpu
    evdev
    psmouse
    virtio_input
    button
    xhci-pci
    usbhid
    cdc-acm
    hid-generic
    snd-hda-codec-generic
    snd-hda-intel
    snd-pcm-oss
)

declare -A dep_of path_of seen params_of
while IFS= read -r line; do
    p=${line%%:*}
    d=${line#*:}
    n=${p##*/}
    n=${n%%.ko*}
    n=${n//-/_}
    path_of[$n]=$p
    dep_of[$p]=$d
done <"$moddir/modules.dep"

order=()
visit() {
    local p=$1 d
    [ -n "${seen[$p]:-}" ] && return 0
    seen[$p]=1
    for d in ${dep_of[$p]}; do
        visit "$d"
    done
    order+=("$p")
}
builtin_has() { grep -q "/$1.ko" "$moddir/modules.builtin" 2>/dev/null; }

for w in "${wanted[@]}"; do
    name=${w%%:*}
    key=${name//-/_}
    par=""
    [ "$w" != "$name" ] && par=${w#*:}
    p=${path_of[$key]:-}
    if [ -z "$p" ]; then
        builtin_has "$name" || builtin_has "$key" || die "kernel $kver has no module $name"
        continue
    fi
    [ -n "$par" ] && params_of[$p]=$par
    visit "$p"
done

# ---- stage -------------------------------------------------------------------
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,etc,proc,sys,dev,tmp,lib/modules}
cp "$busybox" "$stage/bin/busybox"
for a in sh ls cat dmesg mount poweroff insmod; do ln -s busybox "$stage/bin/$a"; done

"$cc" -static -pthread -O2 -Wall -Wextra -Wno-unused-parameter -o "$stage/init" "$here/probe.c" -lm \
    || die "compiling probe.c failed"
strip "$stage/init" 2>/dev/null || true

: >"$stage/etc/modules.order"
for p in "${order[@]}"; do
    src=$moddir/$p
    base=${p##*/}
    case "$base" in
    *.ko.xz) command -v xz >/dev/null || need_pkg xz-utils "xz"
        xz -dc "$src" >"$stage/lib/modules/${base%.xz}"; base=${base%.xz} ;;
    *.ko.zst) command -v zstd >/dev/null || need_pkg zstd "zstd"
        zstd -qdc "$src" >"$stage/lib/modules/${base%.zst}"; base=${base%.zst} ;;
    *.ko.gz) gzip -dc "$src" >"$stage/lib/modules/${base%.gz}"; base=${base%.gz} ;;
    *) cp "$src" "$stage/lib/modules/$base" ;;
    esac
    par=${params_of[$p]:-}
    echo "/lib/modules/$base${par:+ $par}" >>"$stage/etc/modules.order"
done

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
    | gzip -6 >"$initrd.tmp"
mv "$initrd.tmp" "$initrd"
cp "$kernel" "$vmlinuz.tmp"
mv "$vmlinuz.tmp" "$vmlinuz"
echo "$kver" >"$out/kernel-version"
echo "$vmlinuz"
echo "$initrd"
