// GDI record codec (vredir-gdi(5)). Standard library and ByteReader only:
// this file is also built with mingw-w64 for the Windows-side hook.
#include "wire/gdi_records.hpp"

#include <cstdio>
#include <type_traits>

#include "wire/byte_reader.hpp"

namespace vredir::gdi {

namespace {

// ---------------------------------------------------------------- helpers

void put_i32(std::string& out, int32_t v) { put_u32le(out, static_cast<uint32_t>(v)); }
void put_rect(std::string& out, const Rect& r) {
  put_i32(out, r.x);
  put_i32(out, r.y);
  put_i32(out, r.w);
  put_i32(out, r.h);
}
void put_point(std::string& out, const Point& p) {
  put_i32(out, p.x);
  put_i32(out, p.y);
}
void put_str(std::string& out, const std::string& s) {
  // Strings longer than a u16 length are cut (at a UTF-8 boundary) by the encoder.
  size_t n = s.size();
  if (n > 65535) {
    n = 65535;
    while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  }
  put_u16le(out, static_cast<uint16_t>(n));
  put_bytes(out, std::string_view(s).substr(0, n));
}

bool coord_ok(int32_t v) { return v >= kMinCoord && v <= kMaxCoord; }

Rect get_rect(ByteReader& r, const char* what) {
  Rect out;
  out.x = r.i32le();
  out.y = r.i32le();
  out.w = r.i32le();
  out.h = r.i32le();
  if (r.ok() && (!coord_ok(out.x) || !coord_ok(out.y) || out.w < 0 || out.h < 0 ||
                 out.w > kMaxExtent || out.h > kMaxExtent)) {
    r.fail(std::string(what) + " out of range (" + std::to_string(out.x) + "," +
           std::to_string(out.y) + " " + std::to_string(out.w) + "x" + std::to_string(out.h) + ")");
  }
  return out;
}

Point get_point(ByteReader& r, const char* what) {
  Point p;
  p.x = r.i32le();
  p.y = r.i32le();
  if (r.ok() && (!coord_ok(p.x) || !coord_ok(p.y)))
    r.fail(std::string(what) + " out of range (" + std::to_string(p.x) + "," +
           std::to_string(p.y) + ")");
  return p;
}

std::string get_str(ByteReader& r, const char* what) {
  uint16_t n = r.u16le();
  std::string s(r.str(n));
  if (r.ok() && !valid_utf8(s)) r.fail(std::string(what) + " is not valid UTF-8");
  return s;
}

template <typename T>
T get_enum(ByteReader& r, T v, T lo, T hi, const char* what) {
  if (r.ok() && (v < lo || v > hi))
    r.fail(std::string(what) + " " + std::to_string(static_cast<long long>(v)) + " out of range " +
           std::to_string(static_cast<long long>(lo)) + ".." +
           std::to_string(static_cast<long long>(hi)));
  return v;
}

void check(ByteReader& r, bool cond, const std::string& what) {
  if (r.ok() && !cond) r.fail(what);
}

// A font face name: UTF-8, at most 255 bytes (LOGFONT's 32 UTF-16 units
// with room to spare), no NUL.
std::string get_face(ByteReader& r, const std::string& what) {
  std::string s = get_str(r, what.c_str());
  check(r, s.size() <= 255, what + " longer than 255 bytes");
  check(r, s.find('\0') == std::string::npos, what + " contains NUL");
  return s;
}

uint32_t get_rop3(ByteReader& r) {
  uint32_t v = r.u32le();
  check(r, v <= kMaxRop3, "rop3 out of range");
  return v;
}

std::vector<Point> get_points(ByteReader& r, uint32_t n) {
  std::vector<Point> pts;
  if (!r.need(uint64_t(n) * 8)) return pts;
  pts.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) pts.push_back(get_point(r, "point"));
  return pts;
}

std::vector<Rect> get_rects(ByteReader& r, uint32_t n, const char* what) {
  std::vector<Rect> rects;
  if (n > kMaxRects) {
    r.fail(std::string(what) + " count " + std::to_string(n) + " above " + std::to_string(kMaxRects));
    return rects;
  }
  if (!r.need(uint64_t(n) * 16)) return rects;
  rects.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) rects.push_back(get_rect(r, what));
  return rects;
}

// ---------------------------------------------------------------- decode

Record decode_body(uint8_t op, ByteReader& r) {
  switch (static_cast<Op>(op)) {
    case Op::kWindowCreate: {
      WindowCreate v;
      v.target = r.u32le();
      v.owner = r.u32le();
      v.pid = r.u32le();
      v.role = get_enum<int>(r, r.u8(), 0, 3, "role");
      v.rect = get_rect(r, "window rect");
      v.flags = r.u32le();
      v.title = get_str(r, "title");
      v.app = get_str(r, "app name");
      return v;
    }
    case Op::kWindowDestroy: return WindowDestroy{r.u32le()};
    case Op::kWindowShow: {
      WindowShow v;
      v.target = r.u32le();
      v.state = get_enum<int>(r, r.u8(), 0, 3, "show state");
      return v;
    }
    case Op::kWindowMove: {
      WindowMove v;
      v.target = r.u32le();
      v.rect = get_rect(r, "window rect");
      return v;
    }
    case Op::kWindowTitle: {
      WindowTitle v;
      v.target = r.u32le();
      v.title = get_str(r, "title");
      return v;
    }
    case Op::kWindowIcon: {
      WindowIcon v;
      v.target = r.u32le();
      v.w = r.u16le();
      v.h = r.u16le();
      check(r, v.w >= 1 && v.h >= 1 && v.w <= WindowIcon::kMaxIconSide && v.h <= WindowIcon::kMaxIconSide,
            "icon size " + std::to_string(v.w) + "x" + std::to_string(v.h) + " out of range");
      if (!r.ok()) return v;
      auto rest = r.rest();
      if (rest.size() != size_t(v.w) * v.h * 4) {
        r.fail("icon has " + std::to_string(rest.size()) + " bytes, expected " + std::to_string(size_t(v.w) * v.h * 4));
        return v;
      }
      v.argb.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
      r.skip(rest.size());
      return v;
    }
    case Op::kWindowZorder: {
      WindowZorder v;
      v.target = r.u32le();
      v.above = r.u32le();
      return v;
    }
    case Op::kWindowFocus: return WindowFocus{r.u32le()};
    case Op::kSurfaceCreate: {
      SurfaceCreate v;
      v.target = r.u32le();
      v.w = r.u32le();
      v.h = r.u32le();
      check(r, v.w >= 1 && v.h >= 1 && v.w <= kMaxSurfaceSide && v.h <= kMaxSurfaceSide &&
                   uint64_t(v.w) * v.h <= kMaxPixels,
            "surface size " + std::to_string(v.w) + "x" + std::to_string(v.h) + " out of range");
      return v;
    }
    case Op::kSurfaceDelete: return SurfaceDelete{r.u32le()};
    case Op::kFontDef: {
      FontDef v;
      v.font = r.u32le();
      v.height = r.i32le();
      check(r, v.height >= -kMaxFontPixels && v.height <= kMaxFontPixels, "font height out of range");
      v.weight = r.u16le();
      check(r, v.weight <= 1000, "font weight out of range");
      v.italic = get_enum<int>(r, r.u8(), 0, 1, "italic");
      v.underline = get_enum<int>(r, r.u8(), 0, 1, "underline");
      v.strikeout = get_enum<int>(r, r.u8(), 0, 1, "strikeout");
      v.charset = r.u8();
      v.face = get_face(r, "font face");
      // Optional: the realised font. The record ends after face or after it.
      if (r.ok() && !r.at_end()) {
        v.real_face = get_face(r, "realised font face");
        v.em = r.u16le();
        check(r, v.em >= 1 && v.em <= kMaxFontPixels, "font em size out of range");
        v.ascent = r.u16le();
        v.descent = r.u16le();
        check(r, v.ascent <= kMaxFontPixels && v.descent <= kMaxFontPixels, "font ascent or descent out of range");
        v.real_weight = r.u16le();
        check(r, v.real_weight <= 1000, "realised font weight out of range");
        v.real_italic = get_enum<int>(r, r.u8(), 0, 1, "realised italic");
        v.fixed_pitch = get_enum<int>(r, r.u8(), 0, 1, "fixed pitch");
        v.smoothing = get_enum<int>(r, r.u8(), 0, 3, "font smoothing");
        v.stretch = r.u16le();
        check(r, v.stretch >= 1 && v.stretch <= 16000, "font stretch out of range");
      }
      return v;
    }
    case Op::kState: {
      State v;
      v.target = r.u32le();
      v.pen.style = get_enum<int>(r, r.u8(), 0, 5, "pen style");
      v.pen.width = r.u16le();
      check(r, v.pen.width <= 1024, "pen width out of range");
      v.pen.color = r.u32le();
      v.brush.style = get_enum<int>(r, r.u8(), 0, 3, "brush style");
      v.brush.hatch = get_enum<int>(r, r.u8(), 0, 5, "hatch");
      v.brush.color = r.u32le();
      v.brush.pw = r.u8();
      v.brush.ph = r.u8();
      check(r, v.brush.pw <= kMaxPatternSide && v.brush.ph <= kMaxPatternSide,
            "brush pattern larger than 16x16");
      if (v.brush.style == 3) {
        check(r, v.brush.pw >= 1 && v.brush.ph >= 1, "empty brush pattern");
        uint32_t n = uint32_t(v.brush.pw) * v.brush.ph;
        if (r.ok() && r.need(uint64_t(n) * 4)) {
          v.brush.pattern.reserve(n);
          for (uint32_t i = 0; i < n; ++i) v.brush.pattern.push_back(r.u32le());
        }
      }
      v.text = r.u32le();
      v.bk = r.u32le();
      v.bk_mode = get_enum<int>(r, r.u8(), 1, 2, "bk_mode");
      v.rop2 = get_enum<int>(r, r.u8(), 1, 16, "rop2");
      v.text_align = r.u32le();
      v.font = r.u32le();
      v.poly_fill_mode = get_enum<int>(r, r.u8(), 1, 2, "poly_fill_mode");
      uint16_t n = r.u16le();
      if (r.ok()) v.clip = get_rects(r, n, "clip rect");
      return v;
    }
    case Op::kFillRect: {
      FillRect v;
      v.target = r.u32le();
      v.rect = get_rect(r, "rect");
      v.rop3 = get_rop3(r);
      return v;
    }
    case Op::kFrameRect: {
      FrameRect v;
      v.target = r.u32le();
      v.rect = get_rect(r, "rect");
      return v;
    }
    case Op::kInvertRect: {
      InvertRect v;
      v.target = r.u32le();
      v.rect = get_rect(r, "rect");
      return v;
    }
    case Op::kRectangle: {
      Rectangle v;
      v.target = r.u32le();
      v.rect = get_rect(r, "rect");
      return v;
    }
    case Op::kRoundRect: {
      RoundRect v;
      v.target = r.u32le();
      v.rect = get_rect(r, "rect");
      v.ew = r.i32le();
      v.eh = r.i32le();
      check(r, v.ew >= 0 && v.eh >= 0 && v.ew <= kMaxEllipse && v.eh <= kMaxEllipse,
            "round rect ellipse out of range");
      return v;
    }
    case Op::kEllipse: {
      Ellipse v;
      v.target = r.u32le();
      v.rect = get_rect(r, "rect");
      return v;
    }
    case Op::kArc: {
      Arc v;
      v.target = r.u32le();
      v.kind = get_enum<int>(r, r.u8(), 0, 2, "arc kind");
      v.rect = get_rect(r, "rect");
      v.start = get_point(r, "start");
      v.end = get_point(r, "end");
      return v;
    }
    case Op::kPolygon: {
      Polygon v;
      v.target = r.u32le();
      uint16_t npolys = r.u16le();
      if (!r.ok() || !r.need(uint64_t(npolys) * 2)) return v;
      uint64_t total = 0;
      v.counts.reserve(npolys);
      for (uint16_t i = 0; i < npolys; ++i) {
        v.counts.push_back(r.u16le());
        total += v.counts.back();
      }
      if (total > kMaxPoints) {
        r.fail("polygon has " + std::to_string(total) + " points, above " + std::to_string(kMaxPoints));
        return v;
      }
      v.points = get_points(r, static_cast<uint32_t>(total));
      return v;
    }
    case Op::kPolyline:
    case Op::kPolyBezier: {
      uint32_t target = r.u32le();
      uint16_t n = r.u16le();
      if (r.ok() && n > kMaxPoints) {
        r.fail("point count " + std::to_string(n) + " above " + std::to_string(kMaxPoints));
      }
      if (static_cast<Op>(op) == Op::kPolyBezier)
        check(r, n % 3 == 1, "bezier point count " + std::to_string(n) + " is not 1+3k");
      std::vector<Point> pts;
      if (r.ok()) pts = get_points(r, n);
      if (static_cast<Op>(op) == Op::kPolyline) return Polyline{target, std::move(pts)};
      return PolyBezier{target, std::move(pts)};
    }
    case Op::kFillRgn: {
      FillRgn v;
      v.target = r.u32le();
      uint16_t n = r.u16le();
      if (r.ok()) v.rects = get_rects(r, n, "region rect");
      return v;
    }
    case Op::kText: {
      Text v;
      v.target = r.u32le();
      v.pos = get_point(r, "text point");
      v.options = r.u32le();
      v.rect = get_rect(r, "text rect");
      v.text = get_str(r, "text");
      uint16_t n = r.u16le();
      if (r.ok() && n != 0 && n != utf16_length(v.text)) {
        r.fail("text has " + std::to_string(utf16_length(v.text)) + " UTF-16 units but " +
               std::to_string(n) + " advances");
      }
      if (r.ok() && r.need(uint64_t(n) * 4)) {
        v.advances.reserve(n);
        for (uint16_t i = 0; i < n; ++i) {
          v.advances.push_back(r.i32le());
          check(r, v.advances.back() >= -kMaxExtent && v.advances.back() <= kMaxExtent,
                "text advance out of range");
        }
      }
      return v;
    }
    case Op::kGradient: {
      Gradient v;
      v.target = r.u32le();
      v.mode = get_enum<int>(r, r.u8(), 0, 1, "gradient mode");
      v.rect = get_rect(r, "rect");
      v.from = r.u32le();
      v.to = r.u32le();
      return v;
    }
    case Op::kCopy: {
      Copy v;
      v.dst = r.u32le();
      v.dst_rect = get_rect(r, "dst rect");
      v.src = r.u32le();
      v.src_pt = get_point(r, "src point");
      v.rop3 = get_rop3(r);
      return v;
    }
    case Op::kStretch: {
      Stretch v;
      v.dst = r.u32le();
      v.dst_rect = get_rect(r, "dst rect");
      v.src = r.u32le();
      v.src_rect = get_rect(r, "src rect");
      v.rop3 = get_rop3(r);
      return v;
    }
    case Op::kAlphaBlend: {
      AlphaBlend v;
      v.dst = r.u32le();
      v.dst_rect = get_rect(r, "dst rect");
      v.src = r.u32le();
      v.src_rect = get_rect(r, "src rect");
      v.alpha = r.u8();
      v.per_pixel = get_enum<int>(r, r.u8(), 0, 1, "per-pixel alpha");
      return v;
    }
    case Op::kTransparentBlt: {
      TransparentBlt v;
      v.dst = r.u32le();
      v.dst_rect = get_rect(r, "dst rect");
      v.src = r.u32le();
      v.src_rect = get_rect(r, "src rect");
      v.transparent = r.u32le();
      return v;
    }
    case Op::kMaskBlt: {
      MaskBlt v;
      v.dst = r.u32le();
      v.dst_rect = get_rect(r, "dst rect");
      v.src = r.u32le();
      v.src_pt = get_point(r, "src point");
      v.mask = r.u32le();
      v.mask_pt = get_point(r, "mask point");
      v.rop4 = r.u32le();
      return v;
    }
    case Op::kBitmapDef: {
      BitmapDef v;
      v.bitmap = r.u32le();
      v.w = r.u32le();
      v.h = r.u32le();
      v.encoding = get_enum<int>(r, r.u8(), 0, 1, "bitmap encoding");
      check(r, v.w >= 1 && v.h >= 1 && v.w <= 4096 * 4 && v.h <= 4096 * 4 &&
                   uint64_t(v.w) * v.h <= kMaxPixels,
            "bitmap size " + std::to_string(v.w) + "x" + std::to_string(v.h) + " out of range");
      if (!r.ok()) return v;
      auto rest = r.rest();
      if (v.encoding == BitmapDef::kRaw) {
        uint64_t want = uint64_t(v.w) * v.h * 4;
        if (rest.size() != want) {
          r.fail("raw bitmap has " + std::to_string(rest.size()) + " bytes, expected " +
                 std::to_string(want));
          return v;
        }
      } else {
        check(r, !rest.empty(), "empty zlib bitmap");
      }
      v.data.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
      r.skip(rest.size());
      return v;
    }
    case Op::kBitmapDraw: {
      BitmapDraw v;
      v.dst = r.u32le();
      v.dst_rect = get_rect(r, "dst rect");
      v.bitmap = r.u32le();
      v.src_rect = get_rect(r, "src rect");
      v.rop3 = get_rop3(r);
      return v;
    }
    case Op::kBitmapFree: return BitmapFree{r.u32le()};
    case Op::kFlush: return Flush{r.u32le()};
    case Op::kAppStart: {
      AppStart v;
      v.pid = r.u32le();
      v.app = get_str(r, "app name");
      v.command_line = get_str(r, "command line");
      return v;
    }
    case Op::kAppExit: {
      AppExit v;
      v.pid = r.u32le();
      v.code = r.i32le();
      v.how = get_enum<int>(r, r.u8(), 0, 2, "exit kind");
      return v;
    }
    case Op::kInputKey: {
      InputKey v;
      v.target = r.u32le();
      v.vk = r.u16le();
      check(r, v.vk <= 0xFF, "virtual key out of range");
      v.scancode = r.u16le();
      v.down = get_enum<int>(r, r.u8(), 0, 1, "key down");
      v.unicode = r.u32le();
      check(r, v.unicode <= 0x10FFFF && (v.unicode < 0xD800 || v.unicode > 0xDFFF),
            "unicode out of range");
      return v;
    }
    case Op::kInputPointer: {
      InputPointer v;
      v.target = r.u32le();
      v.pos = get_point(r, "pointer");
      v.buttons = r.u8();
      check(r, v.buttons <= 7, "pointer buttons out of range");
      v.wheel = static_cast<int16_t>(r.u16le());
      return v;
    }
    case Op::kWindowRequest: {
      WindowRequest v;
      v.target = r.u32le();
      v.action = get_enum<int>(r, r.u8(), 0, 6, "window request action");
      v.rect = get_rect(r, "window rect");
      return v;
    }
  }
  Unknown u;
  u.op = op;
  auto rest = r.rest();
  u.body.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
  r.skip(rest.size());
  return u;
}

// ---------------------------------------------------------------- encode

struct Encoder {
  std::string& o;
  void operator()(const WindowCreate& v) {
    put_u32le(o, v.target);
    put_u32le(o, v.owner);
    put_u32le(o, v.pid);
    put_u8(o, v.role);
    put_rect(o, v.rect);
    put_u32le(o, v.flags);
    put_str(o, v.title);
    put_str(o, v.app);
  }
  void operator()(const WindowDestroy& v) { put_u32le(o, v.target); }
  void operator()(const WindowShow& v) {
    put_u32le(o, v.target);
    put_u8(o, v.state);
  }
  void operator()(const WindowMove& v) {
    put_u32le(o, v.target);
    put_rect(o, v.rect);
  }
  void operator()(const WindowTitle& v) {
    put_u32le(o, v.target);
    put_str(o, v.title);
  }
  void operator()(const WindowZorder& v) {
    put_u32le(o, v.target);
    put_u32le(o, v.above);
  }
  void operator()(const WindowIcon& v) {
    put_u32le(o, v.target);
    put_u16le(o, v.w);
    put_u16le(o, v.h);
    put_bytes(o, v.argb);
  }
  void operator()(const WindowFocus& v) { put_u32le(o, v.target); }
  void operator()(const SurfaceCreate& v) {
    put_u32le(o, v.target);
    put_u32le(o, v.w);
    put_u32le(o, v.h);
  }
  void operator()(const SurfaceDelete& v) { put_u32le(o, v.target); }
  void operator()(const FontDef& v) {
    put_u32le(o, v.font);
    put_i32(o, v.height);
    put_u16le(o, v.weight);
    put_u8(o, v.italic);
    put_u8(o, v.underline);
    put_u8(o, v.strikeout);
    put_u8(o, v.charset);
    put_str(o, v.face);
    if (!v.realised()) return;
    put_str(o, v.real_face);
    put_u16le(o, v.em);
    put_u16le(o, v.ascent);
    put_u16le(o, v.descent);
    put_u16le(o, v.real_weight);
    put_u8(o, v.real_italic);
    put_u8(o, v.fixed_pitch);
    put_u8(o, v.smoothing);
    put_u16le(o, v.stretch);
  }
  void operator()(const State& v) {
    put_u32le(o, v.target);
    put_u8(o, v.pen.style);
    put_u16le(o, v.pen.width);
    put_u32le(o, v.pen.color);
    put_u8(o, v.brush.style);
    put_u8(o, v.brush.hatch);
    put_u32le(o, v.brush.color);
    put_u8(o, v.brush.pw);
    put_u8(o, v.brush.ph);
    if (v.brush.style == 3) {
      size_t n = size_t(v.brush.pw) * v.brush.ph;
      for (size_t i = 0; i < n; ++i) put_u32le(o, i < v.brush.pattern.size() ? v.brush.pattern[i] : 0);
    }
    put_u32le(o, v.text);
    put_u32le(o, v.bk);
    put_u8(o, v.bk_mode);
    put_u8(o, v.rop2);
    put_u32le(o, v.text_align);
    put_u32le(o, v.font);
    put_u8(o, v.poly_fill_mode);
    put_u16le(o, static_cast<uint16_t>(v.clip.size()));
    for (const auto& r : v.clip) put_rect(o, r);
  }
  void target_rect(uint32_t t, const Rect& r) {
    put_u32le(o, t);
    put_rect(o, r);
  }
  void operator()(const FillRect& v) {
    target_rect(v.target, v.rect);
    put_u32le(o, v.rop3);
  }
  void operator()(const FrameRect& v) { target_rect(v.target, v.rect); }
  void operator()(const InvertRect& v) { target_rect(v.target, v.rect); }
  void operator()(const Rectangle& v) { target_rect(v.target, v.rect); }
  void operator()(const RoundRect& v) {
    target_rect(v.target, v.rect);
    put_i32(o, v.ew);
    put_i32(o, v.eh);
  }
  void operator()(const Ellipse& v) { target_rect(v.target, v.rect); }
  void operator()(const Arc& v) {
    put_u32le(o, v.target);
    put_u8(o, v.kind);
    put_rect(o, v.rect);
    put_point(o, v.start);
    put_point(o, v.end);
  }
  void operator()(const Polygon& v) {
    put_u32le(o, v.target);
    put_u16le(o, static_cast<uint16_t>(v.counts.size()));
    for (auto c : v.counts) put_u16le(o, c);
    for (const auto& p : v.points) put_point(o, p);
  }
  void operator()(const Polyline& v) {
    put_u32le(o, v.target);
    put_u16le(o, static_cast<uint16_t>(v.points.size()));
    for (const auto& p : v.points) put_point(o, p);
  }
  void operator()(const PolyBezier& v) {
    put_u32le(o, v.target);
    put_u16le(o, static_cast<uint16_t>(v.points.size()));
    for (const auto& p : v.points) put_point(o, p);
  }
  void operator()(const FillRgn& v) {
    put_u32le(o, v.target);
    put_u16le(o, static_cast<uint16_t>(v.rects.size()));
    for (const auto& r : v.rects) put_rect(o, r);
  }
  void operator()(const Text& v) {
    put_u32le(o, v.target);
    put_point(o, v.pos);
    put_u32le(o, v.options);
    put_rect(o, v.rect);
    put_str(o, v.text);
    put_u16le(o, static_cast<uint16_t>(v.advances.size()));
    for (auto a : v.advances) put_i32(o, a);
  }
  void operator()(const Gradient& v) {
    put_u32le(o, v.target);
    put_u8(o, v.mode);
    put_rect(o, v.rect);
    put_u32le(o, v.from);
    put_u32le(o, v.to);
  }
  void operator()(const Copy& v) {
    target_rect(v.dst, v.dst_rect);
    put_u32le(o, v.src);
    put_point(o, v.src_pt);
    put_u32le(o, v.rop3);
  }
  void operator()(const Stretch& v) {
    target_rect(v.dst, v.dst_rect);
    target_rect(v.src, v.src_rect);
    put_u32le(o, v.rop3);
  }
  void operator()(const AlphaBlend& v) {
    target_rect(v.dst, v.dst_rect);
    target_rect(v.src, v.src_rect);
    put_u8(o, v.alpha);
    put_u8(o, v.per_pixel);
  }
  void operator()(const TransparentBlt& v) {
    target_rect(v.dst, v.dst_rect);
    target_rect(v.src, v.src_rect);
    put_u32le(o, v.transparent);
  }
  void operator()(const MaskBlt& v) {
    target_rect(v.dst, v.dst_rect);
    put_u32le(o, v.src);
    put_point(o, v.src_pt);
    put_u32le(o, v.mask);
    put_point(o, v.mask_pt);
    put_u32le(o, v.rop4);
  }
  void operator()(const BitmapDef& v) {
    put_u32le(o, v.bitmap);
    put_u32le(o, v.w);
    put_u32le(o, v.h);
    put_u8(o, v.encoding);
    put_bytes(o, v.data);
  }
  void operator()(const BitmapDraw& v) {
    target_rect(v.dst, v.dst_rect);
    target_rect(v.bitmap, v.src_rect);
    put_u32le(o, v.rop3);
  }
  void operator()(const BitmapFree& v) { put_u32le(o, v.bitmap); }
  void operator()(const Flush& v) { put_u32le(o, v.target); }
  void operator()(const AppStart& v) {
    put_u32le(o, v.pid);
    put_str(o, v.app);
    put_str(o, v.command_line);
  }
  void operator()(const AppExit& v) {
    put_u32le(o, v.pid);
    put_i32(o, v.code);
    put_u8(o, v.how);
  }
  void operator()(const InputKey& v) {
    put_u32le(o, v.target);
    put_u16le(o, v.vk);
    put_u16le(o, v.scancode);
    put_u8(o, v.down);
    put_u32le(o, v.unicode);
  }
  void operator()(const InputPointer& v) {
    put_u32le(o, v.target);
    put_point(o, v.pos);
    put_u8(o, v.buttons);
    put_u16le(o, static_cast<uint16_t>(v.wheel));
  }
  void operator()(const WindowRequest& v) {
    put_u32le(o, v.target);
    put_u8(o, v.action);
    put_rect(o, v.rect);
  }
  void operator()(const Unknown& v) { put_bytes(o, v.body); }
};

// ---------------------------------------------------------------- fields
// One listing of every record's fields, rendered as text by describe() and
// as JSON by to_json().

struct Sink {
  virtual ~Sink() = default;
  virtual void num(const char* k, int64_t v) = 0;
  virtual void hex(const char* k, uint32_t v) = 0;
  virtual void color(const char* k, Color c) = 0;
  virtual void word(const char* k, const char* w) = 0;  // an enum's name
  virtual void rect(const char* k, const Rect& r) = 0;
  virtual void point(const char* k, const Point& p) = 0;
  virtual void str(const char* k, const std::string& s) = 0;
  virtual void points(const char* k, const std::vector<Point>& v) = 0;
  virtual void rects(const char* k, const std::vector<Rect>& v) = 0;
  virtual void ints(const char* k, const std::vector<int32_t>& v) = 0;
  virtual void colors(const char* k, const std::vector<Color>& v) = 0;
};

const char* pick(const char* const* names, size_t n, unsigned v) { return v < n ? names[v] : "?"; }
#define VREDIR_PICK(arr, v) pick(arr, sizeof(arr) / sizeof(arr[0]), v)

const char* const kRoles[] = {"toplevel", "dialog", "popup", "tooltip"};
const char* const kShow[] = {"hidden", "shown", "minimised", "maximised"};
const char* const kSmoothing[] = {"none", "grey", "rgb", "bgr"};
const char* const kPenStyles[] = {"solid", "dash", "dot", "dashdot", "dashdotdot", "null"};
const char* const kBrushStyles[] = {"solid", "null", "hatch", "pattern"};
const char* const kArcKinds[] = {"arc", "pie", "chord"};
const char* const kExitHow[] = {"exited", "terminated", "crashed"};
const char* const kActions[] = {"move", "minimise", "maximise", "restore", "close", "focus", "redraw"};

void brush_fields(Sink& s, const Brush& b, const char* prefix) {
  if (b.style == 1) {
    s.word(prefix, "null");
    return;
  }
  s.color(prefix, b.color);
  if (b.style == 2) {
    std::string k = std::string(prefix) + "_hatch";
    s.num(k.c_str(), b.hatch);
  }
  if (b.style == 3) {
    std::string k = std::string(prefix) + "_pattern";
    s.num((k + "_w").c_str(), b.pw);
    s.num((k + "_h").c_str(), b.ph);
  }
}

struct Fields {
  Sink& s;
  const State* st;
  void brush() {
    if (st) brush_fields(s, st->brush, "brush");
  }
  void pen() {
    if (!st) return;
    if (st->pen.style == 5)
      s.word("pen", "null");
    else
      s.color("pen", st->pen.color);
  }
  void operator()(const WindowCreate& v) {
    s.num("target", v.target);
    s.num("owner", v.owner);
    s.num("pid", v.pid);
    s.word("role", VREDIR_PICK(kRoles, v.role));
    s.rect("rect", v.rect);
    s.hex("flags", v.flags);
    s.str("title", v.title);
    s.str("app", v.app);
  }
  void operator()(const WindowDestroy& v) { s.num("target", v.target); }
  void operator()(const WindowShow& v) {
    s.num("target", v.target);
    s.word("state", VREDIR_PICK(kShow, v.state));
  }
  void operator()(const WindowMove& v) {
    s.num("target", v.target);
    s.rect("rect", v.rect);
  }
  void operator()(const WindowTitle& v) {
    s.num("target", v.target);
    s.str("title", v.title);
  }
  void operator()(const WindowZorder& v) {
    s.num("target", v.target);
    s.num("above", v.above);
  }
  void operator()(const WindowIcon& v) {
    s.num("target", v.target);
    s.num("w", v.w);
    s.num("h", v.h);
  }
  void operator()(const WindowFocus& v) { s.num("target", v.target); }
  void operator()(const SurfaceCreate& v) {
    s.num("target", v.target);
    s.num("w", v.w);
    s.num("h", v.h);
  }
  void operator()(const SurfaceDelete& v) { s.num("target", v.target); }
  void operator()(const FontDef& v) {
    s.num("font", v.font);
    s.str("face", v.face);
    s.num("height", v.height);
    s.num("weight", v.weight);
    s.num("italic", v.italic);
    s.num("underline", v.underline);
    s.num("strikeout", v.strikeout);
    s.num("charset", v.charset);
    if (!v.realised()) return;
    s.str("real_face", v.real_face);
    s.num("em", v.em);
    s.num("ascent", v.ascent);
    s.num("descent", v.descent);
    s.num("real_weight", v.real_weight);
    s.num("real_italic", v.real_italic);
    s.num("fixed_pitch", v.fixed_pitch);
    s.word("smoothing", VREDIR_PICK(kSmoothing, v.smoothing));
    s.num("stretch", v.stretch);
  }
  void operator()(const State& v) {
    s.num("target", v.target);
    s.word("pen_style", VREDIR_PICK(kPenStyles, v.pen.style));
    s.num("pen_width", v.pen.width);
    s.color("pen", v.pen.color);
    s.word("brush_style", VREDIR_PICK(kBrushStyles, v.brush.style));
    brush_fields(s, v.brush, "brush");
    if (v.brush.style == 3) s.colors("brush_pattern", v.brush.pattern);
    s.color("text", v.text);
    s.color("bk", v.bk);
    s.word("bk_mode", v.bk_mode == 1 ? "transparent" : "opaque");
    s.num("rop2", v.rop2);
    s.hex("text_align", v.text_align);
    s.num("font", v.font);
    s.word("fill", v.poly_fill_mode == 2 ? "winding" : "alternate");
    s.rects("clip", v.clip);
  }
  void operator()(const FillRect& v) {
    s.num("target", v.target);
    s.rect("rect", v.rect);
    s.hex("rop3", v.rop3);
    brush();
  }
  void operator()(const FrameRect& v) {
    s.num("target", v.target);
    s.rect("rect", v.rect);
    brush();
  }
  void operator()(const InvertRect& v) {
    s.num("target", v.target);
    s.rect("rect", v.rect);
  }
  void operator()(const Rectangle& v) {
    s.num("target", v.target);
    s.rect("rect", v.rect);
    pen();
    brush();
  }
  void operator()(const RoundRect& v) {
    s.num("target", v.target);
    s.rect("rect", v.rect);
    s.num("ew", v.ew);
    s.num("eh", v.eh);
    pen();
    brush();
  }
  void operator()(const Ellipse& v) {
    s.num("target", v.target);
    s.rect("rect", v.rect);
    pen();
    brush();
  }
  void operator()(const Arc& v) {
    s.num("target", v.target);
    s.word("kind", VREDIR_PICK(kArcKinds, v.kind));
    s.rect("rect", v.rect);
    s.point("start", v.start);
    s.point("end", v.end);
    pen();
    if (v.kind != 0) brush();
  }
  void operator()(const Polygon& v) {
    s.num("target", v.target);
    std::vector<int32_t> counts(v.counts.begin(), v.counts.end());
    s.ints("counts", counts);
    s.points("points", v.points);
    pen();
    brush();
  }
  void operator()(const Polyline& v) {
    s.num("target", v.target);
    s.points("points", v.points);
    pen();
  }
  void operator()(const PolyBezier& v) {
    s.num("target", v.target);
    s.points("points", v.points);
    pen();
  }
  void operator()(const FillRgn& v) {
    s.num("target", v.target);
    s.rects("rects", v.rects);
    brush();
  }
  void operator()(const Text& v) {
    s.num("target", v.target);
    s.point("at", v.pos);
    s.str("text", v.text);
    if (v.options) s.hex("options", v.options);
    if (v.rect != Rect{}) s.rect("rect", v.rect);
    s.ints("advances", v.advances);
    if (st) {
      s.color("color", st->text);
      if (st->bk_mode == 2 || (v.options & Text::kOpaque)) s.color("bk", st->bk);
      s.num("font", st->font);
    }
  }
  void operator()(const Gradient& v) {
    s.num("target", v.target);
    s.word("mode", v.mode == 0 ? "horizontal" : "vertical");
    s.rect("rect", v.rect);
    s.color("from", v.from);
    s.color("to", v.to);
  }
  void operator()(const Copy& v) {
    s.num("dst", v.dst);
    s.rect("rect", v.dst_rect);
    s.num("src", v.src);
    s.point("src_at", v.src_pt);
    s.hex("rop3", v.rop3);
  }
  void operator()(const Stretch& v) {
    s.num("dst", v.dst);
    s.rect("rect", v.dst_rect);
    s.num("src", v.src);
    s.rect("src_rect", v.src_rect);
    s.hex("rop3", v.rop3);
  }
  void operator()(const AlphaBlend& v) {
    s.num("dst", v.dst);
    s.rect("rect", v.dst_rect);
    s.num("src", v.src);
    s.rect("src_rect", v.src_rect);
    s.num("alpha", v.alpha);
    s.num("per_pixel", v.per_pixel);
  }
  void operator()(const TransparentBlt& v) {
    s.num("dst", v.dst);
    s.rect("rect", v.dst_rect);
    s.num("src", v.src);
    s.rect("src_rect", v.src_rect);
    s.color("transparent", v.transparent);
  }
  void operator()(const MaskBlt& v) {
    s.num("dst", v.dst);
    s.rect("rect", v.dst_rect);
    s.num("src", v.src);
    s.point("src_at", v.src_pt);
    s.num("mask", v.mask);
    s.point("mask_at", v.mask_pt);
    s.hex("rop4", v.rop4);
  }
  void operator()(const BitmapDef& v) {
    s.num("bitmap", v.bitmap);
    s.num("w", v.w);
    s.num("h", v.h);
    s.word("encoding", v.encoding == 0 ? "raw" : "zlib");
    s.num("bytes", static_cast<int64_t>(v.data.size()));
  }
  void operator()(const BitmapDraw& v) {
    s.num("dst", v.dst);
    s.rect("rect", v.dst_rect);
    s.num("bitmap", v.bitmap);
    s.rect("src_rect", v.src_rect);
    s.hex("rop3", v.rop3);
  }
  void operator()(const BitmapFree& v) { s.num("bitmap", v.bitmap); }
  void operator()(const Flush& v) { s.num("target", v.target); }
  void operator()(const AppStart& v) {
    s.num("pid", v.pid);
    s.str("app", v.app);
    s.str("command_line", v.command_line);
  }
  void operator()(const AppExit& v) {
    s.num("pid", v.pid);
    s.num("code", v.code);
    s.word("how", VREDIR_PICK(kExitHow, v.how));
  }
  void operator()(const InputKey& v) {
    s.num("target", v.target);
    s.hex("vk", v.vk);
    s.hex("scancode", v.scancode);
    s.word("dir", v.down ? "down" : "up");
    s.hex("unicode", v.unicode);
  }
  void operator()(const InputPointer& v) {
    s.num("target", v.target);
    s.point("at", v.pos);
    s.num("buttons", v.buttons);
    s.num("wheel", v.wheel);
  }
  void operator()(const WindowRequest& v) {
    s.num("target", v.target);
    s.word("action", VREDIR_PICK(kActions, v.action));
    if (v.action == WindowRequest::kMoveResize) s.rect("rect", v.rect);
  }
  void operator()(const Unknown& v) {
    s.hex("code", v.op);
    s.num("bytes", static_cast<int64_t>(v.body.size()));
  }
};

std::string hex_str(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%X", v);
  return buf;
}
std::string color_str(Color c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%06X", c & 0xFFFFFFu);
  return buf;
}

// Quoted string with control bytes, quotes and backslashes escaped; valid
// UTF-8 passes through. json selects JSON escapes (\u00XX).
std::string quote(const std::string& s, bool json) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      if (c == '\n')
        out += "\\n";
      else if (c == '\t')
        out += "\\t";
      else if (c == '\r')
        out += "\\r";
      else {
        std::snprintf(buf, sizeof buf, json ? "\\u%04X" : "\\x%02X", c);
        out += buf;
      }
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string rect_text(const Rect& r) {
  return std::to_string(r.x) + "," + std::to_string(r.y) + "+" + std::to_string(r.w) + "x" +
         std::to_string(r.h);
}

struct TextSink : Sink {
  std::string out;
  void key(const char* k) {
    out += ' ';
    out += k;
    out += '=';
  }
  void num(const char* k, int64_t v) override { key(k), out += std::to_string(v); }
  void hex(const char* k, uint32_t v) override { key(k), out += hex_str(v); }
  void color(const char* k, Color c) override { key(k), out += color_str(c); }
  void word(const char* k, const char* w) override { key(k), out += w; }
  void rect(const char* k, const Rect& r) override { key(k), out += rect_text(r); }
  void point(const char* k, const Point& p) override {
    key(k), out += std::to_string(p.x) + "," + std::to_string(p.y);
  }
  void str(const char* k, const std::string& s) override { key(k), out += quote(s, false); }
  template <typename V, typename F>
  void list(const char* k, const V& v, F&& one) {
    key(k);
    out += std::to_string(v.size());
    if (v.empty()) return;
    out += '[';
    size_t shown = v.size() < 4 ? v.size() : 4;
    for (size_t i = 0; i < shown; ++i) {
      if (i) out += ' ';
      out += one(v[i]);
    }
    if (shown < v.size()) out += " ...";
    out += ']';
  }
  void points(const char* k, const std::vector<Point>& v) override {
    list(k, v, [](const Point& p) { return std::to_string(p.x) + "," + std::to_string(p.y); });
  }
  void rects(const char* k, const std::vector<Rect>& v) override { list(k, v, rect_text); }
  void ints(const char* k, const std::vector<int32_t>& v) override {
    list(k, v, [](int32_t i) { return std::to_string(i); });
  }
  void colors(const char* k, const std::vector<Color>& v) override { list(k, v, color_str); }
};

struct JsonSink : Sink {
  std::string out;
  void key(const char* k) {
    out += ",\"";
    out += k;
    out += "\":";
  }
  static std::string rect_json(const Rect& r) {
    return "{\"x\":" + std::to_string(r.x) + ",\"y\":" + std::to_string(r.y) +
           ",\"w\":" + std::to_string(r.w) + ",\"h\":" + std::to_string(r.h) + "}";
  }
  static std::string point_json(const Point& p) {
    return "{\"x\":" + std::to_string(p.x) + ",\"y\":" + std::to_string(p.y) + "}";
  }
  void num(const char* k, int64_t v) override { key(k), out += std::to_string(v); }
  void hex(const char* k, uint32_t v) override { key(k), out += std::to_string(v); }
  void color(const char* k, Color c) override { key(k), out += "\"" + color_str(c) + "\""; }
  void word(const char* k, const char* w) override { key(k), out += quote(w, true); }
  void rect(const char* k, const Rect& r) override { key(k), out += rect_json(r); }
  void point(const char* k, const Point& p) override { key(k), out += point_json(p); }
  void str(const char* k, const std::string& s) override { key(k), out += quote(s, true); }
  template <typename V, typename F>
  void list(const char* k, const V& v, F&& one) {
    key(k);
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ',';
      out += one(v[i]);
    }
    out += ']';
  }
  void points(const char* k, const std::vector<Point>& v) override { list(k, v, point_json); }
  void rects(const char* k, const std::vector<Rect>& v) override { list(k, v, rect_json); }
  void ints(const char* k, const std::vector<int32_t>& v) override {
    list(k, v, [](int32_t i) { return std::to_string(i); });
  }
  void colors(const char* k, const std::vector<Color>& v) override {
    list(k, v, [](Color c) {
      std::string q(1, '"');
      q += color_str(c);
      q += '"';
      return q;
    });
  }
};

template <typename T>
constexpr Op op_for() {
  if constexpr (std::is_same_v<T, WindowCreate>) return Op::kWindowCreate;
  else if constexpr (std::is_same_v<T, WindowDestroy>) return Op::kWindowDestroy;
  else if constexpr (std::is_same_v<T, WindowShow>) return Op::kWindowShow;
  else if constexpr (std::is_same_v<T, WindowMove>) return Op::kWindowMove;
  else if constexpr (std::is_same_v<T, WindowTitle>) return Op::kWindowTitle;
  else if constexpr (std::is_same_v<T, WindowZorder>) return Op::kWindowZorder;
  else if constexpr (std::is_same_v<T, WindowIcon>) return Op::kWindowIcon;
  else if constexpr (std::is_same_v<T, WindowFocus>) return Op::kWindowFocus;
  else if constexpr (std::is_same_v<T, SurfaceCreate>) return Op::kSurfaceCreate;
  else if constexpr (std::is_same_v<T, SurfaceDelete>) return Op::kSurfaceDelete;
  else if constexpr (std::is_same_v<T, FontDef>) return Op::kFontDef;
  else if constexpr (std::is_same_v<T, State>) return Op::kState;
  else if constexpr (std::is_same_v<T, FillRect>) return Op::kFillRect;
  else if constexpr (std::is_same_v<T, FrameRect>) return Op::kFrameRect;
  else if constexpr (std::is_same_v<T, InvertRect>) return Op::kInvertRect;
  else if constexpr (std::is_same_v<T, Rectangle>) return Op::kRectangle;
  else if constexpr (std::is_same_v<T, RoundRect>) return Op::kRoundRect;
  else if constexpr (std::is_same_v<T, Ellipse>) return Op::kEllipse;
  else if constexpr (std::is_same_v<T, Arc>) return Op::kArc;
  else if constexpr (std::is_same_v<T, Polygon>) return Op::kPolygon;
  else if constexpr (std::is_same_v<T, Polyline>) return Op::kPolyline;
  else if constexpr (std::is_same_v<T, PolyBezier>) return Op::kPolyBezier;
  else if constexpr (std::is_same_v<T, FillRgn>) return Op::kFillRgn;
  else if constexpr (std::is_same_v<T, Text>) return Op::kText;
  else if constexpr (std::is_same_v<T, Gradient>) return Op::kGradient;
  else if constexpr (std::is_same_v<T, Copy>) return Op::kCopy;
  else if constexpr (std::is_same_v<T, Stretch>) return Op::kStretch;
  else if constexpr (std::is_same_v<T, AlphaBlend>) return Op::kAlphaBlend;
  else if constexpr (std::is_same_v<T, TransparentBlt>) return Op::kTransparentBlt;
  else if constexpr (std::is_same_v<T, MaskBlt>) return Op::kMaskBlt;
  else if constexpr (std::is_same_v<T, BitmapDef>) return Op::kBitmapDef;
  else if constexpr (std::is_same_v<T, BitmapDraw>) return Op::kBitmapDraw;
  else if constexpr (std::is_same_v<T, BitmapFree>) return Op::kBitmapFree;
  else if constexpr (std::is_same_v<T, Flush>) return Op::kFlush;
  else if constexpr (std::is_same_v<T, AppStart>) return Op::kAppStart;
  else if constexpr (std::is_same_v<T, AppExit>) return Op::kAppExit;
  else if constexpr (std::is_same_v<T, InputKey>) return Op::kInputKey;
  else if constexpr (std::is_same_v<T, InputPointer>) return Op::kInputPointer;
  else if constexpr (std::is_same_v<T, WindowRequest>) return Op::kWindowRequest;
  else return Op{0};
}

}  // namespace

// ---------------------------------------------------------------- public

bool valid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

size_t utf16_length(std::string_view s) {
  size_t units = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    units += c >= 0xF0 ? 2 : 1;
  }
  return units;
}

bool decode_record(std::span<const uint8_t> payload, Record* out, std::string* err) {
  auto fail = [&](const std::string& m) {
    if (err) *err = m;
    return false;
  };
  if (payload.empty()) return fail("empty GDI record");
  ByteReader r(payload);
  uint8_t op = r.u8();
  Record rec = decode_body(op, r);
  if (!r.ok()) return fail(std::string("GDI ") + op_name(op) + ": " + r.error());
  if (!r.at_end())
    return fail(std::string("GDI ") + op_name(op) + ": " + std::to_string(r.remaining()) +
                " trailing bytes");
  if (out) *out = std::move(rec);
  return true;
}

uint8_t op_of(const Record& r) {
  return std::visit(
      [](const auto& v) -> uint8_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Unknown>) return v.op;
        else return static_cast<uint8_t>(op_for<T>());
      },
      r);
}

void encode_record(const Record& r, std::string& out) {
  put_u8(out, op_of(r));
  std::visit(Encoder{out}, r);
}

const char* op_name(uint8_t op) {
  switch (static_cast<Op>(op)) {
    case Op::kWindowCreate: return "WINDOW_CREATE";
    case Op::kWindowDestroy: return "WINDOW_DESTROY";
    case Op::kWindowShow: return "WINDOW_SHOW";
    case Op::kWindowMove: return "WINDOW_MOVE";
    case Op::kWindowTitle: return "WINDOW_TITLE";
    case Op::kWindowZorder: return "WINDOW_ZORDER";
    case Op::kWindowIcon: return "WINDOW_ICON";
    case Op::kWindowFocus: return "WINDOW_FOCUS";
    case Op::kSurfaceCreate: return "SURFACE_CREATE";
    case Op::kSurfaceDelete: return "SURFACE_DELETE";
    case Op::kFontDef: return "FONT_DEF";
    case Op::kState: return "STATE";
    case Op::kFillRect: return "FILL_RECT";
    case Op::kFrameRect: return "FRAME_RECT";
    case Op::kInvertRect: return "INVERT_RECT";
    case Op::kRectangle: return "RECTANGLE";
    case Op::kRoundRect: return "ROUND_RECT";
    case Op::kEllipse: return "ELLIPSE";
    case Op::kArc: return "ARC";
    case Op::kPolygon: return "POLYGON";
    case Op::kPolyline: return "POLYLINE";
    case Op::kPolyBezier: return "POLYBEZIER";
    case Op::kFillRgn: return "FILL_RGN";
    case Op::kText: return "TEXT";
    case Op::kGradient: return "GRADIENT";
    case Op::kCopy: return "COPY";
    case Op::kStretch: return "STRETCH";
    case Op::kAlphaBlend: return "ALPHA_BLEND";
    case Op::kTransparentBlt: return "TRANSPARENT_BLT";
    case Op::kMaskBlt: return "MASK_BLT";
    case Op::kBitmapDef: return "BITMAP_DEF";
    case Op::kBitmapDraw: return "BITMAP_DRAW";
    case Op::kBitmapFree: return "BITMAP_FREE";
    case Op::kFlush: return "FLUSH";
    case Op::kAppStart: return "APP_START";
    case Op::kAppExit: return "APP_EXIT";
    case Op::kInputKey: return "INPUT_KEY";
    case Op::kInputPointer: return "INPUT_POINTER";
    case Op::kWindowRequest: return "WINDOW_REQUEST";
  }
  return "UNKNOWN";
}

bool is_pixel_update(const Record& r) { return std::holds_alternative<BitmapDraw>(r); }

bool is_command_update(const Record& r) {
  uint8_t op = op_of(r);
  return !std::holds_alternative<Unknown>(r) && op >= 0x20 && op <= 0x44;
}

bool carries_pixels(const Record& r) {
  return std::holds_alternative<BitmapDraw>(r) || std::holds_alternative<BitmapDef>(r);
}

uint32_t target_of(const Record& r) {
  return std::visit(
      [](const auto& v) -> uint32_t {
        if constexpr (requires { v.target; }) return v.target;
        else if constexpr (requires { v.dst; }) return v.dst;
        else return 0;
      },
      r);
}

std::string describe(const Record& r) { return describe(r, nullptr); }

std::string describe(const Record& r, const State* state) {
  TextSink s;
  s.out = op_name(op_of(r));
  std::visit(Fields{s, state}, r);
  return s.out;
}

std::string to_json(const Record& r, const State* state) {
  JsonSink s;
  s.out = std::string("{\"op\":\"") + op_name(op_of(r)) + "\"";
  std::visit(Fields{s, state}, r);
  s.out += '}';
  return s.out;
}

}  // namespace vredir::gdi
