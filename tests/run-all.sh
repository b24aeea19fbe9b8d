#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, then runs every
# test (unit, golden CLI, docs consistency, fuzz corpus replay, and the
# integration groups on a real libvirt/QEMU guest).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tests/setup.sh"
cd "${VREDIR_BUILD_DIR:-$top/build}"
ctest --output-on-failure "$@"
