// textview: a scrolling text view. Down/Up keys, the wheel or "/auto-scroll MS"
// scroll it by one line with ScrollWindowEx; only the exposed line is repainted.
#include <cstdio>

#include "winapp.h"

namespace {
int g_top = 0;
const int kLine = 18, kLines = 1000;
HFONT g_font;

void scroll_by(HWND hwnd, int lines) {
  int next = g_top + lines;
  if (next < 0) next = 0;
  if (next > kLines - 1) next = kLines - 1;
  if (next == g_top) return;
  ScrollWindowEx(hwnd, 0, (g_top - next) * kLine, nullptr, nullptr, nullptr, nullptr, SW_INVALIDATE);
  g_top = next;
  UpdateWindow(hwnd);
}

LRESULT CALLBACK proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case WM_CREATE:
      winapp_timers(hwnd);
      if (UINT ms = winapp_ms(L"auto-scroll")) SetTimer(hwnd, 1, ms, nullptr);
      return 0;
    case WM_TIMER:
      if (winapp_on_timer(hwnd, wp)) return 0;
      scroll_by(hwnd, 1);
      return 0;
    case WM_KEYDOWN:
      if (wp == VK_DOWN) scroll_by(hwnd, 1);
      if (wp == VK_UP) scroll_by(hwnd, -1);
      if (wp == VK_NEXT) scroll_by(hwnd, 10);
      return 0;
    case WM_MOUSEWHEEL: scroll_by(hwnd, -GET_WHEEL_DELTA_WPARAM(wp) / 40); return 0;
    case WM_PAINT: {
      PAINTSTRUCT ps;
      HDC dc = BeginPaint(hwnd, &ps);
      HGDIOBJ of = SelectObject(dc, g_font);
      int first = ps.rcPaint.top / kLine, last = ps.rcPaint.bottom / kLine;
      for (int i = first; i <= last && g_top + i < kLines; ++i) {
        wchar_t text[96];
        int n = swprintf(text, 96, L"Line %d: the quick brown fox jumps over the lazy dog", g_top + i + 1);
        RECT r{0, i * kLine, ps.rcPaint.right, (i + 1) * kLine};
        SetBkColor(dc, (g_top + i) % 2 ? RGB(240, 240, 255) : RGB(255, 255, 255));
        ExtTextOutW(dc, 4, i * kLine + 1, ETO_OPAQUE, &r, text, UINT(n), nullptr);
      }
      SelectObject(dc, of);
      EndPaint(hwnd, &ps);
      return 0;
    }
    case WM_DESTROY: PostQuitMessage(0); return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}
}  // namespace

int WINAPI WinMain(HINSTANCE, HINSTANCE, LPSTR, int) {
  g_font = CreateFontW(-14, 0, 0, 0, FW_NORMAL, FALSE, FALSE, FALSE, DEFAULT_CHARSET, 0, 0, 0, 0, L"Courier New");
  winapp_window(L"VredirTextView", L"vredir textview", proc, 520, 360);
  return winapp_loop();
}
