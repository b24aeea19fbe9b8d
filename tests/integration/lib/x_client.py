#!/usr/bin/python3
# x_client.py - what the tests do as a plain X client, on $DISPLAY:
#   close WIN   the window manager's close: WM_PROTOCOLS/WM_DELETE_WINDOW
#               sent to WIN's owner
#   cover       maps a 300x300 override-redirect window at 0,0 for 0.3 s, then
#               destroys it (an Expose for whatever was under it)
# It reaches the X server the way libxcb does (x-replay, xdotool, import):
# the abstract socket first, then the filesystem one. python-xlib alone takes
# the filesystem path first, and that path can name another server than the
# abstract socket (a server that started later on the same display number and
# could bind only the path); its events then went nowhere, silently.
# Every request is checked with a round trip: a window the server does not
# know is a one-line error and exit 1, not a message lost without a trace.
import socket
import sys
import time

from Xlib import X, display, error, protocol
from Xlib.support import unix_connect

_path_first = unix_connect.get_socket


def _abstract_first(dname, proto, host, dno):
    if not host and proto in (None, "unix"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect("\0/tmp/.X11-unix/X%d" % dno)
            return s
        except OSError:
            s.close()
    return _path_first(dname, proto, host, dno)


unix_connect.get_socket = _abstract_first


def main(argv):
    if len(argv) < 2 or argv[1] not in ("close", "cover") or (argv[1] == "close") != (len(argv) == 3):
        sys.exit("usage: x_client.py close WIN | cover")
    d = display.Display()
    if argv[1] == "close":
        w = d.create_resource_object("window", int(argv[2], 0))
        try:
            w.get_geometry()
        except error.XError:
            sys.exit("x_client.py: no window %s on X display %s" % (argv[2], d.get_display_name()))
        proto, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
        w.send_event(protocol.event.ClientMessage(window=w, client_type=proto, data=(32, [delete, X.CurrentTime, 0, 0, 0])))
        d.sync()
    else:
        s = d.screen()
        w = s.root.create_window(0, 0, 300, 300, 0, s.root_depth, X.InputOutput, X.CopyFromParent,
                                 background_pixel=s.white_pixel, override_redirect=True)
        w.map()
        d.sync()
        time.sleep(0.3)
        w.destroy()
        d.sync()


if __name__ == "__main__":
    main(sys.argv)
