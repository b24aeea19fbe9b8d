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
# A number option given something else says what it needs, in one line.
err=$(vm-power status demo --timeout -1 2>&1 >/dev/null); rc=$?
check "a negative --timeout exits 2 and says a number of 0 or more is needed (got: $err)" \
  "[ $rc = 2 ] && grep -qx \"vm-power: --timeout: needs a number, 0 or more (got '-1')\" <<<\"\$err\""
err=$(redir-mux connect tcp://127.0.0.1:1 --user u --timeout 0 2>&1 >/dev/null); rc=$?
check "a zero --timeout where it must be positive exits 2 and says so (got: $err)" \
  "[ $rc = 2 ] && grep -qx \"redir-mux: --timeout: needs a number above 0 (got '0')\" <<<\"\$err\""
echo "$pass passed, $failed failed"
[ $failed = 0 ]
