#!/usr/bin/env bash
# ci-rig.sh DOMAIN [OUT.png] - one step of a CI rig driving a VM's console:
# wait until the screen has been still for 2 s, type a command, and save a
# snapshot of the screen as evidence (default: DOMAIN.png). Any tool's
# failure ends the step with that tool's exit status (see each man page's
# EXIT STATUS): 0 means the screen settled, the keys were delivered and the
# snapshot was written.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VREDIR_BUILD_DIR:-$repo/build}
for t in redir-capture redir-inject; do
    command -v "$t" >/dev/null || PATH="$build/tools/$t:$PATH"
done
export PATH

case $# in 1 | 2) ;; *) echo "usage: ci-rig.sh DOMAIN [OUT.png]" >&2; exit 2 ;; esac
domain=$1 out=${2:-$1.png}

redir-capture "$domain" --until-stable 2 --timeout 60
redir-inject "$domain" --type 'uname -a\n'
redir-capture "$domain" --snapshot "$out"
echo "$domain: typed 'uname -a', snapshot in $out"
