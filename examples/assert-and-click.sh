#!/usr/bin/env bash
# assert-and-click.sh DOMAIN WHAT [TIMEOUT] - openQA's assert_and_click as
# two composable tools: wait until WHAT shows on the VM's screen, then click
# its centre. WHAT is a regular expression for text, or a needle: an
# os-autoinst NAME.json (the click lands on its click_point when it has one)
# or a PNG. redir-capture --json says what it found and where:
#   {"event":"text","text":"OK","x":300,"y":208,"width":18,"height":16,"centre":{"x":309,"y":216},...}
# and redir-inject --click X,Y clicks there. Exit status: redir-capture's
# (5 when WHAT did not show within TIMEOUT seconds, default 30), else
# redir-inject's.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${VREDIR_BUILD_DIR:-$repo/build}
for t in redir-capture redir-inject; do
    command -v "$t" >/dev/null || PATH="$build/tools/$t:$PATH"
done
export PATH

case $# in 2 | 3) ;; *) echo "usage: assert-and-click.sh DOMAIN (REGEX | NEEDLE.json | NEEDLE.png) [TIMEOUT]" >&2; exit 2 ;; esac
domain=$1 what=$2 timeout=${3:-30}
case $what in
*.json | *.png) wait=(--until-match "$what") ;;
*) wait=(--until-text "$what") ;;
esac
found=$(redir-capture "$domain" "${wait[@]}" --timeout "$timeout" --json)
x=$(sed -n 's/.*"centre":{"x":\([0-9]*\),"y":\([0-9]*\)}.*/\1/p' <<<"$found")
y=$(sed -n 's/.*"centre":{"x":\([0-9]*\),"y":\([0-9]*\)}.*/\2/p' <<<"$found")
[ -n "$x" ] && [ -n "$y" ] || { echo "assert-and-click: no centre in: $found" >&2; exit 1; }
redir-inject "$domain" --click "$x,$y"
echo "$domain: clicked $x,$y on $what" >&2
