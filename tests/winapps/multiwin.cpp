// multiwin: a main window with a menu bar, an owned dialog window with a
// button, and a popup menu (right click, or "/popup-after MS").
#include "winapp.h"

namespace {
HWND g_main, g_dialog;
enum { kOpenDialog = 100, kExit = 101, kItemA = 200, kItemB = 201, kOk = 300, kTimerPopup = 1 };

LRESULT CALLBACK dialog_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case WM_CREATE:
      CreateWindowExW(0, L"STATIC", L"Settings dialog text", WS_CHILD | WS_VISIBLE, 10, 10, 200, 20, hwnd, nullptr,
                      nullptr, nullptr);
      CreateWindowExW(0, L"BUTTON", L"OK", WS_CHILD | WS_VISIBLE | BS_DEFPUSHBUTTON, 70, 50, 80, 26, hwnd,
                      reinterpret_cast<HMENU>(kOk), nullptr, nullptr);
      return 0;
    case WM_COMMAND:
      if (LOWORD(wp) == kOk) DestroyWindow(hwnd);
      return 0;
    case WM_DESTROY: g_dialog = nullptr; return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}

void open_dialog() {
  if (g_dialog) return;
  WNDCLASSW wc{};
  wc.lpfnWndProc = dialog_proc;
  wc.hInstance = GetModuleHandleW(nullptr);
  wc.hbrBackground = reinterpret_cast<HBRUSH>(COLOR_BTNFACE + 1);
  wc.lpszClassName = L"VredirDialog";
  wc.hCursor = LoadCursor(nullptr, IDC_ARROW);
  RegisterClassW(&wc);
  RECT r{0, 0, 220, 90};
  DWORD style = WS_POPUP | WS_CAPTION | WS_SYSMENU;
  AdjustWindowRect(&r, style, FALSE);
  g_dialog = CreateWindowExW(WS_EX_DLGMODALFRAME, L"VredirDialog", L"Settings", style, 120, 120, r.right - r.left,
                             r.bottom - r.top, g_main, nullptr, wc.hInstance, nullptr);
  ShowWindow(g_dialog, SW_SHOW);
}

void popup(HWND hwnd, int x, int y) {
  HMENU m = CreatePopupMenu();
  AppendMenuW(m, MF_STRING, kItemA, L"Popup item A");
  AppendMenuW(m, MF_STRING, kItemB, L"Popup item B");
  POINT p{x, y};
  ClientToScreen(hwnd, &p);
  TrackPopupMenu(m, TPM_LEFTALIGN | TPM_TOPALIGN, p.x, p.y, 0, hwnd, nullptr);
  DestroyMenu(m);
}

LRESULT CALLBACK proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case WM_CREATE: {
      winapp_timers(hwnd);
      HMENU bar = CreateMenu(), file = CreatePopupMenu();
      AppendMenuW(file, MF_STRING, kOpenDialog, L"&Settings...");
      AppendMenuW(file, MF_STRING, kExit, L"E&xit");
      AppendMenuW(bar, MF_POPUP, reinterpret_cast<UINT_PTR>(file), L"&File");
      SetMenu(hwnd, bar);
      if (UINT ms = winapp_ms(L"popup-after")) SetTimer(hwnd, kTimerPopup, ms, nullptr);
      return 0;
    }
    case WM_TIMER:
      if (winapp_on_timer(hwnd, wp)) return 0;
      if (wp == kTimerPopup) {
        KillTimer(hwnd, kTimerPopup);
        popup(hwnd, 50, 50);
      }
      return 0;
    case WM_RBUTTONUP: popup(hwnd, short(LOWORD(lp)), short(HIWORD(lp))); return 0;
    case WM_COMMAND:
      if (LOWORD(wp) == kOpenDialog) open_dialog();
      if (LOWORD(wp) == kExit) PostMessageW(hwnd, WM_CLOSE, 0, 0);
      return 0;
    case WM_PAINT: {
      PAINTSTRUCT ps;
      HDC dc = BeginPaint(hwnd, &ps);
      TextOutW(dc, 10, 10, L"Main window: right click for a menu", 35);
      EndPaint(hwnd, &ps);
      return 0;
    }
    case WM_DESTROY: PostQuitMessage(0); return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}
}  // namespace

int WINAPI WinMain(HINSTANCE, HINSTANCE, LPSTR, int) {
  g_main = winapp_window(L"VredirMultiWin", L"vredir multiwin", proc, 360, 240);
  if (!winapp_arg(L"dialog").empty() || winapp_ms(L"dialog-now")) open_dialog();
  return winapp_loop();
}
