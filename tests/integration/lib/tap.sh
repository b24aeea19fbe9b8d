# shellcheck shell=bash
# tap.sh - how every integration group reports: one "ok - ..." or
# "not ok - ..." line per check, "# ..." notes, and a non-zero exit when any
# check failed.  Source it, then use ok / not_ok / check / note, and end the
# script with tap_finish.

failures=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }
note() { echo "# $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# Prints the count and returns non-zero when a check failed.
tap_finish() {
    echo "# $failures failure(s)"
    [ "$failures" = 0 ]
}
