// Input from the client: upstream records read from the pipe are turned into
// window messages for the right window, converted from the target's client
// coordinates to screen coordinates and then to the child control under the
// point, so the app reacts as to real input.
#include <windows.h>

#include <set>
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

// Keys. Each key travels to the target window's GUI thread as a private
// posted message, and becomes a real key message when that thread takes it
// out of its queue, in its own loop or in a modal loop inside user32: a
// WH_GETMESSAGE hook on the thread rewrites it there, for the control that
// has the focus at that moment. So keys after a Tab that moved the focus go
// to the new control, and a modifier changes the thread's key state exactly
// between the keys around it.
//  - Characters go as WM_CHAR alone: a WM_KEYDOWN would be translated into a
//    second WM_CHAR by the app's TranslateMessage, and that one would land
//    behind characters posted after it. Backspace counts as a character.
//  - Tab, Enter and Escape go as WM_CHAR when the control wants them
//    (WM_GETDLGCODE: a multi-line edit), else as WM_KEYDOWN/WM_KEYUP, which
//    the dialog manager (IsDialogMessage) acts on: the next control, the
//    default button, cancel.
//  - Other keys, and keys with Ctrl or Alt, go as WM_KEYDOWN/WM_KEYUP (the
//    SYS variants with Alt).
// Where the hook cannot be set on the thread, the message is built at once
// for the control focused then and posted to it.
enum class KeyKind : uint8_t { kChar, kNav, kKey };
struct KeyEvent {
  KeyKind kind;
  bool down, sys;
  uint16_t vk;
  wchar_t ch;  // kChar, kNav: the UTF-16 unit
  LPARAM lp;
};

UINT g_key_msg = 0;         // the private message; wParam packs a KeyEvent, lParam is its lParam
std::set<DWORD> g_hooked;   // threads with the hook (the input thread's alone)
bool g_nav_as_key[256];     // Tab, Enter, Escape: the last down went as WM_KEYDOWN

WPARAM pack(const KeyEvent& e) {
  return WPARAM(e.vk) | WPARAM(e.ch) << 16 | WPARAM(e.down) << 32 | WPARAM(e.sys) << 33 | WPARAM(e.kind) << 34;
}
KeyEvent unpack(WPARAM w, LPARAM lp) {
  return {KeyKind((w >> 34) & 3), ((w >> 32) & 1) != 0, ((w >> 33) & 1) != 0, uint16_t(w), wchar_t(w >> 16), lp};
}

bool is_modifier(uint16_t vk) {
  return vk == VK_CONTROL || vk == VK_LCONTROL || vk == VK_RCONTROL || vk == VK_MENU || vk == VK_LMENU ||
         vk == VK_RMENU || vk == VK_SHIFT || vk == VK_LSHIFT || vk == VK_RSHIFT;
}

// The calling thread's key state, so GetKeyState sees modifiers (shortcuts).
void set_own_key_state(uint16_t vk, bool down) {
  BYTE ks[256];
  if (!GetKeyboardState(ks)) return;
  ks[vk] = down ? 0x80 : 0;
  if (vk == VK_LCONTROL || vk == VK_RCONTROL) ks[VK_CONTROL] = down ? 0x80 : 0;
  if (vk == VK_LSHIFT || vk == VK_RSHIFT) ks[VK_SHIFT] = down ? 0x80 : 0;
  if (vk == VK_LMENU || vk == VK_RMENU) ks[VK_MENU] = down ? 0x80 : 0;
  SetKeyboardState(ks);
}

// The message for e, sent to dest (the focused control, or the window).
// remove: the message leaves the queue now, so state may change (key
// state, how a Tab went); otherwise it is only looked at.
void build(const KeyEvent& e, HWND dest, bool remove, MSG* m) {
  m->hwnd = dest;
  m->wParam = e.vk;
  m->lParam = e.lp;
  if (e.kind == KeyKind::kChar) {
    m->message = WM_CHAR;
    m->wParam = e.ch;
    return;
  }
  if (e.kind == KeyKind::kNav) {
    bool as_key;
    if (e.down) {
      MSG probe{dest, WM_KEYDOWN, e.vk, e.lp, 0, {}};
      LRESULT code = SendMessageW(dest, WM_GETDLGCODE, e.vk, reinterpret_cast<LPARAM>(&probe));
      bool wants = (code & DLGC_WANTMESSAGE) || (e.vk == VK_TAB && (code & DLGC_WANTTAB));
      as_key = !wants;
      if (remove) g_nav_as_key[e.vk & 0xFF] = as_key;
    } else {
      as_key = g_nav_as_key[e.vk & 0xFF];
    }
    if (!as_key) {
      m->message = e.down ? WM_CHAR : WM_NULL;
      m->wParam = e.down ? e.ch : 0;
      return;
    }
  }
  if (remove && is_modifier(e.vk)) set_own_key_state(e.vk, e.down);
  m->message = e.sys ? (e.down ? WM_SYSKEYDOWN : WM_SYSKEYUP) : (e.down ? WM_KEYDOWN : WM_KEYUP);
}

// The focused control of top's thread when it is inside top, else top.
HWND focus_in(HWND top, HWND focus) { return focus && GetAncestor(focus, GA_ROOT) == top ? focus : top; }

LRESULT CALLBACK key_hook(int code, WPARAM remove, LPARAM lp) {
  auto* m = reinterpret_cast<MSG*>(lp);
  if (code == HC_ACTION && m && g_key_msg && m->message == g_key_msg)
    build(unpack(m->wParam, m->lParam), focus_in(m->hwnd, GetFocus()), remove == PM_REMOVE, m);
  return CallNextHookEx(nullptr, code, remove, lp);
}

bool hook_thread_of(HWND top) {
  DWORD tid = GetWindowThreadProcessId(top, nullptr);
  if (g_hooked.count(tid)) return true;
  HMODULE self = nullptr;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                     reinterpret_cast<LPCWSTR>(&key_hook), &self);
  if (!g_key_msg || !SetWindowsHookExW(WH_GETMESSAGE, key_hook, self, tid)) return false;
  g_hooked.insert(tid);
  return true;
}

// Without the hook: the thread's key state from here, the message built now.
void set_key_state(HWND top, uint16_t vk, bool down) {
  DWORD gui = GetWindowThreadProcessId(top, nullptr);
  DWORD self = GetCurrentThreadId();
  if (!AttachThreadInput(self, gui, TRUE)) return;
  set_own_key_state(vk, down);
  AttachThreadInput(self, gui, FALSE);
}

void deliver(HWND top, const KeyEvent& e) {
  if (hook_thread_of(top)) {
    PostMessageW(top, g_key_msg, pack(e), e.lp);
    return;
  }
  if (e.kind == KeyKind::kKey && is_modifier(e.vk)) set_key_state(top, e.vk, e.down);
  MSG m{};
  KeyEvent direct = e;
  if (direct.kind == KeyKind::kNav) direct.kind = KeyKind::kChar;  // no dialog manager to ask from here
  if (!direct.down && direct.kind == KeyKind::kChar) return;
  build(direct, focus_of(top), false, &m);
  PostMessageW(m.hwnd, m.message, m.wParam, m.lParam);
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
  uint16_t scan = k.scancode ? k.scancode : uint16_t(MapVirtualKeyW(vk, MAPVK_VK_TO_VSC));
  LPARAM lp = 1 | (LPARAM(scan & 0xFF) << 16) | ((scan & 0xE000) ? (1L << 24) : 0);
  if (!down) lp |= (1L << 30) | (1L << 31);
  bool nav = vk == VK_TAB || vk == VK_RETURN || vk == VK_ESCAPE;
  uint32_t ch = k.unicode;
  if (ch == 0 && (vk == VK_BACK || nav)) ch = vk;
  bool printable = ch != 0 && ch != 0x7F && !g_ctrl && !g_alt;
  if (printable && nav) {
    deliver(top, {KeyKind::kNav, down, false, vk, wchar_t(ch), lp});
  } else if (printable) {
    if (!down) return;
    if (ch > 0xFFFF) {
      uint32_t u = ch - 0x10000;
      deliver(top, {KeyKind::kChar, true, false, vk, wchar_t(0xD800 + (u >> 10)), lp});
      deliver(top, {KeyKind::kChar, true, false, vk, wchar_t(0xDC00 + (u & 0x3FF)), lp});
    } else {
      deliver(top, {KeyKind::kChar, true, false, vk, wchar_t(ch), lp});
    }
  } else if (vk != 0) {
    bool sys = g_alt || vk == VK_MENU || vk == VK_F10;
    if (g_alt) lp |= (1L << 29);
    deliver(top, {KeyKind::kKey, down, sys, vk, 0, lp});
  }
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
  POINT client_origin{0, 0};
  const RECT area = target_area(top, &client_origin);
  POINT screen{area.left + p.pos.x, area.top + p.pos.y};
  GUITHREADINFO gti{};
  gti.cbSize = sizeof(gti);
  GetGUIThreadInfo(GetWindowThreadProcessId(top, nullptr), &gti);
  HWND dest = gti.hwndCapture ? gti.hwndCapture : child_at(top, screen);
  POINT client = screen;
  ScreenToClient(dest, &client);
  LPARAM lp = MAKELPARAM(int16_t(client.x), int16_t(client.y));
  // A menu being tracked reads the position of the mouse messages it gets
  // in screen coordinates.
  const bool in_menu = gti.hwndCapture && (gti.flags & GUI_INMENUMODE);
  if (in_menu) lp = MAKELPARAM(int16_t(screen.x), int16_t(screen.y));
  // Outside the client area, in the menu bar: what the window says is there
  // gets the non-client messages, in screen coordinates, as a real mouse
  // would send (a click on a menu's name opens it).
  if (!gti.hwndCapture && dest == top && screen.y < client_origin.y) {
    DWORD_PTR ht = HTNOWHERE;
    const LPARAM at = MAKELPARAM(int16_t(screen.x), int16_t(screen.y));
    if (!SendMessageTimeoutW(top, WM_NCHITTEST, 0, at, SMTO_ABORTIFHUNG, 500, &ht)) ht = HTNOWHERE;
    if (ht == HTMENU) {
      PostMessageW(top, WM_NCMOUSEMOVE, ht, at);
      static const UINT nc_downs[3] = {WM_NCLBUTTONDOWN, WM_NCMBUTTONDOWN, WM_NCRBUTTONDOWN};
      static const UINT nc_ups[3] = {WM_NCLBUTTONUP, WM_NCMBUTTONUP, WM_NCRBUTTONUP};
      for (int i = 0; i < 3; ++i) {
        uint8_t bit = uint8_t(1u << i);
        if ((p.buttons & bit) && !(g_buttons & bit)) {
          if (GetForegroundWindow() != top) SetForegroundWindow(top);
          PostMessageW(top, nc_downs[i], ht, at);
        } else if (!(p.buttons & bit) && (g_buttons & bit)) {
          PostMessageW(top, nc_ups[i], ht, at);
        }
      }
      g_buttons = p.buttons;
      return;
    }
  }
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
      // The target area holds the menu bar: the frame is what the window
      // rect adds to it.
      RECT wr{r.rect.x, r.rect.y, r.rect.x + r.rect.w, r.rect.y + r.rect.h};
      RECT now{}, area = target_area(h);
      GetWindowRect(h, &now);
      wr.left -= area.left - now.left;
      wr.top -= area.top - now.top;
      wr.right += now.right - area.right;
      wr.bottom += now.bottom - area.bottom;
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
  g_key_msg = RegisterWindowMessageW(L"vredir-gdi-key");
  std::string msg;
  while (gdi_forward::read_message(g_up_pipe, &msg)) {
    gdi::Record rec;
    if (!gdi::decode_record({reinterpret_cast<const uint8_t*>(msg.data()), msg.size()}, &rec, nullptr)) continue;
    note_input();
    if (auto* k = std::get_if<gdi::InputKey>(&rec)) on_key(*k);
    else if (auto* p = std::get_if<gdi::InputPointer>(&rec)) on_pointer(*p);
    else if (auto* r = std::get_if<gdi::WindowRequest>(&rec)) {
      // Target 0 is never a window: on this link close asks to close them
      // all, behind the input already sent (gdi-forward's termination).
      if (r->target == 0 && r->action == gdi::WindowRequest::kClose) EnumWindows(close_window, 0);
      // Target 0, redraw: a new viewer (a client reattaching) needs it all.
      else if (r->target == 0 && r->action == gdi::WindowRequest::kRedraw) redraw_all();
      else on_request(*r);
    }
  }
  return 0;
}

}  // namespace gdi_hook
