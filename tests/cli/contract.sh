#!/usr/bin/env bash
# The CLI contract, for every tool: --help and --version exit 0 with output on
# stdout, -V works, and a bad option exits 2 with one error line plus
# "Try 'NAME --help'." on stderr.
set -u
pass=0 failed=0
check() { if eval "$2"; then echo "ok - $1"; pass=$((pass + 1)); else echo "not ok - $1"; failed=$((failed + 1)); fi; }
read -ra tools <<<"$VREDIR_TOOLS"
[ ${#tools[@]} -gt 0 ] || { echo "no tools listed in VREDIR_TOOLS"; exit 1; }
for t in "${tools[@]}"; do
  out=$("$t" --help 2>/dev/null); rc=$?
  check "$t --help exits 0" "[ $rc = 0 ]"
  check "$t --help prints usage on stdout" "grep -q -- '--help' <<<\"\$out\""
  out=$("$t" --version 2>/dev/null); rc=$?
  check "$t --version exits 0" "[ $rc = 0 ]"
  check "$t --version names the tool" "grep -q \"^$t \" <<<\"\$out\""
  out=$("$t" -V 2>/dev/null); rc=$?
  check "$t -V exits 0" "[ $rc = 0 ] && [ -n \"\$out\" ]"
  err=$("$t" --no-such-option 2>&1 >/dev/null); rc=$?
  check "$t bad option exits 2" "[ $rc = 2 ]"
  check "$t bad option: error line + Try line" "[ \$(wc -l <<<\"\$err\") = 2 ] && grep -qx \"Try '$t --help'.\" <<<\"\$err\""
done
echo "$pass passed, $failed failed"
[ $failed = 0 ]
