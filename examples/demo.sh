#!/usr/bin/env bash
# demo.sh - the README's first command: installs what is missing, builds,
# then boots the bundled demo VM (the project's test guest, defined as the
# libvirt domain "demo") and shows it through the toolkit:
#   its virtual devices (vm-list), its state (vm-power status), a mode change
#   through the display's UI-info path (vm-power resolution).
# The VM keeps running afterwards; stop it with:
#   vm-power shutdown demo --wait
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VREDIR_BUILD_DIR:-$repo/build}
name=${VREDIR_DEMO_NAME:-demo}

"$repo/tests/setup.sh"
for t in vm-list vm-power redir-dump; do PATH="$build/tools/$t:$PATH"; done
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
echo "The demo VM '$name' is running. Next: vm-power shutdown $name --wait"
