// Drawing capture: each hooked GDI/user32 output call becomes GDI records,
// with the DC's state (pen, brush, font, colours, modes, clip) sent as a
// STATE record whenever it changed, and coordinates converted to device
// pixels relative to the target (top-level client area, or surface origin).
#include <windows.h>

#include <climits>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hook.hpp"
#include "pipe_link.hpp"
#include "wire/stream_writer.hpp"

namespace gdi_hook {

namespace {

// ---- targets --------------------------------------------------------------

struct Target {
  uint32_t id = 0;
  POINT off{0, 0};    // device -> target coordinates
  HWND top = nullptr;  // window targets
  HWND hwnd = nullptr;
  POINT org{0, 0};     // device origin in screen coordinates (windows)
  RECT area{};         // the top-level window's target area in screen coordinates (target_area)
  bool plain = false;  // logical -> device is a translation by lp (no LPtoDP call)
  POINT lp{0, 0};
};

// Made by CreateCompatibleBitmap, with the size asked. Its own lock, held
// for nothing but the map: user32 creates bitmaps while it holds its display
// DC lock (icons), so that hook must never wait for the hook's main lock,
// which a thread may hold while it calls into user32.
std::map<HBITMAP, SIZE> g_command_bitmaps;
SRWLOCK g_command_bitmaps_lock = SRWLOCK_INIT;
bool command_bitmap_size(HBITMAP b, SIZE* size) {
  AcquireSRWLockShared(&g_command_bitmaps_lock);
  auto it = g_command_bitmaps.find(b);
  bool found = it != g_command_bitmaps.end();
  if (found) *size = it->second;
  ReleaseSRWLockShared(&g_command_bitmaps_lock);
  return found;
}
std::map<HBITMAP, uint32_t> g_surfaces;       // bitmap -> surface target
std::map<uint32_t, gdi::State> g_last_state;  // per target
std::set<uint32_t> g_dirty;                   // window targets drawn since FLUSH
uint32_t g_next_surface = 0x10000;            // surfaces: a range apart from windows

int32_t clamp_coord(long v) { return v < gdi::kMinCoord ? gdi::kMinCoord : v > gdi::kMaxCoord ? gdi::kMaxCoord : int32_t(v); }

gdi::Rect make_rect(long l, long t, long r, long b) {
  if (r < l) std::swap(l, r);
  if (b < t) std::swap(t, b);
  gdi::Rect out;
  out.x = clamp_coord(l);
  out.y = clamp_coord(t);
  long w = r - out.x, h = b - out.y;
  out.w = int32_t(w < 0 ? 0 : w > gdi::kMaxExtent ? gdi::kMaxExtent : w);
  out.h = int32_t(h < 0 ? 0 : h > gdi::kMaxExtent ? gdi::kMaxExtent : h);
  return out;
}

uint32_t surface_for(HBITMAP bmp, SIZE asked) {
  auto it = g_surfaces.find(bmp);
  if (it != g_surfaces.end()) return it->second;
  BITMAP bm{};
  bm.bmWidth = asked.cx;
  bm.bmHeight = asked.cy;
  // A zero size gets a 1x1 bitmap: ask GDI what it made.
  if ((asked.cx <= 0 || asked.cy <= 0) && (!GetObjectW(bmp, sizeof(bm), &bm) || bm.bmWidth <= 0 || bm.bmHeight <= 0))
    return 0;
  if (uint32_t(bm.bmWidth) > gdi::kMaxSurfaceSide || uint32_t(bm.bmHeight) > gdi::kMaxSurfaceSide ||
      uint64_t(bm.bmWidth) * uint64_t(bm.bmHeight) > gdi::kMaxPixels)
    return 0;
  uint32_t id = g_next_surface++;
  g_surfaces[bmp] = id;
  send(gdi::SurfaceCreate{id, uint32_t(bm.bmWidth), uint32_t(bm.bmHeight)});
  return id;
}

// Most DCs map logical to device coordinates by a translation (MM_TEXT,
// no world transform, left-to-right layout): what the DC's attributes say,
// read in the process, spares a call into win32u per coordinate.
void note_transform(HDC hdc, Target* t) {
  POINT w{}, v{};
  t->plain = GetMapMode(hdc) == MM_TEXT && GetGraphicsMode(hdc) == GM_COMPATIBLE && GetLayout(hdc) == 0 &&
             GetWindowOrgEx(hdc, &w) && GetViewportOrgEx(hdc, &v);
  t->lp = {v.x - w.x, v.y - w.y};
}

long add_clamped(long a, long b) {
  int64_t v = int64_t(a) + b;
  return v < LONG_MIN ? LONG_MIN : v > LONG_MAX ? LONG_MAX : long(v);
}

void to_device(HDC hdc, const Target& t, POINT* p, int n) {
  if (!t.plain) {
    LPtoDP(hdc, p, n);
    return;
  }
  for (int i = 0; i < n; ++i) p[i] = {add_clamped(p[i].x, t.lp.x), add_clamped(p[i].y, t.lp.y)};
}

// Which target a DC draws to. Window DCs map onto their top-level window's
// client area (child controls included); memory DCs onto the surface of a
// bitmap we saw created for drawing.
bool resolve(HDC hdc, Target* t) {
  if (!hdc) return false;
  // The object type is known in the process; WindowFromDC is a call into
  // win32u, made for window DCs only.
  DWORD type = GetObjectType(hdc);
  if (type == OBJ_MEMDC) {
    HBITMAP bmp = static_cast<HBITMAP>(GetCurrentObject(hdc, OBJ_BITMAP));
    SIZE size{};
    if (!bmp || !command_bitmap_size(bmp, &size)) return false;
    t->id = surface_for(bmp, size);
    t->off = {0, 0};
    note_transform(hdc, t);
    return t->id != 0;
  }
  HWND hwnd = type == OBJ_DC ? WindowFromDC(hdc) : nullptr;
  if (hwnd) {
    HWND top = GetAncestor(hwnd, GA_ROOT);
    if (!top || top == GetDesktopWindow()) return false;
    t->id = ensure_window(top);
    if (!t->id) return false;
    t->top = top;
    t->hwnd = hwnd;
    GetDCOrgEx(hdc, &t->org);
    POINT client{0, 0};
    t->area = target_area(top, &client);
    t->off = {t->org.x - t->area.left, t->org.y - t->area.top};
    // The top-level window's own frame and caption (a window DC) are not
    // forwarded: the local window manager draws them. Its menu bar is
    // (clip_of keeps such drawing to the target area).
    const bool window_dc = hwnd == top && (t->org.x != client.x || t->org.y != client.y);
    if (window_dc && t->area.top == client.y) return false;
    note_transform(hdc, t);
    return true;
  }
  return false;
}

gdi::Point to_target(HDC hdc, const Target& t, long x, long y) {
  POINT p{x, y};
  to_device(hdc, t, &p, 1);
  return {clamp_coord(add_clamped(p.x, t.off.x)), clamp_coord(add_clamped(p.y, t.off.y))};
}

gdi::Rect rect_to_target(HDC hdc, const Target& t, long l, long tp, long r, long b) {
  POINT p[2] = {{l, tp}, {r, b}};
  to_device(hdc, t, p, 2);
  return make_rect(add_clamped(p[0].x, t.off.x), add_clamped(p[0].y, t.off.y), add_clamped(p[1].x, t.off.x),
                   add_clamped(p[1].y, t.off.y));
}

std::vector<gdi::Rect> region_rects(HRGN rgn, long dx, long dy, size_t max = 512) {
  std::vector<gdi::Rect> out;
  DWORD size = GetRegionData(rgn, 0, nullptr);
  if (size == 0) return out;
  std::vector<char> buf(size);
  auto* data = reinterpret_cast<RGNDATA*>(buf.data());
  if (!GetRegionData(rgn, size, data)) return out;
  const RECT* r = reinterpret_cast<const RECT*>(data->Buffer);
  for (DWORD i = 0; i < data->rdh.nCount && out.size() < max; ++i)
    out.push_back(make_rect(r[i].left + dx, r[i].top + dy, r[i].right + dx, r[i].bottom + dy));
  if (data->rdh.nCount > max) {  // too fragmented: keep the bounding box
    const RECT& bb = data->rdh.rcBound;
    out.assign(1, make_rect(bb.left + dx, bb.top + dy, bb.right + dx, bb.bottom + dy));
  }
  return out;
}

// Clip in target coordinates: the window's visible region (screen
// coordinates) and the app's clip region (device coordinates) combined.
std::vector<gdi::Rect> clip_of(HDC hdc, const Target& t) {
  // Scratch regions, made once and refilled (callers hold the Lock).
  static HRGN clip = CreateRectRgn(0, 0, 0, 0), vis = CreateRectRgn(0, 0, 0, 0), whole = CreateRectRgn(0, 0, 0, 0);
  std::vector<gdi::Rect> out;
  bool has_clip = GetClipRgn(hdc, clip) == 1;
  if (t.top) {
    if (GetRandomRgn(hdc, vis, SYSRGN) == 1) {
      if (has_clip) {
        OffsetRgn(clip, t.org.x, t.org.y);
        CombineRgn(vis, vis, clip, RGN_AND);
      }
      const RECT& a = t.area;
      SetRectRgn(whole, a.left, a.top, a.right, a.bottom);
      // A window DC's region covers the frame and caption too.
      CombineRgn(vis, vis, whole, RGN_AND);
      if (!EqualRgn(vis, whole)) {
        out = region_rects(vis, -a.left, -a.top);
        if (out.empty()) out.push_back(gdi::Rect{0, 0, 0, 0});  // nothing visible
      }
    }
  } else if (has_clip) {
    out = region_rects(clip, t.off.x, t.off.y);
    if (out.empty()) out.push_back(gdi::Rect{0, 0, 0, 0});
  }
  return out;
}

// ---- object descriptions ------------------------------------------------

// Pens, brushes and fonts never change once made: what GetObject and the
// font calls said about one is kept by handle until DeleteObject (through
// the hook) drops it. Handles deleted where no import table is crossed are
// not seen; GDI does not hand out the same value again soon (its handles
// carry a reuse count), and the caches start over past a bound.
std::map<HGDIOBJ, gdi::Pen> g_pens;
std::map<HGDIOBJ, gdi::Brush> g_brushes;
std::map<HGDIOBJ, uint32_t> g_font_ids;  // fonts used by MM_TEXT, GM_COMPATIBLE DCs
constexpr size_t kMaxCachedObjects = 4096;

template <class V, class H, class F>
V cached(std::map<HGDIOBJ, V>& cache, H handle, F describe) {
  auto it = cache.find(handle);
  if (it != cache.end()) return it->second;
  if (cache.size() >= kMaxCachedObjects) cache.clear();
  V v = describe(handle);
  cache.emplace(handle, v);
  return v;
}

void forget_object(HGDIOBJ h) {
  g_pens.erase(h);
  g_brushes.erase(h);
  g_font_ids.erase(h);
}

// ---- fonts ----------------------------------------------------------------

std::map<std::string, uint32_t> g_fonts;  // FONT_DEF body (metrics known), LOGFONT width, quality -> id
std::map<uint32_t, gdi::FontDef> g_font_defs;  // what each id was defined as, for a new reader
std::map<uint32_t, std::map<WORD, wchar_t>> g_glyph_chars;
std::set<uint32_t> g_unsmoothed_fonts;  // font ids GDI draws without smoothing
std::map<uint32_t, std::map<uint32_t, int>> g_bitmap_advances;  // font -> code (bit 16: glyph index) -> advance

// How GDI smooths the glyphs of the font selected into hdc, as Windows and
// Wine decide it: the LOGFONT's quality, else the system's font smoothing;
// then the font's 'gasp' table turns smoothing off at sizes it marks as
// not to be grey-scaled (unless GDI synthesises bold or italic, which it
// always smooths). Bitmap fonts are never smoothed.
uint8_t font_smoothing(HDC hdc, const LOGFONTW& lf, const TEXTMETRICW& tm, const gdi::FontDef& d) {
  uint8_t smooth = gdi::FontDef::kSmoothNone;
  if (tm.tmPitchAndFamily & (TMPF_VECTOR | TMPF_TRUETYPE)) {
    bool cleartype = lf.lfQuality == CLEARTYPE_QUALITY || lf.lfQuality == CLEARTYPE_NATURAL_QUALITY;
    if (lf.lfQuality == ANTIALIASED_QUALITY) {
      smooth = gdi::FontDef::kSmoothGrey;
    } else if (lf.lfQuality != NONANTIALIASED_QUALITY) {
      BOOL on = cleartype;
      UINT type = cleartype ? FE_FONTSMOOTHINGCLEARTYPE : 0, orientation = FE_FONTSMOOTHINGORIENTATIONRGB;
      if (!cleartype && SystemParametersInfoW(SPI_GETFONTSMOOTHING, 0, &on, 0) && on)
        SystemParametersInfoW(SPI_GETFONTSMOOTHINGTYPE, 0, &type, 0);
      if (on && type == FE_FONTSMOOTHINGCLEARTYPE) {
        SystemParametersInfoW(SPI_GETFONTSMOOTHINGORIENTATION, 0, &orientation, 0);
        smooth = orientation == FE_FONTSMOOTHINGORIENTATIONBGR ? gdi::FontDef::kSmoothBgr : gdi::FontDef::kSmoothRgb;
      } else if (on) {
        smooth = gdi::FontDef::kSmoothGrey;
      }
    }
    bool synthesised = false;
    if (UINT n = GetOutlineTextMetricsW(hdc, 0, nullptr)) {
      std::vector<char> buf(n);
      auto* otm = reinterpret_cast<OUTLINETEXTMETRICW*>(buf.data());
      if (GetOutlineTextMetricsW(hdc, n, otm))
        synthesised = (tm.tmItalic && !(otm->otmfsSelection & 1)) || (tm.tmWeight > FW_MEDIUM && !(otm->otmfsSelection & 0x20));
    }
    // gasp: u16 version, u16 count, count x {u16 max ppem, u16 flags}, big-endian.
    uint8_t gasp[4 + 4 * 64];
    DWORD got = smooth != gdi::FontDef::kSmoothNone && !synthesised
                    ? GetFontData(hdc, 0x70736167 /* 'gasp' */, 0, gasp, sizeof gasp)
                    : GDI_ERROR;
    if (got != GDI_ERROR && got >= 4) {
      unsigned count = unsigned(gasp[2] << 8 | gasp[3]);
      for (unsigned i = 0; i < count && 4 + 4 * i + 4 <= got; ++i) {
        const uint8_t* range = gasp + 4 + 4 * i;
        if (unsigned(range[0] << 8 | range[1]) < d.em) continue;
        if (!((range[2] << 8 | range[3]) & 0x2 /* GASP_DOGRAY */)) smooth = gdi::FontDef::kSmoothNone;
        break;
      }
    }
  }
  return smooth;
}

// A LOGFONT width stretches the glyphs horizontally: GDI scales them by the
// requested average width over the face's own at that height.
uint16_t font_stretch(HDC hdc, const LOGFONTW& lf) {
  if (lf.lfWidth == 0) return 1000;
  LOGFONTW natural = lf;
  natural.lfWidth = 0;
  HFONT f = CreateFontIndirectW(&natural);
  if (!f) return 1000;
  HGDIOBJ old = SelectObject(hdc, f);
  TEXTMETRICW tm{};
  BOOL got = GetTextMetricsW(hdc, &tm);
  SelectObject(hdc, old);
  DeleteObject(f);
  if (!got || tm.tmAveCharWidth <= 0) return 1000;
  long permille = (labs(lf.lfWidth) * 1000 + tm.tmAveCharWidth / 2) / tm.tmAveCharWidth;
  return uint16_t(permille < 1 ? 1 : permille > 16000 ? 16000 : permille);
}

uint32_t describe_font(HDC hdc, HFONT f);

// The font selected into hdc, as a FONT_DEF id (sent the first time). What
// GDI realises for a font depends on the DC's transform, so the per-handle
// cache serves plain (MM_TEXT, GM_COMPATIBLE) DCs only.
uint32_t font_id(HDC hdc) {
  HFONT f = static_cast<HFONT>(GetCurrentObject(hdc, OBJ_FONT));
  if (!f) return 0;
  if (GetMapMode(hdc) != MM_TEXT || GetGraphicsMode(hdc) != GM_COMPATIBLE) return describe_font(hdc, f);
  return cached(g_font_ids, f, [hdc](HFONT h) { return describe_font(hdc, h); });
}

uint32_t describe_font(HDC hdc, HFONT f) {
  LOGFONTW lf{};
  if (!GetObjectW(f, sizeof(lf), &lf)) return 0;
  gdi::FontDef d;
  d.height = lf.lfHeight;
  if (d.height == 0) {
    TEXTMETRICW tm{};
    if (GetTextMetricsW(hdc, &tm)) d.height = tm.tmHeight;
  }
  d.weight = uint16_t(lf.lfWeight == 0 ? FW_NORMAL : lf.lfWeight);
  d.italic = lf.lfItalic ? 1 : 0;
  d.underline = lf.lfUnderline ? 1 : 0;
  d.strikeout = lf.lfStrikeOut ? 1 : 0;
  d.charset = lf.lfCharSet;
  wchar_t face[LF_FACESIZE] = {};
  if (lf.lfFaceName[0]) wcsncpy(face, lf.lfFaceName, LF_FACESIZE - 1);
  else GetTextFaceW(hdc, LF_FACESIZE, face);
  d.face = gdi_forward::to_utf8(face);
  // What GDI realised for the request: a missing face comes back as a
  // substitute with other metrics, and the renderer must draw that one.
  TEXTMETRICW tm{};
  wchar_t real[LF_FACESIZE] = {};
  if (GetTextMetricsW(hdc, &tm) && GetTextFaceW(hdc, LF_FACESIZE, real) > 0) {
    long em = tm.tmHeight - tm.tmInternalLeading;
    if (em >= 1 && em <= gdi::kMaxFontPixels && tm.tmAscent >= 0 && tm.tmAscent <= gdi::kMaxFontPixels &&
        tm.tmDescent >= 0 && tm.tmDescent <= gdi::kMaxFontPixels) {
      d.real_face = gdi_forward::to_utf8(real);
      if (d.real_face.size() > 255) d.real_face.clear();
      d.em = uint16_t(em);
      d.ascent = uint16_t(tm.tmAscent);
      d.descent = uint16_t(tm.tmDescent);
      d.real_weight = uint16_t(tm.tmWeight < 0 ? 0 : tm.tmWeight > 1000 ? 1000 : tm.tmWeight);
      d.real_italic = tm.tmItalic ? 1 : 0;
      d.fixed_pitch = (tm.tmPitchAndFamily & TMPF_FIXED_PITCH) ? 0 : 1;  // the bit means variable
    }
  }
  // Known by the request and the metrics; smoothing and stretch, which
  // take more calls, are worked out once per font.
  std::string key;
  gdi::encode_record(d, key);
  key.append(reinterpret_cast<const char*>(&lf.lfWidth), sizeof lf.lfWidth);
  key.push_back(char(lf.lfQuality));
  auto it = g_fonts.find(key);
  if (it != g_fonts.end()) return it->second;
  if (d.realised()) {
    d.smoothing = font_smoothing(hdc, lf, tm, d);
    d.stretch = font_stretch(hdc, lf);
  }
  d.font = uint32_t(g_fonts.size() + 1);
  g_fonts[key] = d.font;
  g_font_defs[d.font] = d;
  if (d.realised() && d.smoothing == gdi::FontDef::kSmoothNone) g_unsmoothed_fonts.insert(d.font);
  send(d);
  return d.font;
}

// ETO_GLYPH_INDEX text (Uniscribe, the edit control) carries glyph ids:
// map them back to characters through the font's cmap.
std::wstring chars_of_glyphs(HDC hdc, uint32_t font, const WORD* glyphs, UINT n) {
  auto& map = g_glyph_chars[font];
  if (map.empty()) {
    std::wstring chars;
    for (wchar_t c = 0x20; c < 0x250; ++c) chars.push_back(c);
    for (wchar_t c = 0x2010; c < 0x2030; ++c) chars.push_back(c);
    std::vector<WORD> idx(chars.size());
    if (GetGlyphIndicesW(hdc, chars.data(), int(chars.size()), idx.data(), GGI_MARK_NONEXISTING_GLYPHS) != GDI_ERROR)
      for (size_t i = 0; i < chars.size(); ++i)
        if (idx[i] != 0xFFFF && !map.count(idx[i])) map[idx[i]] = chars[i];
    map[0xFFFF] = 0xFFFD;
  }
  std::wstring out;
  for (UINT i = 0; i < n; ++i) {
    auto it = map.find(glyphs[i]);
    out.push_back(it == map.end() ? wchar_t(0xFFFD) : it->second);
  }
  return out;
}

// The pen advances of text drawn without a dx array, as GDI will place the
// glyphs. Without smoothing, Wine's rasteriser steps by each glyph's
// advance as hinted for a one-bit bitmap, which can be a pixel off the
// advance GetTextExtentExPoint reports (hinted for grey levels): read it
// with GetGlyphOutline(GGO_BITMAP). False where GetTextExtentExPoint's own
// steps apply (smoothed fonts, character extra, surrogate pairs).
bool unsmoothed_advances(HDC hdc, uint32_t font, const wchar_t* s, UINT n, bool glyph_index, std::vector<int32_t>* out) {
  if (!g_unsmoothed_fonts.count(font) || GetTextCharacterExtra(hdc) != 0) return false;
  auto& cache = g_bitmap_advances[font];
  static const MAT2 identity{{0, 1}, {0, 0}, {0, 0}, {0, 1}};
  std::vector<int32_t> adv;
  adv.reserve(n);
  for (UINT i = 0; i < n; ++i) {
    uint32_t code = uint16_t(s[i]);
    if (!glyph_index && code >= 0xD800 && code <= 0xDFFF) return false;
    if (glyph_index) code |= 0x10000;
    auto it = cache.find(code);
    if (it == cache.end()) {
      GLYPHMETRICS gm{};
      if (GetGlyphOutlineW(hdc, code & 0xFFFF, GGO_BITMAP | (glyph_index ? GGO_GLYPH_INDEX : 0), &gm, 0, nullptr,
                           &identity) == GDI_ERROR)
        return false;
      if (cache.size() >= 4096) cache.clear();
      it = cache.emplace(code, gm.gmCellIncX).first;
    }
    adv.push_back(it->second);
  }
  *out = std::move(adv);
  return true;
}

// ---- state ----------------------------------------------------------------

uint8_t pen_style(DWORD s) {
  switch (s & PS_STYLE_MASK) {
    case PS_DASH: return 1;
    case PS_DOT: case PS_ALTERNATE: return 2;
    case PS_DASHDOT: return 3;
    case PS_DASHDOTDOT: return 4;
    case PS_NULL: return 5;
    case PS_USERSTYLE: return 1;
    default: return 0;
  }
}

gdi::Brush describe_brush(HBRUSH b);

gdi::Brush brush_of(HDC hdc, HBRUSH b) {
  gdi::Brush out;
  ULONG_PTR v = reinterpret_cast<ULONG_PTR>(b);
  if (v > 0 && v <= COLOR_MENUBAR + 1) {  // FillRect's COLOR_xxx + 1 convention
    out.color = rgb_of(GetSysColor(int(v - 1)));
    return out;
  }
  if (b == GetStockObject(DC_BRUSH)) {
    out.color = rgb_of(GetDCBrushColor(hdc));
    return out;
  }
  return cached(g_brushes, b, describe_brush);
}

gdi::Brush describe_brush(HBRUSH b) {
  gdi::Brush out;
  LOGBRUSH lb{};
  if (!GetObjectW(b, sizeof(lb), &lb)) return out;
  out.color = rgb_of(lb.lbColor);
  if (lb.lbStyle == BS_NULL) out.style = 1;
  else if (lb.lbStyle == BS_HATCHED) {
    out.style = 2;
    out.hatch = uint8_t(lb.lbHatch <= HS_DIAGCROSS ? lb.lbHatch : 0);
  } else if (lb.lbStyle == BS_PATTERN) {
    HBITMAP pat = reinterpret_cast<HBITMAP>(lb.lbHatch);
    BITMAP bm{};
    if (GetObjectW(pat, sizeof(bm), &bm) && bm.bmWidth > 0 && bm.bmHeight > 0) {
      int w = bm.bmWidth > 16 ? 16 : bm.bmWidth, h = bm.bmHeight > 16 ? 16 : bm.bmHeight;
      BITMAPINFO bi{};
      bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
      bi.bmiHeader.biWidth = bm.bmWidth;
      bi.bmiHeader.biHeight = -bm.bmHeight;
      bi.bmiHeader.biPlanes = 1;
      bi.bmiHeader.biBitCount = 32;
      std::vector<uint32_t> px(size_t(bm.bmWidth) * bm.bmHeight);
      HDC tmp = CreateCompatibleDC(nullptr);
      if (GetDIBits(tmp, pat, 0, bm.bmHeight, px.data(), &bi, DIB_RGB_COLORS)) {
        out.style = 3;
        out.pw = uint8_t(w);
        out.ph = uint8_t(h);
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x) out.pattern.push_back(px[size_t(y) * bm.bmWidth + x] & 0xFFFFFF);
      }
      DeleteDC(tmp);
    }
  }
  return out;
}

gdi::Pen describe_pen(HPEN h) {
  gdi::Pen out;
  int size = GetObjectW(h, 0, nullptr);
  if (size == int(sizeof(LOGPEN))) {
    LOGPEN lp{};
    GetObjectW(h, sizeof(lp), &lp);
    out.style = pen_style(lp.lopnStyle);
    out.width = uint16_t(lp.lopnWidth.x <= 0 ? 1 : lp.lopnWidth.x > 1000 ? 1000 : lp.lopnWidth.x);
    out.color = rgb_of(lp.lopnColor);
  } else if (size >= int(sizeof(EXTLOGPEN)) - int(sizeof(DWORD)) && size < 65536) {
    std::vector<char> buf(size_t(size) + sizeof(DWORD));
    auto* ep = reinterpret_cast<EXTLOGPEN*>(buf.data());
    if (GetObjectW(h, size, ep)) {
      out.style = pen_style(ep->elpPenStyle);
      out.width = uint16_t(ep->elpWidth == 0 ? 1 : ep->elpWidth > 1000 ? 1000 : ep->elpWidth);
      out.color = rgb_of(ep->elpColor);
    }
  }
  return out;
}

// The objects selected into a DC a call draws with. Each costs a call into
// win32u to learn; a call that does not draw with one leaves the target's
// last value in the state (the replay does not use it for that call either).
constexpr unsigned kUsesPen = 1, kUsesBrush = 2, kUsesFont = 4, kUsesAll = 7;

// A ROP3 that involves the pattern (the brush).
bool uses_pattern(DWORD rop) { return ((rop >> 4) ^ rop) & 0x0F0000; }

gdi::State state_of(HDC hdc, const Target& t, HBRUSH brush, unsigned uses) {
  gdi::State s;
  if (uses != kUsesAll) {
    auto last = g_last_state.find(t.id);
    if (last != g_last_state.end()) {
      s.pen = last->second.pen;
      s.brush = last->second.brush;
      s.font = last->second.font;
    }
  }
  s.target = t.id;
  if (uses & kUsesPen) {
    HPEN pen = static_cast<HPEN>(GetCurrentObject(hdc, OBJ_PEN));
    s.pen = pen == GetStockObject(DC_PEN) ? gdi::Pen{0, 1, rgb_of(GetDCPenColor(hdc))} : cached(g_pens, pen, describe_pen);
  }
  if (brush || (uses & kUsesBrush))
    s.brush = brush_of(hdc, brush ? brush : static_cast<HBRUSH>(GetCurrentObject(hdc, OBJ_BRUSH)));
  s.text = rgb_of(GetTextColor(hdc));
  s.bk = rgb_of(GetBkColor(hdc));
  s.bk_mode = uint8_t(GetBkMode(hdc) == TRANSPARENT ? 1 : 2);
  int rop2 = GetROP2(hdc);
  s.rop2 = uint8_t(rop2 >= 1 && rop2 <= 16 ? rop2 : R2_COPYPEN);
  s.text_align = GetTextAlign(hdc) & ~UINT(TA_UPDATECP);
  if (uses & kUsesFont) s.font = font_id(hdc);
  s.poly_fill_mode = uint8_t(GetPolyFillMode(hdc) == WINDING ? 2 : 1);
  s.clip = clip_of(hdc, t);
  return s;
}

void sync_state(const gdi::State& s) {
  auto it = g_last_state.find(s.target);
  if (it != g_last_state.end() && it->second == s) return;
  g_last_state[s.target] = s;
  send(s);
}

void mark_dirty(const Target& t) {
  if (t.top) g_dirty.insert(t.id);
}

// Common prologue of a recorded call: lock held, target resolved, state
// sent. Hooks build one only for the outermost call (see Depth), and keep
// the Depth alive across the real call so its internal calls are skipped.
struct Capture {
  Lock lock;
  bool on = false;
  Target t;
  HDC hdc;
  explicit Capture(HDC dc, HBRUSH brush = nullptr, bool with_state = true, unsigned uses = kUsesAll) : hdc(dc) {
    on = resolve(dc, &t);
    if (on) {
      if (with_state) sync_state(state_of(dc, t, brush, uses));
      mark_dirty(t);
    }
  }
};

// ---- pixels through the bitmap cache --------------------------------------

struct CacheEntry {
  uint64_t hash;
  uint32_t id;
};
std::map<uint64_t, uint32_t> g_bitmap_ids;
std::deque<CacheEntry> g_bitmap_order;
uint32_t g_next_bitmap = 1;
constexpr size_t kBitmapCacheEntries = 1024;

uint64_t fnv1a(const std::string& s, uint32_t w, uint32_t h) {
  uint64_t x = 1469598103934665603ull ^ (uint64_t(w) << 32 | h);
  for (unsigned char c : s) x = (x ^ c) * 1099511628211ull;
  return x;
}

// Reads w x h pixels of src at logical (x, y) as BGRX.
bool read_pixels(HDC src, int x, int y, int w, int h, std::string* out) {
  if (w <= 0 || h <= 0 || uint64_t(w) * uint64_t(h) > gdi::kMaxPixels) return false;
  BITMAPINFO bi{};
  bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
  bi.bmiHeader.biWidth = w;
  bi.bmiHeader.biHeight = -h;
  bi.bmiHeader.biPlanes = 1;
  bi.bmiHeader.biBitCount = 32;
  void* bits = nullptr;
  HDC mem = CreateCompatibleDC(src);
  HBITMAP dib = CreateDIBSection(mem, &bi, DIB_RGB_COLORS, &bits, nullptr, 0);
  bool ok = false;
  if (dib && bits) {
    HGDIOBJ old = SelectObject(mem, dib);
    ok = BitBlt(mem, 0, 0, w, h, src, x, y, SRCCOPY);
    if (ok) out->assign(static_cast<const char*>(bits), size_t(w) * h * 4);
    SelectObject(mem, old);
  }
  if (dib) DeleteObject(dib);
  DeleteDC(mem);
  return ok;
}

uint32_t cache_bitmap(const std::string& bgrx, uint32_t w, uint32_t h) {
  uint64_t hash = fnv1a(bgrx, w, h);
  auto it = g_bitmap_ids.find(hash);
  if (it != g_bitmap_ids.end()) return it->second;
  if (g_bitmap_order.size() >= kBitmapCacheEntries) {
    CacheEntry old = g_bitmap_order.front();
    g_bitmap_order.pop_front();
    g_bitmap_ids.erase(old.hash);
    send(gdi::BitmapFree{old.id});
  }
  gdi::BitmapDef def;
  def.bitmap = g_next_bitmap++;
  def.w = w;
  def.h = h;
  std::string z = vredir::stream::zlib_compress(bgrx, 1);
  if (!z.empty() && z.size() < bgrx.size()) {
    def.encoding = gdi::BitmapDef::kZlib;
    def.data = std::move(z);
  } else {
    def.data = bgrx;
  }
  send(def);
  g_bitmap_ids[hash] = def.bitmap;
  g_bitmap_order.push_back({hash, def.bitmap});
  return def.bitmap;
}

void send_pixels(const Target& t, const gdi::Rect& dst, const std::string& bgrx, uint32_t w, uint32_t h,
                 uint32_t rop3 = SRCCOPY) {
  uint32_t id = cache_bitmap(bgrx, w, h);
  send(gdi::BitmapDraw{t.id, dst, id, gdi::Rect{0, 0, int32_t(w), int32_t(h)}, rop3});
}

// A blit source we can name: a surface we replay, or a window.
bool resolve_source(HDC src, Target* t) {
  if (!src) return false;
  return resolve(src, t);
}

bool uses_source(DWORD rop) { return ((rop >> 2) ^ rop) & 0x330000; }

// After an operation we cannot express (a mask, alpha from unknown pixels),
// send the resulting destination pixels.
void send_readback(HDC hdc, const Target& t, int x, int y, int w, int h) {
  std::string px;
  if (w < 0) { x += w; w = -w; }
  if (h < 0) { y += h; h = -h; }
  if (!read_pixels(hdc, x, y, w, h, &px)) return;
  send_pixels(t, rect_to_target(hdc, t, x, y, x + w, y + h), px, uint32_t(w), uint32_t(h));
}

// Renders DIB bits given to SetDIBitsToDevice/StretchDIBits into BGRX.
template <typename Draw>
bool render_dib(int w, int h, Draw draw, std::string* out) {
  if (w <= 0 || h <= 0 || uint64_t(w) * uint64_t(h) > gdi::kMaxPixels) return false;
  BITMAPINFO bi{};
  bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
  bi.bmiHeader.biWidth = w;
  bi.bmiHeader.biHeight = -h;
  bi.bmiHeader.biPlanes = 1;
  bi.bmiHeader.biBitCount = 32;
  void* bits = nullptr;
  HDC mem = CreateCompatibleDC(nullptr);
  HBITMAP dib = CreateDIBSection(mem, &bi, DIB_RGB_COLORS, &bits, nullptr, 0);
  bool ok = false;
  if (dib && bits) {
    HGDIOBJ old = SelectObject(mem, dib);
    ok = draw(mem) != 0;
    GdiFlush();
    if (ok) out->assign(static_cast<const char*>(bits), size_t(w) * h * 4);
    SelectObject(mem, old);
  }
  if (dib) DeleteObject(dib);
  DeleteDC(mem);
  return ok;
}

std::string text_utf8(const wchar_t* s, UINT n) { return gdi_forward::to_utf8(s, int(n)); }

// ---- the hooks ------------------------------------------------------------

#define REAL(fn) decltype(&::fn) real_##fn = nullptr

REAL(BitBlt);
REAL(StretchBlt);
REAL(PatBlt);
REAL(MaskBlt);
REAL(GdiTransparentBlt);
REAL(GdiAlphaBlend);
REAL(GdiGradientFill);
REAL(Rectangle);
REAL(RoundRect);
REAL(Ellipse);
REAL(Arc);
REAL(Pie);
REAL(Chord);
REAL(Polygon);
REAL(PolyPolygon);
REAL(Polyline);
REAL(PolyPolyline);
REAL(PolyBezier);
REAL(LineTo);
REAL(MoveToEx);
REAL(FillRgn);
REAL(PaintRgn);
REAL(ExtTextOutW);
REAL(ExtTextOutA);
REAL(TextOutW);
REAL(TextOutA);
REAL(SetDIBitsToDevice);
REAL(StretchDIBits);
REAL(CreateCompatibleBitmap);
REAL(DeleteObject);
REAL(FillRect);
REAL(FrameRect);
REAL(InvertRect);
REAL(ScrollDC);
REAL(ScrollWindowEx);
REAL(ScrollWindow);
REAL(EndPaint);
REAL(GetMessageW);
REAL(GetMessageA);
REAL(PeekMessageW);
REAL(PeekMessageA);
REAL(MsgWaitForMultipleObjects);
REAL(MsgWaitForMultipleObjectsEx);
REAL(WaitMessage);
decltype(&::GdiTransparentBlt) real_TransparentBlt = nullptr;
decltype(&::GdiAlphaBlend) real_AlphaBlend = nullptr;
decltype(&::GdiGradientFill) real_GradientFill = nullptr;

BOOL WINAPI hook_BitBlt(HDC dst, int x, int y, int w, int h, HDC src, int sx, int sy, DWORD rop) {
  Depth d;
#ifdef VREDIR_GDI_HOOK_FLOOR
  // Floor build: a blit to a window marks it drawn, and the FLUSH that
  // follows at the message loop is the frame's one record.
  if (HWND hwnd = GetObjectType(dst) == OBJ_DC ? WindowFromDC(dst) : nullptr) {
    Lock lock;
    if (uint32_t id = ensure_window(GetAncestor(hwnd, GA_ROOT))) g_dirty.insert(id);
  }
#endif
  if (d.outermost()) {
    Capture c(dst, nullptr, true, uses_pattern(rop) ? kUsesBrush : 0);
    if (c.on) {
      gdi::Rect r = rect_to_target(dst, c.t, x, y, x + w, y + h);
      Target st;
      if (!uses_source(rop) || !src) {
        send(gdi::Copy{c.t.id, r, 0, {}, rop});
      } else if (resolve_source(src, &st)) {
        send(gdi::Copy{c.t.id, r, st.id, to_target(src, st, sx, sy), rop});
      } else {
        std::string px;
        if (read_pixels(src, sx, sy, w, h, &px)) send_pixels(c.t, r, px, uint32_t(w), uint32_t(h), rop);
      }
    }
  }
  return real_BitBlt(dst, x, y, w, h, src, sx, sy, rop);
}

BOOL WINAPI hook_StretchBlt(HDC dst, int x, int y, int w, int h, HDC src, int sx, int sy, int sw, int sh, DWORD rop) {
  Depth d;
  if (d.outermost()) {
    Capture c(dst, nullptr, true, uses_pattern(rop) ? kUsesBrush : 0);
    if (c.on) {
      gdi::Rect r = rect_to_target(dst, c.t, x, y, x + w, y + h);
      Target st;
      if (!uses_source(rop) || !src) {
        send(gdi::Copy{c.t.id, r, 0, {}, rop});
      } else if (resolve_source(src, &st)) {
        send(gdi::Stretch{c.t.id, r, st.id, rect_to_target(src, st, sx, sy, sx + sw, sy + sh), rop});
      } else {
        std::string px;
        int ax = sw < 0 ? sx + sw : sx, ay = sh < 0 ? sy + sh : sy, aw = sw < 0 ? -sw : sw, ah = sh < 0 ? -sh : sh;
        if (read_pixels(src, ax, ay, aw, ah, &px)) {
          uint32_t id = cache_bitmap(px, uint32_t(aw), uint32_t(ah));
          send(gdi::BitmapDraw{c.t.id, r, id, gdi::Rect{0, 0, aw, ah}, rop});
        }
      }
    }
  }
  return real_StretchBlt(dst, x, y, w, h, src, sx, sy, sw, sh, rop);
}

BOOL WINAPI hook_PatBlt(HDC hdc, int x, int y, int w, int h, DWORD rop) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc, nullptr, true, kUsesBrush);
    if (c.on) send(gdi::FillRect{c.t.id, rect_to_target(hdc, c.t, x, y, x + w, y + h), rop & 0xFFFFFF});
  }
  return real_PatBlt(hdc, x, y, w, h, rop);
}

BOOL WINAPI hook_MaskBlt(HDC dst, int x, int y, int w, int h, HDC src, int sx, int sy, HBITMAP mask, int mx, int my,
                         DWORD rop) {
  Depth d;
  BOOL ok = real_MaskBlt(dst, x, y, w, h, src, sx, sy, mask, mx, my, rop);
  if (d.outermost() && ok) {
    Capture c(dst);
    if (c.on) send_readback(dst, c.t, x, y, w, h);
  }
  return ok;
}

BOOL transparent_blt(decltype(&::GdiTransparentBlt) real, HDC dst, int x, int y, int w, int h, HDC src, int sx, int sy,
                     int sw, int sh, UINT color) {
  Depth d;
  Target st;
  bool named = false;
  if (d.outermost()) {
    Capture c(dst);
    named = c.on && resolve_source(src, &st);
    if (named)
      send(gdi::TransparentBlt{c.t.id, rect_to_target(dst, c.t, x, y, x + w, y + h), st.id,
                               rect_to_target(src, st, sx, sy, sx + sw, sy + sh), rgb_of(color)});
  }
  BOOL ok = real(dst, x, y, w, h, src, sx, sy, sw, sh, color);
  if (d.outermost() && !named && ok) {
    Capture c(dst);
    if (c.on) send_readback(dst, c.t, x, y, w, h);
  }
  return ok;
}
BOOL WINAPI hook_GdiTransparentBlt(HDC d, int x, int y, int w, int h, HDC s, int sx, int sy, int sw, int sh, UINT c) {
  return transparent_blt(real_GdiTransparentBlt, d, x, y, w, h, s, sx, sy, sw, sh, c);
}
BOOL WINAPI hook_TransparentBlt(HDC d, int x, int y, int w, int h, HDC s, int sx, int sy, int sw, int sh, UINT c) {
  return transparent_blt(real_TransparentBlt, d, x, y, w, h, s, sx, sy, sw, sh, c);
}

BOOL alpha_blend(decltype(&::GdiAlphaBlend) real, HDC dst, int x, int y, int w, int h, HDC src, int sx, int sy, int sw,
                 int sh, BLENDFUNCTION bf) {
  Depth d;
  Target st;
  bool named = false;
  if (d.outermost()) {
    Capture c(dst);
    named = c.on && resolve_source(src, &st);
    if (named)
      send(gdi::AlphaBlend{c.t.id, rect_to_target(dst, c.t, x, y, x + w, y + h), st.id,
                           rect_to_target(src, st, sx, sy, sx + sw, sy + sh), bf.SourceConstantAlpha,
                           uint8_t(bf.AlphaFormat & AC_SRC_ALPHA ? 1 : 0)});
  }
  BOOL ok = real(dst, x, y, w, h, src, sx, sy, sw, sh, bf);
  if (d.outermost() && !named && ok) {
    Capture c(dst);
    if (c.on) send_readback(dst, c.t, x, y, w, h);
  }
  return ok;
}
BOOL WINAPI hook_GdiAlphaBlend(HDC d, int x, int y, int w, int h, HDC s, int sx, int sy, int sw, int sh, BLENDFUNCTION f) {
  return alpha_blend(real_GdiAlphaBlend, d, x, y, w, h, s, sx, sy, sw, sh, f);
}
BOOL WINAPI hook_AlphaBlend(HDC d, int x, int y, int w, int h, HDC s, int sx, int sy, int sw, int sh, BLENDFUNCTION f) {
  return alpha_blend(real_AlphaBlend, d, x, y, w, h, s, sx, sy, sw, sh, f);
}

BOOL gradient_fill(decltype(&::GdiGradientFill) real, HDC hdc, PTRIVERTEX v, ULONG nv, PVOID mesh, ULONG nm, ULONG mode) {
  Depth d;
  bool rects = mode == GRADIENT_FILL_RECT_H || mode == GRADIENT_FILL_RECT_V;
  if (rects && d.outermost()) {
    Capture c(hdc);
    if (c.on) {
      auto* m = static_cast<GRADIENT_RECT*>(mesh);
      auto col = [](const TRIVERTEX& t) {
        return uint32_t((t.Red >> 8) << 16 | (t.Green >> 8) << 8 | (t.Blue >> 8));
      };
      for (ULONG i = 0; i < nm; ++i) {
        if (m[i].UpperLeft >= nv || m[i].LowerRight >= nv) continue;
        const TRIVERTEX& a = v[m[i].UpperLeft];
        const TRIVERTEX& b = v[m[i].LowerRight];
        gdi::Gradient g{c.t.id, uint8_t(mode == GRADIENT_FILL_RECT_V ? 1 : 0),
                        rect_to_target(hdc, c.t, a.x, a.y, b.x, b.y), col(a), col(b)};
        send(g);
      }
    }
  }
  BOOL ok = real(hdc, v, nv, mesh, nm, mode);
  if (!rects && ok && nv > 0 && d.outermost()) {
    Capture c(hdc);
    if (c.on) {
      long l = v[0].x, t = v[0].y, r = v[0].x, b = v[0].y;
      for (ULONG i = 1; i < nv; ++i) {
        l = std::min<long>(l, v[i].x), t = std::min<long>(t, v[i].y);
        r = std::max<long>(r, v[i].x), b = std::max<long>(b, v[i].y);
      }
      send_readback(hdc, c.t, l, t, r - l, b - t);
    }
  }
  return ok;
}
BOOL WINAPI hook_GdiGradientFill(HDC h, PTRIVERTEX v, ULONG nv, PVOID m, ULONG nm, ULONG mode) {
  return gradient_fill(real_GdiGradientFill, h, v, nv, m, nm, mode);
}
BOOL WINAPI hook_GradientFill(HDC h, PTRIVERTEX v, ULONG nv, PVOID m, ULONG nm, ULONG mode) {
  return gradient_fill(real_GradientFill, h, v, nv, m, nm, mode);
}

BOOL WINAPI hook_Rectangle(HDC hdc, int l, int t, int r, int b) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc, nullptr, true, kUsesPen | kUsesBrush);
    if (c.on) send(gdi::Rectangle{c.t.id, rect_to_target(hdc, c.t, l, t, r, b)});
  }
  return real_Rectangle(hdc, l, t, r, b);
}
BOOL WINAPI hook_RoundRect(HDC hdc, int l, int t, int r, int b, int ew, int eh) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on)
      send(gdi::RoundRect{c.t.id, rect_to_target(hdc, c.t, l, t, r, b), std::clamp(ew, 0, gdi::kMaxEllipse),
                          std::clamp(eh, 0, gdi::kMaxEllipse)});
  }
  return real_RoundRect(hdc, l, t, r, b, ew, eh);
}
BOOL WINAPI hook_Ellipse(HDC hdc, int l, int t, int r, int b) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc, nullptr, true, kUsesPen | kUsesBrush);
    if (c.on) send(gdi::Ellipse{c.t.id, rect_to_target(hdc, c.t, l, t, r, b)});
  }
  return real_Ellipse(hdc, l, t, r, b);
}
void arc_record(uint8_t kind, HDC hdc, int l, int t, int r, int b, int x1, int y1, int x2, int y2) {
  Capture c(hdc);
  if (c.on)
    send(gdi::Arc{c.t.id, kind, rect_to_target(hdc, c.t, l, t, r, b), to_target(hdc, c.t, x1, y1),
                  to_target(hdc, c.t, x2, y2)});
}
BOOL WINAPI hook_Arc(HDC h, int l, int t, int r, int b, int x1, int y1, int x2, int y2) {
  Depth d;
  if (d.outermost()) arc_record(0, h, l, t, r, b, x1, y1, x2, y2);
  return real_Arc(h, l, t, r, b, x1, y1, x2, y2);
}
BOOL WINAPI hook_Pie(HDC h, int l, int t, int r, int b, int x1, int y1, int x2, int y2) {
  Depth d;
  if (d.outermost()) arc_record(1, h, l, t, r, b, x1, y1, x2, y2);
  return real_Pie(h, l, t, r, b, x1, y1, x2, y2);
}
BOOL WINAPI hook_Chord(HDC h, int l, int t, int r, int b, int x1, int y1, int x2, int y2) {
  Depth d;
  if (d.outermost()) arc_record(2, h, l, t, r, b, x1, y1, x2, y2);
  return real_Chord(h, l, t, r, b, x1, y1, x2, y2);
}

std::vector<gdi::Point> points_of(HDC hdc, const Target& t, const POINT* p, size_t n) {
  std::vector<gdi::Point> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(to_target(hdc, t, p[i].x, p[i].y));
  return out;
}

BOOL WINAPI hook_Polygon(HDC hdc, const POINT* p, int n) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on && n > 0 && uint32_t(n) <= gdi::kMaxPoints)
      send(gdi::Polygon{c.t.id, {uint16_t(n)}, points_of(hdc, c.t, p, size_t(n))});
  }
  return real_Polygon(hdc, p, n);
}
BOOL WINAPI hook_PolyPolygon(HDC hdc, const POINT* p, const INT* counts, int n) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on && n > 0 && n < 65536) {
      gdi::Polygon poly{c.t.id, {}, {}};
      size_t total = 0;
      for (int i = 0; i < n; ++i) {
        if (counts[i] < 0 || counts[i] > 65535) { total = gdi::kMaxPoints + 1; break; }
        poly.counts.push_back(uint16_t(counts[i]));
        total += size_t(counts[i]);
      }
      if (total <= gdi::kMaxPoints) {
        poly.points = points_of(hdc, c.t, p, total);
        send(poly);
      }
    }
  }
  return real_PolyPolygon(hdc, p, counts, n);
}
BOOL WINAPI hook_Polyline(HDC hdc, const POINT* p, int n) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on && n > 0 && uint32_t(n) <= gdi::kMaxPoints) send(gdi::Polyline{c.t.id, points_of(hdc, c.t, p, size_t(n))});
  }
  return real_Polyline(hdc, p, n);
}
BOOL WINAPI hook_PolyPolyline(HDC hdc, const POINT* p, const DWORD* counts, DWORD n) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on) {
      size_t at = 0;
      for (DWORD i = 0; i < n; ++i) {
        if (counts[i] > gdi::kMaxPoints) break;
        send(gdi::Polyline{c.t.id, points_of(hdc, c.t, p + at, counts[i])});
        at += counts[i];
      }
    }
  }
  return real_PolyPolyline(hdc, p, counts, n);
}
BOOL WINAPI hook_PolyBezier(HDC hdc, const POINT* p, DWORD n) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on && n > 0 && n <= gdi::kMaxPoints && (n - 1) % 3 == 0)
      send(gdi::PolyBezier{c.t.id, points_of(hdc, c.t, p, n)});
  }
  return real_PolyBezier(hdc, p, n);
}
BOOL WINAPI hook_MoveToEx(HDC hdc, int x, int y, LPPOINT old) {
  return real_MoveToEx(hdc, x, y, old);  // state only: LineTo reads the position
}
BOOL WINAPI hook_LineTo(HDC hdc, int x, int y) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on) {
      POINT cur{};
      GetCurrentPositionEx(hdc, &cur);
      send(gdi::Polyline{c.t.id, {to_target(hdc, c.t, cur.x, cur.y), to_target(hdc, c.t, x, y)}});
    }
  }
  return real_LineTo(hdc, x, y);
}

void region_record(HDC hdc, HRGN rgn, HBRUSH brush) {
  Capture c(hdc, brush);
  if (!c.on) return;
  // Region in logical coordinates: transform its rects.
  std::vector<gdi::Rect> logical = region_rects(rgn, 0, 0, gdi::kMaxRects);
  gdi::FillRgn f{c.t.id, {}};
  for (const gdi::Rect& r : logical) f.rects.push_back(rect_to_target(hdc, c.t, r.x, r.y, r.x + r.w, r.y + r.h));
  send(f);
}
BOOL WINAPI hook_FillRgn(HDC hdc, HRGN rgn, HBRUSH brush) {
  Depth d;
  if (d.outermost()) region_record(hdc, rgn, brush);
  return real_FillRgn(hdc, rgn, brush);
}
BOOL WINAPI hook_PaintRgn(HDC hdc, HRGN rgn) {
  Depth d;
  if (d.outermost()) region_record(hdc, rgn, nullptr);
  return real_PaintRgn(hdc, rgn);
}

void text_record(HDC hdc, int x, int y, UINT opts, const RECT* rc, const wchar_t* s, UINT n, const INT* dx) {
  Capture c(hdc, nullptr, true, kUsesFont);
  if (!c.on) return;
  gdi::Text t;
  t.target = c.t.id;
  if (GetTextAlign(hdc) & TA_UPDATECP) {
    POINT cur{};
    GetCurrentPositionEx(hdc, &cur);
    x = cur.x;
    y = cur.y;
  }
  t.pos = to_target(hdc, c.t, x, y);
  t.options = opts & (ETO_OPAQUE | ETO_CLIPPED);
  if (rc && t.options) t.rect = rect_to_target(hdc, c.t, rc->left, rc->top, rc->right, rc->bottom);
  if (n > 32767) n = 32767;
  std::wstring chars;
  if (opts & ETO_GLYPH_INDEX) chars = chars_of_glyphs(hdc, c.t.id ? g_last_state[c.t.id].font : 0, reinterpret_cast<const WORD*>(s), n);
  else if (s) chars.assign(s, n);
  t.text = text_utf8(chars.data(), UINT(chars.size()));
  if (gdi::utf16_length(t.text) != chars.size()) {
    // Lone surrogates became U+FFFD (3 bytes, one unit): keep counts in step.
    chars = gdi_forward::to_wide(t.text);
  }
  if (!chars.empty()) {
    if (dx) {
      for (size_t i = 0; i < chars.size() && i < n; ++i) t.advances.push_back(dx[(opts & ETO_PDY) ? 2 * i : i]);
    } else if (!unsmoothed_advances(hdc, c.t.id ? g_last_state[c.t.id].font : 0, s, n, opts & ETO_GLYPH_INDEX,
                                    &t.advances)) {
      std::vector<INT> partial(n);
      SIZE sz{};
      BOOL got = (opts & ETO_GLYPH_INDEX)
                     ? GetTextExtentExPointI(hdc, reinterpret_cast<LPWORD>(const_cast<wchar_t*>(s)), int(n), 0, nullptr, partial.data(), &sz)
                     : GetTextExtentExPointW(hdc, s, int(n), 0, nullptr, partial.data(), &sz);
      if (got)
        for (UINT i = 0; i < n; ++i) t.advances.push_back(partial[i] - (i ? partial[i - 1] : 0));
    }
    if (t.advances.size() != chars.size()) t.advances.clear();
  }
  send(t);
}

BOOL WINAPI hook_ExtTextOutW(HDC hdc, int x, int y, UINT opts, const RECT* rc, LPCWSTR s, UINT n, const INT* dx) {
  Depth d;
  if (d.outermost()) text_record(hdc, x, y, opts, rc, s, n, dx);
  return real_ExtTextOutW(hdc, x, y, opts, rc, s, n, dx);
}
BOOL WINAPI hook_TextOutW(HDC hdc, int x, int y, LPCWSTR s, int n) {
  Depth d;
  if (n > 0 && d.outermost()) text_record(hdc, x, y, 0, nullptr, s, UINT(n), nullptr);
  return real_TextOutW(hdc, x, y, s, n);
}
std::wstring widen_acp(LPCSTR s, int n) {
  if (!s || n <= 0) return {};
  int len = MultiByteToWideChar(CP_ACP, 0, s, n, nullptr, 0);
  std::wstring w(size_t(len), L'\0');
  MultiByteToWideChar(CP_ACP, 0, s, n, w.data(), len);
  return w;
}
BOOL WINAPI hook_ExtTextOutA(HDC hdc, int x, int y, UINT opts, const RECT* rc, LPCSTR s, UINT n, const INT* dx) {
  Depth d;
  if (opts & ETO_GLYPH_INDEX) {
    if (d.outermost()) text_record(hdc, x, y, opts, rc, reinterpret_cast<LPCWSTR>(s), n, dx);
  } else {
    std::wstring w = widen_acp(s, int(n));
    // Per-byte advances only line up with single-byte code pages.
    if (d.outermost()) text_record(hdc, x, y, opts, rc, w.data(), UINT(w.size()), w.size() == n ? dx : nullptr);
  }
  return real_ExtTextOutA(hdc, x, y, opts, rc, s, n, dx);
}
BOOL WINAPI hook_TextOutA(HDC hdc, int x, int y, LPCSTR s, int n) {
  Depth d;
  std::wstring w = widen_acp(s, n);
  if (!w.empty() && d.outermost()) text_record(hdc, x, y, 0, nullptr, w.data(), UINT(w.size()), nullptr);
  return real_TextOutA(hdc, x, y, s, n);
}

int WINAPI hook_SetDIBitsToDevice(HDC hdc, int xd, int yd, DWORD w, DWORD h, int xs, int ys, UINT start, UINT lines,
                                  const VOID* bits, const BITMAPINFO* bmi, UINT usage) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on && w > 0 && h > 0) {
      std::string px;
      auto draw = [&](HDC mem) {
        return real_SetDIBitsToDevice(mem, 0, 0, w, h, xs, ys, start, lines, bits, bmi, usage);
      };
      if (render_dib(int(w), int(h), draw, &px))
        send_pixels(c.t, rect_to_target(hdc, c.t, xd, yd, xd + long(w), yd + long(h)), px, w, h);
    }
  }
  return real_SetDIBitsToDevice(hdc, xd, yd, w, h, xs, ys, start, lines, bits, bmi, usage);
}

int WINAPI hook_StretchDIBits(HDC hdc, int xd, int yd, int wd, int hd, int xs, int ys, int ws, int hs, const VOID* bits,
                              const BITMAPINFO* bmi, UINT usage, DWORD rop) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc);
    if (c.on && ws != 0 && hs != 0) {
      int aw = ws < 0 ? -ws : ws, ah = hs < 0 ? -hs : hs;
      std::string px;
      auto draw = [&](HDC mem) {
        return real_StretchDIBits(mem, 0, 0, aw, ah, xs, ys, aw, ah, bits, bmi, usage, SRCCOPY);
      };
      if (!uses_source(rop)) send(gdi::Copy{c.t.id, rect_to_target(hdc, c.t, xd, yd, xd + wd, yd + hd), 0, {}, rop});
      else if (render_dib(aw, ah, draw, &px)) {
        uint32_t id = cache_bitmap(px, uint32_t(aw), uint32_t(ah));
        send(gdi::BitmapDraw{c.t.id, rect_to_target(hdc, c.t, xd, yd, xd + wd, yd + hd), id, gdi::Rect{0, 0, aw, ah}, rop});
      }
    }
  }
  return real_StretchDIBits(hdc, xd, yd, wd, hd, xs, ys, ws, hs, bits, bmi, usage, rop);
}

HBITMAP WINAPI hook_CreateCompatibleBitmap(HDC hdc, int w, int h) {
  HBITMAP b = real_CreateCompatibleBitmap(hdc, w, h);
  if (b) {
    AcquireSRWLockExclusive(&g_command_bitmaps_lock);
    g_command_bitmaps[b] = SIZE{w, h};
    ReleaseSRWLockExclusive(&g_command_bitmaps_lock);
  }
  return b;
}

BOOL WINAPI hook_DeleteObject(HGDIOBJ obj) {
  DWORD type = obj ? GetObjectType(obj) : 0;
  if (type == OBJ_PEN || type == OBJ_EXTPEN || type == OBJ_BRUSH || type == OBJ_FONT) {
    Lock lock;
    forget_object(obj);
  }
  if (type == OBJ_BITMAP) {
    HBITMAP b = static_cast<HBITMAP>(obj);
    AcquireSRWLockExclusive(&g_command_bitmaps_lock);
    bool was_command = g_command_bitmaps.erase(b) > 0;
    ReleaseSRWLockExclusive(&g_command_bitmaps_lock);
    // Only a command bitmap ever becomes a surface (resolve).
    if (!was_command) return real_DeleteObject(obj);
    Lock lock;
    auto it = g_surfaces.find(b);
    if (it != g_surfaces.end()) {
      send(gdi::SurfaceDelete{it->second});
      g_last_state.erase(it->second);
      g_surfaces.erase(it);
    }
  }
  return real_DeleteObject(obj);
}

int WINAPI hook_FillRect(HDC hdc, const RECT* r, HBRUSH brush) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc, brush, true, 0);
    if (c.on && r) send(gdi::FillRect{c.t.id, rect_to_target(hdc, c.t, r->left, r->top, r->right, r->bottom), PATCOPY});
  }
  return real_FillRect(hdc, r, brush);
}
int WINAPI hook_FrameRect(HDC hdc, const RECT* r, HBRUSH brush) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc, brush, true, 0);
    if (c.on && r) send(gdi::FrameRect{c.t.id, rect_to_target(hdc, c.t, r->left, r->top, r->right, r->bottom)});
  }
  return real_FrameRect(hdc, r, brush);
}
BOOL WINAPI hook_InvertRect(HDC hdc, const RECT* r) {
  Depth d;
  if (d.outermost()) {
    Capture c(hdc, nullptr, true, 0);
    if (c.on && r) send(gdi::InvertRect{c.t.id, rect_to_target(hdc, c.t, r->left, r->top, r->right, r->bottom)});
  }
  return real_InvertRect(hdc, r);
}

// Scrolling becomes a copy within the target: the scrolled area moved by
// (dx, dy), clipped. Rects are in the coordinates of `hdc` / `hwnd`.
void scroll_record(HDC hdc, int dx, int dy, const RECT* scroll, const RECT* clip) {
  Capture c(hdc);
  if (!c.on) return;
  RECT area;
  if (scroll) area = *scroll;
  else GetClipBox(hdc, &area);
  RECT lim = clip ? *clip : area;
  RECT moved = {area.left + dx, area.top + dy, area.right + dx, area.bottom + dy};
  RECT dst;
  if (!IntersectRect(&dst, &moved, &lim)) return;
  if (!clip) IntersectRect(&dst, &dst, &area);
  gdi::Rect d = rect_to_target(hdc, c.t, dst.left, dst.top, dst.right, dst.bottom);
  gdi::Point s = to_target(hdc, c.t, dst.left - dx, dst.top - dy);
  send(gdi::Copy{c.t.id, d, c.t.id, s, SRCCOPY});
}
BOOL WINAPI hook_ScrollDC(HDC hdc, int dx, int dy, const RECT* scroll, const RECT* clip, HRGN upd, LPRECT rupd) {
  Depth d;
  if (d.outermost()) scroll_record(hdc, dx, dy, scroll, clip);
  return real_ScrollDC(hdc, dx, dy, scroll, clip, upd, rupd);
}
void scroll_window_record(HWND hwnd, int dx, int dy, const RECT* scroll, const RECT* clip) {
  HDC dc = GetDCEx(hwnd, nullptr, DCX_CACHE | DCX_CLIPSIBLINGS);
  if (!dc) return;
  scroll_record(dc, dx, dy, scroll, clip);
  ReleaseDC(hwnd, dc);
}
int WINAPI hook_ScrollWindowEx(HWND hwnd, int dx, int dy, const RECT* scroll, const RECT* clip, HRGN upd, LPRECT rupd,
                               UINT flags) {
  Depth d;
  if (d.outermost()) scroll_window_record(hwnd, dx, dy, scroll, clip);
  return real_ScrollWindowEx(hwnd, dx, dy, scroll, clip, upd, rupd, flags);
}
BOOL WINAPI hook_ScrollWindow(HWND hwnd, int dx, int dy, const RECT* scroll, const RECT* clip) {
  Depth d;
  if (d.outermost()) scroll_window_record(hwnd, dx, dy, scroll, clip);
  return real_ScrollWindow(hwnd, dx, dy, scroll, clip);
}

BOOL WINAPI hook_EndPaint(HWND hwnd, const PAINTSTRUCT* ps) {
  BOOL ok = real_EndPaint(hwnd, ps);
  flush_dirty_targets();
  flush_output();
  return ok;
}

// The app is back in its message loop: what it drew for the last message
// (a timer's frame, an answer to input) is complete, so it goes out now.
void end_of_message() { catch_up(); }
BOOL WINAPI hook_GetMessageW(MSG* m, HWND h, UINT lo, UINT hi) {
  end_of_message();
  return real_GetMessageW(m, h, lo, hi);
}
BOOL WINAPI hook_GetMessageA(MSG* m, HWND h, UINT lo, UINT hi) {
  end_of_message();
  return real_GetMessageA(m, h, lo, hi);
}
BOOL WINAPI hook_PeekMessageW(MSG* m, HWND h, UINT lo, UINT hi, UINT remove) {
  end_of_message();
  return real_PeekMessageW(m, h, lo, hi, remove);
}
BOOL WINAPI hook_PeekMessageA(MSG* m, HWND h, UINT lo, UINT hi, UINT remove) {
  end_of_message();
  return real_PeekMessageA(m, h, lo, hi, remove);
}
DWORD WINAPI hook_MsgWaitForMultipleObjects(DWORD n, const HANDLE* hs, BOOL all, DWORD ms, DWORD mask) {
  end_of_message();
  return real_MsgWaitForMultipleObjects(n, hs, all, ms, mask);
}
DWORD WINAPI hook_MsgWaitForMultipleObjectsEx(DWORD n, const HANDLE* hs, DWORD ms, DWORD mask, DWORD flags) {
  end_of_message();
  return real_MsgWaitForMultipleObjectsEx(n, hs, ms, mask, flags);
}
BOOL WINAPI hook_WaitMessage() {
  end_of_message();
  return real_WaitMessage();
}

// Uniscribe's ScriptStringOut (the edit control's text) draws from inside
// gdi32 (Wine) or usp10 (Windows) with glyph indices: remember the string
// given to ScriptStringAnalyse and send it as TEXT when it is drawn.
struct Analysed {
  HDC hdc;
  std::wstring text;
};
std::map<void*, Analysed> g_analysed;

using AnalyseFn = HRESULT(WINAPI*)(HDC, const void*, int, int, int, DWORD, int, void*, void*, const int*, void*,
                                   const BYTE*, void**);
using OutFn = HRESULT(WINAPI*)(void*, int, int, UINT, const RECT*, int, int, BOOL);
using FreeFn = HRESULT(WINAPI*)(void**);
using WidthsFn = HRESULT(WINAPI*)(void*, int*);
AnalyseFn real_ScriptStringAnalyse = nullptr;
OutFn real_ScriptStringOut = nullptr;
FreeFn real_ScriptStringFree = nullptr;

HRESULT WINAPI hook_ScriptStringAnalyse(HDC hdc, const void* str, int n, int glyphs, int charset, DWORD flags, int width,
                                        void* control, void* state, const int* dx, void* tabdef, const BYTE* inclass,
                                        void** ssa) {
  HRESULT hr = real_ScriptStringAnalyse(hdc, str, n, glyphs, charset, flags, width, control, state, dx, tabdef, inclass, ssa);
  if (SUCCEEDED(hr) && ssa && *ssa && str && n > 0 && n < 65536) {
    Analysed a{hdc, {}};
    if (charset == -1) a.text.assign(static_cast<const wchar_t*>(str), size_t(n));
    else a.text = widen_acp(static_cast<const char*>(str), n);
    if (flags & 0x1) a.text.assign(a.text.size(), L'*');  // SSA_PASSWORD
    Lock lock;
    g_analysed[*ssa] = std::move(a);
  }
  return hr;
}

HRESULT WINAPI hook_ScriptStringOut(void* ssa, int x, int y, UINT opts, const RECT* rc, int minsel, int maxsel, BOOL disabled) {
  Depth d;
  if (d.outermost()) {
    Lock lock;
    auto it = g_analysed.find(ssa);
    if (it != g_analysed.end() && !it->second.text.empty()) {
      Capture c(it->second.hdc);
      if (c.on) {
        const std::wstring& w = it->second.text;
        gdi::Text t;
        t.target = c.t.id;
        t.pos = to_target(c.hdc, c.t, x, y);
        t.options = opts & (ETO_OPAQUE | ETO_CLIPPED);
        if (rc && t.options) t.rect = rect_to_target(c.hdc, c.t, rc->left, rc->top, rc->right, rc->bottom);
        t.text = text_utf8(w.data(), UINT(w.size()));
        auto widths = reinterpret_cast<WidthsFn>(
            hooked_address_for(GetModuleHandleW(L"gdi32.dll"), "ScriptStringGetLogicalWidths"));
        if (!widths) widths = reinterpret_cast<WidthsFn>(hooked_address_for(GetModuleHandleW(L"usp10.dll"), "ScriptStringGetLogicalWidths"));
        std::vector<int> adv(w.size());
        if (gdi::utf16_length(t.text) == w.size() && widths && SUCCEEDED(widths(ssa, adv.data())))
          t.advances.assign(adv.begin(), adv.end());
        send(t);
      }
    }
  }
  return real_ScriptStringOut(ssa, x, y, opts, rc, minsel, maxsel, disabled);
}

HRESULT WINAPI hook_ScriptStringFree(void** ssa) {
  if (ssa && *ssa) {
    Lock lock;
    g_analysed.erase(*ssa);
  }
  return real_ScriptStringFree(ssa);
}

#define HOOK(mod, fn) {mod, #fn, reinterpret_cast<void*>(hook_##fn), reinterpret_cast<void**>(&real_##fn)}
HookEntry g_capture_hooks[] = {
    HOOK("gdi32.dll", ScriptStringAnalyse), HOOK("gdi32.dll", ScriptStringOut), HOOK("gdi32.dll", ScriptStringFree),
    HOOK("usp10.dll", ScriptStringAnalyse), HOOK("usp10.dll", ScriptStringOut), HOOK("usp10.dll", ScriptStringFree),
    HOOK("gdi32.dll", BitBlt),          HOOK("gdi32.dll", StretchBlt),        HOOK("gdi32.dll", PatBlt),
    HOOK("gdi32.dll", MaskBlt),         HOOK("gdi32.dll", GdiTransparentBlt), HOOK("gdi32.dll", GdiAlphaBlend),
    HOOK("gdi32.dll", GdiGradientFill), HOOK("msimg32.dll", TransparentBlt),  HOOK("msimg32.dll", AlphaBlend),
    HOOK("msimg32.dll", GradientFill),  HOOK("gdi32.dll", Rectangle),         HOOK("gdi32.dll", RoundRect),
    HOOK("gdi32.dll", Ellipse),         HOOK("gdi32.dll", Arc),               HOOK("gdi32.dll", Pie),
    HOOK("gdi32.dll", Chord),           HOOK("gdi32.dll", Polygon),           HOOK("gdi32.dll", PolyPolygon),
    HOOK("gdi32.dll", Polyline),        HOOK("gdi32.dll", PolyPolyline),      HOOK("gdi32.dll", PolyBezier),
    HOOK("gdi32.dll", LineTo),          HOOK("gdi32.dll", MoveToEx),          HOOK("gdi32.dll", FillRgn),
    HOOK("gdi32.dll", PaintRgn),        HOOK("gdi32.dll", ExtTextOutW),       HOOK("gdi32.dll", ExtTextOutA),
    HOOK("gdi32.dll", TextOutW),        HOOK("gdi32.dll", TextOutA),          HOOK("gdi32.dll", SetDIBitsToDevice),
    HOOK("gdi32.dll", StretchDIBits),   HOOK("gdi32.dll", CreateCompatibleBitmap), HOOK("gdi32.dll", DeleteObject),
    HOOK("user32.dll", FillRect),       HOOK("user32.dll", FrameRect),        HOOK("user32.dll", InvertRect),
    HOOK("user32.dll", ScrollDC),       HOOK("user32.dll", ScrollWindowEx),   HOOK("user32.dll", ScrollWindow),
    HOOK("user32.dll", EndPaint),       HOOK("user32.dll", GetMessageW),      HOOK("user32.dll", GetMessageA),
    HOOK("user32.dll", PeekMessageW),   HOOK("user32.dll", PeekMessageA),
    HOOK("user32.dll", MsgWaitForMultipleObjects), HOOK("user32.dll", MsgWaitForMultipleObjectsEx),
    HOOK("user32.dll", WaitMessage),
};

}  // namespace

void install_capture_hooks() { register_hooks(g_capture_hooks, sizeof(g_capture_hooks) / sizeof(g_capture_hooks[0])); }

void flush_dirty_targets() {
  Lock lock;
  for (uint32_t id : g_dirty) send(gdi::Flush{id});
  g_dirty.clear();
}

// Called by the window tracker when a window target goes away.
void forget_target(uint32_t id) {
  Lock lock;
  g_last_state.erase(id);
  g_dirty.erase(id);
}

void resend_definitions() {
  Lock lock;
  Depth guard;  // nothing done here is the app's drawing
  for (const auto& [id, def] : g_font_defs) send(def);
  // The new reader has no cached bitmap and no state yet.
  g_bitmap_ids.clear();
  g_bitmap_order.clear();
  g_last_state.clear();
  HDC dc = CreateCompatibleDC(nullptr);
  for (const auto& [bmp, id] : g_surfaces) {
    BITMAP bm{};
    if (!GetObjectW(bmp, sizeof(bm), &bm) || bm.bmWidth <= 0 || bm.bmHeight <= 0) continue;
    const uint32_t w = uint32_t(bm.bmWidth), h = uint32_t(bm.bmHeight);
    send(gdi::SurfaceCreate{id, w, h});
    // Its pixels as they are now: content the app drew there earlier may
    // never be drawn again.
    BITMAPINFO bi{};
    bi.bmiHeader.biSize = sizeof(bi.bmiHeader);
    bi.bmiHeader.biWidth = LONG(w);
    bi.bmiHeader.biHeight = -LONG(h);
    bi.bmiHeader.biPlanes = 1;
    bi.bmiHeader.biBitCount = 32;
    std::string bgrx(size_t(w) * h * 4, '\0');
    if (dc && GetDIBits(dc, bmp, 0, h, bgrx.data(), &bi, DIB_RGB_COLORS) == int(h)) {
      uint32_t bitmap = cache_bitmap(bgrx, w, h);
      send(gdi::BitmapDraw{id, gdi::Rect{0, 0, int32_t(w), int32_t(h)}, bitmap, gdi::Rect{0, 0, int32_t(w), int32_t(h)},
                           SRCCOPY});
    }
  }
  if (dc) DeleteDC(dc);
}

}  // namespace gdi_hook
