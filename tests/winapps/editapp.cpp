// editapp: an EDIT control that reports its contents. Every change is written
// (UTF-8) to the file given with "/report PATH", so tests can check what
// typing delivered.
#include "winapp.h"

namespace {
HWND g_edit;
std::wstring g_report;

void report() {
  if (g_report.empty()) return;
  int n = GetWindowTextLengthW(g_edit);
  std::wstring text(size_t(n) + 1, L'\0');
  GetWindowTextW(g_edit, text.data(), n + 1);
  text.resize(size_t(n));
  int len = WideCharToMultiByte(CP_UTF8, 0, text.data(), n, nullptr, 0, nullptr, nullptr);
  std::string utf8(size_t(len), '\0');
  WideCharToMultiByte(CP_UTF8, 0, text.data(), n, utf8.data(), len, nullptr, nullptr);
  std::wstring tmp = g_report + L".tmp";
  HANDLE f = CreateFileW(tmp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, 0, nullptr);
  if (f == INVALID_HANDLE_VALUE) return;
  DWORD done = 0;
  WriteFile(f, utf8.data(), DWORD(utf8.size()), &done, nullptr);
  CloseHandle(f);
  MoveFileExW(tmp.c_str(), g_report.c_str(), MOVEFILE_REPLACE_EXISTING);
}

LRESULT CALLBACK proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case WM_CREATE:
      winapp_timers(hwnd);
      g_edit = CreateWindowExW(WS_EX_CLIENTEDGE, L"EDIT", L"", WS_CHILD | WS_VISIBLE | ES_MULTILINE | ES_AUTOVSCROLL,
                               10, 10, 380, 180, hwnd, reinterpret_cast<HMENU>(1), nullptr, nullptr);
      SetFocus(g_edit);
      return 0;
    case WM_SETFOCUS: SetFocus(g_edit); return 0;
    case WM_TIMER: if (winapp_on_timer(hwnd, wp)) return 0; break;
    case WM_COMMAND:
      if (LOWORD(wp) == 1 && HIWORD(wp) == EN_CHANGE) report();
      return 0;
    case WM_CLOSE: report(); DestroyWindow(hwnd); return 0;
    case WM_DESTROY: PostQuitMessage(0); return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}
}  // namespace

int WINAPI WinMain(HINSTANCE, HINSTANCE, LPSTR, int) {
  g_report = winapp_arg(L"report");
  winapp_window(L"VredirEditApp", L"vredir edit", proc, 400, 200);
  return winapp_loop();
}
