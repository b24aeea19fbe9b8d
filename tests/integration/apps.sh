#!/usr/bin/env bash
# Windows apps over the network: redir-mux serve --apps on TLS over loopback,
# headless (no DISPLAY: the apps draw through Wine's null driver), with the
# Windows test apps built by the CMake build (tests/winapps) under Wine.
# Clients run `redir-mux connect --app NAME -- x-replay -` on Xvfb servers of
# their own:
#  - discovery: --list-apps shows each account the apps the registry allows
#    it (by name, by @group), nothing more; --json;
#  - a denied app and an unknown one get the same answer (exit 4, END
#    denied, the same message) and nothing is launched;
#  - the first launch creates the account's own Wine prefix under the state
#    directory, with a progress note; two accounts never share one (the app
#    processes' WINEPREFIX);
#  - the window appears on the client's display, xdotool typing reaches the
#    app's EDIT control, a view-only account's typing does not;
#  - the clipboard both ways (xclip on the client, Ctrl-C and Ctrl-V in the
#    app), the 1 MiB limit, and an account whose policy is to-client;
#  - Wine's notepad: typed into, xclip to it and back, saved with Ctrl-S to a
#    file in the account's prefix;
#  - closing the window locally ends the app and the client (exit 0); an
#    interrupted client (exit 130) ends its apps;
#  - two clients with two apps each at the same time, input kept apart;
#  - detach and reattach: --detach-on-exit leaves the app running, --list-apps
#    shows the detached session to its account only, another account cannot
#    attach it, --attach on another display brings the window back drawn the
#    same (screenshots compared) and typing goes on; a third --attach takes
#    the apps over from the client that has them; a lost connection
#    leaves the apps for --linger seconds, --linger 0 not at all;
#  - under a window manager (openbox): the window's icon, class and name;
#    the app's own maximise and restore
#    reach the window manager, and its maximise, restore, minimise and
#    bringing back reach the app; a dialog is transient for its owner and a
#    popup menu is an override-redirect window at the click; Wine's regedit
#    has its menu bar in its window, and its first menu opens at the app's
#    own coordinates and runs Exit;
#  - --max-apps counts an account's apps over all its sessions;
#  - an account with a Unix user of its own (users add --unix-user nobody):
#    users prepare makes its prefix ahead, owned by that user, and its apps
#    run as that user (the files they write are that user's).
# Every check prints "ok - ..." or "not ok - ..."; the script fails if any did.
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools redir-mux gdi-forward x-replay redir-dump
apps=$VREDIR_BUILD_DIR/tools/gdi-forward/windows/winapps
[ -f "$apps/editapp.exe" ] || { echo "not ok - the Windows test apps are not built ($apps)"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/wine_threads.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/xvfb.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/mux_server.sh"
need_packages wine:wine wine:wine64 wineboot:wine wineserver:wine Xvfb:xvfb xdotool:xdotool xclip:xclip openssl:openssl \
    openbox:openbox wmctrl:wmctrl xprop:x11-utils \
    python3:python3 py:Xlib:python3-xlib "font:Liberation Sans:fonts-liberation"

work=$(mktemp -d)
out=$work
serve_pid= serve2_pid= serve3_pid= xa_pid= xb_pid=
# The servers first (they end their sessions and apps), then what Wine and
# the X servers leave.
cleanup() {
    local p
    for p in $serve_pid $serve2_pid $serve3_pid; do kill "$p" 2>/dev/null; done
    for p in "$work"/state/apps/*; do [ -d "$p" ] && WINEPREFIX=$p wineserver -k 2>/dev/null; done
    for p in $xa_pid $xb_pid; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

# The server is headless: nothing below gives it a display.
unset DISPLAY WAYLAND_DISPLAY
start_xvfb xa 1024x768x24
start_xvfb xb 1024x768x24

mux_make_cert || { echo "not ok - openssl could not make the test certificates"; exit 1; }
for u in alice bob vera eve; do
    echo "$u-pw" >"$u.pw"
    chmod 600 "$u.pw"
done
VREDIR_PASSWORD=alice-pw redir-mux users add alice --users users --vms 'none' >/dev/null
VREDIR_PASSWORD=bob-pw redir-mux users add bob --users users --vms 'none' --clipboard to-client >/dev/null
VREDIR_PASSWORD=vera-pw redir-mux users add vera --users users --vms 'none' --view-only >/dev/null
VREDIR_PASSWORD=eve-pw redir-mux users add eve --users users --vms 'none' >/dev/null
cat >apps.conf <<EOF
# The registry of this group: each edit app reports its EDIT control's text
# into a file of its own.
[app edit]
path = $apps/editapp.exe
args = /report $work/alice-edit.txt
allow = alice @staff
description = an edit control

[app edit-b]
path = $apps/editapp.exe
args = /report $work/bob-edit.txt
allow = bob

[app prim]
path = $apps/primitives.exe
allow = alice bob
description = GDI primitives

[app secret]
path = $apps/primitives.exe
args = /secret
allow = carol

[group staff]
members = vera
EOF
mux_start_serve serve.log --users users --apps apps.conf --no-vms --state-dir "$work/state" ||
    { echo "not ok - redir-mux serve --apps did not listen: $(tail -2 serve.log)"; exit 1; }
note "serve --apps on $url (no DISPLAY)"

conn() { local u=$1; shift; redir-mux connect "$url" --ca "$out/ca.pem" --user "$u" --password-file "$out/$u.pw" "$@"; }
# start_client DPY USER ERR APP...: `connect --app APP... -- x-replay -` in the
# background on display DPY, stderr to ERR, with the options in client_opts;
# its pid in $client.
client_opts=()
start_client() {
    local dpy=$1 u=$2 err=$3 a args=()
    shift 3
    for a in "$@"; do args+=(--app "$a"); done
    DISPLAY=$dpy redir-mux connect "$url" --ca "$out/ca.pem" --user "$u" --password-file "$out/$u.pw" "${args[@]}" \
        "${client_opts[@]}" -- x-replay - 2>"$err" &
    client=$!
}
# on DPY CMD...: a client on display DPY.
on() { local d=$1; shift; DISPLAY=$d "$@"; }
# window DPY TITLE: the id of the visible window titled exactly TITLE (waits
# up to 60 s: a first launch creates the account's Wine prefix).
window() { on "$1" timeout 60 xdotool search --sync --onlyvisible --name "^$2\$" 2>/dev/null | head -1; }
windows_named() { on "$1" xdotool search --onlyvisible --name "^$2\$" 2>/dev/null | wc -l; }
# at DPY WIN: the window's absolute upper-left corner, "X Y".
at() { on "$1" xwininfo -id "$2" 2>/dev/null | awk '/Absolute upper-left X/ {x = $4} /Absolute upper-left Y/ {y = $4} END {print x, y}'; }
# settled_at DPY WIN: the same, once it has held for half a second (up to 10 s).
settled_at() {
    local a b i
    a=$(at "$1" "$2")
    for i in $(seq 20); do
        sleep 0.5
        b=$(at "$1" "$2")
        [ "$a" = "$b" ] && break
        a=$b
    done
    echo "$a"
}
# app_pids PATTERN: the Wine processes whose command line matches.
app_pids() { pgrep -f "$1" 2>/dev/null | tr '\n' ' '; }
# gone PATTERN [SECONDS]: no such process within SECONDS (default 15).
gone() { for _ in $(seq $((${2:-15} * 10))); do [ -z "$(app_pids "$1")" ] && return 0; sleep 0.1; done; return 1; }
# exits PID SECONDS: the background job ends within SECONDS; its status in $rc.
exits() {
    local i
    for i in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && return 1
    wait "$1"
    rc=$?
    return 0
}
# typed DPY WIN TEXT FILE: types TEXT into WIN and waits up to 10 s for FILE to say it.
typed() {
    on "$1" xdotool windowfocus --sync "$2" 2>/dev/null
    on "$1" xdotool type --delay 40 "$3"
    for _ in $(seq 100); do [ "$(cat "$4" 2>/dev/null)" = "$3" ] && return 0; sleep 0.1; done
    return 1
}

# --- discovery ----------------------------------------------------------------
list_of() { conn "$1" --list-apps --json 2>/dev/null | python3 -c 'import json, sys
print(" ".join(sorted(json.loads(l)["app"] for l in sys.stdin if l.strip())))'; }
check "alice lists the apps the registry allows her: edit prim (got '$(list_of alice)')" test "$(list_of alice)" = "edit prim"
check "bob lists edit-b prim (got '$(list_of bob)')" test "$(list_of bob)" = "edit-b prim"
check "vera lists edit through @staff (got '$(list_of vera)')" test "$(list_of vera)" = "edit"
check "eve lists nothing (got '$(list_of eve)')" test -z "$(list_of eve)"
conn alice --list-apps >table.txt 2>&1
check "--list-apps prints a table with the description" grep -q '^prim  *GDI primitives$' table.txt
conn alice --list --list-apps --json >both.txt 2>&1
check "--list --list-apps on an apps-only server: the apps, no VMs" test "$(grep -c '"app"' both.txt)" = 2
conn alice --vm anything --control disconnect 2>vm.err
rc=$?
check "an apps-only server refuses a VM: exit 4 (got $rc: $(cat vm.err))" test "$rc" = 4

# --- a denied app and an unknown app look the same -----------------------------
conn alice --app secret --record denied.vrs 2>denied.err
rc_denied=$?
conn alice --app nosuch --record unknown.vrs 2>unknown.err
rc_unknown=$?
check "a denied app: exit 4 (got $rc_denied)" test "$rc_denied" = 4
check "an unknown app: exit 4 (got $rc_unknown)" test "$rc_unknown" = 4
check "both get one line, the same but for the name ($(cat denied.err))" \
    test "$(sed 's/"secret"/NAME/' denied.err)" = "$(sed 's/"nosuch"/NAME/' unknown.err)" -a "$(wc -l <denied.err)" = 1
check "both end with END denied" sh -c 'redir-dump denied.vrs | grep -q "END reason=denied" &&
    redir-dump unknown.vrs | grep -q "END reason=denied"'
check "the denied app was never launched" test -z "$(grep "app 'secret' (pid" serve.log)$(app_pids '[/]secret')"

# --- alice: first launch, typing, local close ------------------------------------
rm -f alice-edit.txt
client_opts=(--record alice1.vrs)
start_client "$xa_dpy" alice alice1.err edit
client_opts=()
win=$(window "$xa_dpy" "vredir edit")
check "alice's edit app appears as a window on her display" test -n "$win"
check "the first launch tells the client the Wine prefix is being created" grep -q "creating the Wine prefix of 'alice'" alice1.err
check "alice's Wine prefix is under the state directory, mode 0700" \
    sh -c "test -f '$work/state/apps/alice/system.reg' && test \"\$(stat -c %a '$work/state/apps/alice')\" = 700"
if [ -n "$win" ]; then
    sleep 1
    typed "$xa_dpy" "$win" "Hello over TLS" alice-edit.txt
    check "xdotool typing in x-replay's window reaches the app over TLS (got '$(cat alice-edit.txt 2>/dev/null)')" \
        test "$(cat alice-edit.txt 2>/dev/null)" = "Hello over TLS"
    # The clipboard, both ways: copied in the app, it is the client's X
    # CLIPBOARD and PRIMARY; copied on the client (xclip), it is pasted in the app.
    on "$xa_dpy" xdotool key --delay 100 shift+Home ctrl+c
    got=
    for _ in $(seq 50); do got=$(on "$xa_dpy" xclip -o -selection clipboard 2>/dev/null) && [ -n "$got" ] && break; sleep 0.2; done
    check "copied in the app (Ctrl-C), the text is the client's CLIPBOARD (got '$got')" test "$got" = "Hello over TLS"
    check "... and its PRIMARY" test "$(on "$xa_dpy" xclip -o -selection primary 2>/dev/null)" = "Hello over TLS"
    printf 'pasted ü over TLS' | on "$xa_dpy" xclip -i -selection clipboard
    sleep 1
    on "$xa_dpy" xdotool key --delay 100 End ctrl+v
    for _ in $(seq 50); do grep -q 'pasted' alice-edit.txt 2>/dev/null && break; sleep 0.2; done
    check "copied on the client (xclip), the text is pasted in the app with Ctrl-V (got '$(cat alice-edit.txt)')" \
        test "$(cat alice-edit.txt 2>/dev/null)" = "Hello over TLSpasted ü over TLS"
    big=$(head -c 1100000 /dev/zero | tr '\0' x)
    printf '%s' "$big" | on "$xa_dpy" xclip -i -selection clipboard
    sleep 1
    on "$xa_dpy" xdotool key --delay 100 End ctrl+v
    sleep 2
    check "text over the 1 MiB limit never reaches the app (its text: $(wc -c <alice-edit.txt) bytes)" \
        sh -c "! grep -q xxxxxxxx alice-edit.txt && grep -q '^Hello over TLSpasted ü over TLS' alice-edit.txt"
    on "$xa_dpy" x_client close "$win"
fi
check "closing the window locally ends the app and the client" exits "$client" 30
check "the client exits 0 when its app has exited (got ${rc:-none})" test "${rc:-1}" = 0
check "the app process is gone" gone "$work/alice-edit.txt"
check "text as data over the network: the client's recording has the typed text as a TEXT record" \
    sh -c "redir-dump alice1.vrs 2>/dev/null | grep -q 'GDI TEXT .*\"Hello over TLS\"'"
check "the recording shows the clipboard both ways (redir-dump: CLIPBOARD frames, on channels of kind clipboard)" \
    sh -c "d=\$(redir-dump alice1.vrs 2>/dev/null); echo \"\$d\" | grep -q 'kind=clipboard name=\"clipboard.edit\"' &&
           echo \"\$d\" | grep -q 'CLIPBOARD format=utf8-text bytes=14 \"Hello over TLS\"' &&
           echo \"\$d\" | grep -q 'CLIPBOARD format=utf8-text bytes=18 \"pasted ü over TLS\"'"

# --- Wine's own notepad: typing, the clipboard, Ctrl-S into alice's prefix -----
printf '[app notepad]\npath = notepad.exe\nallow = alice\n' >>apps.conf
start_client "$xa_dpy" alice notepad.err notepad
win=$(window "$xa_dpy" "Untitled - Notepad")
check "Wine's notepad appears on alice's display" test -n "$win"
if [ -n "$win" ]; then
    sleep 1
    on "$xa_dpy" xdotool windowfocus --sync "$win"
    on "$xa_dpy" xdotool type --delay 40 "saved by vredir over TLS, "
    printf 'pasted from the client' | on "$xa_dpy" xclip -i -selection clipboard
    sleep 1
    on "$xa_dpy" xdotool key --delay 100 ctrl+v
    sleep 0.5
    on "$xa_dpy" xdotool key --delay 100 ctrl+a ctrl+c
    got=
    for _ in $(seq 50); do
        got=$(on "$xa_dpy" xclip -o -selection clipboard 2>/dev/null)
        [ "$got" = "saved by vredir over TLS, pasted from the client" ] && break
        sleep 0.2
    done
    check "xclip to notepad (Ctrl-V) and back (Ctrl-A, Ctrl-C): '$got'" \
        test "$got" = "saved by vredir over TLS, pasted from the client"
    on "$xa_dpy" xdotool key ctrl+s
    save=$(window "$xa_dpy" "Save As")
    check "Ctrl-S opens notepad's Save As dialog as a window of its own" test -n "$save"
    if [ -n "$save" ]; then
        sleep 1
        on "$xa_dpy" xdotool windowfocus --sync "$save"
        on "$xa_dpy" xdotool type --delay 40 'C:\vredir-note.txt'
        on "$xa_dpy" xdotool key Return
    fi
    f=$work/state/apps/alice/drive_c/vredir-note.txt
    for _ in $(seq 100); do grep -q 'client' "$f" 2>/dev/null && break; sleep 0.1; done
    check "the file saved in alice's prefix holds the text (got '$(cat "$f" 2>/dev/null)')" \
        test "$(cat "$f" 2>/dev/null)" = "saved by vredir over TLS, pasted from the client"
fi
kill -INT "$client" 2>/dev/null
exits "$client" 15
gone 'notepad.exe' >/dev/null

# --- bob: a prefix of his own; an interrupted client ends his app -------------
start_client "$xb_dpy" bob bob1.err prim
win=$(window "$xb_dpy" "vredir primitives")
check "bob's primitives app appears on his display" test -n "$win"
pid=$(pgrep -f 'primitives.exe' | head -1)
prefix=$(tr '\0' '\n' <"/proc/${pid:-0}/environ" 2>/dev/null | sed -n 's/^WINEPREFIX=//p')
check "bob's app runs in his own prefix (got '${prefix:-none}')" test "$prefix" = "$work/state/apps/bob"
kill -INT "$client"
check "an interrupted client exits" exits "$client" 15
check "... with 130 (got ${rc:-none})" test "${rc:-1}" = 130
check "its app is closed, no Wine process of it left, within 5 s" gone 'primitives.exe' 5

# --- two clients with two apps each, at the same time ----------------------------
rm -f alice-edit.txt bob-edit.txt
start_client "$xa_dpy" alice alice2.err edit prim
ca=$client
start_client "$xb_dpy" bob bob2.err edit-b prim
cb=$client
wa=$(window "$xa_dpy" "vredir edit")
wb=$(window "$xb_dpy" "vredir edit")
pa=$(window "$xa_dpy" "vredir primitives")
pb=$(window "$xb_dpy" "vredir primitives")
check "alice's two apps are windows on her display" test -n "$wa" -a -n "$pa"
check "bob's two apps are windows on his display" test -n "$wb" -a -n "$pb"
check "each display shows only its client's apps (one edit window each)" \
    test "$(windows_named "$xa_dpy" "vredir edit")" = 1 -a "$(windows_named "$xb_dpy" "vredir edit")" = 1
if [ -n "$wa" ] && [ -n "$wb" ]; then
    sleep 1
    check "alice's typing reaches her edit app" typed "$xa_dpy" "$wa" "from alice" alice-edit.txt
    check "bob's typing reaches his edit app" typed "$xb_dpy" "$wb" "from bob" bob-edit.txt
    check "neither reached the other's app" test "$(cat alice-edit.txt)" = "from alice" -a "$(cat bob-edit.txt)" = "from bob"
    # bob's clipboard policy is to-client: his copies reach him, his own
    # clipboard never reaches the app.
    on "$xb_dpy" xdotool key --delay 100 shift+Home ctrl+c
    got=
    for _ in $(seq 50); do got=$(on "$xb_dpy" xclip -o -selection clipboard 2>/dev/null) && [ -n "$got" ] && break; sleep 0.2; done
    check "clipboard=to-client: bob's copy in the app reaches his CLIPBOARD (got '$got')" test "$got" = "from bob"
    printf 'bob local text' | on "$xb_dpy" xclip -i -selection clipboard
    sleep 1
    on "$xb_dpy" xdotool key --delay 100 End ctrl+v
    sleep 2
    # Ctrl-V pastes the app's own clipboard (its copy), never bob's text.
    check "clipboard=to-client: what bob copies locally is never pasted in the app (got '$(cat bob-edit.txt)')" \
        test "$(cat bob-edit.txt)" = "from bobfrom bob"
fi
check "four app processes run for the two clients" test "$(pgrep -fc 'editapp.exe|primitives.exe')" -ge 4
kill -INT "$ca" "$cb"
exits "$ca" 15
exits "$cb" 15
check "ending both clients closes all four apps within 5 s" gone 'editapp.exe|primitives.exe' 5

# --- detach and reattach ----------------------------------------------------------
# alice's edit app outlives a client that ends with --detach-on-exit, shows in
# --list-apps as detached (to her only), and comes back to a second client on
# another display: the same content (screenshots compared), and typing goes on.
rm -f alice-edit.txt
client_opts=(--detach-on-exit --record detach1.vrs)
start_client "$xa_dpy" alice detach1.err edit
client_opts=()
win=$(window "$xa_dpy" "vredir edit")
check "detach: alice's edit app appears" test -n "$win"
if [ -n "$win" ]; then
    sleep 1
    typed "$xa_dpy" "$win" "before detach" alice-edit.txt
    check "typing reaches it (got '$(cat alice-edit.txt 2>/dev/null)')" test "$(cat alice-edit.txt 2>/dev/null)" = "before detach"
    sleep 1
    on "$xa_dpy" import -window "$win" detach-a.png
fi
kill -INT "$client"
check "a --detach-on-exit client exits at an interrupt" exits "$client" 15
sleep 4
check "its app is still running 4 s later (detached)" test -n "$(app_pids "$work/alice-edit.txt")"
conn alice --list-apps --json >instances.json 2>instances.err
check "--list-apps --json shows alice the detached session with its app ($(grep session instances.json))" \
    grep -q '"state":"detached","apps":\["edit"\],"linger_s":' instances.json
conn alice --list-apps >instances.txt 2>&1
check "... and the table does too" grep -q 'detached  edit (closed in' instances.txt
conn bob --list-apps >bob-instances.txt 2>&1
check "bob's --list-apps does not show alice's session" sh -c "! grep -q detached bob-instances.txt"
conn bob --attach edit >/dev/null 2>bob-attach.err
rc=$?
check "bob cannot attach alice's apps: exit 3, one line (got $rc: $(cat bob-attach.err))" \
    sh -c "test $rc = 3 && test \$(wc -l <bob-attach.err) = 1"
check "... and alice's app still runs" test -n "$(app_pids "$work/alice-edit.txt")"
DISPLAY=$xb_dpy redir-mux connect "$url" --ca "$out/ca.pem" --user alice --password-file "$out/alice.pw" --attach edit \
    --record detach2.vrs -- x-replay - 2>attach.err &
client=$!
t0=$(date +%s%N)
win2=$(window "$xb_dpy" "vredir edit")
check "--attach on another display brings the window back (in $((($(date +%s%N) - t0) / 1000000)) ms; $(tail -1 attach.err))" \
    test -n "$win2"
if [ -n "$win" ] && [ -n "$win2" ]; then
    sleep 2
    on "$xb_dpy" import -window "$win2" detach-b.png
    size_a=$(identify -format '%wx%h' detach-a.png 2>/dev/null) size_b=$(identify -format '%wx%h' detach-b.png 2>/dev/null)
    diff=$(compare -metric AE -fuzz 10% detach-a.png detach-b.png null: 2>&1)
    check "... drawn in full, the same as before (${size_a} and ${size_b}, ${diff%% *} pixels differ)" \
        sh -c "test '$size_a' = '$size_b' && test '${diff%% *}' -le 40"
    check "... the attached client's recording has the text drawn before it attached" \
        sh -c "redir-dump detach2.vrs 2>/dev/null | grep -q 'GDI TEXT .*\"before detach\"'"
    on "$xb_dpy" xdotool windowfocus --sync "$win2" 2>/dev/null
    on "$xb_dpy" xdotool type --delay 40 " and after"
    for _ in $(seq 100); do [ "$(cat alice-edit.txt 2>/dev/null)" = "before detach and after" ] && break; sleep 0.1; done
    check "typing goes on in the reattached window (got '$(cat alice-edit.txt 2>/dev/null)')" \
        test "$(cat alice-edit.txt 2>/dev/null)" = "before detach and after"
fi
conn alice --list-apps --json >instances2.json 2>&1
check "--list-apps shows the session attached again" grep -q '"state":"attached","apps":\["edit"\]' instances2.json
# A client whose link died without a word still looks attached: --attach
# takes the apps over, and the client that had them is told and ends.
old_client=$client
DISPLAY=$xa_dpy redir-mux connect "$url" --ca "$out/ca.pem" --user alice --password-file "$out/alice.pw" --attach \
    -- x-replay - 2>takeover.err &
client=$!
check "--attach while another client has the apps: that client ends" exits "$old_client" 15
check "... with 0 (got ${rc:-none})" test "${rc:-1}" = 0
check "... told why ($(tail -1 attach.err))" grep -q 'took the apps over' attach.err
win3=$(window "$xa_dpy" "vredir edit")
check "... and the window is drawn for the new client" test -n "$win3"
if [ -n "$win3" ]; then
    sleep 1
    on "$xa_dpy" xdotool windowfocus --sync "$win3" 2>/dev/null
    on "$xa_dpy" xdotool type --delay 40 " again"
    for _ in $(seq 100); do [ "$(cat alice-edit.txt 2>/dev/null)" = "before detach and after again" ] && break; sleep 0.1; done
    check "typing goes on there (got '$(cat alice-edit.txt 2>/dev/null)')" \
        test "$(cat alice-edit.txt 2>/dev/null)" = "before detach and after again"
fi
kill -INT "$client"
check "the reattached client exits at an interrupt" exits "$client" 15
check "ending the reattached client without --detach-on-exit closes the app within 5 s" gone "$work/alice-edit.txt" 5

# A connection lost without a goodbye (the client killed) leaves the apps
# for --linger seconds; --linger 0 closes them at once.
# killed_client LINGER: alice's edit app with --linger LINGER; its client is
# killed once the window is up.
killed_client() {
    client_opts=(--linger "$1")
    start_client "$xa_dpy" alice "lost$1.err" edit
    client_opts=()
    window "$xa_dpy" "vredir edit" >/dev/null
    kill -KILL "$client"
    { wait "$client"; } 2>/dev/null  # no "Killed" from the shell
}
killed_client 4
sleep 2
check "a lost connection leaves the app running (--linger 4)" test -n "$(app_pids "$work/alice-edit.txt")"
check "... and closes it once the linger time has passed" gone "$work/alice-edit.txt" 10
killed_client 0
check "with --linger 0 a lost connection closes the app within 5 s" gone "$work/alice-edit.txt" 5
conn alice --attach >/dev/null 2>none.err
rc=$?
check "--attach with nothing detached: exit 3, said in one line (got $rc: $(cat none.err))" \
    sh -c "test $rc = 3 && test \$(wc -l <none.err) = 1 && grep -q 'no running apps' none.err"

# --- a view-only account sees its app but cannot type into it ---------------------
rm -f alice-edit.txt
start_client "$xa_dpy" vera vera.err edit
win=$(window "$xa_dpy" "vredir edit")
check "vera's (view-only) app appears on her display" test -n "$win"
if [ -n "$win" ]; then
    sleep 1
    typed "$xa_dpy" "$win" "not allowed" alice-edit.txt
    check "a view-only account's typing never reaches the app (report: '$(cat alice-edit.txt 2>/dev/null)')" \
        test "$(cat alice-edit.txt 2>/dev/null)" = ""
fi
kill -INT "$client"
exits "$client" 15
gone 'editapp.exe' >/dev/null

# --- seamless windows under a window manager: show states both ways ---------------
# openbox on bob's display. The edit app maximises itself after 3 s and
# restores itself after 9 s (its /maximise-after and /restore-after); then
# the window manager maximises, restores, minimises and brings it back.
# What the app did comes back in the client's recording (WINDOW_SHOW).
DISPLAY=$xb_dpy openbox >openbox.log 2>&1 &
wm_pid=$!
wait_for() { for _ in $(seq 100); do "$@" && return 0; sleep 0.2; done; return 1; }
wait_for on "$xb_dpy" wmctrl -m >/dev/null 2>&1 || not_ok "openbox runs on the client's display"
printf '[app edit-max]\npath = %s\nargs = /maximise-after 3000 /restore-after 9000\nallow = bob\n' \
    "$apps/editapp.exe" >>apps.conf
DISPLAY=$xb_dpy redir-mux connect "$url" --ca ca.pem --user bob --password-file bob.pw --app edit-max --record wm.vrs \
    -- x-replay - 2>wm.err &
client=$!
win=$(window "$xb_dpy" "vredir edit")
check "under openbox, the app's window appears" test -n "$win"
if [ -n "$win" ]; then
    props=$(on "$xb_dpy" xprop -id "$win" _NET_WM_ICON WM_CLASS _NET_WM_NAME 2>/dev/null)
    check "the window carries the app's icon (_NET_WM_ICON, 32 x 32)" grep -q 'Icon (32 x 32)' <<<"$props"
    check "the window has WM_CLASS (taskbar entries)" grep -q '^WM_CLASS.*"editapp"' <<<"$props"
    check "the window has _NET_WM_NAME" grep -q '^_NET_WM_NAME.*"vredir edit"' <<<"$props"
fi
maximised() { on "$xb_dpy" xprop -id "$1" _NET_WM_STATE 2>/dev/null | grep -q 'MAXIMIZED_VERT, _NET_WM_STATE_MAXIMIZED_HORZ'; }
restored() { ! maximised "$1"; }
# shown STATE N: the recording has more than N WINDOW_SHOW records of STATE.
shows() { redir-dump wm.vrs 2>/dev/null | grep -c "GDI WINDOW_SHOW target=1 state=$1"; }
more_shows() { [ "$(shows "$1")" -gt "$2" ]; }
if [ -n "$win" ]; then
    check "the app maximises itself: the window manager maximises the window" wait_for maximised "$win"
    check "the app restores itself: the window manager restores the window" wait_for restored "$win"
    n=$(shows maximised)
    on "$xb_dpy" wmctrl -i -r "$win" -b add,maximized_vert,maximized_horz
    check "maximised by the window manager: the app maximises (WINDOW_SHOW maximised)" wait_for more_shows maximised "$n"
    n=$(shows shown)
    on "$xb_dpy" wmctrl -i -r "$win" -b remove,maximized_vert,maximized_horz
    check "restored by the window manager: the app restores (WINDOW_SHOW shown)" wait_for more_shows shown "$n"
    n=$(shows minimised)
    on "$xb_dpy" xdotool windowminimize "$win"
    check "minimised by the window manager: the app minimises" wait_for more_shows minimised "$n"
    n=$(shows shown)
    on "$xb_dpy" wmctrl -i -a "$win"
    check "brought back by the window manager: the app is shown again" wait_for more_shows shown "$n"
    check "the recording carries the requests (WINDOW_REQUEST maximise, restore, minimise)" sh -c \
        'd=$(redir-dump wm.vrs 2>/dev/null); for a in maximise restore minimise; do
             echo "$d" | grep -q "WINDOW_REQUEST target=1 action=$a" || exit 1; done'
fi
kill -INT "$client"
exits "$client" 15
gone 'editapp.exe' >/dev/null
# Dialogs and popups under the window manager: the dialog is transient for
# its owner (so the window manager stacks it above), the popup menu is an
# override-redirect window at the click.
printf '[app multi]\npath = %s\nargs = /dialog 1\nallow = bob\n' "$apps/multiwin.exe" >>apps.conf
start_client "$xb_dpy" bob multi.err multi
main=$(window "$xb_dpy" "vredir multiwin")
dialog=$(window "$xb_dpy" "Settings")
check "under openbox, the app's main window and its dialog appear" test -n "$main" -a -n "$dialog"
if [ -n "$main" ] && [ -n "$dialog" ]; then
    owner=$(on "$xb_dpy" xprop -id "$dialog" WM_TRANSIENT_FOR 2>/dev/null | sed -n 's/.*window id # //p')
    check "the dialog is transient for the main window (WM_TRANSIENT_FOR ${owner:-none})" \
        test "$((owner))" = "$((main))"
    # The window manager places the window and the app hears of it: measure
    # once the position has held for half a second.
    first=$(at "$xb_dpy" "$main" | tr ' ' ,)
    read -r ox oy <<<"$(settled_at "$xb_dpy" "$main")"
    on "$xb_dpy" xdotool mousemove --window "$main" 20 20 click 3
    popup=$(other_window "$xb_dpy" multiwin "$main" "$dialog")
    check "a right click opens the popup menu as its own window" test -n "$popup"
    if [ -n "$popup" ]; then
        check "the popup is override-redirect (the window manager leaves it alone)" \
            sh -c "DISPLAY=$xb_dpy xwininfo -id $popup | grep -q 'Override Redirect State: yes'"
        read -r px py <<<"$(at "$xb_dpy" "$popup")"
        check "the popup sits at the click: owner $ox,$oy (first $first, now $(at "$xb_dpy" "$main" | tr ' ' ,)) + 20,20 ~ $px,$py" \
            test $((px - ox - 20)) -ge 0 -a $((px - ox - 20)) -le 6 -a $((py - oy - 20)) -ge 0 -a $((py - oy - 20)) -le 6
        on "$xb_dpy" xdotool key Escape
    fi
fi
kill -INT "$client"
exits "$client" 15
gone 'multiwin.exe' >/dev/null

# --- Wine's own regedit under the window manager: its menu bar and menus -------
# The menu bar is the app's (the window manager draws only the frame): it is
# part of the window, a click on a menu's name opens the menu as a popup at
# the app's own coordinates, and a click on an item runs it (Exit ends the app
# and with it the client).
printf '[app regedit]\npath = regedit.exe\nallow = bob\n' >>apps.conf
client_opts=(--record regedit.vrs)
start_client "$xb_dpy" bob regedit.err regedit
client_opts=()
main=$(window "$xb_dpy" "Registry Editor")
check "Wine's regedit appears under openbox" test -n "$main"
# Not there: what the client and the server said, and where regedit waits.
[ -n "$main" ] || { echo "# client: $(tail -n 3 regedit.err | tr '\n' ' ') serve: $(tail -n 4 serve.log | tr '\n' ' ')"
    WINEPREFIX=$work/state/apps/bob wine_backtraces regedit.exe; }
if [ -n "$main" ]; then
    read -r ox oy <<<"$(settled_at "$xb_dpy" "$main")"
    check "its menu bar is drawn in its window (TEXT Registry, Edit, View at its top)" python3 -c '
import json, subprocess, sys
out = subprocess.run(["redir-dump", "--json", "regedit.vrs"], capture_output=True, text=True).stdout
names = {r["gdi"]["text"] for r in map(json.loads, out.splitlines())
         if r.get("gdi", {}).get("op") == "TEXT" and r["gdi"]["target"] == 1 and r["gdi"]["at"]["y"] < 20}
sys.exit(0 if {"Registry", "Edit", "View"} <= names else 1)'
    on "$xb_dpy" xdotool mousemove --window "$main" 12 8 click 1
    popup=$(other_window "$xb_dpy" regedit "$main")
    check "a click on its first menu (Registry) opens it as an override-redirect window" \
        sh -c "test -n '$popup' && DISPLAY=$xb_dpy xwininfo -id '$popup' | grep -q 'Override Redirect State: yes'"
    if [ -n "$popup" ]; then
        read -r px py <<<"$(at "$xb_dpy" "$popup")"
        read -r ax ay <<<"$(redir-dump --json regedit.vrs 2>/dev/null | python3 -c '
import json, sys
for r in map(json.loads, sys.stdin):
    g = r.get("gdi", {})
    if g.get("op") == "WINDOW_CREATE" and g.get("role") == "popup":
        print(g["rect"]["x"], g["rect"]["y"])')"
        check "the menu sits where the app put it: $px,$py ~ the app's ${ax:-?},${ay:-?} (within 3 px)" \
            test "${ax:-x}" != x -a $(((px - ${ax:-0}) ** 2 <= 9 && (py - ${ay:-0}) ** 2 <= 9)) = 1
        check "... right below the menu bar: owner $ox,$oy, menu $px,$py" \
            test $(((px - ox) ** 2 <= 9 && py - oy >= 10 && py - oy <= 40)) = 1
        # Exit is that menu's last item.
        read -r _ ph <<<"$(on "$xb_dpy" xwininfo -id "$popup" | awk '/Width:/ {w = $2} /Height:/ {h = $2} END {print w, h}')"
        rc=
        on "$xb_dpy" xdotool mousemove --window "$popup" 20 $((ph - 10)) click 1
        check "a click on the menu's Exit ends regedit, and the client with 0" exits "$client" 15
        check "... with 0 (got ${rc:-none})" test "${rc:-}" = 0
    fi
fi
kill -INT "$client" 2>/dev/null
exits "$client" 15
gone 'regedit.exe' >/dev/null
kill "$wm_pid" 2>/dev/null

# --- --max-apps: an account's apps over all its sessions ---------------------------
serve1_pid=$serve_pid
mux_start_serve serve2.log --users users --apps apps.conf --no-vms --state-dir "$work/state" --max-apps 1 ||
    not_ok "a second server with --max-apps 1 listens"
serve2_pid=$serve_pid serve_pid=$serve1_pid
conn alice --app edit --app prim 2>max.err >/dev/null
rc=$?
check "two apps at once with --max-apps 1: exit 4 (got $rc: $(cat max.err))" \
    sh -c "test $rc = 4 && grep -q 'at most 1 apps at once' max.err"
start_client "$xa_dpy" alice max1.err edit
win=$(window "$xa_dpy" "vredir edit")
check "one app runs under --max-apps 1" test -n "$win"
conn alice --app prim 2>max2.err >/dev/null
rc=$?
check "a second session of the same account is refused its app: exit 4 (got $rc: $(cat max2.err))" test "$rc" = 4
kill -INT "$client"
exits "$client" 15
gone 'editapp.exe' >/dev/null

# --- an account whose apps run as a Unix user of its own -----------------------
# The user is nobody. What its apps need must be readable by it, so the
# tools, gdi-forward's launcher, its .exe and DLL and the app are copied to
# a public directory (a build tree may sit under a home nobody cannot
# enter); serve runs from there, finding the launcher beside it. A machine
# whose /dev/null only root may open runs nothing as another user: it gets
# the usual mode 0666 back, said here.
if [ "$(stat -c %a /dev/null)" != 666 ]; then
    note "/dev/null is mode $(stat -c %a /dev/null) here; setting the usual 0666 so other users can run programs"
    chmod 666 /dev/null
fi
chmod 711 "$work"
pub=$work/pub
mkdir -p "$pub/out"
chmod 1777 "$pub/out"
cp "$(command -v redir-mux)" "$(command -v gdi-forward)" "$VREDIR_BUILD_DIR/tools/gdi-forward/windows/gdi-forward.exe" \
    "$VREDIR_BUILD_DIR/tools/gdi-forward/windows/vredir-gdi-hook.dll" "$apps/editapp.exe" "$pub/"
chmod -R a+rX "$pub"
export VREDIR_GDI_FORWARD_EXE=$pub/gdi-forward.exe
echo dan-pw >dan.pw
chmod 600 dan.pw
VREDIR_PASSWORD=dan-pw redir-mux users add dan --users users --vms none --unix-user nobody >/dev/null
VREDIR_PASSWORD=dan-pw redir-mux users add ghost --users users --vms none --unix-user vredir-no-such-user >/dev/null
cp dan.pw ghost.pw
check "users list shows the account's Unix user" sh -c "redir-mux users list --users users | grep -q '^dan.*unix=nobody'"
printf '[app edit-u]\npath = %s\nargs = /report %s\nallow = dan ghost\n' "$pub/editapp.exe" "$pub/out/dan.txt" >>apps.conf
"$pub/redir-mux" users prepare dan --users users --state-dir "$work/state" >prepare.out 2>prepare.err
rc=$?
check "users prepare makes dan's prefix ahead (exit $rc: $(tail -1 prepare.err))" \
    sh -c "test $rc = 0 && test -f '$work/state/apps/dan/system.reg'"
check "users prepare prints the prefix" test "$(cat prepare.out)" = "$work/state/apps/dan"
check "dan's prefix belongs to nobody" test "$(stat -c %U "$work/state/apps/dan")" = nobody
mux_program=$pub/redir-mux mux_start_serve serve3.log --users users --apps apps.conf --no-vms --state-dir "$work/state" ||
    not_ok "serve from the public copy listens"
serve3_pid=$serve_pid serve_pid=$serve1_pid
start_client "$xa_dpy" dan dan.err edit-u
win=$(window "$xa_dpy" "vredir edit")
check "dan's app appears on his display" test -n "$win"
check "a prepared prefix: no creation note on the first launch" sh -c "! grep -q 'creating the Wine prefix' dan.err"
user=$(ps -o user= -p "$(pgrep -f 'editapp.exe /report' | head -1)" 2>/dev/null)
check "dan's app runs as nobody (got '${user:-none}')" test "$user" = nobody
if [ -n "$win" ]; then
    sleep 1
    typed "$xa_dpy" "$win" "as nobody" "$pub/out/dan.txt"
    check "typing reaches it (got '$(cat "$pub/out/dan.txt" 2>/dev/null)'), and the file it writes is nobody's" \
        sh -c "test \"\$(cat '$pub/out/dan.txt')\" = 'as nobody' && test \"\$(stat -c %U '$pub/out/dan.txt')\" = nobody"
fi
kill -INT "$client"
exits "$client" 15
check "its app is closed" gone 'editapp.exe'
conn ghost --app edit-u 2>ghost.err >/dev/null
rc=$?
check "an account whose Unix user does not exist: exit 1, said in one line (got $rc: $(cat ghost.err))" \
    sh -c "test $rc = 1 && grep -q 'no Unix user' ghost.err && test \$(wc -l <ghost.err) = 1"

tap_finish
