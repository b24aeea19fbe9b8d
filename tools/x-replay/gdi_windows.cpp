#include "gdi_windows.hpp"

#include <X11/Xatom.h>
#include <X11/Xft/Xft.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/keysym.h>
#include <spdlog/spdlog.h>

// Xlib names its return code type Status, as vredir does.
#undef Status

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "wire/exit_codes.hpp"
#include "input/keycodes.hpp"
#include "xlib_events.hpp"

using vredir::fail;
using vredir::Status;
namespace gdi = vredir::gdi;

namespace xreplay {

namespace {

// Xlib's default error handler exits the process; a request that fails
// (a window the window manager already destroyed, a stacking sibling that is
// not one) is logged and ignored instead.
int x_error_handler(Display* dpy, XErrorEvent* e) {
  char text[128];
  XGetErrorText(dpy, e->error_code, text, sizeof text);
  spdlog::debug("X error in GDI window request {}: {}", static_cast<int>(e->request_code), text);
  return 0;
}

struct Clipped {
  int x = 0, y = 0;
  unsigned w = 0, h = 0;
};

// A record's rect clipped to a target of w x h; false when nothing is left.
bool clip_rect(const gdi::Rect& r, uint32_t w, uint32_t h, Clipped* out) {
  int64_t x0 = std::max<int64_t>(r.x, 0), y0 = std::max<int64_t>(r.y, 0);
  int64_t x1 = std::min<int64_t>(int64_t(r.x) + r.w, w), y1 = std::min<int64_t>(int64_t(r.y) + r.h, h);
  if (x1 <= x0 || y1 <= y0) return false;
  *out = {int(x0), int(y0), unsigned(x1 - x0), unsigned(y1 - y0)};
  return true;
}

short xs(int32_t v) { return static_cast<short>(std::clamp<int32_t>(v, -32768, 32767)); }

int rop2_function(uint8_t rop2) {
  static const int map[17] = {GXcopy,  GXclear,        GXnor,   GXandInverted, GXcopyInverted, GXandReverse,
                              GXinvert, GXxor,         GXnand,  GXand,         GXequiv,        GXnoop,
                              GXorInverted, GXcopy,    GXorReverse, GXor,      GXset};
  return rop2 <= 16 ? map[rop2] : GXcopy;
}

// Raster operations that X's GC functions express: the source (S) kind and
// the pattern/destination-only (P) kind. -1: not one of them.
int src_rop_function(uint32_t rop3) {
  switch (rop3) {
    case 0x00CC0020: return GXcopy;          // SRCCOPY
    case 0x00EE0086: return GXor;            // SRCPAINT
    case 0x008800C6: return GXand;           // SRCAND
    case 0x00660046: return GXxor;           // SRCINVERT
    case 0x00440328: return GXandReverse;    // SRCERASE
    case 0x00330008: return GXcopyInverted;  // NOTSRCCOPY
    case 0x001100A6: return GXnor;           // NOTSRCERASE
    case 0x00BB0226: return GXorInverted;    // MERGEPAINT
    default: return -1;
  }
}
// For fills: PATCOPY, PATINVERT, DSTINVERT, BLACKNESS, WHITENESS.
int pat_rop_function(uint32_t rop3, bool* uses_brush) {
  *uses_brush = false;
  switch (rop3) {
    case 0x005A0049: *uses_brush = true; return GXxor;  // PATINVERT
    case 0x00550009: return GXinvert;                   // DSTINVERT
    case 0x00000042: return GXclear;                    // BLACKNESS
    case 0x00FF0062: return GXset;                      // WHITENESS
    case 0x00AA0029: return GXnoop;                     // destination unchanged
    default: *uses_brush = true; return GXcopy;         // PATCOPY and the rest
  }
}

const unsigned char kHatch[6][8] = {
    {0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00},  // HS_HORIZONTAL
    {0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08},  // HS_VERTICAL
    {0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01},  // HS_FDIAGONAL
    {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80},  // HS_BDIAGONAL
    {0x08, 0x08, 0x08, 0xFF, 0x08, 0x08, 0x08, 0x08},  // HS_CROSS
    {0x81, 0x42, 0x24, 0x18, 0x18, 0x24, 0x42, 0x81},  // HS_DIAGCROSS
};

// Windows virtual keys for X keysyms.
uint16_t vk_from_keysym(KeySym ks) {
  if (ks >= XK_a && ks <= XK_z) return static_cast<uint16_t>('A' + (ks - XK_a));
  if (ks >= XK_A && ks <= XK_Z) return static_cast<uint16_t>('A' + (ks - XK_A));
  if (ks >= XK_0 && ks <= XK_9) return static_cast<uint16_t>('0' + (ks - XK_0));
  if (ks >= XK_F1 && ks <= XK_F24) return static_cast<uint16_t>(0x70 + (ks - XK_F1));
  if (ks >= XK_KP_0 && ks <= XK_KP_9) return static_cast<uint16_t>(0x60 + (ks - XK_KP_0));
  switch (ks) {
    case XK_BackSpace: return 0x08;
    case XK_Tab: case XK_ISO_Left_Tab: return 0x09;
    case XK_Return: case XK_KP_Enter: return 0x0D;
    case XK_Shift_L: return 0xA0;
    case XK_Shift_R: return 0xA1;
    case XK_Control_L: return 0xA2;
    case XK_Control_R: return 0xA3;
    case XK_Alt_L: return 0xA4;
    case XK_Alt_R: case XK_ISO_Level3_Shift: return 0xA5;
    case XK_Pause: return 0x13;
    case XK_Caps_Lock: return 0x14;
    case XK_Escape: return 0x1B;
    case XK_space: return 0x20;
    case XK_Prior: return 0x21;
    case XK_Next: return 0x22;
    case XK_End: return 0x23;
    case XK_Home: return 0x24;
    case XK_Left: return 0x25;
    case XK_Up: return 0x26;
    case XK_Right: return 0x27;
    case XK_Down: return 0x28;
    case XK_Print: return 0x2C;
    case XK_Insert: return 0x2D;
    case XK_Delete: return 0x2E;
    case XK_Super_L: return 0x5B;
    case XK_Super_R: return 0x5C;
    case XK_Menu: return 0x5D;
    case XK_KP_Multiply: return 0x6A;
    case XK_KP_Add: return 0x6B;
    case XK_KP_Subtract: return 0x6D;
    case XK_KP_Decimal: return 0x6E;
    case XK_KP_Divide: return 0x6F;
    case XK_Num_Lock: return 0x90;
    case XK_Scroll_Lock: return 0x91;
    case XK_semicolon: case XK_colon: return 0xBA;
    case XK_equal: case XK_plus: return 0xBB;
    case XK_comma: case XK_less: return 0xBC;
    case XK_minus: case XK_underscore: return 0xBD;
    case XK_period: case XK_greater: return 0xBE;
    case XK_slash: case XK_question: return 0xBF;
    case XK_grave: case XK_asciitilde: return 0xC0;
    case XK_bracketleft: case XK_braceleft: return 0xDB;
    case XK_backslash: case XK_bar: return 0xDC;
    case XK_bracketright: case XK_braceright: return 0xDD;
    case XK_apostrophe: case XK_quotedbl: return 0xDE;
    default: return 0;
  }
}

// PC set-1 scan code for an X keycode (evdev keymap: evdev code + 8).
uint16_t scancode_from_keycode(unsigned keycode) {
  auto code = vredir::keys::evdev_from_x_keycode(static_cast<int>(keycode));
  if (!code) return 0;
  switch (*code) {
    case 96: return 0xE01C;   // KP enter
    case 97: return 0xE01D;   // right ctrl
    case 98: return 0xE035;   // KP divide
    case 100: return 0xE038;  // right alt
    case 102: return 0xE047;  // home
    case 103: return 0xE048;  // up
    case 104: return 0xE049;  // page up
    case 105: return 0xE04B;  // left
    case 106: return 0xE04D;  // right
    case 107: return 0xE04F;  // end
    case 108: return 0xE050;  // down
    case 109: return 0xE051;  // page down
    case 110: return 0xE052;  // insert
    case 111: return 0xE053;  // delete
    case 125: return 0xE05B;  // left meta
    case 126: return 0xE05C;  // right meta
    case 127: return 0xE05D;  // menu
    default: return *code <= 88 ? *code : 0;
  }
}

uint32_t unicode_from_keysym(KeySym ks) {
  if ((ks >= 0x20 && ks <= 0x7E) || (ks >= 0xA0 && ks <= 0xFF)) return static_cast<uint32_t>(ks);
  if ((ks & 0xFF000000) == 0x01000000) return static_cast<uint32_t>(ks & 0x00FFFFFF);
  switch (ks) {
    case XK_BackSpace: return 0x08;
    case XK_Tab: return 0x09;
    case XK_Return: case XK_KP_Enter: return 0x0D;
    case XK_Escape: return 0x1B;
    default: return 0;
  }
}

// Code points of valid UTF-8 (the decoder checked it).
std::vector<uint32_t> code_points(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<uint8_t>(s[i]);
    int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

}  // namespace

struct GdiWindows::Impl {
  struct Target {
    uint32_t id = 0;
    Window win = 0;  // 0: offscreen surface
    Pixmap pix = 0;
    uint32_t w = 0, h = 0;
    bool mapped = false;
    bool dirty = false;
    uint8_t role = 0;
    // The show state both sides agree on (WINDOW_SHOW's: 1 shown, 2
    // minimised, 3 maximised): the app's last, or what was last asked of it.
    uint8_t state = 1;
    gdi::Rect last_rect;  // last client rect, remote or reported, screen coordinates
    XftDraw* xft = nullptr;
  };
  struct Channel {
    uint16_t id = 0;
    std::string name;
    gdi::GdiScene scene;
    std::map<uint32_t, Target> targets;
    std::map<Window, uint32_t> by_window;
    uint8_t buttons = 0;
    explicit Channel(gdi::SceneLimits l) : scene(l) {}
  };

  Upstream upstream;
  gdi::SceneLimits limits;
  Display* dpy = nullptr;
  int screen = 0;
  Visual* visual = nullptr;
  Colormap cmap = 0;
  int depth = 24;
  GC gc = nullptr;
  Atom wm_protocols = 0, wm_delete = 0, net_wm_name = 0, utf8 = 0;
  Atom net_wm_state = 0, net_max_vert = 0, net_max_horz = 0;
  std::map<uint16_t, std::unique_ptr<Channel>> channels;
  // The remote window with the focus (channel, target), as last said either
  // way: apps of one desktop share one active window.
  std::pair<uint16_t, uint32_t> focused{0, 0};
  std::map<uint64_t, XftFont*> fonts;  // (channel << 32 | font id)
  XftFont* default_font = nullptr;
  Status pending_error;

  ~Impl() {
    if (!dpy) return;
    for (auto& [id, ch] : channels) drop_all(*ch);
    for (auto& [k, f] : fonts) XftFontClose(dpy, f);
    if (default_font) XftFontClose(dpy, default_font);
    if (gc) XFreeGC(dpy, gc);
    XCloseDisplay(dpy);
  }

  unsigned long pixel(gdi::Color c) const {
    auto scale = [](uint32_t v, unsigned long mask) -> unsigned long {
      if (!mask) return 0;
      int shift = 0;
      while (!((mask >> shift) & 1)) ++shift;
      unsigned long max = mask >> shift;
      return ((v * max + 127) / 255) << shift;
    };
    return scale((c >> 16) & 0xFF, visual->red_mask) | scale((c >> 8) & 0xFF, visual->green_mask) |
           scale(c & 0xFF, visual->blue_mask);
  }
  gdi::Color color_of(unsigned long p) const {
    auto un = [](unsigned long p, unsigned long mask) -> uint32_t {
      if (!mask) return 0;
      int shift = 0;
      while (!((mask >> shift) & 1)) ++shift;
      unsigned long max = mask >> shift;
      return static_cast<uint32_t>((((p & mask) >> shift) * 255 + max / 2) / max);
    };
    return (un(p, visual->red_mask) << 16) | (un(p, visual->green_mask) << 8) | un(p, visual->blue_mask);
  }

  // ---- targets

  void drop_target(Channel& ch, Target& t) {
    if (t.xft) XftDrawDestroy(t.xft);
    if (t.pix) XFreePixmap(dpy, t.pix);
    if (t.win) {
      ch.by_window.erase(t.win);
      XDestroyWindow(dpy, t.win);
    }
  }
  void drop_all(Channel& ch) {
    for (auto& [id, t] : ch.targets) drop_target(ch, t);
    ch.targets.clear();
  }

  Pixmap new_pixmap(uint32_t w, uint32_t h) {
    Pixmap p = XCreatePixmap(dpy, RootWindow(dpy, screen), w, h, depth);
    XSetFunction(dpy, gc, GXcopy);
    XSetClipMask(dpy, gc, None);
    XSetFillStyle(dpy, gc, FillSolid);
    XSetForeground(dpy, gc, pixel(0xFFFFFF));
    XFillRectangle(dpy, p, gc, 0, 0, w, h);
    return p;
  }

  void set_names(Window win, const std::string& title) {
    XStoreName(dpy, win, title.c_str());
    XChangeProperty(dpy, win, net_wm_name, utf8, 8, PropModeReplace,
                    reinterpret_cast<const unsigned char*>(title.data()), static_cast<int>(title.size()));
  }

  void size_hints(Window win, const gdi::SceneTarget& st) {
    XSizeHints* hints = XAllocSizeHints();
    // StaticGravity: the position is the client area's, not the frame's, so
    // a window manager's title bar does not push the window (and the app's
    // idea of where it is) down by its height on every move.
    hints->flags = USPosition | USSize | PPosition | PSize | PWinGravity;
    hints->win_gravity = StaticGravity;
    hints->x = st.rect.x;
    hints->y = st.rect.y;
    hints->width = static_cast<int>(st.w);
    hints->height = static_cast<int>(st.h);
    if (!(st.flags & gdi::WindowCreate::kFlagResizable)) {
      hints->flags |= PMinSize | PMaxSize;
      hints->min_width = hints->max_width = static_cast<int>(st.w);
      hints->min_height = hints->max_height = static_cast<int>(st.h);
    }
    XSetWMNormalHints(dpy, win, hints);
    XFree(hints);
  }

  // Where a window goes on the local screen: its remote position, or, for a
  // popup or tooltip, the same offset from its owner as on the remote side.
  void local_position(Channel& ch, const gdi::SceneTarget& st, int* x, int* y) {
    *x = st.rect.x;
    *y = st.rect.y;
    if ((st.role == 2 || st.role == 3) && st.owner) {
      auto o = ch.targets.find(st.owner);
      const gdi::SceneTarget* os = ch.scene.target(st.owner);
      if (o != ch.targets.end() && o->second.win && os) {
        int ox = 0, oy = 0;
        Window child;
        XTranslateCoordinates(dpy, o->second.win, RootWindow(dpy, screen), 0, 0, &ox, &oy, &child);
        *x = ox + (st.rect.x - os->rect.x);
        *y = oy + (st.rect.y - os->rect.y);
      }
    }
  }

  void create_window(Channel& ch, const gdi::WindowCreate& v) {
    const gdi::SceneTarget& st = *ch.scene.target(v.target);
    Target t;
    t.id = v.target;
    t.w = st.w;
    t.h = st.h;
    t.role = v.role;
    t.last_rect = v.rect;
    XSetWindowAttributes a{};
    a.background_pixmap = None;
    a.override_redirect = (v.role == 2 || v.role == 3) ? True : False;
    a.event_mask = ExposureMask | KeyPressMask | KeyReleaseMask | ButtonPressMask | ButtonReleaseMask |
                   PointerMotionMask | StructureNotifyMask | PropertyChangeMask | FocusChangeMask;
    int x, y;
    local_position(ch, st, &x, &y);
    t.win = XCreateWindow(dpy, RootWindow(dpy, screen), x, y, t.w, t.h, 0, depth, InputOutput, visual,
                          CWBackPixmap | CWOverrideRedirect | CWEventMask, &a);
    t.pix = new_pixmap(t.w, t.h);
    set_names(t.win, v.title);
    XClassHint cls;
    std::string res_name = "vredir", res_class = v.app.empty() ? "vredir" : v.app;
    cls.res_name = res_name.data();
    cls.res_class = res_class.data();
    XSetClassHint(dpy, t.win, &cls);
    size_hints(t.win, st);
    if (v.owner) {
      auto o = ch.targets.find(v.owner);
      if (o != ch.targets.end() && o->second.win) XSetTransientForHint(dpy, t.win, o->second.win);
    }
    XSetWMProtocols(dpy, t.win, &wm_delete, 1);
    ch.by_window[t.win] = t.id;
    if (v.flags & gdi::WindowCreate::kFlagVisible) {
      XMapRaised(dpy, t.win);
      t.mapped = true;
      t.dirty = true;
    }
    ch.targets[t.id] = t;
  }

  void resize_backing(Target& t, uint32_t w, uint32_t h) {
    if (w == t.w && h == t.h) return;
    Pixmap p = new_pixmap(w, h);
    XCopyArea(dpy, t.pix, p, gc, 0, 0, std::min(w, t.w), std::min(h, t.h), 0, 0);
    if (t.xft) {
      XftDrawDestroy(t.xft);
      t.xft = nullptr;
    }
    XFreePixmap(dpy, t.pix);
    t.pix = p;
    t.w = w;
    t.h = h;
    t.dirty = true;
  }

  // ---- drawing state

  void apply_clip(const gdi::State& s) {
    if (s.clip.empty()) {
      XSetClipMask(dpy, gc, None);
      return;
    }
    std::vector<XRectangle> rs;
    for (const auto& r : s.clip) {
      Clipped c;
      if (clip_rect(r, 32767, 32767, &c))
        rs.push_back({short(c.x), short(c.y), static_cast<unsigned short>(std::min(c.w, 65535u)),
                      static_cast<unsigned short>(std::min(c.h, 65535u))});
    }
    if (rs.empty()) rs.push_back({0, 0, 0, 0});  // everything clipped away
    XSetClipRectangles(dpy, gc, 0, 0, rs.data(), static_cast<int>(rs.size()), Unsorted);
  }

  // Sets the GC to fill with the brush. False for a null brush.
  bool use_brush(const gdi::State& s, int function) {
    XSetFunction(dpy, gc, function);
    XSetTSOrigin(dpy, gc, 0, 0);
    const gdi::Brush& b = s.brush;
    switch (b.style) {
      case 1: return false;
      case 2: {
        Pixmap st = XCreateBitmapFromData(dpy, RootWindow(dpy, screen),
                                          reinterpret_cast<const char*>(kHatch[std::min<int>(b.hatch, 5)]), 8, 8);
        XSetStipple(dpy, gc, st);
        XFreePixmap(dpy, st);
        XSetForeground(dpy, gc, pixel(b.color));
        XSetBackground(dpy, gc, pixel(s.bk));
        XSetFillStyle(dpy, gc, s.bk_mode == 2 ? FillOpaqueStippled : FillStippled);
        return true;
      }
      case 3: {
        if (b.pw == 0 || b.ph == 0 || b.pattern.size() < size_t(b.pw) * b.ph) break;
        Pixmap tile = XCreatePixmap(dpy, RootWindow(dpy, screen), b.pw, b.ph, depth);
        XGCValues v{};
        GC tgc = XCreateGC(dpy, tile, 0, &v);
        for (int y = 0; y < b.ph; ++y)
          for (int x = 0; x < b.pw; ++x) {
            XSetForeground(dpy, tgc, pixel(b.pattern[size_t(y) * b.pw + x]));
            XDrawPoint(dpy, tile, tgc, x, y);
          }
        XFreeGC(dpy, tgc);
        XSetTile(dpy, gc, tile);
        XFreePixmap(dpy, tile);
        XSetFillStyle(dpy, gc, FillTiled);
        return true;
      }
      default: break;
    }
    XSetFillStyle(dpy, gc, FillSolid);
    XSetForeground(dpy, gc, pixel(b.color));
    return true;
  }

  bool use_pen(const gdi::State& s) {
    if (s.pen.style == 5) return false;
    XSetFunction(dpy, gc, rop2_function(s.rop2));
    XSetFillStyle(dpy, gc, FillSolid);
    XSetForeground(dpy, gc, pixel(s.pen.color));
    int style = s.pen.style == 0 ? LineSolid : LineOnOffDash;
    unsigned width = s.pen.width <= 1 ? 0 : s.pen.width;
    XSetLineAttributes(dpy, gc, width, style, CapRound, JoinRound);
    if (style != LineSolid) {
      static const char dash[] = {18, 6}, dot[] = {3, 3}, dashdot[] = {9, 6, 3, 6},
                        dashdotdot[] = {9, 3, 3, 3, 3, 3};
      switch (s.pen.style) {
        case 1: XSetDashes(dpy, gc, 0, dash, 2); break;
        case 2: XSetDashes(dpy, gc, 0, dot, 2); break;
        case 3: XSetDashes(dpy, gc, 0, dashdot, 4); break;
        default: XSetDashes(dpy, gc, 0, dashdotdot, 6); break;
      }
    }
    return true;
  }

  XftFont* font_for(Channel& ch, uint32_t id) {
    const gdi::FontDef* def = id ? ch.scene.font(id) : nullptr;
    if (!def) {
      if (!default_font)
        default_font = XftFontOpen(dpy, screen, XFT_FAMILY, XftTypeString, "DejaVu Sans", XFT_PIXEL_SIZE,
                                   XftTypeDouble, 12.0, nullptr);
      return default_font;
    }
    uint64_t key = (uint64_t(ch.id) << 32) | id;
    auto it = fonts.find(key);
    if (it != fonts.end()) return it->second;
    // The font GDI realised when the record names it: its face at its em
    // size. Otherwise the request, as in LOGFONT: a negative height is the
    // character height; a positive one the cell height, of which the
    // character is about 80%.
    double px = def->realised()     ? def->em
                : def->height < 0  ? -def->height
                : def->height == 0 ? 12.0
                                   : def->height * 0.8;
    px = std::clamp(px, 1.0, 512.0);
    int w = def->realised() ? def->real_weight : def->weight;
    int weight = w == 0      ? XFT_WEIGHT_MEDIUM
                 : w < 350   ? XFT_WEIGHT_LIGHT
                 : w < 550   ? XFT_WEIGHT_MEDIUM
                 : w < 650   ? XFT_WEIGHT_DEMIBOLD
                 : w < 800   ? XFT_WEIGHT_BOLD
                             : XFT_WEIGHT_BLACK;
    bool italic = def->realised() ? def->real_italic : def->italic;
    std::string face = def->realised() && !def->real_face.empty() ? def->real_face
                       : def->face.empty()                         ? "Sans"
                                                                   : def->face;
    FcPattern* pat = FcPatternCreate();
    FcPatternAddString(pat, FC_FAMILY, reinterpret_cast<const FcChar8*>(face.c_str()));
    FcPatternAddDouble(pat, FC_PIXEL_SIZE, px);
    FcPatternAddInteger(pat, FC_WEIGHT, weight);
    FcPatternAddInteger(pat, FC_SLANT, italic ? FC_SLANT_ITALIC : FC_SLANT_ROMAN);
    // A realised face this display lacks falls back to one of the same pitch.
    if (def->realised()) {
      FcPatternAddInteger(pat, FC_SPACING, def->fixed_pitch ? FC_MONO : FC_PROPORTIONAL);
      // Smoothed as GDI smooths it, with the font's own hinting as GDI's
      // FreeType rasteriser applies it, so stems land on the same pixels.
      FcPatternAddBool(pat, FC_ANTIALIAS, def->smoothing != gdi::FontDef::kSmoothNone);
      FcPatternAddInteger(pat, FC_RGBA, def->smoothing == gdi::FontDef::kSmoothRgb   ? FC_RGBA_RGB
                                        : def->smoothing == gdi::FontDef::kSmoothBgr ? FC_RGBA_BGR
                                                                                     : FC_RGBA_NONE);
      FcPatternAddBool(pat, FC_HINTING, FcTrue);
      FcPatternAddInteger(pat, FC_HINT_STYLE, FC_HINT_FULL);
      FcPatternAddBool(pat, FC_AUTOHINT, FcFalse);
      if (def->stretch != 1000) {
        FcMatrix m;
        FcMatrixInit(&m);
        m.xx = def->stretch / 1000.0;
        FcPatternAddMatrix(pat, FC_MATRIX, &m);
      }
    }
    FcResult res;
    FcPattern* match = XftFontMatch(dpy, screen, pat, &res);
    FcPatternDestroy(pat);
    XftFont* f = match ? XftFontOpenPattern(dpy, match) : nullptr;
    if (match && !f) FcPatternDestroy(match);
    if (!f) return font_for(ch, 0);
    if (fonts.size() >= 256) {
      for (auto& [k, old] : fonts) XftFontClose(dpy, old);
      fonts.clear();
    }
    fonts[key] = f;
    return f;
  }

  // ---- the records

  Target& target(Channel& ch, uint32_t id) { return ch.targets.at(id); }

  void touch(Target& t) { t.dirty = true; }

  void fill_rect(Channel& ch, Target& t, const gdi::Rect& r, uint32_t rop3) {
    const gdi::State& s = ch.scene.state(t.id);
    Clipped c;
    if (!clip_rect(r, t.w, t.h, &c)) return;
    bool brush = false;
    int fn = pat_rop_function(rop3, &brush);
    apply_clip(s);
    if (brush) {
      if (!use_brush(s, fn)) return;
    } else {
      XSetFunction(dpy, gc, fn);
      XSetFillStyle(dpy, gc, FillSolid);
    }
    XFillRectangle(dpy, t.pix, gc, c.x, c.y, c.w, c.h);
    touch(t);
  }

  void shape(Channel& ch, Target& t, const gdi::Rect& r, int kind, int32_t ew = 0, int32_t eh = 0) {
    const gdi::State& s = ch.scene.state(t.id);
    apply_clip(s);
    short x = xs(r.x), y = xs(r.y);
    unsigned w = static_cast<unsigned>(std::min(r.w, 32767)), h = static_cast<unsigned>(std::min(r.h, 32767));
    if (w == 0 || h == 0) return;
    if (use_brush(s, rop2_function(s.rop2))) {
      if (kind == 0) XFillRectangle(dpy, t.pix, gc, x, y, w, h);
      else if (kind == 1) XFillArc(dpy, t.pix, gc, x, y, w, h, 0, 360 * 64);
      else round_rect(t.pix, x, y, w, h, ew, eh, true);
    }
    if (use_pen(s) && w > 0 && h > 0) {
      if (kind == 0) XDrawRectangle(dpy, t.pix, gc, x, y, w - 1, h - 1);
      else if (kind == 1) XDrawArc(dpy, t.pix, gc, x, y, w - 1, h - 1, 0, 360 * 64);
      else round_rect(t.pix, x, y, w - 1, h - 1, ew, eh, false);
    }
    touch(t);
  }

  void round_rect(Drawable d, int x, int y, unsigned w, unsigned h, int32_t ew, int32_t eh, bool fill) {
    int aw = std::min<int>(ew, int(w)), ah = std::min<int>(eh, int(h));
    if (aw < 2 || ah < 2) {
      if (fill) XFillRectangle(dpy, d, gc, x, y, w, h);
      else XDrawRectangle(dpy, d, gc, x, y, w, h);
      return;
    }
    XArc arcs[4] = {{short(x), short(y), (unsigned short)(aw), (unsigned short)(ah), 90 * 64, 90 * 64},
                    {short(x + int(w) - aw), short(y), (unsigned short)(aw), (unsigned short)(ah), 0, 90 * 64},
                    {short(x), short(y + int(h) - ah), (unsigned short)(aw), (unsigned short)(ah), 180 * 64, 90 * 64},
                    {short(x + int(w) - aw), short(y + int(h) - ah), (unsigned short)(aw), (unsigned short)(ah), 270 * 64,
                     90 * 64}};
    if (fill) {
      XSetArcMode(dpy, gc, ArcPieSlice);
      XFillArcs(dpy, d, gc, arcs, 4);
      XFillRectangle(dpy, d, gc, x + aw / 2, y, w - unsigned(aw / 2) * 2, h);
      XFillRectangle(dpy, d, gc, x, y + ah / 2, w, h - unsigned(ah / 2) * 2);
    } else {
      XDrawArcs(dpy, d, gc, arcs, 4);
      XSegment seg[4] = {{short(x + aw / 2), short(y), short(x + int(w) - aw / 2), short(y)},
                         {short(x + aw / 2), short(y + int(h)), short(x + int(w) - aw / 2), short(y + int(h))},
                         {short(x), short(y + ah / 2), short(x), short(y + int(h) - ah / 2)},
                         {short(x + int(w)), short(y + ah / 2), short(x + int(w)), short(y + int(h) - ah / 2)}};
      XDrawSegments(dpy, d, gc, seg, 4);
    }
  }

  void arc(Channel& ch, Target& t, const gdi::Arc& v) {
    const gdi::State& s = ch.scene.state(t.id);
    if (v.rect.w == 0 || v.rect.h == 0) return;
    double cx = v.rect.x + v.rect.w / 2.0, cy = v.rect.y + v.rect.h / 2.0;
    auto angle = [&](const gdi::Point& p) { return std::atan2(-(p.y - cy), p.x - cx) * 180.0 / M_PI; };
    double a1 = angle(v.start), a2 = angle(v.end);
    double extent = a2 - a1;
    while (extent <= 0) extent += 360;
    int A1 = static_cast<int>(std::lround(a1 * 64)), E = static_cast<int>(std::lround(extent * 64));
    apply_clip(s);
    short x = xs(v.rect.x), y = xs(v.rect.y);
    unsigned w = unsigned(std::min(v.rect.w, 32767)), h = unsigned(std::min(v.rect.h, 32767));
    if (v.kind != 0 && use_brush(s, rop2_function(s.rop2))) {
      XSetArcMode(dpy, gc, v.kind == 1 ? ArcPieSlice : ArcChord);
      XFillArc(dpy, t.pix, gc, x, y, w, h, A1, E);
    }
    if (use_pen(s)) {
      XDrawArc(dpy, t.pix, gc, x, y, w - 1, h - 1, A1, E);
      if (v.kind != 0) {
        auto pt = [&](double deg) {
          double r = deg * M_PI / 180;
          return XPoint{xs(int32_t(std::lround(cx + (w - 1) / 2.0 * std::cos(r)))),
                        xs(int32_t(std::lround(cy - (h - 1) / 2.0 * std::sin(r))))};
        };
        XPoint p1 = pt(a1), p2 = pt(a1 + extent);
        if (v.kind == 1) {
          XPoint c{xs(int32_t(std::lround(cx))), xs(int32_t(std::lround(cy)))};
          XPoint line[3] = {p1, c, p2};
          XDrawLines(dpy, t.pix, gc, line, 3, CoordModeOrigin);
        } else {
          XDrawLine(dpy, t.pix, gc, p1.x, p1.y, p2.x, p2.y);
        }
      }
    }
    touch(t);
  }

  static std::vector<XPoint> xpoints(const std::vector<gdi::Point>& pts, size_t from, size_t n) {
    std::vector<XPoint> out;
    out.reserve(n);
    for (size_t i = from; i < from + n && i < pts.size(); ++i) out.push_back({xs(pts[i].x), xs(pts[i].y)});
    return out;
  }

  void polygon(Channel& ch, Target& t, const gdi::Polygon& v) {
    const gdi::State& s = ch.scene.state(t.id);
    apply_clip(s);
    size_t at = 0;
    bool brush = use_brush(s, rop2_function(s.rop2));
    XSetFillRule(dpy, gc, s.poly_fill_mode == 2 ? WindingRule : EvenOddRule);
    std::vector<std::vector<XPoint>> polys;
    for (uint16_t n : v.counts) {
      polys.push_back(xpoints(v.points, at, n));
      at += n;
    }
    if (brush)
      for (auto& p : polys)
        if (p.size() >= 3) XFillPolygon(dpy, t.pix, gc, p.data(), int(p.size()), Complex, CoordModeOrigin);
    if (use_pen(s))
      for (auto& p : polys) {
        if (p.size() < 2) continue;
        p.push_back(p.front());
        XDrawLines(dpy, t.pix, gc, p.data(), int(p.size()), CoordModeOrigin);
      }
    touch(t);
  }

  void polyline(Channel& ch, Target& t, const std::vector<gdi::Point>& pts, bool bezier) {
    const gdi::State& s = ch.scene.state(t.id);
    if (pts.size() < 2 || !use_pen(s)) return;
    apply_clip(s);
    std::vector<XPoint> line;
    if (!bezier) {
      line = xpoints(pts, 0, pts.size());
    } else {
      line.push_back({xs(pts[0].x), xs(pts[0].y)});
      for (size_t i = 1; i + 2 < pts.size(); i += 3) {
        const gdi::Point &p0 = pts[i - 1], &p1 = pts[i], &p2 = pts[i + 1], &p3 = pts[i + 2];
        for (int k = 1; k <= 16; ++k) {
          double u = k / 16.0, a = (1 - u) * (1 - u) * (1 - u), b = 3 * u * (1 - u) * (1 - u), c = 3 * u * u * (1 - u),
                 d = u * u * u;
          line.push_back({xs(int32_t(std::lround(a * p0.x + b * p1.x + c * p2.x + d * p3.x))),
                          xs(int32_t(std::lround(a * p0.y + b * p1.y + c * p2.y + d * p3.y)))});
        }
      }
    }
    XDrawLines(dpy, t.pix, gc, line.data(), int(line.size()), CoordModeOrigin);
    touch(t);
  }

  void fill_rects(Channel& ch, Target& t, const std::vector<gdi::Rect>& rects, bool frame) {
    const gdi::State& s = ch.scene.state(t.id);
    apply_clip(s);
    if (!use_brush(s, frame ? GXcopy : rop2_function(s.rop2))) return;
    for (const auto& r : rects) {
      Clipped c;
      if (!clip_rect(r, t.w, t.h, &c)) continue;
      if (!frame) {
        XFillRectangle(dpy, t.pix, gc, c.x, c.y, c.w, c.h);
        continue;
      }
      Clipped f;
      gdi::Rect edges[4] = {{r.x, r.y, r.w, 1}, {r.x, r.y + r.h - 1, r.w, 1}, {r.x, r.y, 1, r.h}, {r.x + r.w - 1, r.y, 1, r.h}};
      for (const auto& e : edges)
        if (r.w > 0 && r.h > 0 && clip_rect(e, t.w, t.h, &f)) XFillRectangle(dpy, t.pix, gc, f.x, f.y, f.w, f.h);
    }
    touch(t);
  }

  void invert(Channel& ch, Target& t, const gdi::Rect& r) {
    Clipped c;
    if (!clip_rect(r, t.w, t.h, &c)) return;
    apply_clip(ch.scene.state(t.id));
    XSetFunction(dpy, gc, GXinvert);
    XSetFillStyle(dpy, gc, FillSolid);
    XFillRectangle(dpy, t.pix, gc, c.x, c.y, c.w, c.h);
    touch(t);
  }

  void gradient(Channel& ch, Target& t, const gdi::Gradient& v) {
    Clipped c;
    if (!clip_rect(v.rect, t.w, t.h, &c)) return;
    apply_clip(ch.scene.state(t.id));
    XSetFunction(dpy, gc, GXcopy);
    XSetFillStyle(dpy, gc, FillSolid);
    int n = v.mode == 0 ? v.rect.w : v.rect.h;
    for (unsigned i = 0; i < (v.mode == 0 ? c.w : c.h); ++i) {
      int pos = int(i) + (v.mode == 0 ? c.x - v.rect.x : c.y - v.rect.y);
      double f = n > 1 ? double(pos) / (n - 1) : 0;
      auto mix = [&](int sh) {
        double a = (v.from >> sh) & 0xFF, b = (v.to >> sh) & 0xFF;
        return uint32_t(std::lround(a + (b - a) * f)) << sh;
      };
      XSetForeground(dpy, gc, pixel(mix(16) | mix(8) | mix(0)));
      if (v.mode == 0) XFillRectangle(dpy, t.pix, gc, c.x + int(i), c.y, 1, c.h);
      else XFillRectangle(dpy, t.pix, gc, c.x, c.y + int(i), c.w, 1);
    }
    touch(t);
  }

  void text(Channel& ch, Target& t, const gdi::Text& v) {
    const gdi::State& s = ch.scene.state(t.id);
    XftFont* font = font_for(ch, s.font);
    if (!font) return;
    if (!t.xft) t.xft = XftDrawCreate(dpy, t.pix, visual, cmap);
    std::vector<uint32_t> cps = code_points(v.text);
    // Pen positions: from the advances when given (one per UTF-16 unit),
    // else from the font.
    std::vector<int> xs_(cps.size());
    int width = 0;
    size_t unit = 0;
    for (size_t i = 0; i < cps.size(); ++i) {
      xs_[i] = width;
      int adv;
      if (!v.advances.empty()) {
        adv = unit < v.advances.size() ? v.advances[unit] : 0;
        if (cps[i] >= 0x10000 && unit + 1 < v.advances.size()) adv += v.advances[unit + 1];
      } else {
        FcChar32 c = cps[i];
        XGlyphInfo gi;
        XftTextExtents32(dpy, font, &c, 1, &gi);
        adv = gi.xOff;
      }
      unit += cps[i] >= 0x10000 ? 2 : 1;
      width += adv;
    }
    uint32_t align = s.text_align;
    int x = v.pos.x, y = v.pos.y;
    if ((align & 6) == 6) x -= width / 2;      // TA_CENTER
    else if ((align & 6) == 2) x -= width;     // TA_RIGHT
    // Cell metrics: GDI's own when the record carries them (the baseline and
    // the opaque box then match to the pixel), else the local font's.
    const gdi::FontDef* def = s.font ? ch.scene.font(s.font) : nullptr;
    int ascent = def && def->realised() ? def->ascent : font->ascent;
    int descent = def && def->realised() ? def->descent : font->descent;
    int baseline = (align & 24) == 24 ? y : (align & 24) == 8 ? y - descent : y + ascent;
    // Clip: the state's clip rects, and the record's rect for ETO_CLIPPED.
    std::vector<XRectangle> clip;
    for (const auto& r : s.clip) {
      Clipped c;
      if (clip_rect(r, t.w, t.h, &c)) clip.push_back({short(c.x), short(c.y), (unsigned short)c.w, (unsigned short)c.h});
    }
    if (!s.clip.empty() && clip.empty()) return;
    if (v.options & gdi::Text::kClipped) {
      Clipped c;
      if (!clip_rect(v.rect, t.w, t.h, &c)) return;
      XRectangle cr{short(c.x), short(c.y), (unsigned short)c.w, (unsigned short)c.h};
      if (clip.empty()) clip.push_back(cr);
      else
        for (auto& r : clip) {
          int x0 = std::max(r.x, cr.x), y0 = std::max(r.y, cr.y);
          int x1 = std::min(r.x + r.width, cr.x + cr.width), y1 = std::min(r.y + r.height, cr.y + cr.height);
          r = x1 > x0 && y1 > y0 ? XRectangle{short(x0), short(y0), (unsigned short)(x1 - x0), (unsigned short)(y1 - y0)}
                                 : XRectangle{0, 0, 0, 0};
        }
    }
    if (clip.empty()) XftDrawSetClip(t.xft, nullptr);
    else XftDrawSetClipRectangles(t.xft, 0, 0, clip.data(), int(clip.size()));
    XRenderColor rc;
    if ((v.options & gdi::Text::kOpaque) || s.bk_mode == 2) {
      gdi::Rect box = (v.options & gdi::Text::kOpaque) ? v.rect
                                                       : gdi::Rect{x, baseline - ascent, width, ascent + descent};
      Clipped c;
      if (clip_rect(box, t.w, t.h, &c)) {
        rc = {uint16_t(((s.bk >> 16) & 0xFF) * 257), uint16_t(((s.bk >> 8) & 0xFF) * 257),
              uint16_t((s.bk & 0xFF) * 257), 0xFFFF};
        XftColor bk;
        XftColorAllocValue(dpy, visual, cmap, &rc, &bk);
        XftDrawRect(t.xft, &bk, c.x, c.y, c.w, c.h);
        XftColorFree(dpy, visual, cmap, &bk);
      }
    }
    rc = {uint16_t(((s.text >> 16) & 0xFF) * 257), uint16_t(((s.text >> 8) & 0xFF) * 257),
          uint16_t((s.text & 0xFF) * 257), 0xFFFF};
    XftColor fg;
    XftColorAllocValue(dpy, visual, cmap, &rc, &fg);
    std::vector<XftCharSpec> specs;
    specs.reserve(cps.size());
    for (size_t i = 0; i < cps.size(); ++i)
      if (cps[i] >= 0x20) specs.push_back({cps[i], xs(x + xs_[i]), xs(baseline)});
    if (!specs.empty()) XftDrawCharSpec(t.xft, &fg, font, specs.data(), int(specs.size()));
    if (def && (def->underline || def->strikeout)) {
      int th = std::max(1, font->height / 14);
      if (def->underline) XftDrawRect(t.xft, &fg, x, baseline + 1, unsigned(std::max(width, 0)), unsigned(th));
      if (def->strikeout)
        XftDrawRect(t.xft, &fg, x, baseline - ascent / 3, unsigned(std::max(width, 0)), unsigned(th));
    }
    XftColorFree(dpy, visual, cmap, &fg);
    touch(t);
  }

  // Software path for blits X cannot express: read both, combine, write.
  XImage* get_image(Target& t, const Clipped& c) {
    return XGetImage(dpy, t.pix, c.x, c.y, c.w, c.h, AllPlanes, ZPixmap);
  }

  void copy(Channel& ch, Target& dst, const gdi::Copy& v) {
    if (v.src == 0) {
      fill_rect(ch, dst, v.dst_rect, v.rop3);
      return;
    }
    Target& src = target(ch, v.src);
    int fn = src_rop_function(v.rop3);
    if (fn < 0) {
      bool brush;
      int pfn = pat_rop_function(v.rop3, &brush);
      if (v.rop3 == 0x00550009 || v.rop3 == 0x00000042 || v.rop3 == 0x00FF0062 || v.rop3 == 0x00F00021 ||
          v.rop3 == 0x005A0049) {
        (void)pfn;
        fill_rect(ch, dst, v.dst_rect, v.rop3);
        return;
      }
      fn = GXcopy;
    }
    // Clip the source and destination together.
    int64_t sx = v.src_pt.x, sy = v.src_pt.y, dx = v.dst_rect.x, dy = v.dst_rect.y;
    int64_t w = v.dst_rect.w, h = v.dst_rect.h;
    if (sx < 0) { dx -= sx; w += sx; sx = 0; }
    if (sy < 0) { dy -= sy; h += sy; sy = 0; }
    if (dx < 0) { sx -= dx; w += dx; dx = 0; }
    if (dy < 0) { sy -= dy; h += dy; dy = 0; }
    w = std::min<int64_t>({w, int64_t(src.w) - sx, int64_t(dst.w) - dx});
    h = std::min<int64_t>({h, int64_t(src.h) - sy, int64_t(dst.h) - dy});
    if (w <= 0 || h <= 0) return;
    apply_clip(ch.scene.state(dst.id));
    XSetFunction(dpy, gc, fn);
    XCopyArea(dpy, src.pix, dst.pix, gc, int(sx), int(sy), unsigned(w), unsigned(h), int(dx), int(dy));
    touch(dst);
  }

  // STRETCH, ALPHA_BLEND, TRANSPARENT_BLT, BITMAP_DRAW: per pixel, nearest
  // neighbour, on the destination rect clipped to the target.
  template <typename SrcPixel, typename Combine>
  void blit_scaled(Channel& ch, Target& dst, const gdi::Rect& dr, const gdi::Rect& sr, uint32_t sw, uint32_t sh,
                   SrcPixel&& src_pixel, Combine&& combine, int function) {
    Clipped c;
    if (sr.w == 0 || sr.h == 0 || !clip_rect(dr, dst.w, dst.h, &c)) return;
    XImage* img = get_image(dst, c);
    if (!img) return;
    for (unsigned y = 0; y < c.h; ++y) {
      int64_t syy = sr.y + (int64_t(c.y + int(y) - dr.y) * sr.h) / std::max(dr.h, 1);
      for (unsigned x = 0; x < c.w; ++x) {
        int64_t sxx = sr.x + (int64_t(c.x + int(x) - dr.x) * sr.w) / std::max(dr.w, 1);
        if (sxx < 0 || syy < 0 || sxx >= sw || syy >= sh) continue;
        uint32_t s = src_pixel(uint32_t(sxx), uint32_t(syy));
        uint32_t d = color_of(XGetPixel(img, int(x), int(y)));
        uint32_t out;
        if (!combine(s, d, &out)) continue;
        XPutPixel(img, int(x), int(y), pixel(out));
      }
    }
    apply_clip(ch.scene.state(dst.id));
    XSetFunction(dpy, gc, function);
    XPutImage(dpy, dst.pix, gc, img, 0, 0, c.x, c.y, c.w, c.h);
    XDestroyImage(img);
    touch(dst);
  }

  // The whole source target as colours (for the software blits).
  std::vector<uint32_t> read_target(Target& t, const gdi::Rect& sr, Clipped* area) {
    std::vector<uint32_t> px;
    if (!clip_rect(sr, t.w, t.h, area)) return px;
    XImage* img = get_image(t, *area);
    if (!img) return px;
    px.resize(size_t(area->w) * area->h);
    for (unsigned y = 0; y < area->h; ++y)
      for (unsigned x = 0; x < area->w; ++x) px[size_t(y) * area->w + x] = color_of(XGetPixel(img, int(x), int(y)));
    XDestroyImage(img);
    return px;
  }

  template <typename Combine>
  void blit_from_target(Channel& ch, Target& dst, const gdi::Rect& dr, uint32_t src_id, const gdi::Rect& sr,
                        Combine&& combine) {
    Target& src = target(ch, src_id);
    Clipped a;
    std::vector<uint32_t> px = read_target(src, sr, &a);
    if (px.empty()) return;
    blit_scaled(
        ch, dst, dr, sr, src.w, src.h,
        [&](uint32_t x, uint32_t y) -> uint32_t {
          if (x < uint32_t(a.x) || y < uint32_t(a.y) || x >= a.x + a.w || y >= a.y + a.h) return 0;
          return px[size_t(y - a.y) * a.w + (x - a.x)];
        },
        combine, GXcopy);
  }

  void bitmap_draw(Channel& ch, Target& dst, const gdi::BitmapDraw& v) {
    const gdi::SceneBitmap* b = ch.scene.bitmap(v.bitmap);
    int fn = src_rop_function(v.rop3);
    if (fn < 0) fn = GXcopy;
    blit_scaled(
        ch, dst, v.dst_rect, v.src_rect, b->w, b->h,
        [&](uint32_t x, uint32_t y) { return b->pixels[size_t(y) * b->w + x]; },
        [](uint32_t s, uint32_t, uint32_t* out) {
          *out = s;
          return true;
        },
        fn);
  }

  void mark_all(Channel& ch) {
    for (auto& [id, t] : ch.targets)
      if (t.win) t.dirty = true;
  }

  Status draw(Channel& ch, const gdi::Record& rec) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, gdi::WindowCreate>) {
            create_window(ch, v);
          } else if constexpr (std::is_same_v<T, gdi::SurfaceCreate>) {
            Target t;
            t.id = v.target;
            t.w = v.w;
            t.h = v.h;
            t.pix = new_pixmap(v.w, v.h);
            ch.targets[t.id] = t;
          } else if constexpr (std::is_same_v<T, gdi::WindowShow>) {
            Target& t = target(ch, v.target);
            const uint8_t was = t.state;
            if (v.state != 0) t.state = v.state;
            if (v.state == 0) {
              XWithdrawWindow(dpy, t.win, screen);
              t.mapped = false;
            } else if (v.state == 2) {
              // Already iconic (the window manager minimised it and the app
              // followed): mapping it again would bring it back.
              if (was != 2 || !t.mapped) {
                XMapWindow(dpy, t.win);
                XIconifyWindow(dpy, t.win, screen);
              }
              t.mapped = true;
            } else {
              // Maximised or restored by the app: the window manager is told
              // (EWMH), so its frame and its own state agree: before the
              // first map in the property itself, later by asking it.
              if (!t.mapped && v.state == 3) {
                const Atom both[2] = {net_max_vert, net_max_horz};
                XChangeProperty(dpy, t.win, net_wm_state, XA_ATOM, 32, PropModeReplace,
                                reinterpret_cast<const unsigned char*>(both), 2);
              } else if (t.mapped && (v.state == 3) != (was == 3)) {
                set_maximised(t, v.state == 3);
              }
              XMapRaised(dpy, t.win);
              t.mapped = true;
              t.dirty = true;
            }
          } else if constexpr (std::is_same_v<T, gdi::WindowMove>) {
            Target& t = target(ch, v.target);
            const gdi::SceneTarget& st = *ch.scene.target(v.target);
            resize_backing(t, st.w, st.h);
            t.last_rect = v.rect;
            int x, y;
            local_position(ch, st, &x, &y);
            size_hints(t.win, st);
            XMoveResizeWindow(dpy, t.win, x, y, st.w, st.h);
          } else if constexpr (std::is_same_v<T, gdi::WindowTitle>) {
            set_names(target(ch, v.target).win, v.title);
          } else if constexpr (std::is_same_v<T, gdi::WindowIcon>) {
            // _NET_WM_ICON: width, height, then 0xAARRGGBB per pixel, as
            // format-32 data (longs to Xlib).
            std::vector<long> data{v.w, v.h};
            data.reserve(2 + size_t(v.w) * v.h);
            const auto* px = reinterpret_cast<const uint8_t*>(v.argb.data());
            for (size_t i = 0; i + 3 < v.argb.size(); i += 4)
              data.push_back(static_cast<long>(uint32_t(px[i]) | uint32_t(px[i + 1]) << 8 | uint32_t(px[i + 2]) << 16 |
                                               uint32_t(px[i + 3]) << 24));
            static Atom net_wm_icon = XInternAtom(dpy, "_NET_WM_ICON", False);
            XChangeProperty(dpy, target(ch, v.target).win, net_wm_icon, XA_CARDINAL, 32, PropModeReplace,
                            reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
          } else if constexpr (std::is_same_v<T, gdi::WindowZorder>) {
            if (v.above == 0) XRaiseWindow(dpy, target(ch, v.target).win);
          } else if constexpr (std::is_same_v<T, gdi::WindowFocus>) {
            Target& t = target(ch, v.target);
            focused = {ch.id, v.target};
            if (t.mapped) XRaiseWindow(dpy, t.win);
          } else if constexpr (std::is_same_v<T, gdi::FillRect>) {
            fill_rect(ch, target(ch, v.target), v.rect, v.rop3);
          } else if constexpr (std::is_same_v<T, gdi::FrameRect>) {
            fill_rects(ch, target(ch, v.target), {v.rect}, true);
          } else if constexpr (std::is_same_v<T, gdi::InvertRect>) {
            invert(ch, target(ch, v.target), v.rect);
          } else if constexpr (std::is_same_v<T, gdi::Rectangle>) {
            shape(ch, target(ch, v.target), v.rect, 0);
          } else if constexpr (std::is_same_v<T, gdi::Ellipse>) {
            shape(ch, target(ch, v.target), v.rect, 1);
          } else if constexpr (std::is_same_v<T, gdi::RoundRect>) {
            shape(ch, target(ch, v.target), v.rect, 2, v.ew, v.eh);
          } else if constexpr (std::is_same_v<T, gdi::Arc>) {
            arc(ch, target(ch, v.target), v);
          } else if constexpr (std::is_same_v<T, gdi::Polygon>) {
            polygon(ch, target(ch, v.target), v);
          } else if constexpr (std::is_same_v<T, gdi::Polyline>) {
            polyline(ch, target(ch, v.target), v.points, false);
          } else if constexpr (std::is_same_v<T, gdi::PolyBezier>) {
            polyline(ch, target(ch, v.target), v.points, true);
          } else if constexpr (std::is_same_v<T, gdi::FillRgn>) {
            fill_rects(ch, target(ch, v.target), v.rects, false);
          } else if constexpr (std::is_same_v<T, gdi::FontDef>) {
            // Defining an id again replaces the font.
            auto it = fonts.find((uint64_t(ch.id) << 32) | v.font);
            if (it != fonts.end()) {
              XftFontClose(dpy, it->second);
              fonts.erase(it);
            }
          } else if constexpr (std::is_same_v<T, gdi::Text>) {
            text(ch, target(ch, v.target), v);
          } else if constexpr (std::is_same_v<T, gdi::Gradient>) {
            gradient(ch, target(ch, v.target), v);
          } else if constexpr (std::is_same_v<T, gdi::Copy>) {
            copy(ch, target(ch, v.dst), v);
          } else if constexpr (std::is_same_v<T, gdi::Stretch>) {
            int fn = src_rop_function(v.rop3);
            blit_from_target(ch, target(ch, v.dst), v.dst_rect, v.src, v.src_rect,
                             [fn](uint32_t s, uint32_t d, uint32_t* out) {
                               switch (fn) {
                                 case GXor: *out = s | d; break;
                                 case GXand: *out = s & d; break;
                                 case GXxor: *out = s ^ d; break;
                                 case GXcopyInverted: *out = ~s & 0xFFFFFF; break;
                                 default: *out = s;
                               }
                               return true;
                             });
          } else if constexpr (std::is_same_v<T, gdi::AlphaBlend>) {
            uint32_t ca = v.alpha;
            bool per_pixel = v.per_pixel;
            blit_from_target(ch, target(ch, v.dst), v.dst_rect, v.src, v.src_rect,
                             [ca, per_pixel](uint32_t s, uint32_t d, uint32_t* out) {
                               // Surfaces hold no alpha channel here: per-pixel
                               // alpha is taken as opaque.
                               (void)per_pixel;
                               uint32_t r = 0;
                               for (int sh = 0; sh <= 16; sh += 8) {
                                 uint32_t a = (s >> sh) & 0xFF, b = (d >> sh) & 0xFF;
                                 r |= ((a * ca + b * (255 - ca) + 127) / 255) << sh;
                               }
                               *out = r;
                               return true;
                             });
          } else if constexpr (std::is_same_v<T, gdi::TransparentBlt>) {
            uint32_t key = v.transparent & 0xFFFFFF;
            blit_from_target(ch, target(ch, v.dst), v.dst_rect, v.src, v.src_rect,
                             [key](uint32_t s, uint32_t, uint32_t* out) {
                               if (s == key) return false;
                               *out = s;
                               return true;
                             });
          } else if constexpr (std::is_same_v<T, gdi::MaskBlt>) {
            // The foreground rop over the whole rect (the mask is not applied).
            gdi::Copy c{v.dst, v.dst_rect, v.src, v.src_pt, v.rop4 & 0x00FFFFFF};
            copy(ch, target(ch, v.dst), c);
          } else if constexpr (std::is_same_v<T, gdi::BitmapDraw>) {
            bitmap_draw(ch, target(ch, v.dst), v);
          } else if constexpr (std::is_same_v<T, gdi::Flush>) {
            target(ch, v.target).dirty = true;
          }
        },
        rec);
    return Status::ok();
  }

  void present(Channel& ch) {
    for (auto& [id, t] : ch.targets) {
      if (!t.win || !t.dirty) continue;
      t.dirty = false;
      if (!t.mapped) continue;
      XSetFunction(dpy, gc, GXcopy);
      XSetClipMask(dpy, gc, None);
      XCopyArea(dpy, t.pix, t.win, gc, 0, 0, t.w, t.h, 0, 0);
    }
  }

  // Asks the window manager to (un)maximise a window (EWMH _NET_WM_STATE).
  void set_maximised(const Target& t, bool on) {
    XEvent e{};
    e.xclient.type = ClientMessage;
    e.xclient.window = t.win;
    e.xclient.message_type = net_wm_state;
    e.xclient.format = 32;
    e.xclient.data.l[0] = on ? 1 : 0;  // _NET_WM_STATE_ADD / _REMOVE
    e.xclient.data.l[1] = static_cast<long>(net_max_vert);
    e.xclient.data.l[2] = static_cast<long>(net_max_horz);
    e.xclient.data.l[3] = 1;  // a normal application
    XSendEvent(dpy, RootWindow(dpy, screen), False, SubstructureRedirectMask | SubstructureNotifyMask, &e);
  }

  // Whether the window manager has the window maximised both ways.
  bool wm_maximised(Window win) {
    Atom type;
    int format;
    unsigned long n = 0, left = 0;
    unsigned char* data = nullptr;
    bool vert = false, horz = false;
    if (XGetWindowProperty(dpy, win, net_wm_state, 0, 64, False, XA_ATOM, &type, &format, &n, &left, &data) ==
            Success &&
        data && format == 32) {
      const auto* atoms = reinterpret_cast<const Atom*>(data);
      for (unsigned long i = 0; i < n; ++i) {
        vert = vert || atoms[i] == net_max_vert;
        horz = horz || atoms[i] == net_max_horz;
      }
    }
    if (data) XFree(data);
    return vert && horz;
  }

  // ---- input

  Status send(Channel& ch, const gdi::Record& r) { return upstream(ch.id, ch.name, r); }

  bool find(Window w, Channel** ch, Target** t) {
    for (auto& [id, c] : channels) {
      auto it = c->by_window.find(w);
      if (it == c->by_window.end()) continue;
      *ch = c.get();
      *t = &c->targets.at(it->second);
      return true;
    }
    return false;
  }

  Status on_event(XEvent& e) {
    Channel* ch = nullptr;
    Target* t = nullptr;
    if (!find(e.xany.window, &ch, &t)) return Status::ok();
    switch (e.type) {
      case Expose: {
        XSetFunction(dpy, gc, GXcopy);
        XSetClipMask(dpy, gc, None);
        XCopyArea(dpy, t->pix, t->win, gc, e.xexpose.x, e.xexpose.y, e.xexpose.width, e.xexpose.height,
                  e.xexpose.x, e.xexpose.y);
        return Status::ok();
      }
      case KeyPress:
      case KeyRelease: {
        KeySym plain = XLookupKeysym(&e.xkey, 0);
        char buf[16];
        KeySym shifted = 0;
        XLookupString(&e.xkey, buf, sizeof buf, &shifted, nullptr);
        gdi::InputKey k;
        k.target = t->id;
        k.vk = vk_from_keysym(plain);
        k.scancode = scancode_from_keycode(e.xkey.keycode);
        k.down = e.type == KeyPress ? 1 : 0;
        k.unicode = (e.xkey.state & ControlMask) ? 0 : unicode_from_keysym(shifted);
        if (k.vk == 0 && k.unicode == 0) return Status::ok();
        return send(*ch, k);
      }
      case ButtonPress:
      case ButtonRelease: {
        gdi::InputPointer p;
        p.target = t->id;
        p.pos = {e.xbutton.x, e.xbutton.y};
        unsigned b = e.xbutton.button;
        if (b >= 1 && b <= 3) {
          uint8_t bit = static_cast<uint8_t>(b == 1 ? 1 : b == 2 ? 2 : 4);
          ch->buttons = e.type == ButtonPress ? (ch->buttons | bit) : (ch->buttons & ~bit);
        } else if (b == 4 || b == 5) {
          if (e.type != ButtonPress) return Status::ok();
          p.wheel = b == 4 ? 120 : -120;
        } else {
          return Status::ok();
        }
        p.buttons = ch->buttons;
        return send(*ch, p);
      }
      case MotionNotify: {
        gdi::InputPointer p;
        p.target = t->id;
        p.pos = {std::clamp(e.xmotion.x, -32768, 65535), std::clamp(e.xmotion.y, -32768, 65535)};
        p.buttons = ch->buttons;
        return send(*ch, p);
      }
      case ConfigureNotify: {
        if (t->role == 2 || t->role == 3) return Status::ok();
        int x = 0, y = 0;
        Window child;
        XTranslateCoordinates(dpy, t->win, RootWindow(dpy, screen), 0, 0, &x, &y, &child);
        gdi::Rect r{x, y, e.xconfigure.width, e.xconfigure.height};
        if (r == t->last_rect || r.w < 1 || r.h < 1) return Status::ok();
        r.x = std::clamp(r.x, gdi::kMinCoord, gdi::kMaxCoord);
        r.y = std::clamp(r.y, gdi::kMinCoord, gdi::kMaxCoord);
        r.w = std::min(r.w, gdi::kMaxExtent);
        r.h = std::min(r.h, gdi::kMaxExtent);
        t->last_rect = r;
        return send(*ch, gdi::WindowRequest{t->id, gdi::WindowRequest::kMoveResize, r});
      }
      case PropertyNotify: {
        static Atom wm_state = XInternAtom(dpy, "WM_STATE", False);
        if (e.xproperty.atom == net_wm_state) {
          // Maximised or restored by the window manager: the app follows.
          const bool max = wm_maximised(t->win);
          if (max && t->state != 3) {
            t->state = 3;
            return send(*ch, gdi::WindowRequest{t->id, gdi::WindowRequest::kMaximise, {}});
          }
          if (!max && t->state == 3) {
            t->state = 1;
            return send(*ch, gdi::WindowRequest{t->id, gdi::WindowRequest::kRestore, {}});
          }
          return Status::ok();
        }
        if (e.xproperty.atom != wm_state || e.xproperty.state != PropertyNewValue) return Status::ok();
        Atom type;
        int format;
        unsigned long n, left;
        unsigned char* data = nullptr;
        if (XGetWindowProperty(dpy, t->win, wm_state, 0, 2, False, wm_state, &type, &format, &n, &left, &data) ==
                Success &&
            data && n >= 1 && format == 32) {
          long state = reinterpret_cast<long*>(data)[0];
          XFree(data);
          if (state == IconicState && t->state != 2) {
            t->state = 2;
            return send(*ch, gdi::WindowRequest{t->id, gdi::WindowRequest::kMinimise, {}});
          }
          // Brought back from the taskbar: the app is restored (or maximised again).
          if (state == NormalState && t->state == 2) {
            t->state = wm_maximised(t->win) ? 3 : 1;
            return send(*ch, gdi::WindowRequest{
                                 t->id, t->state == 3 ? gdi::WindowRequest::kMaximise : gdi::WindowRequest::kRestore, {}});
          }
        } else if (data) {
          XFree(data);
        }
        return Status::ok();
      }
      case FocusIn: {
        // The local window got the keyboard: the app's window becomes the
        // active one there too, so its keys reach its focused control (with
        // several apps, the one launched last is active otherwise).
        if (e.xfocus.detail == NotifyInferior || e.xfocus.detail == NotifyPointer || e.xfocus.mode == NotifyGrab ||
            e.xfocus.mode == NotifyUngrab || t->role == 2 || t->role == 3 ||
            focused == std::pair<uint16_t, uint32_t>{ch->id, t->id})
          return Status::ok();
        focused = {ch->id, t->id};
        return send(*ch, gdi::WindowRequest{t->id, gdi::WindowRequest::kFocus, {}});
      }
      case ClientMessage:
        if (e.xclient.message_type == wm_protocols && e.xclient.format == 32 &&
            static_cast<Atom>(e.xclient.data.l[0]) == wm_delete)
          return send(*ch, gdi::WindowRequest{t->id, gdi::WindowRequest::kClose, {}});
        return Status::ok();
      default: return Status::ok();
    }
  }
};

GdiWindows::GdiWindows(Upstream upstream, gdi::SceneLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->upstream = std::move(upstream);
  impl_->limits = limits;
}

GdiWindows::~GdiWindows() = default;

Status GdiWindows::open(const std::string& display) {
  Impl& m = *impl_;
  XSetErrorHandler(x_error_handler);
  m.dpy = XOpenDisplay(display.empty() ? nullptr : display.c_str());
  if (!m.dpy) return fail(vredir::kExitFailure, "cannot open X display '" + display + "' for GDI windows");
  m.screen = DefaultScreen(m.dpy);
  m.visual = DefaultVisual(m.dpy, m.screen);
  m.cmap = DefaultColormap(m.dpy, m.screen);
  m.depth = DefaultDepth(m.dpy, m.screen);
  if (m.visual->c_class != TrueColor || m.depth < 15)
    return fail(vredir::kExitFailure, "GDI windows need a TrueColor visual");
  XGCValues v{};
  v.graphics_exposures = False;
  m.gc = XCreateGC(m.dpy, RootWindow(m.dpy, m.screen), GCGraphicsExposures, &v);
  m.wm_protocols = XInternAtom(m.dpy, "WM_PROTOCOLS", False);
  m.wm_delete = XInternAtom(m.dpy, "WM_DELETE_WINDOW", False);
  m.net_wm_name = XInternAtom(m.dpy, "_NET_WM_NAME", False);
  m.utf8 = XInternAtom(m.dpy, "UTF8_STRING", False);
  m.net_wm_state = XInternAtom(m.dpy, "_NET_WM_STATE", False);
  m.net_max_vert = XInternAtom(m.dpy, "_NET_WM_STATE_MAXIMIZED_VERT", False);
  m.net_max_horz = XInternAtom(m.dpy, "_NET_WM_STATE_MAXIMIZED_HORZ", False);
  return Status::ok();
}

int GdiWindows::fd() const { return impl_->dpy ? ConnectionNumber(impl_->dpy) : -1; }

bool GdiWindows::broken() const { return impl_->dpy == nullptr; }

uint64_t GdiWindows::channel_pixels(uint16_t channel) const {
  auto it = impl_->channels.find(channel);
  if (it == impl_->channels.end()) return 0;
  return it->second->scene.target_pixels() + it->second->scene.bitmap_pixels();
}

Status GdiWindows::apply(uint16_t channel, const std::string& name, std::span<const uint8_t> payload,
                         uint64_t pixel_budget) {
  Impl& m = *impl_;
  gdi::Record rec;
  std::string err;
  if (!gdi::decode_record(payload, &rec, &err)) return fail(vredir::kExitMalformed, err);
  auto it = m.channels.find(channel);
  if (it == m.channels.end()) {
    it = m.channels.emplace(channel, std::make_unique<Impl::Channel>(m.limits)).first;
    it->second->id = channel;
    it->second->name = name;
  }
  Impl::Channel& ch = *it->second;
  ch.scene.set_max_total_pixels(pixel_budget);
  if (!ch.scene.apply(rec, &err)) return fail(vredir::kExitMalformed, "GDI " + err);
  // Targets the record removed (destroy, delete, app exit) go first.
  for (uint32_t id : ch.scene.removed()) {
    auto t = ch.targets.find(id);
    if (t == ch.targets.end()) continue;
    m.drop_target(ch, t->second);
    ch.targets.erase(t);
  }
  return m.draw(ch, rec);
}

void GdiWindows::close_channel(uint16_t channel) {
  auto it = impl_->channels.find(channel);
  if (it == impl_->channels.end()) return;
  impl_->drop_all(*it->second);
  impl_->channels.erase(it);
  if (impl_->dpy) XFlush(impl_->dpy);
}

Status GdiWindows::pump() {
  Impl& m = *impl_;
  if (!m.dpy) return Status::ok();
  for (auto& [id, ch] : m.channels) m.present(*ch);
  return drain_xlib_events(m.dpy, [&m](XEvent& e) { return m.on_event(e); });
}

bool GdiWindows::capture(vredir::Image* out) {
  Impl& m = *impl_;
  if (!m.dpy) return false;
  for (auto& [cid, ch] : m.channels)
    for (auto& [id, t] : ch->targets) {
      if (!t.win || !t.mapped) continue;
      XImage* img = XGetImage(m.dpy, t.pix, 0, 0, t.w, t.h, AllPlanes, ZPixmap);
      if (!img) return false;
      out->width = t.w;
      out->height = t.h;
      out->pixels.resize(size_t(t.w) * t.h);
      for (uint32_t y = 0; y < t.h; ++y)
        for (uint32_t x = 0; x < t.w; ++x)
          out->pixels[size_t(y) * t.w + x] = m.color_of(XGetPixel(img, int(x), int(y)));
      XDestroyImage(img);
      return true;
    }
  return false;
}

size_t GdiWindows::window_count() const {
  size_t n = 0;
  for (const auto& [cid, ch] : impl_->channels)
    for (const auto& [id, t] : ch->targets) n += t.win ? 1 : 0;
  return n;
}

}  // namespace xreplay
