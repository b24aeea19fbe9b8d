// Input from the client: upstream records read from the pipe are turned into
// window messages for the right window, converted from the target's client
// coordinates to screen coordinates and then to the child control under the
// point, so the app reacts as to real input.
#include <windows.h>

#include <string>

#include "hook.hpp"
#include "pipe_link.hpp"

namespace gdi_hook {

namespace {

uint8_t g_buttons = 0;  // last pointer button mask
bool g_ctrl = false, g_alt = false, g_shift = false;

HWND focus_of(HWND top) {
  GUITHREADINFO gti{};
  gti.cbSize = sizeof(gti);
  if (GetGUIThreadInfo(GetWindowThreadProcessId(top, nullptr), &gti)) {
    if (gti.hwndFocus && GetAncestor(gti.hwndFocus, GA_ROOT) == top) return gti.hwndFocus;
  }
  return top;
}

// The thread's key state, so GetKeyState sees modifiers (shortcuts).
void set_key_state(HWND top, uint16_t vk, bool down) {
  DWORD gui = GetWindowThreadProcessId(top, nullptr);
  DWORD self = GetCurrentThreadId();
  if (!AttachThreadInput(self, gui, TRUE)) return;
  BYTE ks[256];
  if (GetKeyboardState(ks)) {
    ks[vk] = down ? 0x80 : 0;
    if (vk == VK_LCONTROL || vk == VK_RCONTROL) ks[VK_CONTROL] = down ? 0x80 : 0;
    if (vk == VK_LSHIFT || vk == VK_RSHIFT) ks[VK_SHIFT] = down ? 0x80 : 0;
    if (vk == VK_LMENU || vk == VK_RMENU) ks[VK_MENU] = down ? 0x80 : 0;
    SetKeyboardState(ks);
  }
  AttachThreadInput(self, gui, FALSE);
}

void on_key(const gdi::InputKey& k) {
  HWND top = window_of_target(k.target);
  if (!top) return;
  uint16_t vk = k.vk;
  bool down = k.down != 0;
  switch (vk) {
    case VK_CONTROL: case VK_LCONTROL: case VK_RCONTROL: g_ctrl = down; break;
    case VK_MENU: case VK_LMENU: case VK_RMENU: g_alt = down; break;
    case VK_SHIFT: case VK_LSHIFT: case VK_RSHIFT: g_shift = down; break;
    default: break;
  }
  bool modifier = vk == VK_CONTROL || vk == VK_LCONTROL || vk == VK_RCONTROL || vk == VK_MENU || vk == VK_LMENU ||
                  vk == VK_RMENU || vk == VK_SHIFT || vk == VK_LSHIFT || vk == VK_RSHIFT;
  if (modifier) set_key_state(top, vk, down);
  HWND dest = focus_of(top);
  uint16_t scan = k.scancode ? k.scancode : uint16_t(MapVirtualKeyW(vk, MAPVK_VK_TO_VSC));
  LPARAM lp = 1 | (LPARAM(scan & 0xFF) << 16) | ((scan & 0xE000) ? (1L << 24) : 0);
  if (!down) lp |= (1L << 30) | (1L << 31);
  // Characters go as WM_CHAR alone: a posted WM_KEYDOWN would be
  // translated into a second WM_CHAR by the app's TranslateMessage, and
  // that one would land behind characters posted after it. Backspace, Tab,
  // Enter and Escape count as characters too.
  uint32_t ch = k.unicode;
  if (ch == 0 && (vk == VK_BACK || vk == VK_TAB || vk == VK_RETURN || vk == VK_ESCAPE)) ch = vk;
  bool printable = ch != 0 && ch != 0x7F && !g_ctrl && !g_alt;
  if (printable) {
    if (!down) return;
    if (ch > 0xFFFF) {
      uint32_t u = ch - 0x10000;
      PostMessageW(dest, WM_CHAR, 0xD800 + (u >> 10), lp);
      PostMessageW(dest, WM_CHAR, 0xDC00 + (u & 0x3FF), lp);
    } else {
      PostMessageW(dest, WM_CHAR, ch, lp);
    }
    return;
  }
  if (vk == 0) return;
  UINT msg = g_alt || vk == VK_MENU || vk == VK_F10 ? (down ? WM_SYSKEYDOWN : WM_SYSKEYUP) : (down ? WM_KEYDOWN : WM_KEYUP);
  if (g_alt) lp |= (1L << 29);
  PostMessageW(dest, msg, vk, lp);
}

// The deepest visible child under a screen point.
HWND child_at(HWND top, POINT screen) {
  HWND cur = top;
  for (int depth = 0; depth < 32; ++depth) {
    POINT p = screen;
    ScreenToClient(cur, &p);
    HWND c = ChildWindowFromPointEx(cur, p, CWP_SKIPINVISIBLE | CWP_SKIPTRANSPARENT);
    if (!c || c == cur) break;
    cur = c;
  }
  return cur;
}

void on_pointer(const gdi::InputPointer& p) {
  HWND top = window_of_target(p.target);
  if (!top) return;
  POINT screen{p.pos.x, p.pos.y};
  ClientToScreen(top, &screen);
  GUITHREADINFO gti{};
  gti.cbSize = sizeof(gti);
  GetGUIThreadInfo(GetWindowThreadProcessId(top, nullptr), &gti);
  HWND dest = gti.hwndCapture ? gti.hwndCapture : child_at(top, screen);
  POINT client = screen;
  ScreenToClient(dest, &client);
  LPARAM lp = MAKELPARAM(int16_t(client.x), int16_t(client.y));
  auto mk = [&](uint8_t b) {
    WPARAM w = 0;
    if (b & 1) w |= MK_LBUTTON;
    if (b & 2) w |= MK_MBUTTON;
    if (b & 4) w |= MK_RBUTTON;
    if (g_ctrl) w |= MK_CONTROL;
    if (g_shift) w |= MK_SHIFT;
    return w;
  };
  PostMessageW(dest, WM_MOUSEMOVE, mk(p.buttons), lp);
  static const UINT downs[3] = {WM_LBUTTONDOWN, WM_MBUTTONDOWN, WM_RBUTTONDOWN};
  static const UINT ups[3] = {WM_LBUTTONUP, WM_MBUTTONUP, WM_RBUTTONUP};
  for (int i = 0; i < 3; ++i) {
    uint8_t bit = uint8_t(1u << i);
    if ((p.buttons & bit) && !(g_buttons & bit)) {
      if (i == 0 && !gti.hwndCapture) {
        HWND root = GetAncestor(dest, GA_ROOT);
        if (GetForegroundWindow() != root) SetForegroundWindow(root);
      }
      PostMessageW(dest, downs[i], mk(p.buttons), lp);
    } else if (!(p.buttons & bit) && (g_buttons & bit)) {
      PostMessageW(dest, ups[i], mk(p.buttons), lp);
    }
  }
  g_buttons = p.buttons;
  if (p.wheel != 0)
    PostMessageW(focus_of(top), WM_MOUSEWHEEL, MAKEWPARAM(mk(p.buttons), uint16_t(p.wheel)),
                 MAKELPARAM(int16_t(screen.x), int16_t(screen.y)));
}

void on_request(const gdi::WindowRequest& r) {
  HWND h = window_of_target(r.target);
  if (!h) return;
  switch (r.action) {
    case gdi::WindowRequest::kMoveResize: {
      RECT wr{r.rect.x, r.rect.y, r.rect.x + r.rect.w, r.rect.y + r.rect.h};
      AdjustWindowRectEx(&wr, DWORD(GetWindowLongW(h, GWL_STYLE)), GetMenu(h) != nullptr,
                         DWORD(GetWindowLongW(h, GWL_EXSTYLE)));
      SetWindowPos(h, nullptr, wr.left, wr.top, wr.right - wr.left, wr.bottom - wr.top,
                   SWP_NOZORDER | SWP_NOACTIVATE | SWP_ASYNCWINDOWPOS);
      break;
    }
    case gdi::WindowRequest::kMinimise: ShowWindowAsync(h, SW_MINIMIZE); break;
    case gdi::WindowRequest::kMaximise: ShowWindowAsync(h, SW_MAXIMIZE); break;
    case gdi::WindowRequest::kRestore: ShowWindowAsync(h, SW_RESTORE); break;
    case gdi::WindowRequest::kClose: PostMessageW(h, WM_CLOSE, 0, 0); break;
    case gdi::WindowRequest::kFocus: SetForegroundWindow(h); break;
    default: break;
  }
}

BOOL CALLBACK close_window(HWND h, LPARAM) {
  DWORD pid = 0;
  GetWindowThreadProcessId(h, &pid);
  if (pid == GetCurrentProcessId() && IsWindowVisible(h)) PostMessageW(h, WM_CLOSE, 0, 0);
  return TRUE;
}

}  // namespace

DWORD WINAPI input_thread(void*) {
  std::string msg;
  while (gdi_forward::read_message(g_up_pipe, &msg)) {
    gdi::Record rec;
    if (!gdi::decode_record({reinterpret_cast<const uint8_t*>(msg.data()), msg.size()}, &rec, nullptr)) continue;
    note_input();
    if (auto* k = std::get_if<gdi::InputKey>(&rec)) on_key(*k);
    else if (auto* p = std::get_if<gdi::InputPointer>(&rec)) on_pointer(*p);
    else if (auto* r = std::get_if<gdi::WindowRequest>(&rec)) {
      // Target 0 is never a window: on this link it asks to close them all,
      // behind the input already sent (gdi-forward's termination).
      if (r->target == 0 && r->action == gdi::WindowRequest::kClose) EnumWindows(close_window, 0);
      else on_request(*r);
    }
  }
  return 0;
}

}  // namespace gdi_hook
