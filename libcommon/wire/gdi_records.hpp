// GDI records: the payload of GDI frames (type 0x70) on a gdi channel.
// Downstream records carry a Windows application's window lifecycle and its
// drawing calls as commands; upstream records carry input back to it. The
// format is normative in vredir-gdi(5). This file is shared with the
// Windows-side hook, so it uses the standard library only (no POSIX, no
// third-party headers): it builds with g++ and x86_64-w64-mingw32-g++.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vredir::gdi {

// Op codes (first byte of every record).
enum class Op : uint8_t {
  kWindowCreate = 0x01,
  kWindowDestroy = 0x02,
  kWindowShow = 0x03,
  kWindowMove = 0x04,
  kWindowTitle = 0x05,
  kWindowZorder = 0x06,
  kWindowFocus = 0x07,
  kWindowIcon = 0x08,
  kSurfaceCreate = 0x10,
  kSurfaceDelete = 0x11,
  kFontDef = 0x18,
  kState = 0x19,
  kFillRect = 0x20,
  kFrameRect = 0x21,
  kInvertRect = 0x22,
  kRectangle = 0x23,
  kRoundRect = 0x24,
  kEllipse = 0x25,
  kArc = 0x26,
  kPolygon = 0x27,
  kPolyline = 0x28,
  kPolyBezier = 0x29,
  kFillRgn = 0x2A,
  kText = 0x30,
  kGradient = 0x38,
  kCopy = 0x40,
  kStretch = 0x41,
  kAlphaBlend = 0x42,
  kTransparentBlt = 0x43,
  kMaskBlt = 0x44,
  kBitmapDef = 0x50,
  kBitmapDraw = 0x51,
  kBitmapFree = 0x52,
  kFlush = 0x60,
  kAppStart = 0x70,
  kAppExit = 0x71,
  kInputKey = 0x80,
  kInputPointer = 0x81,
  kWindowRequest = 0x82,
};

// Limits enforced by decode_record (and expected of every encoder).
inline constexpr int32_t kMinCoord = -32768;           // rect x/y and point x/y
inline constexpr int32_t kMaxCoord = 65535;
inline constexpr int32_t kMaxExtent = 32768;           // rect w/h in [0, kMaxExtent]
inline constexpr uint32_t kMaxSurfaceSide = 16384;     // SURFACE_CREATE w/h in [1, this]
inline constexpr uint64_t kMaxPixels = 4096ull * 4096; // SURFACE_CREATE / BITMAP_DEF w*h
inline constexpr uint32_t kMaxPatternSide = 16;        // brush pattern pw/ph
inline constexpr uint32_t kMaxPoints = 16384;          // POLYGON total, POLYLINE, POLYBEZIER
inline constexpr uint32_t kMaxRects = 16384;           // STATE clip rects, FILL_RGN rects
inline constexpr int32_t kMaxEllipse = 65535;          // ROUND_RECT ew/eh in [0, this]
inline constexpr uint32_t kMaxRop3 = 0x00FFFFFF;
inline constexpr int32_t kMaxFontPixels = 4096;     // FONT_DEF height, em, ascent, descent

using Color = uint32_t;  // 0x00RRGGBB

struct Rect {
  int32_t x = 0, y = 0, w = 0, h = 0;
  bool operator==(const Rect&) const = default;
};
struct Point {
  int32_t x = 0, y = 0;
  bool operator==(const Point&) const = default;
};

// ---- downstream: window lifecycle ----
struct WindowCreate {
  uint32_t target = 0;
  uint32_t owner = 0;  // 0: none
  uint32_t pid = 0;
  uint8_t role = 0;    // 0 top-level, 1 dialog, 2 popup/menu, 3 tooltip
  Rect rect;           // client area, screen coordinates
  uint32_t flags = 0;  // kFlag*
  std::string title;
  std::string app;
  static constexpr uint32_t kFlagResizable = 1, kFlagMinBox = 2, kFlagMaxBox = 4, kFlagVisible = 8;
  bool operator==(const WindowCreate&) const = default;
};
struct WindowDestroy {
  uint32_t target = 0;
  bool operator==(const WindowDestroy&) const = default;
};
struct WindowShow {
  uint32_t target = 0;
  uint8_t state = 0;  // 0 hidden, 1 shown, 2 minimised, 3 maximised
  bool operator==(const WindowShow&) const = default;
};
struct WindowMove {
  uint32_t target = 0;
  Rect rect;  // client area, screen coordinates
  bool operator==(const WindowMove&) const = default;
};
struct WindowTitle {
  uint32_t target = 0;
  std::string title;
  bool operator==(const WindowTitle&) const = default;
};
// The window's icon (taskbar, switcher): w x h pixels of straight-alpha
// ARGB, one little-endian uint32 0xAARRGGBB each, rows top-down.
struct WindowIcon {
  uint32_t target = 0;
  uint16_t w = 0, h = 0;  // 1..kMaxIconSide
  std::string argb;       // exactly w*h*4 bytes
  static constexpr uint16_t kMaxIconSide = 256;
  bool operator==(const WindowIcon&) const = default;
};
struct WindowZorder {
  uint32_t target = 0;
  uint32_t above = 0;  // 0: top
  bool operator==(const WindowZorder&) const = default;
};
struct WindowFocus {
  uint32_t target = 0;
  bool operator==(const WindowFocus&) const = default;
};

// ---- downstream: surfaces, fonts, state ----
struct SurfaceCreate {
  uint32_t target = 0;
  uint32_t w = 0, h = 0;  // contents start white
  bool operator==(const SurfaceCreate&) const = default;
};
struct SurfaceDelete {
  uint32_t target = 0;
  bool operator==(const SurfaceDelete&) const = default;
};
struct FontDef {
  uint32_t font = 0;
  int32_t height = 0;  // pixels; negative = character height (LOGFONT)
  uint16_t weight = 400;
  uint8_t italic = 0, underline = 0, strikeout = 0, charset = 0;
  std::string face;  // the face the application asked for
  // The font GDI realised for that request, when the producer knows it
  // (em == 0: not sent): its face, pixels per em, cell ascent and descent,
  // weight, italic, pitch, how its glyphs are smoothed and how much they are
  // stretched. A renderer draws with these.
  std::string real_face;
  uint16_t em = 0;                   // 1..kMaxFontPixels when present
  uint16_t ascent = 0, descent = 0;  // 0..kMaxFontPixels
  uint16_t real_weight = 0;          // 0..1000
  uint8_t real_italic = 0;           // 0/1
  uint8_t fixed_pitch = 0;           // 0 variable, 1 fixed
  uint8_t smoothing = 0;             // kSmooth*
  uint16_t stretch = 1000;           // horizontal scale of the glyphs, 1/1000 (LOGFONT width), 1..16000
  static constexpr uint8_t kSmoothNone = 0, kSmoothGrey = 1, kSmoothRgb = 2, kSmoothBgr = 3;
  bool realised() const { return em != 0; }
  bool operator==(const FontDef&) const = default;
};
struct Pen {
  uint8_t style = 0;  // 0 solid, 1 dash, 2 dot, 3 dashdot, 4 dashdotdot, 5 null
  uint16_t width = 1;
  Color color = 0;
  bool operator==(const Pen&) const = default;
};
struct Brush {
  uint8_t style = 0;  // 0 solid, 1 null, 2 hatch, 3 pattern
  uint8_t hatch = 0;  // HS_* 0..5
  Color color = 0xFFFFFF;
  uint8_t pw = 0, ph = 0;       // pattern size (<= 16), meaningful for style 3
  std::vector<Color> pattern;   // pw*ph colours, row-major, style 3 only
  bool operator==(const Brush&) const = default;
};
struct State {
  uint32_t target = 0;
  Pen pen;
  Brush brush;
  Color text = 0;
  Color bk = 0xFFFFFF;
  uint8_t bk_mode = 2;        // 1 transparent, 2 opaque
  uint8_t rop2 = 13;          // R2_* 1..16 (13 = R2_COPYPEN)
  uint32_t text_align = 0;    // TA_* flags
  uint32_t font = 0;          // 0: default GUI font
  uint8_t poly_fill_mode = 1; // 1 alternate, 2 winding
  std::vector<Rect> clip;     // empty: no clip
  bool operator==(const State&) const = default;
};

// ---- downstream: drawing ----
struct FillRect {
  uint32_t target = 0;
  Rect rect;
  uint32_t rop3 = 0x00F00021;  // PATCOPY
  bool operator==(const FillRect&) const = default;
};
struct FrameRect {
  uint32_t target = 0;
  Rect rect;
  bool operator==(const FrameRect&) const = default;
};
struct InvertRect {
  uint32_t target = 0;
  Rect rect;
  bool operator==(const InvertRect&) const = default;
};
struct Rectangle {
  uint32_t target = 0;
  Rect rect;
  bool operator==(const Rectangle&) const = default;
};
struct RoundRect {
  uint32_t target = 0;
  Rect rect;
  int32_t ew = 0, eh = 0;
  bool operator==(const RoundRect&) const = default;
};
struct Ellipse {
  uint32_t target = 0;
  Rect rect;
  bool operator==(const Ellipse&) const = default;
};
struct Arc {
  uint32_t target = 0;
  uint8_t kind = 0;  // 0 arc, 1 pie, 2 chord
  Rect rect;
  Point start, end;
  bool operator==(const Arc&) const = default;
};
struct Polygon {
  uint32_t target = 0;
  std::vector<uint16_t> counts;  // points per polygon
  std::vector<Point> points;     // sum(counts) points
  bool operator==(const Polygon&) const = default;
};
struct Polyline {
  uint32_t target = 0;
  std::vector<Point> points;
  bool operator==(const Polyline&) const = default;
};
struct PolyBezier {
  uint32_t target = 0;
  std::vector<Point> points;  // 1 + 3k
  bool operator==(const PolyBezier&) const = default;
};
struct FillRgn {
  uint32_t target = 0;
  std::vector<Rect> rects;
  bool operator==(const FillRgn&) const = default;
};
struct Text {
  uint32_t target = 0;
  Point pos;                 // reference point, per State::text_align
  uint32_t options = 0;      // ETO_OPAQUE 2, ETO_CLIPPED 4
  Rect rect;                 // opaque/clip rect, zero if unused
  std::string text;          // UTF-8
  std::vector<int32_t> advances;  // empty or one per UTF-16 code unit of text
  static constexpr uint32_t kOpaque = 2, kClipped = 4;
  bool operator==(const Text&) const = default;
};
struct Gradient {
  uint32_t target = 0;
  uint8_t mode = 0;  // 0 horizontal, 1 vertical
  Rect rect;
  Color from = 0, to = 0;
  bool operator==(const Gradient&) const = default;
};
struct Copy {
  uint32_t dst = 0;
  Rect dst_rect;
  uint32_t src = 0;  // 0: none (pattern/destination-only rop)
  Point src_pt;
  uint32_t rop3 = 0x00CC0020;  // SRCCOPY
  bool operator==(const Copy&) const = default;
};
struct Stretch {
  uint32_t dst = 0;
  Rect dst_rect;
  uint32_t src = 0;
  Rect src_rect;
  uint32_t rop3 = 0x00CC0020;
  bool operator==(const Stretch&) const = default;
};
struct AlphaBlend {
  uint32_t dst = 0;
  Rect dst_rect;
  uint32_t src = 0;
  Rect src_rect;
  uint8_t alpha = 255;
  uint8_t per_pixel = 0;  // 0/1
  bool operator==(const AlphaBlend&) const = default;
};
struct TransparentBlt {
  uint32_t dst = 0;
  Rect dst_rect;
  uint32_t src = 0;
  Rect src_rect;
  Color transparent = 0;
  bool operator==(const TransparentBlt&) const = default;
};
struct MaskBlt {
  uint32_t dst = 0;
  Rect dst_rect;
  uint32_t src = 0;
  Point src_pt;
  uint32_t mask = 0;  // cached bitmap id, 0 none
  Point mask_pt;
  uint32_t rop4 = 0;
  bool operator==(const MaskBlt&) const = default;
};
struct BitmapDef {
  uint32_t bitmap = 0;
  uint32_t w = 0, h = 0;
  uint8_t encoding = 0;  // 0 raw BGRX, 1 zlib of raw BGRX
  std::string data;      // raw: exactly w*h*4 bytes; zlib: checked by the consumer
  static constexpr uint8_t kRaw = 0, kZlib = 1;
  bool operator==(const BitmapDef&) const = default;
};
struct BitmapDraw {
  uint32_t dst = 0;
  Rect dst_rect;
  uint32_t bitmap = 0;
  Rect src_rect;
  uint32_t rop3 = 0x00CC0020;
  bool operator==(const BitmapDraw&) const = default;
};
struct BitmapFree {
  uint32_t bitmap = 0;
  bool operator==(const BitmapFree&) const = default;
};
struct Flush {
  uint32_t target = 0;
  bool operator==(const Flush&) const = default;
};
struct AppStart {
  uint32_t pid = 0;
  std::string app;
  std::string command_line;
  bool operator==(const AppStart&) const = default;
};
struct AppExit {
  uint32_t pid = 0;
  int32_t code = 0;
  uint8_t how = 0;  // 0 exited, 1 terminated by request, 2 crashed
  bool operator==(const AppExit&) const = default;
};

// ---- upstream (client -> app) ----
struct InputKey {
  uint32_t target = 0;
  uint16_t vk = 0;
  uint16_t scancode = 0;
  uint8_t down = 0;      // 1 press, 0 release
  uint32_t unicode = 0;  // 0 if none
  bool operator==(const InputKey&) const = default;
};
struct InputPointer {
  uint32_t target = 0;
  Point pos;            // client coordinates
  uint8_t buttons = 0;  // bit0 left, bit1 middle, bit2 right
  int16_t wheel = 0;    // 120 per notch, positive = up
  bool operator==(const InputPointer&) const = default;
};
struct WindowRequest {
  uint32_t target = 0;
  uint8_t action = 0;  // 0 move/resize, 1 minimise, 2 maximise, 3 restore, 4 close, 5 focus, 6 redraw
  Rect rect;           // client area in screen coordinates (action 0)
  static constexpr uint8_t kMoveResize = 0, kMinimise = 1, kMaximise = 2, kRestore = 3,
                           kClose = 4, kFocus = 5, kRedraw = 6;
  bool operator==(const WindowRequest&) const = default;
};

// A record with an op this version does not know: readers report and skip it.
struct Unknown {
  uint8_t op = 0;
  std::string body;  // the bytes after the op
  bool operator==(const Unknown&) const = default;
};

using Record = std::variant<WindowCreate, WindowDestroy, WindowShow, WindowMove, WindowTitle,
                            WindowZorder, WindowFocus, WindowIcon, SurfaceCreate, SurfaceDelete, FontDef,
                            State, FillRect, FrameRect, InvertRect, Rectangle, RoundRect, Ellipse,
                            Arc, Polygon, Polyline, PolyBezier, FillRgn, Text, Gradient, Copy,
                            Stretch, AlphaBlend, TransparentBlt, MaskBlt, BitmapDef, BitmapDraw,
                            BitmapFree, Flush, AppStart, AppExit, InputKey, InputPointer,
                            WindowRequest, Unknown>;

// Decodes one record (a whole GDI frame payload). Returns false with a
// one-line reason in *err (when err is not null) for a truncated payload,
// trailing bytes, a count or length above the limits, an out-of-range field
// or invalid UTF-8. An unknown op decodes to Unknown and returns true.
bool decode_record(std::span<const uint8_t> payload, Record* out, std::string* err);

// Appends the encoding of r to out. Encoding a record that decode_record
// would reject (e.g. a rect out of range) produces bytes that are rejected.
void encode_record(const Record& r, std::string& out);

// "WINDOW_CREATE", "FILL_RECT", ...; "UNKNOWN" for an op this version lacks.
const char* op_name(uint8_t op);
uint8_t op_of(const Record& r);

// Drawing ops 0x20-0x44 are command updates; BITMAP_DRAW is a pixel update.
// BITMAP_DEF is neither (it fills the cache, draws nothing) but carries
// pixels: carries_pixels() is true for it and BITMAP_DRAW, so byte counts
// charge the cache to pixels.
bool is_command_update(const Record& r);
bool is_pixel_update(const Record& r);
bool carries_pixels(const Record& r);

// One line, no newline: "TEXT target=1 at=10,20 ... \"Hello\"". When state
// is given (the last STATE for the record's target), ops drawn with the brush,
// pen or text colour also show that colour.
std::string describe(const Record& r);
std::string describe(const Record& r, const State* state);

// The record as a JSON object text: {"op":"FILL_RECT","target":1,...};
// colours as "#RRGGBB" strings, rects as {"x","y","w","h"}, strings valid JSON
// (invalid UTF-8 never gets past decode_record). state as for describe.
std::string to_json(const Record& r, const State* state = nullptr);

// The target a record draws to or manages (dst for blits); 0 if none.
uint32_t target_of(const Record& r);

// True when s is well-formed UTF-8 (no overlongs, no surrogates).
bool valid_utf8(std::string_view s);
// Number of UTF-16 code units of a valid UTF-8 string.
size_t utf16_length(std::string_view s);

}  // namespace vredir::gdi
