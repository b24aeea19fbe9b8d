// primitives: one window that draws every GDI primitive gdi-forward forwards,
// with known colours and strings, so tests can look for them in the stream.
#include "winapp.h"

namespace {

void paint(HDC dc) {
  RECT red{10, 10, 110, 60};
  HBRUSH b = CreateSolidBrush(RGB(255, 0, 0));
  FillRect(dc, &red, b);
  DeleteObject(b);

  HPEN pen = CreatePen(PS_SOLID, 2, RGB(0, 0, 0));
  HBRUSH blue = CreateSolidBrush(RGB(0, 0, 255));
  HGDIOBJ op = SelectObject(dc, pen), ob = SelectObject(dc, blue);
  Rectangle(dc, 120, 10, 220, 60);
  HBRUSH green = CreateSolidBrush(RGB(0, 160, 0));
  SelectObject(dc, green);
  Ellipse(dc, 230, 10, 330, 60);
  HBRUSH yellow = CreateSolidBrush(RGB(255, 255, 0));
  SelectObject(dc, yellow);
  RoundRect(dc, 340, 10, 440, 60, 16, 16);
  Pie(dc, 10, 70, 70, 130, 70, 100, 40, 70);
  Chord(dc, 80, 70, 140, 130, 140, 100, 80, 100);
  POINT tri[3] = {{160, 130}, {190, 70}, {220, 130}};
  Polygon(dc, tri, 3);
  SelectObject(dc, ob);
  SelectObject(dc, op);
  DeleteObject(pen);
  DeleteObject(blue);
  DeleteObject(green);
  DeleteObject(yellow);

  HPEN dash = CreatePen(PS_DASH, 1, RGB(128, 0, 128));
  op = SelectObject(dc, dash);
  POINT zig[4] = {{230, 130}, {260, 70}, {290, 130}, {320, 70}};
  Polyline(dc, zig, 4);
  MoveToEx(dc, 330, 70, nullptr);
  LineTo(dc, 440, 130);
  POINT bez[4] = {{330, 130}, {360, 60}, {410, 140}, {440, 70}};
  PolyBezier(dc, bez, 4);
  SelectObject(dc, op);
  DeleteObject(dash);

  HFONT font = CreateFontW(-20, 0, 0, 0, FW_BOLD, FALSE, FALSE, FALSE, DEFAULT_CHARSET, 0, 0, 0, 0, L"Arial");
  HGDIOBJ of = SelectObject(dc, font);
  SetTextColor(dc, RGB(0, 0, 128));
  SetBkMode(dc, TRANSPARENT);
  TextOutW(dc, 10, 140, L"Hello GDI", 9);
  SelectObject(dc, of);
  DeleteObject(font);
  SetTextColor(dc, RGB(0, 0, 0));
  const wchar_t uni[] = L"Unicode: \u00e9t\u00e9 \u2713";
  ExtTextOutW(dc, 10, 170, 0, nullptr, uni, UINT(wcslen(uni)), nullptr);
  RECT tr{200, 140, 440, 190};
  DrawTextW(dc, L"Centered by DrawText", -1, &tr, DT_CENTER | DT_VCENTER | DT_SINGLELINE);

  TRIVERTEX v[2] = {{10, 200, 0xff00, 0, 0, 0}, {210, 230, 0, 0, 0xff00, 0}};
  GRADIENT_RECT gr{0, 1};
  GradientFill(dc, v, 2, &gr, 1, GRADIENT_FILL_RECT_H);

  HBRUSH hatch = CreateHatchBrush(HS_DIAGCROSS, RGB(0, 128, 128));
  ob = SelectObject(dc, hatch);
  PatBlt(dc, 220, 200, 60, 30, PATCOPY);
  SelectObject(dc, ob);
  DeleteObject(hatch);
  RECT fr{290, 200, 350, 230};
  HBRUSH frame = CreateSolidBrush(RGB(255, 128, 0));
  FrameRect(dc, &fr, frame);
  DeleteObject(frame);
  RECT inv{360, 200, 440, 230};
  InvertRect(dc, &inv);

  // A small DIB the hook cannot describe as commands: travels as pixels.
  static uint32_t px[16 * 16];
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) px[y * 16 + x] = ((x ^ y) & 4) ? 0x00FF00FF : 0x0000FFFF;
  BITMAPINFO bi{};
  bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
  bi.bmiHeader.biWidth = 16;
  bi.bmiHeader.biHeight = -16;
  bi.bmiHeader.biPlanes = 1;
  bi.bmiHeader.biBitCount = 32;
  SetDIBitsToDevice(dc, 10, 240, 16, 16, 0, 0, 0, 16, px, &bi, DIB_RGB_COLORS);
  StretchDIBits(dc, 40, 240, 32, 32, 0, 0, 16, 16, px, &bi, DIB_RGB_COLORS, SRCCOPY);
}

}  // namespace

int WINAPI WinMain(HINSTANCE, HINSTANCE, LPSTR, int) {
  winapp_window(L"VredirPrimitives", L"vredir primitives", winapp_paint_proc<paint>, 460, 290);
  return winapp_loop();
}
