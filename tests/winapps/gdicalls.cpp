// gdicalls: the GDI calls the primitives app leaves out, each with known
// geometry and colours: blits from a memory DC (StretchBlt, TransparentBlt,
// AlphaBlend, MaskBlt), PolyPolygon, FillRgn and PaintRgn, the ANSI text
// calls (TextOutA, ExtTextOutA, DrawTextA) and ScrollDC.
#include "winapp.h"

namespace {

// A 40x40 memory bitmap: magenta (the transparent key) with a blue square
// and a green disc, drawn with commands on the memory DC.
HDC make_source(HDC screen, HBITMAP* bmp) {
  HDC mem = CreateCompatibleDC(screen);
  *bmp = CreateCompatibleBitmap(screen, 40, 40);
  SelectObject(mem, *bmp);
  RECT all{0, 0, 40, 40};
  HBRUSH key = CreateSolidBrush(RGB(255, 0, 255));
  FillRect(mem, &all, key);
  DeleteObject(key);
  RECT sq{4, 4, 24, 24};
  HBRUSH blue = CreateSolidBrush(RGB(0, 0, 255));
  FillRect(mem, &sq, blue);
  DeleteObject(blue);
  HBRUSH green = CreateSolidBrush(RGB(0, 160, 0));
  HGDIOBJ ob = SelectObject(mem, green);
  HGDIOBJ op = SelectObject(mem, GetStockObject(NULL_PEN));
  Ellipse(mem, 16, 16, 39, 39);
  SelectObject(mem, op);
  SelectObject(mem, ob);
  DeleteObject(green);
  return mem;
}

void paint(HDC dc) {
  HBITMAP bmp;
  HDC src = make_source(dc, &bmp);

  // Row 1: the source as is, doubled, keyed and blended.
  BitBlt(dc, 10, 10, 40, 40, src, 0, 0, SRCCOPY);
  StretchBlt(dc, 60, 10, 80, 80, src, 0, 0, 40, 40, SRCCOPY);
  RECT grey{150, 10, 230, 90};
  HBRUSH gb = CreateSolidBrush(RGB(200, 200, 200));
  FillRect(dc, &grey, gb);
  DeleteObject(gb);
  TransparentBlt(dc, 150, 10, 40, 40, src, 0, 0, 40, 40, RGB(255, 0, 255));
  BLENDFUNCTION half{AC_SRC_OVER, 0, 128, 0};
  AlphaBlend(dc, 190, 50, 40, 40, src, 0, 0, 40, 40, half);

  // MaskBlt: a monochrome mask whose left half selects the source.
  HDC mdc = CreateCompatibleDC(dc);
  HBITMAP mask = CreateBitmap(40, 40, 1, 1, nullptr);
  HGDIOBJ omask = SelectObject(mdc, mask);
  PatBlt(mdc, 0, 0, 40, 40, BLACKNESS);
  PatBlt(mdc, 0, 0, 20, 40, WHITENESS);
  SelectObject(mdc, omask);
  DeleteDC(mdc);
  HBRUSH cyan = CreateSolidBrush(RGB(0, 255, 255));
  HGDIOBJ ob = SelectObject(dc, cyan);
  MaskBlt(dc, 240, 10, 40, 40, src, 0, 0, mask, 0, 0, MAKEROP4(PATCOPY, SRCCOPY));
  SelectObject(dc, ob);
  DeleteObject(cyan);
  DeleteObject(mask);

  DeleteDC(src);
  DeleteObject(bmp);

  // Row 2: two squares in one PolyPolygon, an elliptic FillRgn, a PaintRgn.
  HBRUSH orange = CreateSolidBrush(RGB(255, 128, 0));
  ob = SelectObject(dc, orange);
  HGDIOBJ op = SelectObject(dc, GetStockObject(BLACK_PEN));
  POINT pts[8] = {{10, 100}, {50, 100}, {50, 140}, {10, 140}, {60, 100}, {100, 100}, {100, 140}, {60, 140}};
  INT counts[2] = {4, 4};
  PolyPolygon(dc, pts, counts, 2);
  SelectObject(dc, op);
  SelectObject(dc, ob);
  DeleteObject(orange);

  HRGN ell = CreateEllipticRgn(110, 100, 170, 140);
  HBRUSH red = CreateSolidBrush(RGB(220, 0, 0));
  FillRgn(dc, ell, red);
  DeleteObject(red);
  DeleteObject(ell);

  HRGN a = CreateRectRgn(180, 100, 220, 120), b = CreateRectRgn(200, 110, 240, 140);
  CombineRgn(a, a, b, RGN_OR);
  HBRUSH purple = CreateSolidBrush(RGB(128, 0, 160));
  ob = SelectObject(dc, purple);
  PaintRgn(dc, a);
  SelectObject(dc, ob);
  DeleteObject(purple);
  DeleteObject(a);
  DeleteObject(b);

  // Row 3: the ANSI text calls.
  HFONT font = CreateFontW(-16, 0, 0, 0, FW_NORMAL, FALSE, FALSE, FALSE, DEFAULT_CHARSET, 0, 0, 0, 0, L"Arial");
  HGDIOBJ of = SelectObject(dc, font);
  SetBkMode(dc, TRANSPARENT);
  SetTextColor(dc, RGB(0, 0, 128));
  TextOutA(dc, 10, 150, "TextOutA ANSI", 13);
  SetTextColor(dc, RGB(128, 0, 0));
  ExtTextOutA(dc, 10, 172, 0, nullptr, "ExtTextOutA ANSI", 16, nullptr);
  RECT tr{150, 150, 300, 190};
  SetTextColor(dc, RGB(0, 96, 0));
  DrawTextA(dc, "DrawTextA", -1, &tr, DT_CENTER | DT_VCENTER | DT_SINGLELINE);
  SelectObject(dc, of);
  DeleteObject(font);

  // Row 4: a striped block, then ScrollDC moves its top 20 rows down by 20.
  for (int i = 0; i < 4; ++i) {
    RECT s{10, 200 + i * 10, 110, 210 + i * 10};
    HBRUSH c = CreateSolidBrush(i % 2 ? RGB(0, 0, 0) : RGB(255, 220, 0));
    FillRect(dc, &s, c);
    DeleteObject(c);
  }
  RECT scroll{10, 200, 110, 240};
  ScrollDC(dc, 0, 20, &scroll, &scroll, nullptr, nullptr);
}

}  // namespace

int WINAPI WinMain(HINSTANCE, HINSTANCE, LPSTR, int) {
  winapp_window(L"VredirGdiCalls", L"vredir gdicalls", winapp_paint_proc<paint>, 320, 250);
  return winapp_loop();
}
