#!/usr/bin/env bash
# console.sh DOMAIN - a local console for a VM: its screen and sound in an
# X11 window, the keyboard and pointer of that window sent back to it.
#
#   redir-capture DOMAIN | x-replay | redir-inject DOMAIN
#
# Needs an X display ($DISPLAY). Close the window (or press Ctrl+C) to end
# it; Menu then Delete sends Ctrl+Alt+Delete (see x-replay(1)). The tools
# come from $PATH, else from the build tree (default: build/, or
# $VREDIR_BUILD_DIR).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VREDIR_BUILD_DIR:-$repo/build}
for t in redir-capture x-replay redir-inject; do
    command -v "$t" >/dev/null || PATH="$build/tools/$t:$PATH"
done
export PATH

[ $# = 1 ] || { echo "usage: console.sh DOMAIN" >&2; exit 2; }
[ -n "${DISPLAY:-}" ] || { echo "console.sh: DISPLAY is not set (needs an X display)" >&2; exit 1; }

redir-capture "$1" | x-replay | redir-inject "$1"
