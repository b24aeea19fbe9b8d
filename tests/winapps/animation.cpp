// animation: double-buffered drawing. Each frame is drawn on a memory DC
// (a compatible bitmap) and copied to the window with one BitBlt.
#include <cstdio>

#include "winapp.h"

namespace {
int g_frame = 0;
const int kW = 320, kH = 200;

void draw(HWND hwnd) {
  HDC dc = GetDC(hwnd);
  HDC mem = CreateCompatibleDC(dc);
  HBITMAP bmp = CreateCompatibleBitmap(dc, kW, kH);
  HGDIOBJ old = SelectObject(mem, bmp);
  RECT all{0, 0, kW, kH};
  HBRUSH bg = CreateSolidBrush(RGB(20, 30, 60));
  FillRect(mem, &all, bg);
  DeleteObject(bg);
  int x = (g_frame * 4) % (kW - 40);
  HBRUSH ball = CreateSolidBrush(RGB(255, 200, 0));
  HGDIOBJ ob = SelectObject(mem, ball);
  Ellipse(mem, x, 80, x + 40, 120);
  SelectObject(mem, ob);
  DeleteObject(ball);
  wchar_t text[32];
  int n = swprintf(text, 32, L"frame %d", g_frame);
  SetTextColor(mem, RGB(255, 255, 255));
  SetBkMode(mem, TRANSPARENT);
  TextOutW(mem, 8, 8, text, n);
  BitBlt(dc, 0, 0, kW, kH, mem, 0, 0, SRCCOPY);
  SelectObject(mem, old);
  DeleteObject(bmp);
  DeleteDC(mem);
  ReleaseDC(hwnd, dc);
}

LRESULT CALLBACK proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  switch (msg) {
    case WM_CREATE:
      winapp_timers(hwnd);
      SetTimer(hwnd, 1, winapp_ms(L"interval") ? winapp_ms(L"interval") : 40, nullptr);
      return 0;
    case WM_TIMER:
      if (winapp_on_timer(hwnd, wp)) return 0;
      ++g_frame;
      draw(hwnd);
      return 0;
    case WM_PAINT: {
      PAINTSTRUCT ps;
      BeginPaint(hwnd, &ps);
      EndPaint(hwnd, &ps);
      draw(hwnd);
      return 0;
    }
    case WM_DESTROY: PostQuitMessage(0); return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}
}  // namespace

int WINAPI WinMain(HINSTANCE, HINSTANCE, LPSTR, int) {
  winapp_window(L"VredirAnimation", L"vredir animation", proc, kW, kH);
  return winapp_loop();
}
