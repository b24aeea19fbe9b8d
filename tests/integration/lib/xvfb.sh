# shellcheck shell=bash
# xvfb.sh - start_xvfb NAME GEOMETRY: an Xvfb on a display it picks itself
# (-displayfd), in the current directory's NAME.display / NAME.xvfb.log.
# Sets NAME_dpy (":N") and NAME_pid; exits 1 with a "not ok" line when the
# server does not come up within 10 s. The caller kills NAME_pid.
start_xvfb() {
    exec 5> >(cat >"$1.display")
    Xvfb -displayfd 5 -screen 0 "$2" -nolisten tcp >"$1.xvfb.log" 2>&1 &
    eval "$1_pid=$!"
    exec 5>&-
    for _ in $(seq 100); do [ -s "$1.display" ] && break; sleep 0.1; done
    [ -s "$1.display" ] || { echo "not ok - Xvfb ($1) did not start: $(tail -1 "$1.xvfb.log")"; exit 1; }
    eval "$1_dpy=:$(head -1 "$1.display")"
}

# x_client close WIN | x_client cover: a plain X client on $DISPLAY (see
# x_client.py): the window manager's close (WM_DELETE_WINDOW), or a window
# mapped over the top-left corner for 0.3 s (an Expose).
x_client_py=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/x_client.py
x_client() { /usr/bin/python3 "$x_client_py" "$@"; }

# other_window DPY CLASS WIN...: waits up to 5 s for a visible window of
# WM_CLASS CLASS on display DPY that is none of WIN... (a popup of an app
# whose other windows are known); prints its id.
other_window() {
    local dpy=$1 cls=$2 c w found
    shift 2
    for _ in $(seq 50); do
        for c in $(DISPLAY=$dpy xdotool search --onlyvisible --class "^$cls\$" 2>/dev/null); do
            found=$c
            for w in "$@"; do [ "$c" = "$w" ] && found=; done
            [ -n "$found" ] && { echo "$found"; return 0; }
        done
        sleep 0.1
    done
    return 1
}
