// Shared bits of the test apps: "/name VALUE" options from the command line
// and a timer that ends the app after "/exit-after MS".
#pragma once

#include <windows.h>
#include <shellapi.h>

#include <cwchar>
#include <string>

// The value after "/name" on the command line, or "" if absent.
inline std::wstring winapp_arg(const wchar_t* name) {
  int argc = 0;
  wchar_t** argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  std::wstring out;
  for (int i = 1; argv && i + 1 < argc; ++i)
    if (argv[i][0] == L'/' && wcscmp(argv[i] + 1, name) == 0) out = argv[i + 1];
  if (argv) LocalFree(argv);
  return out;
}

inline UINT winapp_ms(const wchar_t* name) {
  std::wstring v = winapp_arg(name);
  return v.empty() ? 0 : UINT(_wtoi(v.c_str()));
}

enum { kTimerExit = 9001, kTimerCrash = 9002, kTimerMaximise = 9003, kTimerRestore = 9004 };

// Call from WM_CREATE: /exit-after MS closes the window, /crash-after MS
// dereferences a null pointer (robustness tests), /maximise-after MS and
// /restore-after MS change the window's show state from the app's side.
inline void winapp_timers(HWND hwnd) {
  if (UINT ms = winapp_ms(L"exit-after")) SetTimer(hwnd, kTimerExit, ms, nullptr);
  if (UINT ms = winapp_ms(L"crash-after")) SetTimer(hwnd, kTimerCrash, ms, nullptr);
  if (UINT ms = winapp_ms(L"maximise-after")) SetTimer(hwnd, kTimerMaximise, ms, nullptr);
  if (UINT ms = winapp_ms(L"restore-after")) SetTimer(hwnd, kTimerRestore, ms, nullptr);
}

// Call from WM_TIMER; true when the timer was one of ours.
inline bool winapp_on_timer(HWND hwnd, WPARAM id) {
  if (id == kTimerExit) {
    KillTimer(hwnd, id);
    PostMessageW(hwnd, WM_CLOSE, 0, 0);
    return true;
  }
  if (id == kTimerMaximise || id == kTimerRestore) {
    KillTimer(hwnd, id);
    ShowWindow(hwnd, id == kTimerMaximise ? SW_MAXIMIZE : SW_RESTORE);
    return true;
  }
  if (id == kTimerCrash) {
    volatile int* p = nullptr;
    *p = 42;
    return true;
  }
  return false;
}

// The window procedure of an app that only paints: our timers, WM_PAINT
// through Paint(dc), quit when the window is destroyed.
template <void (*Paint)(HDC)>
LRESULT CALLBACK winapp_paint_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case WM_CREATE: winapp_timers(hwnd); return 0;
    case WM_TIMER: if (winapp_on_timer(hwnd, wp)) return 0; break;
    case WM_PAINT: {
      PAINTSTRUCT ps;
      HDC dc = BeginPaint(hwnd, &ps);
      Paint(dc);
      EndPaint(hwnd, &ps);
      return 0;
    }
    case WM_DESTROY: PostQuitMessage(0); return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}

inline int winapp_loop() {
  MSG msg;
  while (GetMessageW(&msg, nullptr, 0, 0) > 0) {
    TranslateMessage(&msg);
    DispatchMessageW(&msg);
  }
  return int(msg.wParam);
}

inline HWND winapp_window(const wchar_t* cls, const wchar_t* title, WNDPROC proc, int w, int h, DWORD style = WS_OVERLAPPEDWINDOW) {
  WNDCLASSW wc{};
  wc.lpfnWndProc = proc;
  wc.hInstance = GetModuleHandleW(nullptr);
  wc.hCursor = LoadCursor(nullptr, IDC_ARROW);
  wc.hbrBackground = reinterpret_cast<HBRUSH>(COLOR_WINDOW + 1);
  wc.lpszClassName = cls;
  RegisterClassW(&wc);
  RECT r{0, 0, w, h};
  AdjustWindowRect(&r, style, FALSE);
  HWND hwnd = CreateWindowExW(0, cls, title, style, 40, 40, r.right - r.left, r.bottom - r.top, nullptr, nullptr,
                              wc.hInstance, nullptr);
  ShowWindow(hwnd, SW_SHOW);
  UpdateWindow(hwnd);
  return hwnd;
}
