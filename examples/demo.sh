#!/usr/bin/env bash
# demo.sh - the README's first command: installs what is missing, builds the
# VM tools, then boots the bundled demo VM (the project's test guest with a
# shell on its text console, defined as the libvirt domain "demo") and shows
# it through the toolkit:
#   its virtual devices (vm-list), then, once its shell prompt shows, one
#   CI-rig step (examples/ci-rig.sh):
#   wait until the screen is still, type a command, wait for its output,
#   save a snapshot and read the text on the screen; and, when an X display
#   is present, a live console (examples/console.sh).
# It ends by printing where the snapshot is and the text read from the
# screen. The VM keeps running afterwards; stop it with:
#   vm-power shutdown demo --wait
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VREDIR_BUILD_DIR:-$repo/build}
name=${VREDIR_DEMO_NAME:-demo}

"$repo/tests/setup.sh" --demo
for t in vm-list vm-power redir-dump redir-capture redir-inject x-replay; do PATH="$build/tools/$t:$PATH"; done
export PATH

VREDIR_DEMO_NAME=$name "$repo/examples/boot-demo.sh"
echo
echo "== vm-list --all --name $name --json (devices)"
vm-list -c qemu:///system --all --name "$name" --json
echo
# A still screen is no proof that the guest reads its keyboard yet: on a
# fresh boot, wait for the shell's prompt first.
echo "== waiting for the demo's shell prompt (a TCG boot: up to 120 s)"
redir-capture "$name" --until-text '^/ #' --timeout 120 >/dev/null
echo
echo "== examples/ci-rig.sh $name (wait until still, type a command, wait for its output, snapshot, text)"
png=$build/demo-$name.png
text=$("$repo/examples/ci-rig.sh" "$name" "$png" 'uname -a' '^Linux ')
if [ -n "${DISPLAY:-}" ] && [ -z "${VREDIR_DEMO_NO_CONSOLE:-}" ] && command -v x-replay >/dev/null; then
  echo "== examples/console.sh $name (close the window to end)"
  "$repo/examples/console.sh" "$name"
fi
echo
echo "snapshot: $png"
echo "the text on it (redir-capture --text):"
sed -e '/./,$!d' -e 's/^/    /' <<<"$text"
echo
echo "The demo VM '$name' is running. Next: vm-power shutdown $name --wait"
