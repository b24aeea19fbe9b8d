# shellcheck shell=bash
# lib.sh - the preamble every test and benchmark script shares: where the
# source and build trees are, and the project's tools and test helpers on
# PATH. Source it first:
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#   need_tools redir-capture redir-dump   # build/tools/NAME, or fail naming the fix
#   need_helpers vrs-build png-pixels     # build/tests/NAME (test helpers)
# A missing tool fails the script with one "not ok" line; it is never a skip.

: "${VREDIR_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${VREDIR_BUILD_DIR:=$VREDIR_SOURCE_DIR/build}"
export VREDIR_SOURCE_DIR VREDIR_BUILD_DIR

need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || PATH="$VREDIR_BUILD_DIR/tools/$t:$PATH"
        command -v "$t" >/dev/null || { echo "not ok - $t is not built (cmake --build $VREDIR_BUILD_DIR)"; exit 1; }
    done
    export PATH
}

need_helpers() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || PATH="$VREDIR_BUILD_DIR/tests:$PATH"
        command -v "$t" >/dev/null || { echo "not ok - test helper $t is not built (cmake --build $VREDIR_BUILD_DIR)"; exit 1; }
    done
    export PATH
}
