#!/usr/bin/env bash
# Docs cannot drift: every long option a tool's --help prints must appear in
# its man page (man/NAME.1) and in its bash and zsh completions.
set -u
src=${VREDIR_SOURCE_DIR:?}
pass=0 failed=0
check() { if eval "$2"; then echo "ok - $1"; pass=$((pass + 1)); else echo "not ok - $1"; failed=$((failed + 1)); fi; }
read -ra tools <<<"$VREDIR_TOOLS"
for t in "${tools[@]}"; do
  man=$src/man/$t.1 bash=$src/completions/bash/$t zsh=$src/completions/zsh/_$t
  for f in "$man" "$bash" "$zsh"; do check "$t: ${f#$src/} exists" "[ -f '$f' ]"; done
  [ -f "$man" ] && grep -q '^\.SH "\?EXIT STATUS' "$man"; check "$t: man page has EXIT STATUS" "[ $? = 0 ]"
  # A tool with subcommands: their options count too.
  subs=$("$t" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}')
  opts=$({ "$t" --help; for s in $subs; do "$t" "$s" --help; done; } | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  [ -n "$opts" ]; check "$t: --help lists long options" "[ $? = 0 ]"
  for o in $opts; do
    check "$t: man page documents $o" "sed 's/\\\\-/-/g' '$man' 2>/dev/null | grep -q -- '$o\\b'"
    check "$t: bash completion offers $o" "grep -q -- '$o\\b' '$bash' 2>/dev/null"
    check "$t: zsh completion offers $o" "grep -q -- '$o\\b' '$zsh' 2>/dev/null"
  done
done
for page in vredir.7 vredir-stream.5; do check "man/$page exists" "[ -f '$src/man/$page' ]"; done
echo "$pass passed, $failed failed"
[ $failed = 0 ]
