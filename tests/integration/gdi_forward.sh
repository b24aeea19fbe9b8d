#!/usr/bin/env bash
# gdi-forward under Wine on a private Xvfb, with the Windows test apps built
# by the CMake build (tests/winapps) and programs Wine ships:
#  - semantics: the primitives app's strings arrive as TEXT ops and its
#    rectangles with their colours (redir-dump --json); the gdicalls app's
#    blits, PolyPolygon, regions, ANSI text and ScrollDC arrive as records;
#  - input: INPUT_KEY records typed into an EDIT control end up in it;
#  - headless (Wine's null display driver, no DISPLAY): typing and the
#    animation's frames;
#  - windows: a dialog is its own window with an owner; WINDOW_REQUEST close;
#  - registry and permissions: list filtering, LAUNCH allowed / denied (exit 4),
#    TERMINATE ends the app and its windows are destroyed;
#  - robustness: a crashing app still gives a valid stream (APP_EXIT crashed);
#  - real programs the project did not write: Wine's notepad (typed into)
#    and winemine;
#  - the loop through x-replay on a second Xvfb: xdotool typing into
#    x-replay's window reaches the app's EDIT control, a right click opens
#    the popup menu as an override-redirect window at the click, closing a
#    window locally closes the app, and the client areas drawn natively by
#    Wine and by x-replay match (10 % per channel, 97 % of the pixels).
# One Wine prefix is created for the whole group (wineboot takes seconds).
# Every check prints "ok - ..." or "not ok - ..."; the script fails if any did.
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools gdi-forward redir-dump x-replay
need_helpers vrs-build
command -v vrs-build >/dev/null || { echo "not ok - test helper vrs-build is not built"; exit 1; }
apps=$VREDIR_BUILD_DIR/tools/gdi-forward/windows/winapps
[ -f "$apps/primitives.exe" ] || { echo "not ok - the Windows test apps are not built ($apps)"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/wine_threads.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/xvfb.sh"
need_packages wine:wine wine:wine64 wineboot:wine wineserver:wine winepath:wine Xvfb:xvfb python3:python3 xdotool:xdotool \
    xwininfo:x11-utils import:imagemagick compare:imagemagick py:Xlib:python3-xlib \
    "font:Liberation Sans:fonts-liberation"


work=$(mktemp -d)
xvfb_pid= xvfb2_pid=
cleanup() {
    WINEPREFIX=$work/prefix wineserver -k 2>/dev/null
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
    [ -n "$xvfb2_pid" ] && kill "$xvfb2_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

# --- an X server of our own: Xvfb picks a free display number -------------
start_xvfb srv 1280x1024x24
xvfb_pid=$srv_pid
export DISPLAY=$srv_dpy

# --- one Wine prefix for the group -----------------------------------------
export WINEPREFIX=$work/prefix WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >wineboot.log 2>&1
wineserver -w
check "a Wine prefix was created" test -f "$WINEPREFIX/system.reg"
# Each Wine session of the group persists (-p): a Wine command (winepath)
# started just as the last app exits must never meet a wineserver on its
# way out.
wineserver -p

# Records of a stream as JSON objects, one per line ({"op": ...}).
gdi_json() { redir-dump --json "$1" 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try: o = json.loads(line)
    except ValueError: continue
    if isinstance(o.get("gdi"), dict):
        g = o["gdi"]; g["_channel"] = o.get("channel"); print(json.dumps(g))
'; }
# has FILE PYTHON-EXPRESSION: some record r satisfies the expression.
has() { gdi_json "$1" | python3 -c '
import json, sys
expr = sys.argv[1]
lines = sys.stdin.readlines()  # all of them: an early exit would break the pipe
sys.exit(0 if any(eval(expr, {}, {"r": json.loads(l)}) for l in lines) else 1)' "$2"; }

# Feeds an upstream stream to gdi-forward in steps. SCRIPT holds vrs-build
# lines plus "@wait TEXT" (send what is pending, then wait until OUT holds
# TEXT) and "@sleep N"; END follows the last line.
# feed SCRIPT OUT
feed() {
    local script=$1 out=$2 acc=$1.acc sent=0 line size
    printf 'time 0\nhello producer=test\n' >"$acc"
    emit() {
        vrs-build "$acc" >"$acc.vrs" || return
        size=$(stat -c %s "$acc.vrs")
        tail -c +$((sent + 1)) "$acc.vrs"
        sent=$size
    }
    while IFS= read -r line; do
        case $line in
        "@wait "*)
            emit
            for _ in $(seq 200); do grep -aq -- "${line#@wait }" "$out" 2>/dev/null && break; sleep 0.1; done
            sleep 1
            ;;
        "@sleep "*) emit; sleep "${line#@sleep }" ;;
        *) echo "$line" >>"$acc" ;;
        esac
    done <"$script"
    echo end >>"$acc"
    emit
}

# Input that stays open until the app has exited on its own (then END).
printf '@wait exited with code\n' >keep.txt
keep_open() { feed keep.txt "$1"; }

# --- semantics: primitives ------------------------------------------------
keep_open prim.vrs | timeout 120 gdi-forward run -- "$apps/primitives.exe" /exit-after 3000 >prim.vrs 2>prim.err
rc=$?
check "run primitives exits 0 (rc=$rc: $(tail -1 prim.err))" test "$rc" = 0
check "primitives stream is valid" redir-dump --check prim.vrs
check "stream declares a gdi channel with app and pid" \
    sh -c 'redir-dump prim.vrs | grep -q "kind=gdi .*app=primitives pid=[0-9]"'
check "WINDOW_CREATE with the app's title" has prim.vrs 'r["op"]=="WINDOW_CREATE" and r["title"]=="vredir primitives"'
check "TextOutW string arrives as TEXT" has prim.vrs 'r["op"]=="TEXT" and r["text"]=="Hello GDI" and r["at"]=={"x":10,"y":140}'
check "TEXT carries per-character advances" has prim.vrs 'r["op"]=="TEXT" and r["text"]=="Hello GDI" and len(r.get("advances",[]))==9'
check "non-ASCII text arrives as UTF-8" has prim.vrs 'r["op"]=="TEXT" and r["text"]=="Unicode: \u00e9t\u00e9 \u2713"'
check "DrawText (inside user32) arrives as TEXT" has prim.vrs 'r["op"]=="TEXT" and r["text"]=="Centered by DrawText"'
check "the Arial font is described" has prim.vrs 'r["op"]=="FONT_DEF" and r["face"]=="Arial" and r["height"]==-20 and r["weight"]==700'
check "FillRect: red FILL_RECT at 10,10 100x50" has prim.vrs 'r["op"]=="FILL_RECT" and r["rect"]=={"x":10,"y":10,"w":100,"h":50} and r.get("brush")=="#FF0000"'
check "Rectangle with its blue brush" has prim.vrs 'r["op"]=="RECTANGLE" and r["rect"]=={"x":120,"y":10,"w":100,"h":50} and r.get("brush")=="#0000FF"'
check "Ellipse with its green brush" has prim.vrs 'r["op"]=="ELLIPSE" and r.get("brush")=="#00A000"'
check "RoundRect, Pie and Chord" has prim.vrs 'r["op"]=="ROUND_RECT"'
check "Pie as ARC kind=pie" has prim.vrs 'r["op"]=="ARC" and r["kind"]=="pie"'
check "Polygon" has prim.vrs 'r["op"]=="POLYGON"'
check "Polyline and LineTo" has prim.vrs 'r["op"]=="POLYLINE" and len(r["points"])==2'
check "PolyBezier" has prim.vrs 'r["op"]=="POLYBEZIER"'
check "GradientFill as GRADIENT red to blue" has prim.vrs 'r["op"]=="GRADIENT" and r["from"]=="#FF0000" and r["to"]=="#0000FF"'
check "FrameRect and InvertRect" has prim.vrs 'r["op"]=="FRAME_RECT" or r["op"]=="INVERT_RECT"'
check "a DIB travels as BITMAP_DEF + BITMAP_DRAW" has prim.vrs 'r["op"]=="BITMAP_DRAW" and r["rect"]=={"x":10,"y":240,"w":16,"h":16}'
check "FillRect is one record (its inner PatBlt is not sent twice)" \
    test "$(gdi_json prim.vrs | python3 -c 'import json, sys; print(sum(json.loads(l).get("rect") == {"x": 10, "y": 10, "w": 100, "h": 50} for l in sys.stdin))')" = 1
check "paint batches end with FLUSH" has prim.vrs 'r["op"]=="FLUSH"'
check "the app's exit: windows destroyed, APP_EXIT exited" has prim.vrs 'r["op"]=="APP_EXIT" and r["how"]=="exited" and r["code"]==0'
check "stream ends with END source-gone" sh -c 'redir-dump prim.vrs | tail -1 | grep -q "END reason=source-gone"'

# --- the other calls: blits from a memory DC, PolyPolygon, regions, ANSI text,
# ScrollDC (tests/winapps/gdicalls.cpp draws each with known geometry) ------
keep_open calls.vrs | timeout 120 gdi-forward run -- "$apps/gdicalls.exe" /exit-after 3000 >calls.vrs 2>calls.err
check "gdicalls: StretchBlt from the memory DC is STRETCH 40x40 -> 80x80" \
    has calls.vrs 'r["op"]=="STRETCH" and r["dst"]==1 and r["src"]>=65536 and r["rect"]=={"x":60,"y":10,"w":80,"h":80} and r["src_rect"]=={"x":0,"y":0,"w":40,"h":40}'
check "gdicalls: TransparentBlt keeps its key colour" \
    has calls.vrs 'r["op"]=="TRANSPARENT_BLT" and r["rect"]=={"x":150,"y":10,"w":40,"h":40} and r["transparent"]=="#FF00FF"'
check "gdicalls: AlphaBlend keeps its constant alpha" \
    has calls.vrs 'r["op"]=="ALPHA_BLEND" and r["rect"]=={"x":190,"y":50,"w":40,"h":40} and r["alpha"]==128 and r["per_pixel"]==0'
check "gdicalls: MaskBlt's result travels as pixels (BITMAP_DRAW at 240,10)" \
    has calls.vrs 'r["op"]=="BITMAP_DRAW" and r["dst"]==1 and r["rect"]=={"x":240,"y":10,"w":40,"h":40}'
check "gdicalls: PolyPolygon is one POLYGON with counts [4, 4]" \
    has calls.vrs 'r["op"]=="POLYGON" and r["counts"]==[4,4] and r["points"][4]=={"x":60,"y":100} and r["brush"]=="#FF8000"'
check "gdicalls: FillRgn of an ellipse is FILL_RGN with its brush" \
    has calls.vrs 'r["op"]=="FILL_RGN" and r["brush"]=="#DC0000" and len(r["rects"])>10'
check "gdicalls: PaintRgn of two rects is FILL_RGN with the selected brush" \
    has calls.vrs 'r["op"]=="FILL_RGN" and r["brush"]=="#8000A0"'
check "gdicalls: TextOutA arrives as TEXT" has calls.vrs 'r["op"]=="TEXT" and r["text"]=="TextOutA ANSI" and r["at"]=={"x":10,"y":150}'
check "gdicalls: ExtTextOutA arrives as TEXT" has calls.vrs 'r["op"]=="TEXT" and r["text"]=="ExtTextOutA ANSI" and r["color"]=="#800000"'
check "gdicalls: DrawTextA arrives as TEXT" has calls.vrs 'r["op"]=="TEXT" and r["text"]=="DrawTextA" and r["color"]=="#006000"'
check "gdicalls: ScrollDC is a COPY within the window, 20 rows down" \
    has calls.vrs 'r["op"]=="COPY" and r["dst"]==1 and r["src"]==1 and r["rect"]=={"x":10,"y":220,"w":100,"h":20} and r["src_at"]=={"x":10,"y":200}'

# --- double buffering: memory DC surfaces and COPY --------------------------
keep_open anim.vrs | timeout 120 gdi-forward run -- "$apps/animation.exe" /exit-after 1500 >anim.vrs 2>/dev/null
check "animation: memory DC becomes a surface" has anim.vrs 'r["op"]=="SURFACE_CREATE" and r["w"]==320 and r["h"]==200'
check "animation: BitBlt to the window is a COPY from the surface" has anim.vrs 'r["op"]=="COPY" and r["dst"]==1 and r["src"]>=65536'
check "animation: text drawn on the surface arrives as TEXT" has anim.vrs 'r["op"]=="TEXT" and r["text"].startswith("frame ")'

# --- scrolling: ScrollWindowEx as a copy within the window ------------------
keep_open text.vrs | timeout 120 gdi-forward run -- "$apps/textview.exe" /auto-scroll 100 /exit-after 2000 >text.vrs 2>/dev/null
check "textview: lines arrive as TEXT" has text.vrs 'r["op"]=="TEXT" and r["text"].startswith("Line 1: the quick brown fox")'
check "textview: ScrollWindowEx is a COPY with src == dst" has text.vrs 'r["op"]=="COPY" and r["src"]==r["dst"]'

# --- input: typing into an EDIT control -------------------------------------
report_win=$(winepath -w "$work/report.txt")
python3 - >keys.txt <<'EOF'
print("declare 1 gdi gdi")
print("@wait vredir edit")
def key(vk, u):
    print(f"gdi 1 input-key target=1 vk={vk} dir=down unicode={u}")
    print(f"gdi 1 input-key target=1 vk={vk} dir=up unicode={u}")
for c in "Hellx": key(ord(c.upper()), ord(c))
key(8, 0)                       # Backspace
for c in "o vredir": key(ord(c.upper()) if c.isalpha() else 0x20, ord(c))
print("@sleep 3")
EOF
feed keys.txt edit.vrs | timeout 120 gdi-forward run -- "$apps/editapp.exe" /report "$report_win" >edit.vrs 2>edit.err
check "typed keys reach the EDIT control (got '$(cat report.txt 2>/dev/null)')" test "$(cat report.txt 2>/dev/null)" = "Hello vredir"
check "the edit control's text comes back as TEXT" has edit.vrs 'r["op"]=="TEXT" and r["text"]=="Hello vredir"'
check "end of input closes the app: APP_EXIT terminated" has edit.vrs 'r["op"]=="APP_EXIT" and r["how"]=="terminated"'
check "edit stream is valid" redir-dump --check edit.vrs

# --- input: a form, with the dialog manager in the app's loop --------------
# All keys arrive in one burst: the ones after a Tab must still reach the
# field the Tab moved to, and Tab, Shift+Tab and Enter must reach the dialog
# manager as key presses (tabbing into a field selects its text, so the x
# replaces "ab").
python3 - >form-keys.txt <<'EOF'
print("declare 1 gdi gdi")
print("@wait vredir form")
def key(vk, u=0, dirs=("down", "up")):
    for d in dirs:
        print(f"gdi 1 input-key target=1 vk={vk} dir={d} unicode={u}")
for c in "ab": key(ord(c.upper()), ord(c))
key(9, 9)                                          # Tab: the second field
for c in "cd": key(ord(c.upper()), ord(c))
key(0x10, 0, ("down",)); key(9, 9); key(0x10, 0, ("up",))   # Shift+Tab: back to the first
key(ord("X"), ord("x"))
key(13, 13)                                        # Enter: the default button
print("@sleep 3")
EOF
rm -f report.txt
feed form-keys.txt form.vrs | timeout 120 gdi-forward run -- "$apps/editapp.exe" /form 1 /report "$report_win" >form.vrs 2>form.err
check "form: Tab, Shift+Tab and Enter act as in a dialog; keys after a Tab reach the next field (got '$(cat report.txt 2>/dev/null)')" \
    test "$(cat report.txt 2>/dev/null)" = "x|cd|ok"

# --- headless: no X server, Wine's null display driver ----------------------
# The prefix gdi-forward's launcher creates has the graphics driver list
# "x11,null": X11 where DISPLAY names an X server, else the null driver. Wine
# picks it when a wineserver session starts, so the session is restarted
# without DISPLAY here, and again with it afterwards.
wine reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d x11,null /f >/dev/null 2>&1
wineserver -k 2>/dev/null; wineserver -w; env -u DISPLAY wineserver -p
rm -f report.txt
feed keys.txt headless-edit.vrs | env -u DISPLAY timeout 120 gdi-forward run -- "$apps/editapp.exe" /report "$report_win" \
    >headless-edit.vrs 2>headless-edit.err
check "headless: typed keys reach the EDIT control (got '$(cat report.txt 2>/dev/null)')" test "$(cat report.txt 2>/dev/null)" = "Hello vredir"
check "headless: the edit control's text comes back as TEXT" has headless-edit.vrs 'r["op"]=="TEXT" and r["text"]=="Hello vredir"'
keep_open headless-anim.vrs | env -u DISPLAY timeout 120 gdi-forward run -- "$apps/animation.exe" /exit-after 2000 >headless-anim.vrs 2>/dev/null
frames=$(gdi_json headless-anim.vrs | python3 -c 'import json, sys; print(len({r["text"] for r in map(json.loads, sys.stdin) if r["op"] == "TEXT" and r["text"].startswith("frame ")}))')
check "headless: the animation's frames arrive ($frames distinct frames in 2 s)" test "$frames" -ge 10
check "headless: BitBlt to the window is a COPY from the surface" has headless-anim.vrs 'r["op"]=="COPY" and r["dst"]==1 and r["src"]>=65536'
check "headless: the stream is valid" redir-dump --check headless-anim.vrs
# Back to X11, in a new session.
wineserver -k 2>/dev/null; wineserver -w; wineserver -p

# --- windows: a dialog with an owner, WINDOW_REQUEST close ------------------
cat >close.txt <<'EOF'
declare 1 gdi gdi
@wait Settings
gdi 1 window-request target=2 action=close
@sleep 2
EOF
feed close.txt multi.vrs | timeout 120 gdi-forward run -- "$apps/multiwin.exe" /dialog 1 >multi.vrs 2>/dev/null
check "the dialog is its own window, owned by the main window" has multi.vrs 'r["op"]=="WINDOW_CREATE" and r["title"]=="Settings" and r["role"]=="dialog" and r["owner"]==1'
check "the dialog's controls draw into it" has multi.vrs 'r["op"]=="TEXT" and r["text"]=="Settings dialog text" and r["target"]==2'
check "WINDOW_REQUEST close destroys the dialog" has multi.vrs 'r["op"]=="WINDOW_DESTROY" and r["target"]==2'

keep_open menu.vrs | timeout 120 gdi-forward run -- "$apps/multiwin.exe" /popup-after 1500 /exit-after 4000 >menu.vrs 2>/dev/null
check "a popup menu is its own window: role popup, owned, placed at the click" \
    has menu.vrs 'r["op"]=="WINDOW_CREATE" and r["role"]=="popup" and r["owner"]==1'
check "the popup menu's items arrive as TEXT on it" has menu.vrs 'r["op"]=="TEXT" and r["text"]=="Popup item A" and r["target"]!=1'

# --- robustness: a crash ------------------------------------------------------
keep_open crash.vrs | timeout 120 gdi-forward run -- "$apps/primitives.exe" /crash-after 1500 >crash.vrs 2>/dev/null
check "a crashing app leaves a valid stream" redir-dump --check crash.vrs
check "the crash is APP_EXIT how=crashed" has crash.vrs 'r["op"]=="APP_EXIT" and r["how"]=="crashed"'
check "the crashed app's window is destroyed" has crash.vrs 'r["op"]=="WINDOW_DESTROY" and r["target"]==1'
timeout 60 gdi-forward run -- no-such-app.exe </dev/null >missing.vrs 2>missing.err
rc=$?
check "a missing app exits 3 with a message" sh -c "[ $rc = 3 ] && grep -q '^gdi-forward: cannot start' missing.err"

# --- registry and permissions ---------------------------------------------------
prim_win=$(winepath -w "$apps/primitives.exe")
cat >apps.conf <<EOF
# test registry
[app primitives]
path = $prim_win
allow = alice @staff
description = every primitive

[app editor]
path = $(winepath -w "$apps/editapp.exe")
allow = bob

[group staff]
members = carol, dave
EOF
check "list shows every app" test "$(gdi-forward list --registry apps.conf | cut -f1 | tr '\n' ' ')" = "primitives editor "
check "list --user carol shows what the group allows" test "$(gdi-forward list --registry apps.conf --user carol | cut -f1)" = "primitives"
check "list --user bob shows only editor" test "$(gdi-forward list --registry apps.conf --user bob | cut -f1)" = "editor"
check "list --json" sh -c 'gdi-forward list --registry apps.conf --json | head -1 | python3 -c "import json,sys; assert json.load(sys.stdin)[\"name\"]==\"primitives\""'
printf '[app x]\nbogus = 1\n' >bad.conf
gdi-forward list --registry bad.conf >/dev/null 2>bad.err
rc=$?
check "a bad registry line is reported with its line number" sh -c "[ $rc = 1 ] && grep -q 'bad.conf:2: unknown key' bad.err"

cat >serve.txt <<'EOF'
declare 1 control control
control 1 LIST
control 1 LAUNCH name=primitives
@wait vredir primitives
control 1 TERMINATE
@sleep 4
EOF
feed serve.txt serve.vrs | timeout 120 gdi-forward serve --registry apps.conf --user alice >serve.vrs 2>serve.err
rc=$?
check "serve as an allowed user exits 0 (rc=$rc)" test "$rc" = 0
check "serve stream is valid" redir-dump --check serve.vrs
# control_has FILE PYTHON-EXPRESSION: some control frame c satisfies it.
control_has() { redir-dump --json "$1" 2>/dev/null | python3 -c '
import json, sys
expr = sys.argv[1]
cs = [o for o in map(json.loads, sys.stdin) if "verb" in o]
sys.exit(0 if any(eval(expr, {}, {"c": c}) for c in cs) else 1)' "$2"; }
check "LIST answers what alice may launch" control_has serve.vrs 'c["verb"]=="APPS" and c["args"]["apps"]=="primitives"'
check "LAUNCH answers LAUNCHED with a channel" control_has serve.vrs 'c["verb"]=="LAUNCHED" and c["args"]["channel"]=="2"'
check "the launched app's window arrives on its channel" has serve.vrs 'r["op"]=="WINDOW_CREATE" and r["_channel"]==2 and r["title"]=="vredir primitives"'
check "TERMINATE ends the app: its window is destroyed" has serve.vrs 'r["op"]=="WINDOW_DESTROY" and r["_channel"]==2'
check "TERMINATE ends the app: APP_EXIT terminated" has serve.vrs 'r["op"]=="APP_EXIT" and r["how"]=="terminated"'

printf 'declare 1 control control\ncontrol 1 LAUNCH name=primitives\n@sleep 5\n' >deny.txt
feed deny.txt deny.vrs | timeout 120 gdi-forward serve --registry apps.conf --user bob >deny.vrs 2>deny.err
rc=$?
check "a denied LAUNCH exits 4 (rc=$rc)" test "$rc" = 4
check "a denied LAUNCH ends the stream with END denied and a reason" \
    sh -c 'redir-dump deny.vrs | tail -1 | grep -q "END reason=denied.*bob.*primitives"'
check "the denial is reported on stderr" grep -q "^gdi-forward: user 'bob' may not launch 'primitives'" deny.err

# --- a real program the project did not write: Wine's notepad -------------------
python3 - >np.txt <<'EOF'
print("declare 1 gdi gdi")
print("@wait Notepad")
for c in "typed by vredir":
    vk = ord(c.upper()) if c.isalpha() else 0x20
    print(f"gdi 1 input-key target=1 vk={vk} dir=down unicode={ord(c)}")
print("@sleep 3")
EOF
feed np.txt notepad.vrs | timeout 120 gdi-forward run --close-timeout 2000 -- notepad.exe >notepad.vrs 2>/dev/null
check "notepad: its window is created with its title" has notepad.vrs 'r["op"]=="WINDOW_CREATE" and "Notepad" in r["title"]'
check "notepad: its client area is drawn with rect ops" has notepad.vrs 'r["op"]=="FILL_RECT" and r["target"]==1'
check "notepad: typed text reaches it and comes back as TEXT" has notepad.vrs 'r["op"]=="TEXT" and r["text"]=="typed by vredir"'
check "notepad stream is valid" redir-dump --check notepad.vrs
# The screen's text from its drawing commands: the typed line, inside the
# window's area, where its menu bar is too.
check "notepad: redir-dump --until-text finds what was typed, within the window" \
    sh -c "redir-dump notepad.vrs --until-text '^typed by vredir\$' --json >notepad.found 2>&1 && grep -q '\"text\":\"typed by vredir\"' notepad.found"

# Wine's minesweeper: loaded bitmaps travel once as pixels, then copies.
printf '@sleep 4\n' >mine.txt
feed mine.txt mine.vrs | timeout 120 gdi-forward run -- winemine.exe >mine.vrs 2>/dev/null
check "winemine: its window is created" has mine.vrs 'r["op"]=="WINDOW_CREATE" and r["title"]=="WineMine"'
check "winemine: its cells arrive as COPY from surfaces" has mine.vrs 'r["op"]=="COPY" and r["dst"]==1 and r["src"]>=65536'
check "winemine: its bitmaps arrive once through the cache" has mine.vrs 'r["op"]=="BITMAP_DEF"'
check "winemine stream is valid" redir-dump --check mine.vrs

# --- the loop through x-replay: gdi-forward on one Xvfb, x-replay on another --
# gdi-forward run -- APP < FIFO | x-replay - > FIFO, as a terminal would run
# it: Wine draws natively on the first X server, x-replay on the second.
# Every Wine process of the prefix (wineboot, winepath too) runs with the
# first display: the desktop process is started once per wineserver with the
# environment of whichever Wine process came first, and without a display no
# window of the app is ever created.
start_xvfb cli 1280x1024x24
xvfb2_pid=$cli_pid dpy2=$cli_dpy
on2() { DISPLAY=$dpy2 "$@"; }

# loop_start NAME APP [ARGS...]: runs the loop in the background; NAME.down
# and NAME.up keep the two streams.
loop_start() {
    local name=$1
    shift
    rm -f "$name.fifo"
    mkfifo "$name.fifo"
    { timeout 90 gdi-forward run -- "$@" <"$name.fifo" 2>"$name.gf.err" | tee "$name.down" |
        DISPLAY=$dpy2 timeout 90 x-replay - 2>"$name.xr.err" | tee "$name.up" >"$name.fifo"; } &
    loop_pid=$!
}
# loop_end: true when the loop finishes on its own within 20 s.
loop_end() {
    for _ in $(seq 200); do kill -0 "$loop_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$loop_pid" 2>/dev/null && return 1
    wait "$loop_pid"
    return 0
}
# loop_diagnose NAME [EXE]: what a loop whose window did not appear got that far:
# both tools' last errors, the size of each stream, the window records
# gdi-forward sent, and the windows x-replay has on the second display.
loop_diagnose() {
    echo "# gdi-forward: $(tail -n 3 "$1.gf.err" | tr '\n' ' ') x-replay: $(tail -n 3 "$1.xr.err" | tr '\n' ' ')"
    echo "# streams: down $(stat -c %s "$1.down" 2>/dev/null) bytes, up $(stat -c %s "$1.up" 2>/dev/null) bytes;" \
        "records: $(redir-dump "$1.down" 2>/dev/null | grep -oE 'GDI (APP_START|WINDOW_CREATE|WINDOW_SHOW|APP_EXIT)[^=]*=[^ ]*' | head -6 | tr '\n' ' ')"
    echo "# windows on the x-replay display: $(on2 xdotool search --name . getwindowname %@ 2>/dev/null | head -5 | tr '\n' ' ')"
    # EXE given: where the app's threads are (a hang shows as a wait).
    [ -n "${2:-}" ] || return 0
    wine_backtraces "$2"
}
# x-replay's window titled exactly TITLE on the second display. A Wine app's
# start takes a few seconds on a quiet host and has taken over 20 on a busy
# one: the wait is up to 60 s (the loop itself is given 90).
local_window() { on2 timeout 60 xdotool search --sync --onlyvisible --name "^$1\$" 2>/dev/null | head -1; }
# geometry WIN: "W H X Y" of a window of the second display.
geometry() { on2 xwininfo -id "$1" | awk '/Absolute upper-left X/ {x = $4} /Absolute upper-left Y/ {y = $4}
    /Width:/ {w = $2} /Height:/ {h = $2} END {print w, h, x, y}'; }
# WM_DELETE_WINDOW to a window of the second display (the window manager's close).
wm_close() { on2 x_client close "$1"; }
# fidelity NAME WIN: the client area Wine drew natively on the first display
# against x-replay's window on the second (no window manager on either, so
# the client area sits at the same root position on both). A pixel matches
# when every channel is within $fuzz % of full scale (imagemagick compare
# -fuzz); the share of matching pixels must be at least $min_share.
# Tolerance: 10 % per channel, at least 97 % of the client area. What differs
# is anti-aliasing: glyph edges (Xft against Wine's own rasteriser), the edges
# of ellipses, pies and Bezier curves, and the gradient's rounding.
fuzz=10 min_share=0.97
fidelity() {
    local name=$1 win=$2 w h x y ae share
    read -r w h x y <<<"$(geometry "$win")"
    import -window root -crop "${w}x$h+$x+$y" +repage "$name.native.png" 2>/dev/null
    on2 import -window root -crop "${w}x$h+$x+$y" +repage "$name.replay.png" 2>/dev/null
    ae=$(compare -metric AE -fuzz "$fuzz%" "$name.native.png" "$name.replay.png" null: 2>&1)
    share=$(python3 -c "import sys; print(f'{1 - float(sys.argv[1]) / ($w * $h):.4f}')" "$ae" 2>/dev/null)
    check "fidelity $name: ${share:-?} of ${w}x$h pixels match within $fuzz% (minimum $min_share; $ae differ)" \
        python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "${share:-0}" "$min_share"
}

# Input: text typed into x-replay's window of the edit app reaches its EDIT
# control; closing the window locally closes the app.
rm -f report.txt
loop_start loop-edit "$apps/editapp.exe" /report "$report_win"
win=$(local_window "vredir edit")
check "loop: the edit app's window appears on the x-replay display" test -n "$win"
[ -n "$win" ] || loop_diagnose loop-edit editapp.exe
if [ -n "$win" ]; then
    sleep 1
    on2 xdotool windowfocus --sync "$win"
    on2 xdotool type --delay 40 "Hello vredir"
    for _ in $(seq 50); do [ "$(cat report.txt 2>/dev/null)" = "Hello vredir" ] && break; sleep 0.1; done
    check "loop: xdotool typing reaches the EDIT control (got '$(cat report.txt 2>/dev/null)')" \
        test "$(cat report.txt 2>/dev/null)" = "Hello vredir"
    check "loop: the typed text is drawn back as TEXT" has loop-edit.down 'r["op"]=="TEXT" and r["text"]=="Hello vredir"'
    sleep 0.5
    fidelity edit "$win"
    wm_close "$win"
fi
check "loop: the edit app exits after the local close" loop_end
check "loop: x-replay answers on a gdi channel of its own, declared downstream=1" \
    sh -c 'redir-dump loop-edit.up 2>/dev/null | grep -q "DECLARE id=2 kind=gdi .*downstream=1"'
check "loop: the local close is WINDOW_REQUEST close" has loop-edit.up 'r["op"]=="WINDOW_REQUEST" and r["action"]=="close" and r["target"]==1'
check "loop: the app's window is destroyed remotely" has loop-edit.down 'r["op"]=="WINDOW_DESTROY" and r["target"]==1'
check "loop: the app exited on WM_CLOSE (APP_EXIT exited)" has loop-edit.down 'r["op"]=="APP_EXIT" and r["how"]=="exited" and r["code"]==0'
check "loop: the window is gone locally" sh -c "! DISPLAY=$dpy2 xwininfo -id ${win:-0} >/dev/null 2>&1"

# Rendering fidelity, among others of the text view: a window full of text
# in "Courier New", which neither side has. Wine draws a substitute
# (Liberation Sans, proportional) and x-replay must draw that font, not the
# one fontconfig picks for the requested face: FONT_DEF carries the realised
# face, em size, cell metrics and smoothing, and TEXT the advances Wine
# steps by. Liberation Sans (fonts-liberation, checked above) is unsmoothed
# at 14 pixels per em by its 'gasp' table. Without it Wine picks DejaVu Sans,
# grey-smoothed, and the text view then matches only 0.87: Xft's grey glyph
# edges are darker than Wine's (see RESULTS.md, rendering fidelity).
check "textview: FONT_DEF names the font Wine realised for Courier New, at 14 pixels per em" \
    has text.vrs 'r["op"]=="FONT_DEF" and r["face"]=="Courier New" and r.get("real_face") and r.get("em")==14'
for app in primitives textview gdicalls; do
    loop_start "loop-$app" "$apps/$app.exe"
    win=$(local_window "vredir $app")
    check "loop: the $app window appears on the x-replay display" test -n "$win"
    [ -n "$win" ] || loop_diagnose "loop-$app" "$app.exe"
    if [ -n "$win" ]; then
        sleep 2
        fidelity "$app" "$win"
        wm_close "$win"
    fi
    check "loop: $app exits after the local close" loop_end
done

# A right click in x-replay's window of the multi-window app opens its popup
# menu as an override-redirect X window at the click, relative to the owner.
loop_start loop-multi "$apps/multiwin.exe"
win=$(local_window "vredir multiwin")
check "loop: the multiwin window appears on the x-replay display" test -n "$win"
[ -n "$win" ] || loop_diagnose loop-multi multiwin.exe
if [ -n "$win" ]; then
    sleep 1
    fidelity multiwin "$win"
    read -r _ _ ox oy <<<"$(geometry "$win")"
    on2 xdotool mousemove --window "$win" 80 60 click 3
    popup=$(other_window "$dpy2" multiwin "$win")
    check "loop: the popup menu is its own X window" test -n "$popup"
    if [ -n "$popup" ]; then
        check "loop: the popup is override-redirect" sh -c "DISPLAY=$dpy2 xwininfo -id $popup | grep -q 'Override Redirect State: yes'"
        read -r pw ph px py <<<"$(geometry "$popup")"
        check "loop: the popup sits at the click: owner $ox,$oy + 80,60 ~ $px,$py (${pw}x$ph)" \
            test $((px - ox - 80)) -ge 0 -a $((px - ox - 80)) -le 6 -a $((py - oy - 60)) -ge 0 -a $((py - oy - 60)) -le 6
        check "loop: the popup's items are drawn on it" has loop-multi.down 'r["op"]=="TEXT" and r["text"]=="Popup item A" and r["target"]!=1'
        on2 xdotool key Escape
        sleep 0.5
    fi
    wm_close "$win"
fi
check "loop: multiwin exits after the local close" loop_end
check "loop: the popup is a WINDOW_CREATE role popup owned by the main window" \
    has loop-multi.down 'r["op"]=="WINDOW_CREATE" and r["role"]=="popup" and r["owner"]==1'

tap_finish
