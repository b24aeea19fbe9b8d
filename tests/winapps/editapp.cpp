// editapp: an EDIT control that reports its contents. Every change is written
// (UTF-8) to the file given with "/report PATH", so tests can check what
// typing delivered.
// "/form 1" makes it a form instead: two single-line EDIT fields and a
// default OK button, with the dialog manager (IsDialogMessage) in the loop,
// so Tab, Shift+Tab and Enter act as in a dialog. The report is then
// "FIELD1|FIELD2", with "|ok" once OK was pressed.
#include "winapp.h"

namespace {
HWND g_edit, g_field2;
bool g_form = false, g_ok = false;
std::wstring g_report;

std::wstring text_of(HWND h) {
  int n = GetWindowTextLengthW(h);
  std::wstring text(size_t(n) + 1, L'\0');
  GetWindowTextW(h, text.data(), n + 1);
  text.resize(size_t(n));
  return text;
}

void report() {
  if (g_report.empty()) return;
  std::wstring text = text_of(g_edit);
  if (g_form) text += L"|" + text_of(g_field2) + (g_ok ? L"|ok" : L"");
  int n = int(text.size());
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

HWND child(const wchar_t* cls, DWORD style, int x, int y, int w, int h, HWND parent, int id) {
  return CreateWindowExW(WS_EX_CLIENTEDGE, cls, L"", WS_CHILD | WS_VISIBLE | style, x, y, w, h, parent,
                         reinterpret_cast<HMENU>(INT_PTR(id)), nullptr, nullptr);
}

LRESULT CALLBACK proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case WM_CREATE:
      winapp_timers(hwnd);
      if (g_form) {
        g_edit = child(L"EDIT", WS_TABSTOP | ES_AUTOHSCROLL, 10, 10, 380, 24, hwnd, 1);
        g_field2 = child(L"EDIT", WS_TABSTOP | ES_AUTOHSCROLL, 10, 44, 380, 24, hwnd, 2);
        CreateWindowExW(0, L"BUTTON", L"OK", WS_CHILD | WS_VISIBLE | WS_TABSTOP | BS_DEFPUSHBUTTON, 310, 160, 80, 28,
                        hwnd, reinterpret_cast<HMENU>(IDOK), nullptr, nullptr);
      } else {
        g_edit = child(L"EDIT", ES_MULTILINE | ES_AUTOVSCROLL, 10, 10, 380, 180, hwnd, 1);
      }
      SetFocus(g_edit);
      return 0;
    case WM_SETFOCUS: SetFocus(g_edit); return 0;
    case WM_TIMER: if (winapp_on_timer(hwnd, wp)) return 0; break;
    case WM_COMMAND:
      if ((LOWORD(wp) == 1 || LOWORD(wp) == 2) && HIWORD(wp) == EN_CHANGE) report();
      if (LOWORD(wp) == IDOK && g_form) {
        g_ok = true;
        report();
      }
      return 0;
    case WM_CLOSE: report(); DestroyWindow(hwnd); return 0;
    case WM_DESTROY: PostQuitMessage(0); return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}
}  // namespace

int WINAPI WinMain(HINSTANCE, HINSTANCE, LPSTR, int) {
  g_report = winapp_arg(L"report");
  g_form = !winapp_arg(L"form").empty();
  HWND main = winapp_window(L"VredirEditApp", g_form ? L"vredir form" : L"vredir edit", proc, 400, 200);
  if (!g_form) return winapp_loop();
  MSG msg;
  while (GetMessageW(&msg, nullptr, 0, 0) > 0) {
    if (IsDialogMessageW(main, &msg)) continue;
    TranslateMessage(&msg);
    DispatchMessageW(&msg);
  }
  return int(msg.wParam);
}
