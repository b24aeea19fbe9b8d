#include "wire/stream_format.hpp"

#include "wire/describe.hpp"
#include "wire/gdi_records.hpp"
#include "wire/kind_table.hpp"

#include <charconv>

namespace vredir::stream {

const char* kind_name(ChannelKind kind) {
  const KindEntry* k = standard_table().kind(static_cast<uint8_t>(kind));
  return k ? k->name : nullptr;
}

std::optional<ChannelKind> kind_from_name(std::string_view name) {
  const KindEntry* k = standard_table().kind(name);
  if (!k) return std::nullopt;
  return static_cast<ChannelKind>(k->number);
}

const char* type_name(FrameType type) {
  const TypeEntry* t = standard_table().type(static_cast<uint8_t>(type));
  return t ? t->name : nullptr;
}

const char* encoding_name(RectEncoding enc) {
  switch (enc) {
    case RectEncoding::kRaw: return "raw";
    case RectEncoding::kZlib: return "zlib";
    case RectEncoding::kCopyRect: return "copy";
    case RectEncoding::kSolid: return "solid";
  }
  return nullptr;
}

const char* end_reason_name(EndReason reason) {
  switch (reason) {
    case EndReason::kNormal: return "normal";
    case EndReason::kSourceGone: return "source-gone";
    case EndReason::kError: return "error";
    case EndReason::kInterrupted: return "interrupted";
    case EndReason::kDenied: return "denied";
  }
  return "unknown";
}

std::optional<ChannelKind> kind_of_type(FrameType type) {
  const TypeEntry* t = standard_table().type(static_cast<uint8_t>(type));
  if (!t || t->kind == 0) return std::nullopt;
  return static_cast<ChannelKind>(t->kind);
}

const char* sample_format_name(SampleFormat format) {
  switch (format) {
    case SampleFormat::kS16le: return "s16le";
  }
  return nullptr;
}

std::optional<SampleFormat> sample_format_from_name(std::string_view name) {
  if (name == "s16le") return SampleFormat::kS16le;
  return std::nullopt;
}

uint32_t sample_bytes(SampleFormat format) {
  switch (format) {
    case SampleFormat::kS16le: return 2;
  }
  return 0;
}

// --- params -----------------------------------------------------------------

bool read_params(ByteReader& r, Params* out) {
  uint16_t count = r.u16le();
  if (!r.ok()) return false;
  if (count > kMaxParams) {
    r.fail("too many parameters (" + std::to_string(count) + ", limit " + std::to_string(kMaxParams) + ")");
    return false;
  }
  for (uint16_t i = 0; i < count; ++i) {
    uint8_t klen = r.u8();
    if (r.ok() && (klen == 0 || klen > kMaxParamKey)) {
      r.fail("parameter key length " + std::to_string(klen) + " out of range");
      return false;
    }
    std::string key(r.str(klen));
    uint16_t vlen = r.u16le();
    if (r.ok() && vlen > kMaxParamValue) {
      r.fail("parameter " + printable(key) + " value too long (" + std::to_string(vlen) + " bytes)");
      return false;
    }
    std::string value(r.str(vlen));
    if (!r.ok()) return false;
    if (!out->emplace(std::move(key), std::move(value)).second) {
      r.fail("duplicate parameter");
      return false;
    }
  }
  return r.ok();
}

void write_params(const Params& params, std::string& out) {
  // Within the format's limits, as read_params checks them: at most kMaxParams
  // entries, keys of 1..kMaxParamKey bytes, values cut to kMaxParamValue.
  size_t n = 0;
  for (const auto& [k, v] : params) n += !k.empty() && k.size() <= kMaxParamKey;
  n = n < kMaxParams ? n : kMaxParams;
  put_u16le(out, static_cast<uint16_t>(n));
  for (const auto& [k, v] : params) {
    if (n == 0) break;
    if (k.empty() || k.size() > kMaxParamKey) continue;
    --n;
    size_t vn = v.size() < kMaxParamValue ? v.size() : kMaxParamValue;
    put_u8(out, static_cast<uint8_t>(k.size()));
    put_bytes(out, k);
    put_u16le(out, static_cast<uint16_t>(vn));
    out.append(v, 0, vn);
  }
}

bool param_u32(const Params& params, const std::string& key, uint32_t* out) {
  auto it = params.find(key);
  if (it == params.end() || it->second.empty()) return false;
  const std::string& s = it->second;
  auto res = std::from_chars(s.data(), s.data() + s.size(), *out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

// --- decoders ---------------------------------------------------------------

namespace {

bool done(ByteReader& r, std::string* err) {
  if (r.ok()) return true;
  *err = r.error();
  return false;
}

bool check_short_string(ByteReader& r, std::string* out, size_t max, const char* what) {
  uint8_t len = r.u8();
  if (r.ok() && len > max) {
    r.fail(std::string(what) + " too long");
    return false;
  }
  *out = std::string(r.str(len));
  return r.ok();
}

}  // namespace

bool decode_hello(std::span<const uint8_t> p, Hello* out, std::string* err) {
  ByteReader r(p);
  check_short_string(r, &out->producer, kMaxName, "producer name");
  check_short_string(r, &out->version, kMaxName, "producer version");
  read_params(r, &out->params);
  if (r.ok() && out->producer.empty()) r.fail("HELLO without a producer name");
  return done(r, err);
}

bool decode_declare(std::span<const uint8_t> p, Declare* out, std::string* err) {
  ByteReader r(p);
  out->id = r.u16le();
  out->kind = r.u8();
  check_short_string(r, &out->name, kMaxName, "channel name");
  read_params(r, &out->params);
  if (r.ok() && out->id == 0) r.fail("channel id 0 is reserved for the stream");
  if (r.ok() && out->kind == 0) r.fail("channel kind 0 is invalid");
  return done(r, err);
}

bool decode_end(std::span<const uint8_t> p, End* out, std::string* err) {
  ByteReader r(p);
  out->reason = static_cast<EndReason>(r.u8());
  uint16_t len = r.u16le();
  if (r.ok() && len > kMaxParamValue) r.fail("end message too long");
  out->message = std::string(r.str(len));
  return done(r, err);
}

bool decode_surface(std::span<const uint8_t> p, Surface* out, std::string* err) {
  ByteReader r(p);
  out->width = r.u32le();
  out->height = r.u32le();
  uint32_t format = r.u32le();
  if (r.ok()) {
    if (out->width == 0 || out->height == 0 || out->width > kMaxSurfaceSide || out->height > kMaxSurfaceSide ||
        uint64_t(out->width) * out->height > kMaxSurfacePixels)
      r.fail("surface size " + std::to_string(out->width) + "x" + std::to_string(out->height) + " out of range");
    else if (format != static_cast<uint32_t>(PixelFormat::kBgrx8888))
      r.fail("unknown pixel format " + std::to_string(format));
  }
  out->format = static_cast<PixelFormat>(format);
  return done(r, err);
}

bool decode_rect(std::span<const uint8_t> p, Rect* out, std::string* err) {
  ByteReader r(p);
  out->x = r.u32le();
  out->y = r.u32le();
  out->w = r.u32le();
  out->h = r.u32le();
  out->encoding = static_cast<RectEncoding>(r.u8());
  if (r.ok() && (out->w > kMaxSurfaceSide || out->h > kMaxSurfaceSide)) {
    r.fail("rect size " + std::to_string(out->w) + "x" + std::to_string(out->h) + " out of range");
    return done(r, err);
  }
  const uint64_t raw_size = uint64_t(out->w) * out->h * 4;
  switch (out->encoding) {
    case RectEncoding::kRaw:
      out->data = r.bytes(raw_size);
      break;
    case RectEncoding::kZlib:
      out->data = r.rest();
      r.skip(out->data.size());
      if (r.ok() && out->data.empty() && raw_size != 0) r.fail("zlib rect without data");
      break;
    case RectEncoding::kCopyRect:
      out->src_x = r.u32le();
      out->src_y = r.u32le();
      break;
    case RectEncoding::kSolid:
      out->colour = r.u32le() & 0x00ffffff;
      break;
    default:
      // Unknown encoding from a newer producer: keep the bytes, the consumer
      // reports and skips it.
      out->data = r.rest();
      r.skip(out->data.size());
      break;
  }
  return done(r, err);
}

bool decode_frame_end(std::span<const uint8_t> p, FrameEnd* out, std::string* err) {
  ByteReader r(p);
  out->seq = r.u64le();
  return done(r, err);
}

bool decode_cursor_shape(std::span<const uint8_t> p, CursorShape* out, std::string* err) {
  ByteReader r(p);
  out->w = r.u16le();
  out->h = r.u16le();
  out->hot_x = r.u16le();
  out->hot_y = r.u16le();
  if (r.ok() && (out->w > kMaxCursorSide || out->h > kMaxCursorSide))
    r.fail("cursor size " + std::to_string(out->w) + "x" + std::to_string(out->h) + " out of range");
  if (r.ok() && out->w && out->h && (out->hot_x >= out->w || out->hot_y >= out->h))
    r.fail("cursor hotspot outside the cursor");
  out->pixels = r.bytes(uint64_t(out->w) * out->h * 4);
  return done(r, err);
}

bool decode_cursor_pos(std::span<const uint8_t> p, CursorPos* out, std::string* err) {
  ByteReader r(p);
  out->x = r.i32le();
  out->y = r.i32le();
  out->visible = r.u8() != 0;
  return done(r, err);
}

bool decode_key(std::span<const uint8_t> p, Key* out, std::string* err) {
  ByteReader r(p);
  out->seq = r.u64le();
  out->code = r.u16le();
  out->down = r.u8() != 0;
  r.u8();  // reserved
  out->keysym = r.u32le();
  return done(r, err);
}

bool decode_pointer(std::span<const uint8_t> p, Pointer* out, std::string* err) {
  ByteReader r(p);
  out->seq = r.u64le();
  out->x = r.i32le();
  out->y = r.i32le();
  out->buttons = r.u32le();
  return done(r, err);
}

bool decode_pointer_rel(std::span<const uint8_t> p, PointerRel* out, std::string* err) {
  ByteReader r(p);
  out->seq = r.u64le();
  out->dx = r.i32le();
  out->dy = r.i32le();
  out->buttons = r.u32le();
  if (r.ok() && (out->dx < -kMaxRelMotion || out->dx > kMaxRelMotion || out->dy < -kMaxRelMotion ||
                 out->dy > kMaxRelMotion))
    r.fail("relative motion " + std::to_string(out->dx) + "," + std::to_string(out->dy) + " out of range");
  return done(r, err);
}

bool decode_text(std::span<const uint8_t> p, Text* out, std::string* err) {
  ByteReader r(p);
  out->seq = r.u64le();
  if (r.ok() && r.remaining() > kMaxText) r.fail("text too long");
  out->utf8 = std::string(r.str(r.remaining()));
  return done(r, err);
}

bool decode_clipboard(std::span<const uint8_t> p, Clipboard* out, std::string* err) {
  ByteReader r(p);
  uint8_t format = r.u8();
  if (r.ok() && format != static_cast<uint8_t>(ClipboardFormat::kUtf8Text))
    r.fail("clipboard format " + std::to_string(format) + " not supported");
  if (r.ok() && r.remaining() > kMaxClipboard) r.fail("clipboard contents too long");
  out->format = ClipboardFormat::kUtf8Text;
  out->data = std::string(r.str(r.ok() ? r.remaining() : 0));
  if (r.ok() && (!gdi::valid_utf8(out->data) || out->data.find('\0') != std::string::npos))
    r.fail("clipboard text is not UTF-8 without NUL");
  return done(r, err);
}

bool decode_ack(std::span<const uint8_t> p, Ack* out, std::string* err) {
  ByteReader r(p);
  out->channel = r.u16le();
  out->seq = r.u64le();
  out->status = static_cast<AckStatus>(r.u8());
  return done(r, err);
}

bool decode_control(std::span<const uint8_t> p, Control* out, std::string* err) {
  ByteReader r(p);
  check_short_string(r, &out->verb, kMaxName, "control verb");
  read_params(r, &out->args);
  if (r.ok() && out->verb.empty()) r.fail("control frame without a verb");
  return done(r, err);
}

// --- encoders ---------------------------------------------------------------

namespace {
void put_short_string(std::string& out, const std::string& s) {
  size_t n = s.size() > kMaxName ? kMaxName : s.size();
  put_u8(out, static_cast<uint8_t>(n));
  out.append(s, 0, n);
}
}  // namespace

void encode_hello(const Hello& v, std::string& out) {
  put_short_string(out, v.producer);
  put_short_string(out, v.version);
  write_params(v.params, out);
}

void encode_declare(const Declare& v, std::string& out) {
  put_u16le(out, v.id);
  put_u8(out, v.kind);
  put_short_string(out, v.name);
  write_params(v.params, out);
}

void encode_end(const End& v, std::string& out) {
  put_u8(out, static_cast<uint8_t>(v.reason));
  size_t n = v.message.size() > kMaxParamValue ? kMaxParamValue : v.message.size();
  put_u16le(out, static_cast<uint16_t>(n));
  out.append(v.message, 0, n);
}

void encode_surface(const Surface& v, std::string& out) {
  put_u32le(out, v.width);
  put_u32le(out, v.height);
  put_u32le(out, static_cast<uint32_t>(v.format));
}

void encode_rect(const Rect& v, std::string& out) {
  put_u32le(out, v.x);
  put_u32le(out, v.y);
  put_u32le(out, v.w);
  put_u32le(out, v.h);
  put_u8(out, static_cast<uint8_t>(v.encoding));
  switch (v.encoding) {
    case RectEncoding::kCopyRect:
      put_u32le(out, v.src_x);
      put_u32le(out, v.src_y);
      break;
    case RectEncoding::kSolid:
      put_u32le(out, v.colour);
      break;
    default:
      put_bytes(out, v.data);
      break;
  }
}

void encode_frame_end(const FrameEnd& v, std::string& out) { put_u64le(out, v.seq); }

void encode_cursor_shape(const CursorShape& v, std::string& out) {
  put_u16le(out, static_cast<uint16_t>(v.w));
  put_u16le(out, static_cast<uint16_t>(v.h));
  put_u16le(out, static_cast<uint16_t>(v.hot_x));
  put_u16le(out, static_cast<uint16_t>(v.hot_y));
  put_bytes(out, v.pixels);
}

void encode_cursor_pos(const CursorPos& v, std::string& out) {
  put_u32le(out, static_cast<uint32_t>(v.x));
  put_u32le(out, static_cast<uint32_t>(v.y));
  put_u8(out, v.visible ? 1 : 0);
}

void encode_key(const Key& v, std::string& out) {
  put_u64le(out, v.seq);
  put_u16le(out, v.code);
  put_u8(out, v.down ? 1 : 0);
  put_u8(out, 0);
  put_u32le(out, v.keysym);
}

void encode_pointer(const Pointer& v, std::string& out) {
  put_u64le(out, v.seq);
  put_u32le(out, static_cast<uint32_t>(v.x));
  put_u32le(out, static_cast<uint32_t>(v.y));
  put_u32le(out, v.buttons);
}

void encode_pointer_rel(const PointerRel& v, std::string& out) {
  put_u64le(out, v.seq);
  put_u32le(out, static_cast<uint32_t>(v.dx));
  put_u32le(out, static_cast<uint32_t>(v.dy));
  put_u32le(out, v.buttons);
}

void encode_text(const Text& v, std::string& out) {
  put_u64le(out, v.seq);
  out.append(v.utf8, 0, v.utf8.size() > kMaxText ? kMaxText : v.utf8.size());
}

void encode_clipboard(const Clipboard& v, std::string& out) {
  put_u8(out, static_cast<uint8_t>(v.format));
  out.append(v.data, 0, v.data.size() > kMaxClipboard ? kMaxClipboard : v.data.size());
}

void encode_ack(const Ack& v, std::string& out) {
  put_u16le(out, v.channel);
  put_u64le(out, v.seq);
  put_u8(out, static_cast<uint8_t>(v.status));
}

void encode_control(const Control& v, std::string& out) {
  put_short_string(out, v.verb);
  write_params(v.args, out);
}

}  // namespace vredir::stream
