# shellcheck shell=bash
# fixture.sh - bash library for integration tests that need the vredir test
# guest.  Source it, then:
#
#   vg_ensure_libvirt            start virtlogd/libvirtd if needed
#   vg_build                     build (or reuse) vmlinuz + initrd.img
#   vg_define NAME [XRES YRES]   define domain NAME, export VG_* variables
#   vg_domain_xml NAME KERNEL INITRD DIR [XRES YRES]   its domain XML, on stdout
#   vg_start                     start it and wait for "ready"
#   vg_cmd "solid 00ff00"        send a probe command, wait for its ack
#   vg_wait_log REGEX [TIMEOUT]  wait for a VRP line matching REGEX
#   vg_serial_shell_guest NAME   all of the above for a guest with a shell on ttyS0
#   vg_events                    print the VRP lines, "VRP " prefix removed
#   vg_fail MESSAGE              print and exit 1
#
# Every domain defined here is destroyed and undefined when the shell exits
# (EXIT/INT/TERM trap).  A test that needs its own EXIT trap must call
# vg_cleanup from it.  The work directory (serial log, sockets) is removed
# on success and kept, with its path printed, when the test fails.
#
# Environment: VREDIR_BUILD_DIR (default $PWD/build), VREDIR_GUEST_KEEP=1
# keeps domains and work directories for debugging.

VG_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VG_VIRSH=(virsh -q -c qemu:///system)
VG_DOMAINS=()
VG_DIRS=()

vg_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

vg_note() {
    echo "[guest] $*" >&2
}

# --------------------------------------------------------------------------
# libvirt
# --------------------------------------------------------------------------

vg__virsh_ok() {
    timeout 10 "${VG_VIRSH[@]}" version >/dev/null 2>&1
}

vg_ensure_libvirt() {
    local missing=()
    command -v virsh >/dev/null || missing+=(libvirt-clients)
    [ -x /usr/sbin/libvirtd ] || command -v libvirtd >/dev/null || missing+=(libvirt-daemon-system)
    [ -x /usr/sbin/virtlogd ] || command -v virtlogd >/dev/null || missing+=(libvirt-daemon-system)
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v python3 >/dev/null || missing+=(python3)
    if [ ${#missing[@]} -gt 0 ]; then
        vg_fail "missing packages: apt-get install -y $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')"
    fi
    vg__virsh_ok && return 0

    local conf=/etc/libvirt/qemu.conf
    if [ -w "$conf" ] || [ ! -e "$conf" ]; then
        grep -qE '^[[:space:]]*user[[:space:]]*=' "$conf" 2>/dev/null || echo 'user = "root"' >>"$conf"
        grep -qE '^[[:space:]]*group[[:space:]]*=' "$conf" 2>/dev/null || echo 'group = "root"' >>"$conf"
    fi
    local vl=/usr/sbin/virtlogd ld=/usr/sbin/libvirtd
    [ -x "$vl" ] || vl=$(command -v virtlogd)
    [ -x "$ld" ] || ld=$(command -v libvirtd)
    if ! pgrep -x virtlogd >/dev/null; then
        vg_note "starting virtlogd"
        "$vl" -d || vg_fail "virtlogd -d failed"
    fi
    if ! pgrep -x libvirtd >/dev/null; then
        vg_note "starting libvirtd"
        "$ld" -d || vg_fail "libvirtd -d failed"
    fi
    local _
    for _ in $(seq 1 60); do
        vg__virsh_ok && return 0
        sleep 0.5
    done
    vg_fail "libvirtd did not answer 'virsh -c qemu:///system version' within 30 s"
}

# Removes vredir-test-*-PID domains whose PID is gone (left by killed runs).
vg_reap_stale() {
    local d pid
    for d in $("${VG_VIRSH[@]}" list --all --name 2>/dev/null); do
        [[ $d =~ ^vredir-test-.*-([0-9]+)$ ]] || continue
        pid=${BASH_REMATCH[1]}
        [ "$pid" = "$$" ] && continue
        kill -0 "$pid" 2>/dev/null && continue
        "${VG_VIRSH[@]}" destroy "$d" >/dev/null 2>&1 || true
        "${VG_VIRSH[@]}" undefine "$d" >/dev/null 2>&1 || true
    done
}

# --------------------------------------------------------------------------
# build / define / start
# --------------------------------------------------------------------------

vg_build() {
    local out=${VREDIR_BUILD_DIR:-$PWD/build}/guest
    local paths
    paths=$(bash "$VG_HERE/build-guest.sh" "$out") || vg_fail "building the test guest failed"
    VG_KERNEL=$(sed -n 1p <<<"$paths")
    VG_INITRD=$(sed -n 2p <<<"$paths")
    export VG_KERNEL VG_INITRD
}

vg_cleanup() {
    local rc=${1:-$?} d
    [ "${VREDIR_GUEST_KEEP:-0}" = 1 ] && {
        [ ${#VG_DOMAINS[@]} -gt 0 ] && vg_note "keeping domains ${VG_DOMAINS[*]} and ${VG_DIRS[*]}"
        return 0
    }
    for d in "${VG_DOMAINS[@]}"; do
        "${VG_VIRSH[@]}" destroy "$d" >/dev/null 2>&1 || true
        "${VG_VIRSH[@]}" undefine "$d" >/dev/null 2>&1 || true
    done
    VG_DOMAINS=()
    for d in "${VG_DIRS[@]}"; do
        if [ "$rc" = 0 ]; then
            rm -rf "$d"
        else
            vg_note "serial log and sockets kept in $d"
        fi
    done
    VG_DIRS=()
}

vg__trap_installed=0
vg__install_trap() {
    [ "$vg__trap_installed" = 1 ] && return 0
    vg__trap_installed=1
    trap 'vg_cleanup $?' EXIT
    trap 'vg_cleanup 130; trap - EXIT; exit 130' INT
    trap 'vg_cleanup 143; trap - EXIT; exit 143' TERM
}

# vg_domain_xml NAME KERNEL INITRD DIR [XRES YRES]: the test guest's domain
# XML on stdout, with its serial log (DIR/serial.log) and sockets
# (DIR/cmd.sock, qga.sock, vnc.sock) in DIR and $VG_CMDLINE added to the
# kernel command line.
vg_domain_xml() {
    sed -e "s|@NAME@|$1|g" -e "s|@KERNEL@|$2|g" -e "s|@INITRD@|$3|g" -e "s|@CMDLINE@|${VG_CMDLINE:-}|g" \
        -e "s|@SERIAL_LOG@|$4/serial.log|g" -e "s|@CMD_SOCKET@|$4/cmd.sock|g" -e "s|@QGA_SOCKET@|$4/qga.sock|g" \
        -e "s|@VNC_SOCKET@|$4/vnc.sock|g" -e "s|@XRES@|${5:-1024}|g" -e "s|@YRES@|${6:-768}|g" \
        "$VG_HERE/domain.xml.in"
}

# vg_define NAME [XRES YRES]
vg_define() {
    local name=$1 xres=${2:-1024} yres=${3:-768}
    [ -n "$name" ] || vg_fail "vg_define: missing NAME"
    [ -n "${VG_KERNEL:-}" ] || vg_build
    vg__install_trap
    vg_reap_stale
    "${VG_VIRSH[@]}" destroy "$name" >/dev/null 2>&1 || true
    "${VG_VIRSH[@]}" undefine "$name" >/dev/null 2>&1 || true

    local dir
    dir=$(mktemp -d /tmp/vredir-vg.XXXXXX) || vg_fail "mktemp failed"
    VG_DIRS+=("$dir")
    VG_NAME=$name
    VG_DIR=$dir
    VG_SERIAL_LOG=$dir/serial.log
    VG_CMD_SOCKET=$dir/cmd.sock
    VG_QGA_SOCKET=$dir/qga.sock
    VG_VNC_SOCKET=$dir/vnc.sock
    export VG_NAME VG_DIR VG_SERIAL_LOG VG_CMD_SOCKET VG_QGA_SOCKET VG_VNC_SOCKET

    vg_domain_xml "$name" "$VG_KERNEL" "$VG_INITRD" "$dir" "$xres" "$yres" >"$dir/domain.xml"
    "${VG_VIRSH[@]}" define "$dir/domain.xml" >/dev/null || vg_fail "virsh define $name failed"
    VG_DOMAINS+=("$name")
}

# vg_redefine SED-SCRIPT: edits the defined (not yet started) domain's XML
# with sed and defines it again, for a variant of the test guest.
vg_redefine() {
    sed -i -e "$1" "$VG_DIR/domain.xml" || vg_fail "vg_redefine: sed failed"
    "${VG_VIRSH[@]}" undefine "$VG_NAME" >/dev/null
    "${VG_VIRSH[@]}" define "$VG_DIR/domain.xml" >/dev/null || vg_fail "cannot define the variant of $VG_NAME"
}

# Prints the VRP lines of the serial log ("VRP " removed): SEQ KIND ARGS...
# vg_serial: the whole serial log, carriage returns dropped. libvirt hands
# chardev logs to virtlogd, which rotates them at 2 MiB (serial.log.0 the
# newest of 3 backups), so the rotated parts come first, oldest first; line
# counts (vg_mark) stay valid until the oldest backup is dropped, after about
# 8 MiB of log.
vg_serial() {
    [ -e "${VG_SERIAL_LOG:-}" ] || return 0
    local i parts=()
    for i in 9 8 7 6 5 4 3 2 1 0; do
        [ -e "$VG_SERIAL_LOG.$i" ] && parts+=("$VG_SERIAL_LOG.$i")
    done
    cat "${parts[@]}" "$VG_SERIAL_LOG" | tr -d '\r'
}

vg_events() {
    vg_serial | grep -a -E '^VRP [0-9]+ ' | sed -e 's/^VRP //'
}

# Number of VRP lines so far (use as a marker for vg_wait_log --after).
vg_mark() {
    vg_events | wc -l
}

# vg_wait_log [--after N] REGEX [TIMEOUT_S]: waits for a VRP line whose
# "KIND ARGS" part (no prefix, no seq) matches the extended REGEX, among the
# lines after the first N.  Prints the matching line (SEQ KIND ARGS).
vg_wait_log() {
    local after=0
    if [ "${1:-}" = --after ]; then after=$2; shift 2; fi
    local re=$1 timeout=${2:-30} end line
    end=$((SECONDS + timeout))
    while :; do
        line=$(vg_events | tail -n +"$((after + 1))" | awk -v re="$re" \
            '{ s = $0; sub(/^[0-9]+ /, "", s); if (s ~ re) { print; exit } }')
        if [ -n "$line" ]; then
            echo "$line"
            return 0
        fi
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.2
    done
}

vg_start() {
    [ -n "${VG_NAME:-}" ] || vg_fail "vg_start: no domain defined"
    local t0=$SECONDS
    "${VG_VIRSH[@]}" start "$VG_NAME" >/dev/null || vg_fail "virsh start $VG_NAME failed"
    vg_note "waiting for $VG_NAME to boot (TCG, up to 60 s)"
    local line
    line=$(vg_wait_log '^ready [0-9]+x[0-9]+$' 60) || {
        tail -n 30 "$VG_SERIAL_LOG" >&2 2>/dev/null
        vg_fail "guest $VG_NAME did not log 'ready' within 60 s"
    }
    VG_MODE=${line##* }
    export VG_MODE
    vg_note "ready after $((SECONDS - t0)) s, mode $VG_MODE"
}

# vg_serial_shell_guest NAME: builds, defines and starts the test guest with
# a shell on ttyS0 (kernel word vredir.serial-shell), and waits for it.
vg_serial_shell_guest() {
    vg_ensure_libvirt
    vg_build
    VG_CMDLINE=vredir.serial-shell vg_define "$1"
    vg_start
    vg_wait_log '^serial-shell [0-9]+$' 15 >/dev/null || vg_fail "the guest started no shell on ttyS0"
}

# vg_send LINE: writes LINE to the command socket without waiting.
vg_send() {
    python3 - "$VG_CMD_SOCKET" "$1" <<'EOF' || return 1
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
time.sleep(0.05)
s.close()
EOF
}

# vg_cmd "COMMAND" [TIMEOUT_S]: sends a command, waits for "ok COMMAND".
vg_cmd() {
    local cmd=$1 timeout=${2:-20} mark line
    mark=$(vg_mark)
    vg_send "$cmd" || vg_fail "cannot write to $VG_CMD_SOCKET"
    line=$(vg_wait_log --after "$mark" "^(ok|err) " "$timeout") ||
        vg_fail "no ack for command '$cmd' within $timeout s"
    case "$line" in
    *" ok $cmd") return 0 ;;
    *) vg_fail "command '$cmd' answered: $line" ;;
    esac
}

# vg_screenshot FILE: PPM screenshot of the primary display.
vg_screenshot() {
    "${VG_VIRSH[@]}" screenshot "$VG_NAME" "$1" >/dev/null || vg_fail "virsh screenshot failed"
}

# vg_state: prints the domain state ("running", "shut off", ...).
vg_state() {
    "${VG_VIRSH[@]}" domstate "$VG_NAME" 2>/dev/null | head -n 1
}

# vg_wait_state STATE TIMEOUT_S
vg_wait_state() {
    local want=$1 end=$((SECONDS + ${2:-30}))
    while [ "$(vg_state)" != "$want" ]; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.5
    done
}
