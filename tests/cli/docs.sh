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

# The kind table (vrs-kinds prints it) is the one list of kinds and frame
# types: vredir-stream(5) and split's route words follow it, both ways.
stream5=$src/man/vredir-stream.5
kinds=$(vrs-kinds)
[ -n "$kinds" ]; check "vrs-kinds prints the kind table" "[ $? = 0 ]"
# The words a completion offers for split's --route MATCH.
route_words() { grep -- '--route' "$1" | grep -oE '[a-z]+= ' | tr -d ' =' | sort -u; }
bash_words=$(route_words "$src/completions/bash/redir-mux")
zsh_words=$(route_words "$src/completions/zsh/_redir-mux")
table_words=$(awk '$1 == "kind" {print $3}' <<<"$kinds" | sort)
while read -r what num name dir params; do
  case $what in
    kind)
      row=$(grep -P "^$num\t$name\t" "$stream5")
      check "vredir-stream.5 has a row for kind $num $name" "[ -n \"\$row\" ]"
      for p in $params; do check "vredir-stream.5: kind $name names its parameter $p" "grep -qw -- '$p' <<<\"\$row\""; done
      check "bash completion offers the route word $name=" "grep -qx '$name' <<<\"\$bash_words\""
      check "zsh completion offers the route word $name=" "grep -qx '$name' <<<\"\$zsh_words\"" ;;
    type)
      if [ "$dir" = - ]; then pat="^\\.B $num $name\$"; else pat="^\\.B $num $name \\\\fR($dir)"; fi
      check "vredir-stream.5 documents frame type $num $name" "grep -q '$pat' '$stream5'" ;;
  esac
done <<<"$kinds"
# Nothing documented or offered that the table lacks.
man_kinds=$(awk '/^\.SH CHANNEL KINDS/ {on = 1; next} /^\.TE/ {on = 0} on && /^[0-9]+\t/ {print $2}' FS='\t' "$stream5" | sort)
check "vredir-stream.5's kind rows are the table's kinds" "[ \"\$man_kinds\" = \"\$table_words\" ]"
check "bash completion's route words are the table's kinds" "[ \"\$bash_words\" = \"\$table_words\" ]"
check "zsh completion's route words are the table's kinds" "[ \"\$zsh_words\" = \"\$table_words\" ]"
echo "$pass passed, $failed failed"
[ $failed = 0 ]
