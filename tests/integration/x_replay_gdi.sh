#!/usr/bin/env bash
# x-replay's GDI windows on a real X server (Xvfb): a GDI stream built with
# vrs-build becomes local X windows with the right pixels, text, WM_CLASS,
# title and transient-for; xdotool input in them comes out on stdout as
# upstream GDI records; closing and moving a window locally are requests to
# the app; APP_EXIT removes the app's windows; hostile streams exit 7.
# Every check prints "ok - ..." or "not ok - ..."; the script fails if any did.
set -u

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_tools x-replay redir-dump
need_helpers vrs-build png-pixels
source "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/xvfb.sh"
need_packages Xvfb:xvfb xdotool:xdotool xdpyinfo:x11-utils xprop:x11-utils xwininfo:x11-utils import:imagemagick py:Xlib:python3-xlib


out=$(mktemp -d "${TMPDIR:-/tmp}/vredir-xreplay-gdi.XXXXXX")
xvfb_pid= viewer_pid=
cleanup() {
    exec 3>&- 2>/dev/null
    [ -n "$viewer_pid" ] && kill "$viewer_pid" 2>/dev/null
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$out"
}
trap cleanup EXIT
cd "$out" || exit 1

# --- an X server of our own (it picks a free display number itself) --------
start_xvfb x 1024x768x24
xvfb_pid=$x_pid dpy=$x_dpy
export DISPLAY=$dpy
ok "Xvfb running on $dpy"

# --- the stream: a window with fills, text, a surface blit and a bitmap -----
cat >app.txt <<'EOF'
hello producer=gdi-test
declare 1 gdi demo
gdi 1 app-start pid=77 app=gdidemo command_line="gdidemo.exe"
gdi 1 window-create target=1 pid=77 rect=100,100,160,100 flags=0xF title="GDI Test" app=gdidemo
gdi 1 window-create target=2 owner=1 pid=77 role=dialog rect=400,100,80,50 flags=0x8 title="GDI Dialog" app=gdidemo
gdi 1 window-create target=3 owner=1 pid=77 role=popup rect=300,300,30,20 flags=0x8 title="menu" app=gdidemo
gdi 1 font-def font=1 face="DejaVu Sans" height=-16 weight=700
gdi 1 state target=1 brush=FF0000
gdi 1 fill-rect target=1 rect=10,10,30,20 rop3=0xF00021
gdi 1 state target=1 brush=00C000 pen=0000FF text=000000 bk_mode=transparent font=1
gdi 1 rectangle target=1 rect=50,10,30,20
gdi 1 text target=1 at=10,50 text="Hello GDI"
gdi 1 surface-create target=10 w=20 h=20
gdi 1 state target=10 brush=0000FF
gdi 1 fill-rect target=10 rect=0,0,20,20
gdi 1 copy dst=1 rect=120,10,20,20 src=10 src_at=0,0 rop3=0xCC0020
gdi 1 bitmap-def bitmap=5 w=2 h=2 pixels=FFFF00,FFFF00,FFFF00,FFFF00
gdi 1 bitmap-draw dst=1 rect=120,60,10,10 bitmap=5 src_rect=0,0,2,2 rop3=0xCC0020
gdi 1 state target=1 brush=00FFFF clip=0,80,20,10
gdi 1 fill-rect target=1 rect=0,80,60,20
gdi 1 state target=1 brush_style=pattern pattern_w=2 pattern_h=1 pattern=FF00FF,00FF00
gdi 1 fill-rect target=1 rect=140,80,4,4
gdi 1 fill-rect target=1 rect=100,30,10,10 rop3=0x550009
gdi 1 state target=2 brush=808080
gdi 1 fill-rect target=2 rect=0,0,80,50
gdi 1 flush target=1
gdi 1 flush target=2
EOF
vrs-build app.txt -o head.vrs || not_ok "vrs-build app.txt"
{ cat app.txt; echo end; } | vrs-build -o static.vrs

# 1. Pixels, read back from the window's backing store on exit.
x-replay --no-timing --screenshot-on-exit shot.png static.vrs >/dev/null 2>static.err
rc=$?
check "static stream: x-replay exits 0 ($(head -c 200 static.err))" [ $rc = 0 ]
px() { png-pixels --at "$2" "$3" "$1" 2>/dev/null | tr -d ' \n' | tr A-F a-f; }
check "pixels: FILL_RECT red at 15,15" [ "$(px shot.png 15 15)" = ff0000 ]
check "pixels: RECTANGLE interior green at 60,20" [ "$(px shot.png 60 20)" = 00c000 ]
check "pixels: RECTANGLE outline blue at 50,15" [ "$(px shot.png 50 15)" = 0000ff ]
check "pixels: surface blitted blue at 125,15" [ "$(px shot.png 125 15)" = 0000ff ]
check "pixels: bitmap stretched yellow at 125,65" [ "$(px shot.png 125 65)" = ffff00 ]
check "pixels: untouched client area white at 150,90" [ "$(px shot.png 150 90)" = ffffff ]
check "clip: inside the clip rect cyan at 5,85" [ "$(px shot.png 5 85)" = 00ffff ]
check "clip: outside it untouched at 30,85" [ "$(px shot.png 30 85)" = ffffff ]
check "pattern brush: tile pixels at 140,80 and 141,80" [ "$(px shot.png 140 80)$(px shot.png 141 80)" = ff00ff00ff00 ]
check "DSTINVERT: white became black at 105,35" [ "$(px shot.png 105 35)" = 000000 ]
# Text: dark pixels where the string was drawn, none below it.
dark_in() {  # png x0 y0 x1 y1 -> count of pixels darker than 0x808080 in each channel
    png-pixels "$1" | awk -v x0="$2" -v y0="$3" -v x1="$4" -v y1="$5" '
        NR == 1 { next }
        { y = NR - 2; if (y < y0 || y > y1) next
          for (x = x0; x <= x1 && x < NF; x++) { v = $(x + 1)
            if (substr(v, 1, 1) ~ /[0-7]/ && substr(v, 3, 1) ~ /[0-7]/ && substr(v, 5, 1) ~ /[0-7]/) n++ } }
        END { print n + 0 }'
}
text_px=$(dark_in shot.png 10 50 100 68)
check "text: $text_px dark pixels where \"Hello GDI\" was drawn" [ "$text_px" -gt 40 ]
check "text: no dark pixels below it" [ "$(dark_in shot.png 10 75 100 99)" = 0 ]

# 2. Live: window properties, input, local move and close, APP_EXIT.
mkfifo in.fifo
x-replay --no-timing <in.fifo >up.vrs 2>live.err &
viewer_pid=$!
exec 3>in.fifo
cat head.vrs >&3
win=$(timeout 10 xdotool search --sync --onlyvisible --name '^GDI Test$' | head -1)
dlg=$(timeout 10 xdotool search --sync --onlyvisible --name '^GDI Dialog$' | head -1)
check "a local window per remote top-level window" [ -n "$win" ] && [ -n "$dlg" ]
if [ -n "$win" ]; then
    check "WM_CLASS is (vredir, app name)" sh -c "xprop -id $win WM_CLASS | grep -q '= \"vredir\", \"gdidemo\"'"
    check "title" sh -c "xprop -id $win _NET_WM_NAME | grep -q '\"GDI Test\"'"
    check "size hints place the client area" sh -c "xwininfo -id $win | grep -q 'Width: 160' && xwininfo -id $win | grep -q 'Absolute upper-left X:  100'"
    check "dialog is transient for its owner" sh -c "xprop -id $dlg WM_TRANSIENT_FOR | grep -qi \"$(printf '0x%x' "$win")\""
    popup=$(xdotool search --name '^menu$' | head -1)
    check "popup is override-redirect" sh -c "xwininfo -id $popup | grep -q 'Override Redirect State: yes'"
    import -window "$win" live.png 2>/dev/null
    check "the window shows the backing pixmap (red at 15,15)" [ "$(px live.png 15 15)" = ff0000 ]

    xdotool windowfocus --sync "$win"
    xdotool type --delay 30 aB
    xdotool mousemove --window "$win" 20 30 click 1
    xdotool mousemove --window "$win" 5 6 click 4
    xdotool windowmove "$win" 300 250
    sleep 0.5
    x_client close "$win"
    sleep 0.5
    check "WM_DELETE_WINDOW leaves the window to the app (still there)" sh -c "xwininfo -id $win >/dev/null 2>&1"
fi
# The app destroys the dialog, then exits: its windows vanish.
printf 'hello producer=t\ndeclare 1 gdi demo\ngdi 1 window-destroy target=2\n' | vrs-build -o d.vrs
# Only the records after the header and DECLARE of these little streams.
hdr=$(printf 'hello producer=t\ndeclare 1 gdi demo\n' | vrs-build | wc -c)
tail -c +$((hdr + 1)) d.vrs >&3
sleep 0.5
check "WINDOW_DESTROY: the dialog vanishes" sh -c "! xwininfo -id $dlg >/dev/null 2>&1"
printf 'hello producer=t\ndeclare 1 gdi demo\ngdi 1 app-exit pid=77 code=0\nend\n' | vrs-build | tail -c +$((hdr + 1)) >&3
exec 3>&-
for _ in $(seq 100); do kill -0 "$viewer_pid" 2>/dev/null || break; sleep 0.1; done
wait "$viewer_pid"
rc=$?
viewer_pid=
check "live stream: x-replay exits 0 at END ($(head -c 200 live.err))" [ $rc = 0 ]
check "APP_EXIT: the app's windows are gone" sh -c "[ -z \"\$(xdotool search --name '^GDI Test\$')\" ]"

redir-dump --json up.vrs >up.json 2>up.err
check "upstream stream is valid" [ $? = 0 ]
check "upstream gdi channel declared" grep -q '"declared_kind":"gdi"' up.json
check "INPUT_KEY 'a': VK 0x41, scan code 0x1E, unicode 'a'" \
    grep -q '"gdi":{"dir":"down","op":"INPUT_KEY","scancode":30,"target":1,"unicode":97,"vk":65}' up.json
check "INPUT_KEY 'B' with shift: unicode 'B'" grep -q '"op":"INPUT_KEY","scancode":48,"target":1,"unicode":66,"vk":66' up.json
check "INPUT_POINTER left button at 20,30 (client coordinates)" \
    grep -q '"gdi":{"at":{"x":20,"y":30},"buttons":1,"op":"INPUT_POINTER","target":1,"wheel":0}' up.json
check "INPUT_POINTER wheel up" grep -q '"buttons":0,"op":"INPUT_POINTER","target":1,"wheel":120' up.json
check "WINDOW_REQUEST move to 300,250" \
    grep -q '"action":"move","op":"WINDOW_REQUEST","rect":{"h":100,"w":160,"x":300,"y":250},"target":1' up.json
check "WINDOW_REQUEST close on WM_DELETE_WINDOW" grep -q '"action":"close","op":"WINDOW_REQUEST","target":1' up.json

# 3. Hostile streams: exit 7 with one line, never a crash.
hostile() {  # name, gdi lines...
    local name=$1
    shift
    { printf 'hello producer=t\ndeclare 1 gdi g\n'; printf 'gdi 1 %s\n' "$@"; printf 'end\n'; } | vrs-build -o "$name.vrs"
    x-replay --no-timing "$name.vrs" >/dev/null 2>"$name.err"
    local rc=$?
    check "hostile $name: exit 7 with one line ($(head -c 160 "$name.err"))" \
        sh -c "[ $rc = 7 ] && [ \$(wc -l < '$name.err') = 1 ]"
}
hostile undefined-target "fill-rect target=9 rect=0,0,1,1"
hostile undefined-font "window-create target=1 rect=0,0,10,10" "state target=1 font=4"
hostile undefined-bitmap "window-create target=1 rect=0,0,10,10" "bitmap-draw dst=1 rect=0,0,1,1 bitmap=99 src_rect=0,0,1,1"
hostile undefined-source "window-create target=1 rect=0,0,10,10" "copy dst=1 rect=0,0,5,5 src=42"
hostile duplicate-window "window-create target=1 rect=0,0,10,10" "window-create target=1 rect=0,0,10,10"
hostile over-pixel-cap "surface-create target=1 w=4096 h=4096" "surface-create target=2 w=4096 h=4096" \
    "surface-create target=3 w=4096 h=4096" "surface-create target=4 w=4096 h=4096" "surface-create target=5 w=4096 h=4096"
hostile zlib-mismatch "bitmap-def bitmap=1 w=64 h=64 encoding=zlib fill=00ff00 data=789c030000000001"
hostile huge-rect "window-create target=1 rect=0,0,10,10" "fill-rect target=1 rect=0,0,40000,10"
printf 'hello producer=t\ndeclare 1 gdi g\nframe 1 112 2001000000\nend\n' | vrs-build -o truncated.vrs
x-replay --no-timing truncated.vrs >/dev/null 2>truncated.err
check "hostile truncated record: exit 7" [ $? = 7 ]

tap_finish
