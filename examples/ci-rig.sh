#!/usr/bin/env bash
# ci-rig.sh DOMAIN [OUT.png [COMMAND [REGEX]]] - one step of a CI rig on a
# VM's text console, the way a rig would run many: one redir-capture keeps
# running with a control socket, so every check below is answered from its
# live screen without a new libvirt or VNC connection:
#   wait until the screen is still (a blinking cursor does not count),
#   type COMMAND (default: uname -a) and Enter,
#   wait until text matching REGEX shows (default: a line starting "Linux "),
#   save a snapshot (default: DOMAIN.png) and print the text on the screen.
# Any tool's failure ends the step with that tool's exit status (see each
# man page's EXIT STATUS); a wait that gives up (5) leaves the last screen in
# a PNG whose path it prints.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VREDIR_BUILD_DIR:-$repo/build}
for t in redir-capture redir-inject; do
    command -v "$t" >/dev/null || PATH="$build/tools/$t:$PATH"
done
export PATH

case $# in 1 | 2 | 3 | 4) ;; *) echo "usage: ci-rig.sh DOMAIN [OUT.png [COMMAND [REGEX]]]" >&2; exit 2 ;; esac
domain=$1 out=${2:-$1.png} command=${3:-uname -a} regex=${4:-^Linux }

sock=$(mktemp -u "${TMPDIR:-/tmp}/ci-rig.XXXXXX.sock")
redir-capture "$domain" --control "$sock" &
capture=$!
trap 'kill "$capture" 2>/dev/null; wait "$capture" 2>/dev/null || true' EXIT

redir-capture --via "$sock" --until-stable 2 --timeout 60
redir-inject "$domain" --type "$command\\n"
redir-capture --via "$sock" --until-text "$regex" --timeout 30 >/dev/null
redir-capture --via "$sock" --snapshot "$out"
redir-capture --via "$sock" --text
echo "$domain: typed '$command', saw /$regex/, snapshot in $out" >&2
