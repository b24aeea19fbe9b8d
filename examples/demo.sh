#!/usr/bin/env bash
# demo.sh - the README's first command: installs what is missing, builds,
# then boots the bundled demo VM (the project's test guest, defined as the
# libvirt domain "demo") and shows it through the toolkit:
#   its virtual devices (vm-list), a mode change through the display's
#   UI-info path (vm-power resolution), a command typed into it and a
#   snapshot of its screen (examples/ci-rig.sh), and, when an X display is
#   present, a live console (examples/console.sh).
# The VM keeps running afterwards; stop it with:
#   vm-power shutdown demo --wait
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VREDIR_BUILD_DIR:-$repo/build}
name=${VREDIR_DEMO_NAME:-demo}

"$repo/tests/setup.sh"
for t in vm-list vm-power redir-dump redir-capture redir-inject x-replay; do PATH="$build/tools/$t:$PATH"; done
export PATH

VREDIR_DEMO_NAME=$name "$repo/examples/boot-demo.sh"
echo
echo "== vm-list --all --name $name --json (devices)"
vm-list -c qemu:///system --all --name "$name" --json
echo
echo "== vm-power resolution 800x600 $name --wait"
vm-power -c qemu:///system resolution 800x600 "$name" --wait --timeout 60
vm-power -c qemu:///system status "$name"
echo
echo "== examples/ci-rig.sh $name (wait until stable, type a command, snapshot)"
"$repo/examples/ci-rig.sh" "$name" "$build/demo-$name.png"
echo "snapshot: $build/demo-$name.png"
if [ -n "${DISPLAY:-}" ] && [ -z "${VREDIR_DEMO_NO_CONSOLE:-}" ]; then
  echo "== examples/console.sh $name (close the window to end)"
  "$repo/examples/console.sh" "$name"
fi
echo
echo "The demo VM '$name' is running. Next: vm-power shutdown $name --wait"
