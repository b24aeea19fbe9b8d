#include "clipboard_sync.hpp"

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/extensions/Xfixes.h>
#undef Status  // Xlib's macro; vredir::Status is meant below
#include <spdlog/spdlog.h>

#include <algorithm>

#include "wire/exit_codes.hpp"
#include "wire/gdi_records.hpp"
#include "xlib_events.hpp"

using vredir::Status;

namespace xreplay {

struct ClipboardSync::Impl {
  size_t limit;
  Send send;
  Display* dpy = nullptr;
  Window win = 0;
  int fixes_event = 0;
  Atom clipboard = 0, utf8 = 0, text = 0, targets = 0, incr = 0, prop = 0;
  std::string owned;  // what x-replay serves as CLIPBOARD and PRIMARY
  std::string last;   // the text both sides have after the last exchange
  // A local copy being fetched.
  bool fetching = false, incr_on = false, too_big = false;
  Atom asked = 0;
  std::string got;

  void warn_too_big() {
    spdlog::warn("clipboard: the text copied locally is over the limit of {} bytes; not sent to the app", limit);
  }

  void serve(const XSelectionRequestEvent& r) {
    XSelectionEvent reply{};
    reply.type = SelectionNotify;
    reply.display = r.display;
    reply.requestor = r.requestor;
    reply.selection = r.selection;
    reply.target = r.target;
    reply.time = r.time;
    reply.property = None;
    Atom property = r.property == None ? r.target : r.property;  // obsolete clients
    const size_t max_bytes = size_t(XExtendedMaxRequestSize(dpy) ? XExtendedMaxRequestSize(dpy)
                                                                  : XMaxRequestSize(dpy)) * 4 - 64;
    if (r.owner == win && !owned.empty()) {
      if (r.target == targets) {
        Atom list[] = {targets, utf8, XA_STRING, text};
        XChangeProperty(dpy, r.requestor, property, XA_ATOM, 32, PropModeReplace,
                        reinterpret_cast<unsigned char*>(list), 4);
        reply.property = property;
      } else if ((r.target == utf8 || r.target == text || r.target == XA_STRING) && owned.size() <= max_bytes) {
        std::string data = owned;
        if (r.target == XA_STRING) data = latin1_of(owned);
        XChangeProperty(dpy, r.requestor, property, r.target == XA_STRING ? XA_STRING : utf8, 8, PropModeReplace,
                        reinterpret_cast<const unsigned char*>(data.data()), int(data.size()));
        reply.property = property;
      }
    }
    XSendEvent(dpy, r.requestor, False, NoEventMask, reinterpret_cast<XEvent*>(&reply));
  }

  static std::string latin1_of(const std::string& u) {
    std::string out;
    for (size_t i = 0; i < u.size();) {
      unsigned char c = u[i];
      if (c < 0x80) out += char(c), ++i;
      else if ((c & 0xE0) == 0xC0 && i + 1 < u.size()) {
        unsigned cp = ((c & 0x1F) << 6) | (u[i + 1] & 0x3F);
        out += cp < 0x100 ? char(cp) : '?';
        i += 2;
      } else {
        out += '?';
        i += (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      }
    }
    return out;
  }

  static std::string utf8_of_latin1(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (c < 0x80) out += char(c);
      else out += char(0xC0 | (c >> 6)), out += char(0x80 | (c & 0x3F));
    }
    return out;
  }

  void fetch(Time when) {
    fetching = true;
    incr_on = too_big = false;
    got.clear();
    asked = utf8;
    XConvertSelection(dpy, clipboard, utf8, prop, win, when);
  }

  // Reads the property and deletes it (which asks an INCR owner for its next
  // piece); its bytes are appended unless the text grew over the limit.
  bool take_property(Atom* type, size_t* bytes) {
    unsigned char* data = nullptr;
    int format = 0;
    unsigned long n = 0, after = 0;
    if (XGetWindowProperty(dpy, win, prop, 0, long((limit + 8) / 4 + 1), False, AnyPropertyType, type, &format, &n,
                           &after, &data) != Success)
      return false;
    XDeleteProperty(dpy, win, prop);
    *bytes = format == 8 ? size_t(n) + size_t(after) : size_t(n) + 1;
    if (*type != incr && format == 8) {
      if (too_big || got.size() + n + after > limit) too_big = true;
      else got.append(reinterpret_cast<const char*>(data), n);
    }
    if (data) XFree(data);
    return true;
  }

  Status finish_fetch() {
    fetching = incr_on = false;
    if (too_big) {
      warn_too_big();
      got.clear();
      return Status::ok();
    }
    std::string t = asked == XA_STRING ? utf8_of_latin1(got) : got;
    got.clear();
    t.erase(std::remove(t.begin(), t.end(), '\0'), t.end());
    if (t.empty() || t == last) return Status::ok();
    if (!vredir::gdi::valid_utf8(t)) {
      spdlog::warn("clipboard: the local clipboard's text is not UTF-8; not sent to the app");
      return Status::ok();
    }
    last = t;
    return send(t);
  }

  Status on_event(XEvent& e) {
    if (e.type == fixes_event + XFixesSelectionNotify) {
      auto& n = reinterpret_cast<XFixesSelectionNotifyEvent&>(e);
      if (n.selection == clipboard && n.owner != None && n.owner != win) fetch(n.selection_timestamp);
      return Status::ok();
    }
    switch (e.type) {
      case SelectionRequest: serve(e.xselectionrequest); break;
      case SelectionNotify: {
        const XSelectionEvent& s = e.xselection;
        if (!fetching || s.selection != clipboard) break;
        if (s.property == None) {
          if (asked == utf8) {
            asked = XA_STRING;
            XConvertSelection(dpy, clipboard, XA_STRING, prop, win, s.time);
          } else fetching = false;
          break;
        }
        Atom type = None;
        size_t bytes = 0;
        if (!take_property(&type, &bytes)) {
          fetching = false;
          break;
        }
        if (type == incr) {
          incr_on = true;  // the owner now sends pieces; deleting the property asked for the first
          break;
        }
        return finish_fetch();
      }
      case PropertyNotify:
        if (fetching && incr_on && e.xproperty.atom == prop && e.xproperty.state == PropertyNewValue) {
          Atom type = None;
          size_t bytes = 0;
          if (!take_property(&type, &bytes) || bytes == 0) return finish_fetch();  // the empty piece ends it
        }
        break;
      default: break;
    }
    return Status::ok();
  }
};

ClipboardSync::ClipboardSync(size_t limit, Send send) : impl_(std::make_unique<Impl>()) {
  impl_->limit = limit;
  impl_->send = std::move(send);
}

ClipboardSync::~ClipboardSync() {
  if (impl_->dpy) XCloseDisplay(impl_->dpy);
}

Status ClipboardSync::open(const std::string& display) {
  Impl& m = *impl_;
  m.dpy = XOpenDisplay(display.empty() ? nullptr : display.c_str());
  if (!m.dpy) return vredir::fail(vredir::kExitFailure, "clipboard: cannot open the X display");
  int error_base = 0;
  if (!XFixesQueryExtension(m.dpy, &m.fixes_event, &error_base))
    return vredir::fail(vredir::kExitFailure, "clipboard: the X server lacks the XFIXES extension");
  m.win = XCreateSimpleWindow(m.dpy, DefaultRootWindow(m.dpy), -10, -10, 1, 1, 0, 0, 0);
  XSelectInput(m.dpy, m.win, PropertyChangeMask);
  m.clipboard = XInternAtom(m.dpy, "CLIPBOARD", False);
  m.utf8 = XInternAtom(m.dpy, "UTF8_STRING", False);
  m.text = XInternAtom(m.dpy, "TEXT", False);
  m.targets = XInternAtom(m.dpy, "TARGETS", False);
  m.incr = XInternAtom(m.dpy, "INCR", False);
  m.prop = XInternAtom(m.dpy, "VREDIR_CLIPBOARD", False);
  XFixesSelectSelectionInput(m.dpy, m.win, m.clipboard, XFixesSetSelectionOwnerNotifyMask);
  XFlush(m.dpy);
  return Status::ok();
}

int ClipboardSync::fd() const { return impl_->dpy ? ConnectionNumber(impl_->dpy) : -1; }

void ClipboardSync::from_app(const std::string& utf8) {
  Impl& m = *impl_;
  if (!m.dpy || utf8.empty()) return;
  if (utf8.size() > m.limit) {
    spdlog::warn("clipboard: the app copied {} bytes, over the limit of {}; not taken", utf8.size(), m.limit);
    return;
  }
  if (utf8 == m.owned && XGetSelectionOwner(m.dpy, m.clipboard) == m.win) return;
  m.owned = m.last = utf8;
  XSetSelectionOwner(m.dpy, m.clipboard, m.win, CurrentTime);
  XSetSelectionOwner(m.dpy, XA_PRIMARY, m.win, CurrentTime);
  XFlush(m.dpy);
}

Status ClipboardSync::pump() {
  Impl& m = *impl_;
  if (!m.dpy) return Status::ok();
  return drain_xlib_events(m.dpy, [&m](XEvent& e) { return m.on_event(e); });
}

}  // namespace xreplay
