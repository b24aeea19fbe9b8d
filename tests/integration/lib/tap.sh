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
# need_packages CMD:PACKAGE... [py:MODULE:PACKAGE...] [font:FAMILY:PACKAGE...]: the real components a
# group drives. A missing one fails the group with the install command; it is
# never a skip.
need_packages() {
    local t missing=()
    for t in "$@"; do
        case $t in
        py:*:*) t=${t#py:}; /usr/bin/python3 -c "import ${t%%:*}" 2>/dev/null || missing+=("${t#*:}") ;;
        font:*:*) t=${t#font:}
            if ! command -v fc-list >/dev/null; then missing+=(fontconfig)
            elif ! fc-list ":family=${t%%:*}" family | grep -q .; then missing+=("${t#*:}"); fi ;;
        *) command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}") ;;
        esac
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    # shellcheck disable=SC2207
    missing=($(printf '%s\n' "${missing[@]}" | sort -u))
    echo "not ok - missing Debian packages: ${missing[*]} (apt-get install ${missing[*]}, or run tests/setup.sh)"
    exit 1
}
