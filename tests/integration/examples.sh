#!/usr/bin/env bash
# Every file in examples/ is run here, against a uniquely named demo domain
# that is removed afterwards. One guest boot for the group.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
src=$VREDIR_SOURCE_DIR
source "$src/tests/guest/fixture.sh"
vg_ensure_libvirt
export VREDIR_DEMO_NAME=vredir-test-examples-$$
other=vredir-test-not-demo-$$
tmp=$(mktemp -d)
cleanup() {
  virsh -q -c qemu:///system destroy "$VREDIR_DEMO_NAME" >/dev/null 2>&1
  virsh -q -c qemu:///system undefine "$VREDIR_DEMO_NAME" >/dev/null 2>&1
  virsh -q -c qemu:///system undefine "$other" >/dev/null 2>&1
  rm -rf "$VREDIR_BUILD_DIR/demo/$VREDIR_DEMO_NAME" "$VREDIR_BUILD_DIR/demo-$VREDIR_DEMO_NAME.png" "$tmp"
}
trap cleanup EXIT
pass=0 failed=0
check() { if "${@:2}"; then echo "ok - $1"; pass=$((pass + 1)); else echo "not ok - $1"; failed=$((failed + 1)); fi; }

# Every example must be listed here, so a new one cannot go untested.
# console.sh needs an X server; tests/integration/pipeline.sh runs it end to
# end (Xvfb, xdotool), so here only its refusal without a display is checked.
listed="boot-demo.sh demo.sh console.sh ci-rig.sh assert-and-click.sh"
# The redir-mux packaging examples are run by tests/integration/mux_examples.sh.
listed="$listed make-certs.sh supervisord.conf redir-mux.service redir-mux-apps.service"
for f in "$src"/examples/*; do
  case " $listed " in *" $(basename "$f") "*) ;; *) echo "not ok - examples/$(basename "$f") has no test"; failed=$((failed + 1)) ;; esac
done

# The demo domain as another checkout, since deleted, left it defined: its
# kernel and logs under a tree that is gone. boot-demo.sh defines it again.
vg_domain_xml "$VREDIR_DEMO_NAME" "$tmp/gone/build/guest/vmlinuz" "$tmp/gone/build/guest/initrd.img" \
    "$tmp/gone/build/demo/$VREDIR_DEMO_NAME" >"$tmp/stale.xml"
virsh -q -c qemu:///system define "$tmp/stale.xml" >/dev/null
out=$("$src/examples/boot-demo.sh" 2>&1); rc=$?
check "boot-demo.sh boots the demo domain" [ $rc = 0 ]
check "boot-demo.sh defines again a demo domain another checkout left" grep -q "redefining $VREDIR_DEMO_NAME" <<<"$out"
check "boot-demo.sh lists it as running" grep -q "$VREDIR_DEMO_NAME .*running" <<<"$out"
out=$("$src/examples/boot-demo.sh" 2>&1); rc=$?
check "boot-demo.sh again: already running is success" [ $rc = 0 ]
# "rm -rf build" in this checkout: its domain stays defined, the directory
# of its serial log is gone, and QEMU cannot start without it.
virsh -q -c qemu:///system destroy "$VREDIR_DEMO_NAME" >/dev/null 2>&1
rm -rf "$VREDIR_BUILD_DIR/demo/$VREDIR_DEMO_NAME"
out=$("$src/examples/boot-demo.sh" 2>&1); rc=$?
check "boot-demo.sh boots its own domain again once its log directory is gone (exit $rc: $(tail -1 <<<"$out"))" [ $rc = 0 ]
# A domain of the demo's name that is not the demo guest is never touched.
printf "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>\n" \
    "$other" >"$tmp/other.xml"
virsh -q -c qemu:///system define "$tmp/other.xml" >/dev/null
out=$(VREDIR_DEMO_NAME=$other "$src/examples/boot-demo.sh" 2>&1); rc=$?
n=$(grep -c "is not the demo guest" <<<"$out")
check "boot-demo.sh refuses a domain that is not the demo guest: exit 1, one line ($(tail -1 <<<"$out"))" \
    [ $rc = 1 -a "$n" = 1 -a "$(wc -l <<<"$out")" = 1 ]
check "boot-demo.sh leaves that domain defined and shut off" [ "$(virsh -q -c qemu:///system domstate "$other")" = "shut off" ]

out=$(env -u DISPLAY "$src/examples/demo.sh" 2>&1); rc=$?
check "demo.sh (setup, boot, devices, a CI-rig step) exits 0" [ $rc = 0 ]
[ $rc = 0 ] || { echo "# demo.sh exited $rc; its last lines:"; tail -15 <<<"$out" | sed 's/^/#   /'; }
check "demo.sh shows the display device" grep -q '"graphics"' <<<"$out"
check "demo.sh says where its snapshot is, and it is a PNG" \
    bash -c "grep -qxF 'snapshot: $VREDIR_BUILD_DIR/demo-$VREDIR_DEMO_NAME.png' <<<\"\$1\" &&
             [ \"\$(head -c 8 '$VREDIR_BUILD_DIR/demo-$VREDIR_DEMO_NAME.png' | od -An -tx1 | tr -d ' ')\" = 89504e470d0a1a0a ]" _ "$out"
check "demo.sh ends with the text on the screen: the command it typed and its output" \
    bash -c "sed -n '/^the text on it/,\$p' <<<\"\$1\" | grep -q '^    / # uname -a\$' &&
             sed -n '/^the text on it/,\$p' <<<\"\$1\" | grep -q '^    Linux '" _ "$out"
check "demo.sh shows no compiler output" bash -c "! grep -qE 'warning:|\\[[0-9]+/[0-9]+\\]' <<<\"\$1\"" _ "$out"
check "demo.sh leaves the demo running" bash -c "vm-power -c qemu:///system status $VREDIR_DEMO_NAME | grep -q running"

out=$(env -u DISPLAY "$src/examples/console.sh" "$VREDIR_DEMO_NAME" 2>&1 </dev/null); rc=$?
check "console.sh without DISPLAY: exit 1 with one line ($out)" [ $rc = 1 -a "$(wc -l <<<"$out")" = 1 ]

# ci-rig.sh types 'uname -a' and Enter; the probe logs every key it gets.
VG_SERIAL_LOG=$VREDIR_BUILD_DIR/demo/$VREDIR_DEMO_NAME/serial.log
mark=$(vg_mark)
png=$VREDIR_BUILD_DIR/demo/$VREDIR_DEMO_NAME/ci-rig.png
out=$("$src/examples/ci-rig.sh" "$VREDIR_DEMO_NAME" "$png" 2>&1); rc=$?
check "ci-rig.sh (wait until stable, type, snapshot) exits 0" [ $rc = 0 ]
check "ci-rig.sh wrote a PNG of the screen" bash -c "[ \"\$(head -c 8 '$png' | od -An -tx1 | tr -d ' ')\" = 89504e470d0a1a0a ]"
want="22 49 30 50 18 57 12 30 28"
want=$(for k in $want; do printf 'key %s 1,key %s 0,' "$k" "$k"; done)
vg_wait_log --after "$mark" '^key 28 0$' 10 >/dev/null
got=$(vg_events | tail -n +"$((mark + 1))" | cut -d' ' -f2- | grep -E '^key [0-9]+ [01]$' | tr '\n' ,)
check "ci-rig.sh: the guest logged 'uname -a' and Enter, in order (got: $got)" [ "$got" = "$want" ]

# assert-and-click.sh: wait for text, click its centre; the probe logs the
# tablet's position in pixels of the 720x400 text screen.
redir-inject -c qemu:///system "$VREDIR_DEMO_NAME" --type 'echo CLICK-$((40+2))-HERE\n' 2>/dev/null
mark=$(vg_mark)
out=$("$src/examples/assert-and-click.sh" "$VREDIR_DEMO_NAME" 'CLICK-42-HERE' 30 2>&1); rc=$?
xy=$(sed -n 's/.*clicked \([0-9]*\),\([0-9]*\) on.*/\1 \2/p' <<<"$out")
check "assert-and-click.sh clicks the centre of the text it waited for (exit $rc, at $xy)" [ $rc = 0 -a -n "$xy" ]
vg_wait_log --after "$mark" '^btn 272 0$' 10 >/dev/null
got=$(vg_events | tail -n +"$((mark + 1))" | awk '$2 == "abs" {print $5, $6}' | tail -1)
check "... the guest's tablet got the click there (logged: $got)" [ -n "$got" -a "$got" = "$xy" ]
out=$("$src/examples/assert-and-click.sh" "$VREDIR_DEMO_NAME" 'NOT-ON-THE-SCREEN' 2 2>&1); rc=$?
check "assert-and-click.sh: text that never shows is redir-capture's exit 5 ($out)" [ $rc = 5 ]
[ $failed = 0 ] || echo "$out" | tail -20
echo "$pass passed, $failed failed"
[ $failed = 0 ]
