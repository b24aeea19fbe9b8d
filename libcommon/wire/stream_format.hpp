// vredir stream format v1: constants, frame structs, and the decoders and
// encoders for each frame payload. man/vredir-stream.5 is the normative text;
// keep the two in step.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/byte_reader.hpp"

namespace vredir::stream {

// "\x89VRS\r\n\x1a\n": the high bit catches 7-bit channels, CR LF catches
// newline translation, ^Z stops DOS "type", LF catches LF -> CR LF.
inline constexpr uint8_t kMagic[8] = {0x89, 'V', 'R', 'S', '\r', '\n', 0x1a, '\n'};
inline constexpr uint16_t kVersionMajor = 1;
inline constexpr uint16_t kVersionMinor = 0;
inline constexpr size_t kStreamHeaderSize = 12;  // magic + u16 major + u16 minor
inline constexpr size_t kFrameHeaderSize = 16;   // u32 len, u16 channel, u8 type, u8 flags, u64 ts

// Hard limits. Every length and count in the format is capped.
inline constexpr uint32_t kMaxPayload = 16u << 20;  // one frame's payload
inline constexpr uint32_t kMaxSurfaceSide = 16384;
inline constexpr uint64_t kMaxSurfacePixels = 8192ull * 8192ull;
inline constexpr uint32_t kMaxCursorSide = 256;
inline constexpr size_t kMaxParams = 64;
inline constexpr size_t kMaxParamKey = 64;
inline constexpr size_t kMaxParamValue = 4096;
inline constexpr size_t kMaxName = 255;
inline constexpr size_t kMaxText = 65536;
// The format's bound on one CLIPBOARD frame's contents; tools apply their own,
// smaller limit (1 MiB by default).
inline constexpr size_t kMaxClipboard = 8u << 20;
inline constexpr size_t kDefaultClipboardLimit = 1u << 20;
inline constexpr uint32_t kMaxChannels = 1024;  // declared at once in one stream
inline constexpr int32_t kMaxRelMotion = 32767;  // per axis in one POINTER_REL frame
inline constexpr uint32_t kMaxAudioRate = 384000;
inline constexpr uint32_t kMaxAudioChannels = 8;
inline constexpr uint32_t kMaxInflatedPiece = kMaxPayload;  // the frames one DEFLATE piece holds

enum class ChannelKind : uint8_t {
  kDisplay = 1,
  kCursor = 2,
  kAudio = 3,
  kKeyboard = 4,
  kPointer = 5,
  kText = 6,
  kControl = 7,
  kAck = 8,
  kGdi = 9,
  kBytes = 10,
  kClipboard = 11,
};

enum class FrameType : uint8_t {
  // Stream level, on channel 0.
  kHello = 0x01,
  kDeclare = 0x02,
  kClose = 0x03,
  // A piece of the stream's one deflate (RFC 1951) stream, ending in a sync
  // flush; it inflates to whole frames. FrameReader unpacks it, so readers
  // above the framing never see it.
  kDeflate = 0x04,
  kEnd = 0x0f,
  // Display.
  kSurface = 0x10,
  kRect = 0x11,
  kFrameEnd = 0x12,
  // Cursor.
  kCursorShape = 0x20,
  kCursorPos = 0x21,
  // Audio.
  kAudioData = 0x30,
  // Input.
  kKey = 0x40,
  kPointer = 0x41,
  kText = 0x42,
  // Relative pointer motion, for guests without an absolute device (tablet).
  kPointerRel = 0x43,
  // Ack.
  kAck = 0x50,
  // Control.
  kControl = 0x60,
  // GDI drawing commands and window lifecycle: payload defined by the gdi codec.
  kGdi = 0x70,
  // Opaque bytes (serial console, QMP, usbredir, guest agent).
  kData = 0x80,
  // Clipboard contents, either way between an app and its viewer.
  kClipboard = 0x90,
};

// The "purpose" parameter of a bytes channel that carries a serial console
// (its DATA frames are shown as text by redir-dump).
inline constexpr const char* kPurposeSerial = "serial";

enum FrameFlags : uint8_t {
  kFlagAckRequested = 0x01,  // input: the consumer should answer with an ack
};

enum class RectEncoding : uint8_t {
  kRaw = 0,
  kZlib = 1,
  kCopyRect = 2,
  kSolid = 3,
};

enum class PixelFormat : uint32_t {
  kBgrx8888 = 1,  // 32-bit little-endian 0x00RRGGBB
};

enum class SampleFormat : uint32_t {
  kS16le = 1,
};

enum class EndReason : uint8_t {
  kNormal = 0,
  kSourceGone = 1,  // the VM shut down, the app exited
  kError = 2,
  kInterrupted = 3,
  kDenied = 4,
};

enum class AckStatus : uint8_t {
  kDelivered = 0,
  kFailed = 1,
};

// Pointer buttons, as in RFB: bit 0 left, 1 middle, 2 right, 3/4 wheel up/down,
// 5/6 wheel left/right.
enum PointerButton : uint32_t {
  kButtonLeft = 1u << 0,
  kButtonMiddle = 1u << 1,
  kButtonRight = 1u << 2,
  kWheelUp = 1u << 3,
  kWheelDown = 1u << 4,
  kWheelLeft = 1u << 5,
  kWheelRight = 1u << 6,
};

// Names and owners from the standard kind table (kind_table.hpp).
const char* kind_name(ChannelKind kind);      // "display", ... or nullptr
std::optional<ChannelKind> kind_from_name(std::string_view name);
const char* type_name(FrameType type);        // "RECT", ... or nullptr
const char* encoding_name(RectEncoding enc);  // "raw", ... or nullptr
const char* end_reason_name(EndReason reason);
// Which kind a frame type belongs to; nullopt for stream-level types.
std::optional<ChannelKind> kind_of_type(FrameType type);

// Audio sample formats: the declaration's "format" parameter.
const char* sample_format_name(SampleFormat format);  // "s16le", or nullptr
std::optional<SampleFormat> sample_format_from_name(std::string_view name);
// Bytes of one sample of one channel (s16le: 2).
uint32_t sample_bytes(SampleFormat format);

struct FrameHeader {
  uint32_t length = 0;
  uint16_t channel = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  uint64_t timestamp_us = 0;
};

// One frame as read from the wire: header plus its payload bytes.
struct Frame {
  FrameHeader header;
  std::span<const uint8_t> payload;
  uint64_t offset = 0;  // byte offset of the frame header in the stream
};

using Params = std::map<std::string, std::string>;

// --- payloads ---------------------------------------------------------------

struct Hello {
  std::string producer;
  std::string version;
  Params params;
};

struct Declare {
  uint16_t id = 0;
  uint8_t kind = 0;  // a ChannelKind, or an unknown kind from a newer producer
  std::string name;
  Params params;
};

struct End {
  EndReason reason = EndReason::kNormal;
  std::string message;
};

struct Surface {
  uint32_t width = 0;
  uint32_t height = 0;
  PixelFormat format = PixelFormat::kBgrx8888;
};

struct Rect {
  uint32_t x = 0, y = 0, w = 0, h = 0;
  RectEncoding encoding = RectEncoding::kRaw;
  uint32_t src_x = 0, src_y = 0;  // copy-rect
  uint32_t colour = 0;            // solid, 0x00RRGGBB
  std::span<const uint8_t> data;  // raw pixels, or zlib-compressed raw pixels
};

struct FrameEnd {
  uint64_t seq = 0;
};

struct CursorShape {
  uint32_t w = 0, h = 0, hot_x = 0, hot_y = 0;
  std::span<const uint8_t> pixels;  // w*h*4, 0xAARRGGBB little-endian
};

struct CursorPos {
  int32_t x = 0, y = 0;
  bool visible = true;
};

struct AudioData {
  std::span<const uint8_t> pcm;
};

struct Key {
  uint64_t seq = 0;
  uint16_t code = 0;  // Linux evdev KEY_* code: layout independent
  bool down = false;
  uint32_t keysym = 0;  // X keysym when known, else 0
};

struct Pointer {
  uint64_t seq = 0;
  int32_t x = 0, y = 0;  // surface pixels
  uint32_t buttons = 0;  // PointerButton mask
};

// Motion by (dx, dy) device units from wherever the pointer is, with the
// buttons held; a guest's relative mouse (PS/2, virtio) takes these.
struct PointerRel {
  uint64_t seq = 0;
  int32_t dx = 0, dy = 0;
  uint32_t buttons = 0;  // PointerButton mask
};

struct Text {
  uint64_t seq = 0;
  std::string utf8;
};

// CLIPBOARD: what was copied on one side, for the other side's clipboard.
enum class ClipboardFormat : uint8_t { kUtf8Text = 1 };
struct Clipboard {
  ClipboardFormat format = ClipboardFormat::kUtf8Text;
  std::string data;  // kUtf8Text: valid UTF-8, no NUL
};

struct Ack {
  uint16_t channel = 0;  // the input channel acknowledged
  uint64_t seq = 0;
  AckStatus status = AckStatus::kDelivered;
};

struct Control {
  std::string verb;
  Params args;
};

// Decoders: strict, bounded, never allocate from a header field beyond the
// payload actually present. On failure they return false and set *err.
bool decode_hello(std::span<const uint8_t> p, Hello* out, std::string* err);
bool decode_declare(std::span<const uint8_t> p, Declare* out, std::string* err);
bool decode_end(std::span<const uint8_t> p, End* out, std::string* err);
bool decode_surface(std::span<const uint8_t> p, Surface* out, std::string* err);
bool decode_rect(std::span<const uint8_t> p, Rect* out, std::string* err);
bool decode_frame_end(std::span<const uint8_t> p, FrameEnd* out, std::string* err);
bool decode_cursor_shape(std::span<const uint8_t> p, CursorShape* out, std::string* err);
bool decode_cursor_pos(std::span<const uint8_t> p, CursorPos* out, std::string* err);
bool decode_key(std::span<const uint8_t> p, Key* out, std::string* err);
bool decode_pointer(std::span<const uint8_t> p, Pointer* out, std::string* err);
bool decode_pointer_rel(std::span<const uint8_t> p, PointerRel* out, std::string* err);
bool decode_text(std::span<const uint8_t> p, Text* out, std::string* err);
bool decode_clipboard(std::span<const uint8_t> p, Clipboard* out, std::string* err);
bool decode_ack(std::span<const uint8_t> p, Ack* out, std::string* err);
bool decode_control(std::span<const uint8_t> p, Control* out, std::string* err);

// Encoders: append a payload to out.
void encode_hello(const Hello& v, std::string& out);
void encode_declare(const Declare& v, std::string& out);
void encode_end(const End& v, std::string& out);
void encode_surface(const Surface& v, std::string& out);
void encode_rect(const Rect& v, std::string& out);
void encode_frame_end(const FrameEnd& v, std::string& out);
void encode_cursor_shape(const CursorShape& v, std::string& out);
void encode_cursor_pos(const CursorPos& v, std::string& out);
void encode_key(const Key& v, std::string& out);
void encode_pointer(const Pointer& v, std::string& out);
void encode_pointer_rel(const PointerRel& v, std::string& out);
void encode_text(const Text& v, std::string& out);
void encode_clipboard(const Clipboard& v, std::string& out);
void encode_ack(const Ack& v, std::string& out);
void encode_control(const Control& v, std::string& out);

// Key/value parameter lists (declarations, HELLO, control frames).
bool read_params(ByteReader& r, Params* out);
void write_params(const Params& params, std::string& out);

// Reads an unsigned decimal parameter; false if absent or malformed.
bool param_u32(const Params& params, const std::string& key, uint32_t* out);

}  // namespace vredir::stream
