#pragma once
// Xlib's pending events handed one by one to a handler, for the parts of
// x-replay that keep an Xlib connection of their own (GDI windows, the
// clipboard). Include after <X11/Xlib.h> and `#undef Status`.
#include "wire/status.hpp"

namespace xreplay {

// Flushes, hands every queued event to on_event(XEvent&) until one fails,
// and flushes what the handlers wrote.
template <class OnEvent>
vredir::Status drain_xlib_events(Display* dpy, OnEvent&& on_event) {
  XFlush(dpy);
  while (XPending(dpy)) {
    XEvent e;
    XNextEvent(dpy, &e);
    if (vredir::Status st = on_event(e); !st) return st;
  }
  XFlush(dpy);
  return vredir::Status::ok();
}

}  // namespace xreplay
