// Window lifecycle: top-level windows of the process become targets. A
// poll (see hook_main.cpp for when, and right after the app's own window
// calls) reports
// creation, destruction, show state, client-area moves, titles, z-order and
// focus; drawing to a window not yet reported creates it first.
#include <windows.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "hook.hpp"
#include "pipe_link.hpp"

namespace gdi_hook {

namespace {

struct WinInfo {
  uint32_t id = 0;
  gdi::Rect rect;
  uint8_t show = 0;
  std::string title;
  uint32_t above = 0;
};

std::map<HWND, WinInfo> g_windows;
std::vector<std::pair<HWND, uint32_t>> g_icons_pending;  // windows whose icon is still to send
std::map<uint32_t, HWND> g_by_id;
uint32_t g_next_window = 1;
uint32_t g_focus = 0;

int32_t clampi(long v, long lo, long hi) { return int32_t(v < lo ? lo : v > hi ? hi : v); }

}  // namespace

namespace {

// The menu bar's top per window, as last asked of GetMenuBarInfo (a
// request to user32's menu code on every recorded call otherwise). It holds
// while the menu, the window rect and the client area are the same: a bar
// that wraps or a caption that comes or goes moves the client area.
struct BarTop {
  HMENU menu = nullptr;
  RECT window{};
  RECT client{};
  LONG top = 0;
};
SRWLOCK g_bar_lock = SRWLOCK_INIT;
std::map<HWND, BarTop> g_bar_tops;
constexpr size_t kMaxBarTops = 1024;  // windows remembered; past it the map starts again

bool same_rect(const RECT& a, const RECT& b) {
  return a.left == b.left && a.top == b.top && a.right == b.right && a.bottom == b.bottom;
}

}  // namespace

RECT target_area(HWND top, POINT* client_origin) {
  RECT r{};
  GetClientRect(top, &r);
  POINT p{0, 0};
  ClientToScreen(top, &p);
  if (client_origin) *client_origin = p;
  RECT out{p.x, p.y, p.x + (r.right - r.left), p.y + (r.bottom - r.top)};
  HMENU menu = (GetWindowLongW(top, GWL_STYLE) & WS_CHILD) ? nullptr : GetMenu(top);
  if (!menu) return out;
  RECT wr{};
  GetWindowRect(top, &wr);
  AcquireSRWLockShared(&g_bar_lock);
  auto it = g_bar_tops.find(top);
  bool hit = it != g_bar_tops.end() && it->second.menu == menu && same_rect(it->second.window, wr) &&
             same_rect(it->second.client, out);
  LONG bar_top = hit ? it->second.top : out.top;
  ReleaseSRWLockShared(&g_bar_lock);
  if (!hit) {
    MENUBARINFO mb{};
    mb.cbSize = sizeof(mb);
    // The bar spans the client's width right above it; a bar that is not
    // there (hidden, or the window too small) changes nothing.
    if (GetMenuBarInfo(top, OBJID_MENU, 0, &mb) && mb.rcBar.bottom > mb.rcBar.top && mb.rcBar.top < out.top &&
        out.top - mb.rcBar.top <= 256)
      bar_top = mb.rcBar.top;
    AcquireSRWLockExclusive(&g_bar_lock);
    if (g_bar_tops.size() >= kMaxBarTops && !g_bar_tops.count(top)) g_bar_tops.clear();
    g_bar_tops[top] = BarTop{menu, wr, out, bar_top};
    ReleaseSRWLockExclusive(&g_bar_lock);
  }
  out.top = bar_top;
  return out;
}

namespace {

gdi::Rect client_screen(HWND h) {
  RECT a = target_area(h);
  gdi::Rect out;
  out.x = clampi(a.left, gdi::kMinCoord, gdi::kMaxCoord);
  out.y = clampi(a.top, gdi::kMinCoord, gdi::kMaxCoord);
  out.w = clampi(a.right - a.left, 0, gdi::kMaxExtent);
  out.h = clampi(a.bottom - a.top, 0, gdi::kMaxExtent);
  return out;
}

uint8_t show_state(HWND h) {
  if (!IsWindowVisible(h)) return 0;
  if (IsIconic(h)) return 2;
  if (IsZoomed(h)) return 3;
  return 1;
}

std::string title_of(HWND h) {
  wchar_t buf[512];
  int n = InternalGetWindowText(h, buf, 512);
  return n > 0 ? gdi_forward::to_utf8(buf, n) : std::string();
}

// The window's class icon as 32x32 straight-alpha ARGB. Drawn twice, on
// black and on white (DrawIconEx, under a Depth so the hooks record none of
// it): where the two differ the icon is transparent, which gives alpha for
// icons with and without an alpha channel alike. No message is sent to the
// window (its thread may be waiting for us).
bool icon_of(HWND h, uint32_t id, gdi::WindowIcon* out) {
  HICON icon = reinterpret_cast<HICON>(GetClassLongPtrW(h, GCLP_HICON));
  if (!icon) icon = reinterpret_cast<HICON>(GetClassLongPtrW(h, GCLP_HICONSM));
  if (!icon) icon = LoadIconW(nullptr, IDI_APPLICATION);
  if (!icon) return false;
  Depth guard;
  constexpr int n = 32;
  BITMAPINFO bi{};
  bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
  bi.bmiHeader.biWidth = n;
  bi.bmiHeader.biHeight = -n;  // top-down
  bi.bmiHeader.biPlanes = 1;
  bi.bmiHeader.biBitCount = 32;
  bi.bmiHeader.biCompression = BI_RGB;
  HDC dc = CreateCompatibleDC(nullptr);
  if (!dc) return false;
  std::vector<uint32_t> on[2];
  for (int k = 0; k < 2; ++k) {
    void* bits = nullptr;
    HBITMAP bm = CreateDIBSection(dc, &bi, DIB_RGB_COLORS, &bits, nullptr, 0);
    if (!bm || !bits) {
      DeleteDC(dc);
      return false;
    }
    auto* px = static_cast<uint32_t*>(bits);
    for (int i = 0; i < n * n; ++i) px[i] = k ? 0x00FFFFFFu : 0;
    HGDIOBJ old = SelectObject(dc, bm);
    DrawIconEx(dc, 0, 0, icon, n, n, 0, nullptr, DI_NORMAL);
    GdiFlush();
    on[k].assign(px, px + n * n);
    SelectObject(dc, old);
    DeleteObject(bm);
  }
  DeleteDC(dc);
  out->target = id;
  out->w = out->h = n;
  out->argb.resize(size_t(n) * n * 4);
  bool any = false;
  for (int i = 0; i < n * n; ++i) {
    uint32_t b = on[0][size_t(i)], w = on[1][size_t(i)];
    int diff = 0;
    for (int sh = 0; sh < 24; sh += 8) diff = std::max(diff, int((w >> sh) & 0xFF) - int((b >> sh) & 0xFF));
    const int a = 255 - std::clamp(diff, 0, 255);
    uint8_t* o = reinterpret_cast<uint8_t*>(&out->argb[size_t(i) * 4]);
    for (int c = 0; c < 3; ++c) o[c] = a ? uint8_t(std::min(255, int((b >> (8 * c)) & 0xFF) * 255 / a)) : 0;
    o[3] = uint8_t(a);
    any = any || a != 0;
  }
  return any;
}

uint8_t role_of(HWND h) {
  wchar_t cls[64] = {};
  GetClassNameW(h, cls, 64);
  if (!lstrcmpW(cls, L"#32768")) return 2;  // menu
  if (!lstrcmpiW(cls, L"tooltips_class32")) return 3;
  if (!lstrcmpW(cls, L"#32770")) return 1;  // dialog
  LONG style = GetWindowLongW(h, GWL_STYLE);
  if (style & WS_POPUP) {
    if ((style & WS_CAPTION) == WS_CAPTION) return GetWindow(h, GW_OWNER) ? 1 : 0;
    return 2;
  }
  return 0;
}

bool trackable(HWND h) {
  DWORD pid = 0;
  GetWindowThreadProcessId(h, &pid);
  if (pid != GetCurrentProcessId()) return false;
  if (GetAncestor(h, GA_ROOT) != h) return false;
  wchar_t cls[64] = {};
  GetClassNameW(h, cls, 64);
  // IME and other helper windows never show anything.
  return lstrcmpiW(cls, L"IME") != 0 && lstrcmpiW(cls, L"Message") != 0;
}

BOOL CALLBACK collect(HWND h, LPARAM p) {
  reinterpret_cast<std::vector<HWND>*>(p)->push_back(h);
  return TRUE;
}

}  // namespace

namespace {
gdi::WindowCreate describe_window(HWND top, const WinInfo& w, uint32_t owner_id) {
  LONG style = GetWindowLongW(top, GWL_STYLE);
  gdi::WindowCreate c;
  c.target = w.id;
  c.owner = owner_id;
  c.pid = GetCurrentProcessId();
  c.role = role_of(top);
  c.rect = w.rect;
  c.flags = (style & WS_THICKFRAME ? gdi::WindowCreate::kFlagResizable : 0) |
            (style & WS_MINIMIZEBOX ? gdi::WindowCreate::kFlagMinBox : 0) |
            (style & WS_MAXIMIZEBOX ? gdi::WindowCreate::kFlagMaxBox : 0) |
            (w.show ? gdi::WindowCreate::kFlagVisible : 0);
  c.title = w.title;
  c.app = app_name();
  return c;
}
}  // namespace

uint32_t ensure_window(HWND top) {
  Lock lock;
  auto it = g_windows.find(top);
  if (it != g_windows.end()) return it->second.id;
  if (!trackable(top)) return 0;
  HWND owner = GetWindow(top, GW_OWNER);
  uint32_t owner_id = owner && owner != top ? ensure_window(owner) : 0;
  WinInfo w;
  w.id = g_next_window++;
  w.rect = client_screen(top);
  w.show = show_state(top);
  w.title = title_of(top);
  g_windows[top] = w;
  g_by_id[w.id] = top;
  gdi::WindowCreate c = describe_window(top, w, owner_id);
  send(c);
  // Top-level windows and dialogs carry an icon (the taskbar's), not popups.
  // It is drawn later, without the lock (send_pending_icons).
  if (c.role <= 1) g_icons_pending.emplace_back(top, w.id);
  if (w.show > 1) send(gdi::WindowShow{w.id, w.show});
  return w.id;
}

void send_pending_icons() {
  std::vector<std::pair<HWND, uint32_t>> todo;
  {
    Lock lock;
    todo.swap(g_icons_pending);
  }
  // Loading and drawing an icon takes user32's display DC lock, and user32
  // calls the hooked gdi32 functions (which take our lock) while it holds
  // that: with our lock held here, the two threads would wait for each other.
  for (const auto& [h, id] : todo)
    if (gdi::WindowIcon icon; IsWindow(h) && icon_of(h, id, &icon)) send(icon);
}

void redraw_all() {
  std::vector<HWND> windows;
  {
    Lock lock;
    resend_definitions();
    // Owners before the windows they own: an owner is always made a target
    // first, so target order is enough.
    for (const auto& [id, h] : g_by_id) {
      auto it = g_windows.find(h);
      if (it == g_windows.end()) continue;
      WinInfo& w = it->second;
      HWND owner = GetWindow(h, GW_OWNER);
      auto o = owner && owner != h ? g_windows.find(owner) : g_windows.end();
      gdi::WindowCreate c = describe_window(h, w, o == g_windows.end() ? 0 : o->second.id);
      send(c);
      if (c.role <= 1) g_icons_pending.emplace_back(h, w.id);
      if (w.show > 1) send(gdi::WindowShow{w.id, w.show});
      w.above = 0;  // the next full poll sends the z-order and focus again
      windows.push_back(h);
    }
    g_focus = 0;
  }
  send_pending_icons();
  // Painted by the app's own threads, as for any invalid window.
  for (HWND h : windows) RedrawWindow(h, nullptr, nullptr, RDW_INVALIDATE | RDW_ERASE | RDW_FRAME | RDW_ALLCHILDREN);
}

HWND window_of_target(uint32_t target) {
  Lock lock;
  auto it = g_by_id.find(target);
  return it == g_by_id.end() ? nullptr : it->second;
}

namespace {
// Top-level windows of other processes (explorer's desktop, the IME and
// clipboard helpers...). Every question about one is a wineserver request
// under Wine, so each is asked once: a window never changes process, and a
// destroyed handle is not reused with the same value.
std::vector<HWND> g_foreign;

bool foreign(HWND h) {
  for (HWND f : g_foreign)
    if (f == h) return true;
  DWORD pid = 0;
  GetWindowThreadProcessId(h, &pid);
  if (pid == GetCurrentProcessId()) return false;
  g_foreign.push_back(h);
  return true;
}
}  // namespace

void poll_windows(bool full) {
  std::vector<HWND> all;
  if (full) EnumWindows(collect, reinterpret_cast<LPARAM>(&all));  // top of the z-order first
  Lock lock;
  if (full) {
    // Forget foreign windows that are gone, keep the rest known.
    std::vector<HWND> still;
    for (HWND f : g_foreign)
      for (HWND h : all)
        if (h == f) {
          still.push_back(f);
          break;
        }
    g_foreign.swap(still);
    std::vector<HWND> own;
    for (HWND h : all)
      if (g_windows.count(h) || !foreign(h)) own.push_back(h);
    all.swap(own);
    for (HWND h : all)
      if (!g_windows.count(h) && IsWindowVisible(h) && trackable(h)) ensure_window(h);
  } else {
    // Only our windows, asked in process (no wineserver request): the
    // z-order and focus wait for the next full poll.
    for (auto& [h, w] : g_windows) all.push_back(h);
  }
  for (auto it = g_windows.begin(); it != g_windows.end();) {
    if (!IsWindow(it->first) || !trackable(it->first)) {
      uint32_t id = it->second.id;
      send(gdi::WindowDestroy{id});
      g_by_id.erase(id);
      forget_target(id);
      if (g_focus == id) g_focus = 0;
      it = g_windows.erase(it);
    } else {
      ++it;
    }
  }
  uint32_t prev = 0;
  for (HWND h : all) {
    auto it = g_windows.find(h);
    if (it == g_windows.end()) continue;
    WinInfo& w = it->second;
    uint8_t show = show_state(h);
    if (show != w.show) {
      w.show = show;
      send(gdi::WindowShow{w.id, show});
    }
    gdi::Rect r = client_screen(h);
    if (!(r == w.rect) && show != 2) {
      w.rect = r;
      send(gdi::WindowMove{w.id, r});
    }
    std::string t = title_of(h);
    if (t != w.title) {
      w.title = t;
      send(gdi::WindowTitle{w.id, t});
    }
    if (show && full) {
      if (w.above != prev) {
        w.above = prev;
        send(gdi::WindowZorder{w.id, prev});
      }
      prev = w.id;
    }
  }
  if (!full) return;
  auto fg = g_windows.find(GetForegroundWindow());
  if (fg != g_windows.end() && fg->second.id != g_focus) {
    g_focus = fg->second.id;
    send(gdi::WindowFocus{g_focus});
  }
}

namespace {

#define REAL(fn) decltype(&::fn) real_##fn = nullptr
REAL(ShowWindow);
REAL(DestroyWindow);
REAL(SetWindowPos);
REAL(MoveWindow);
REAL(SetWindowTextW);
REAL(SetWindowTextA);
REAL(DefWindowProcW);
REAL(DefWindowProcA);

// WM_ERASEBKGND: the default handler fills with the class brush from inside
// user32/win32u, where no import table is crossed; do the same fill here
// through FillRect so it is recorded (and drawn) like any other.
bool erase_background(HWND h, HDC dc) {
  HBRUSH brush = reinterpret_cast<HBRUSH>(GetClassLongPtrW(h, GCLP_HBRBACKGROUND));
  if (!brush || !dc) return false;
  RECT r;
  GetClientRect(h, &r);
  auto fill = reinterpret_cast<decltype(&::FillRect)>(hooked_address_for(GetModuleHandleW(L"user32.dll"), "FillRect"));
  if (!fill) return false;
  fill(dc, &r, brush);
  return true;
}

LRESULT WINAPI hook_DefWindowProcW(HWND h, UINT msg, WPARAM wp, LPARAM lp) {
  if (msg == WM_ERASEBKGND && erase_background(h, reinterpret_cast<HDC>(wp))) return 1;
  return real_DefWindowProcW(h, msg, wp, lp);
}
LRESULT WINAPI hook_DefWindowProcA(HWND h, UINT msg, WPARAM wp, LPARAM lp) {
  if (msg == WM_ERASEBKGND && erase_background(h, reinterpret_cast<HDC>(wp))) return 1;
  return real_DefWindowProcA(h, msg, wp, lp);
}

BOOL WINAPI hook_ShowWindow(HWND h, int cmd) {
  BOOL r = real_ShowWindow(h, cmd);
  poll_windows();
  return r;
}
BOOL WINAPI hook_DestroyWindow(HWND h) {
  BOOL r = real_DestroyWindow(h);
  poll_windows();
  return r;
}
BOOL WINAPI hook_SetWindowPos(HWND h, HWND after, int x, int y, int cx, int cy, UINT flags) {
  BOOL r = real_SetWindowPos(h, after, x, y, cx, cy, flags);
  if (GetAncestor(h, GA_ROOT) == h) poll_windows();
  return r;
}
BOOL WINAPI hook_MoveWindow(HWND h, int x, int y, int cx, int cy, BOOL repaint) {
  BOOL r = real_MoveWindow(h, x, y, cx, cy, repaint);
  if (GetAncestor(h, GA_ROOT) == h) poll_windows();
  return r;
}
BOOL WINAPI hook_SetWindowTextW(HWND h, LPCWSTR s) {
  BOOL r = real_SetWindowTextW(h, s);
  if (GetAncestor(h, GA_ROOT) == h) poll_windows();
  return r;
}
BOOL WINAPI hook_SetWindowTextA(HWND h, LPCSTR s) {
  BOOL r = real_SetWindowTextA(h, s);
  if (GetAncestor(h, GA_ROOT) == h) poll_windows();
  return r;
}

#define HOOK(mod, fn) {mod, #fn, reinterpret_cast<void*>(hook_##fn), reinterpret_cast<void**>(&real_##fn)}
HookEntry g_window_hooks[] = {
    HOOK("user32.dll", ShowWindow),     HOOK("user32.dll", DestroyWindow),  HOOK("user32.dll", SetWindowPos),
    HOOK("user32.dll", MoveWindow),     HOOK("user32.dll", SetWindowTextW), HOOK("user32.dll", SetWindowTextA),
    HOOK("user32.dll", DefWindowProcW), HOOK("user32.dll", DefWindowProcA),
};

}  // namespace

void install_window_hooks() { register_hooks(g_window_hooks, sizeof(g_window_hooks) / sizeof(g_window_hooks[0])); }

}  // namespace gdi_hook
