// A minimal RFB 3.8 client for QEMU's VNC server, reached through a socket from
// virDomainOpenGraphicsFD (no TCP port, no password: SKIPAUTH gives security
// type None). Two layers, kept apart on purpose:
//   framing  - frame_server_message(): how many bytes the next server message
//              needs, without trusting any header for an allocation;
//   decoding - decode_server_message(): one complete message held in memory,
//              read through ByteReader.
// Client wraps both around a socket. The framing layer knows the size of every
// encoding the project speaks; zlib, ZRLE and QEMU's audio pseudo-encoding are
// accepted only when the caller says it asked for them (accept flags), so a
// server that sends what was not requested is caught. Pixel decoding lives in
// rfb_encodings.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.hpp"

namespace vredir {
class ByteReader;
}

namespace vredir::rfb {

// Server-to-client message types.
enum : uint8_t {
  kMsgFramebufferUpdate = 0,
  kMsgSetColourMapEntries = 1,
  kMsgBell = 2,
  kMsgServerCutText = 3,
  kMsgQemuServer = 255,
};

// Client-to-server message types.
enum : uint8_t {
  kMsgSetPixelFormat = 0,
  kMsgSetEncodings = 2,
  kMsgFramebufferUpdateRequest = 3,
  kMsgKeyEvent = 4,
  kMsgPointerEvent = 5,
  kMsgClientCutText = 6,
  kMsgSetDesktopSize = 251,
  kMsgQemuClient = 255,
};

// Encodings and pseudo-encodings (signed 32-bit on the wire).
constexpr int32_t kEncodingRaw = 0;
constexpr int32_t kEncodingCopyRect = 1;
constexpr int32_t kEncodingZlib = 6;
constexpr int32_t kEncodingZrle = 16;
constexpr int32_t kEncodingCursor = -239;
constexpr int32_t kEncodingLastRect = -224;
constexpr int32_t kEncodingDesktopSize = -223;
constexpr int32_t kEncodingExtendedDesktopSize = -308;
constexpr int32_t kEncodingQemuAudio = -259;
constexpr int32_t kEncodingQemuExtendedKeyEvent = -258;
constexpr int32_t kEncodingQemuLedState = -261;

// Optional encodings the framing layer accepts (those the client requested).
enum AcceptFlags : uint32_t {
  kAcceptZlib = 1u << 0,
  kAcceptZrle = 1u << 1,
  kAcceptQemuAudio = 1u << 2,
  kAcceptQemuInput = 1u << 3,  // extended key event ack, LED state
  kAcceptAll = kAcceptZlib | kAcceptZrle | kAcceptQemuAudio,
};

// QEMU server message 255, submessage 1 (audio): operations.
enum : uint16_t { kAudioEnd = 0, kAudioBegin = 1, kAudioData = 2 };
// QEMU client message 255, submessage 1 (audio): operations and sample formats.
enum : uint16_t { kAudioEnable = 0, kAudioDisable = 1, kAudioSetFormat = 2 };
enum : uint8_t { kAudioU8 = 0, kAudioS8 = 1, kAudioU16 = 2, kAudioS16 = 3, kAudioU32 = 4, kAudioS32 = 5 };

// ExtendedDesktopSize: the x field is the reason, the y field the status.
enum : uint16_t { kReasonServer = 0, kReasonThisClient = 1, kReasonOtherClient = 2 };
enum : uint16_t {
  kResizeOk = 0,
  kResizeProhibited = 1,
  kResizeOutOfResources = 2,
  kResizeInvalidLayout = 3,
  kResizeForwarded = 4,  // QEMU: handed to the guest, completes asynchronously
};
const char* resize_status_text(uint16_t status);

// Limits on what a server may make us hold.
constexpr uint64_t kMaxMessageBytes = 64ull << 20;
constexpr uint32_t kMaxCutTextBytes = 1u << 20;
constexpr uint32_t kMaxNameBytes = 4096;
constexpr uint32_t kMaxReasonBytes = 4096;

struct PixelFormat {
  uint8_t bits_per_pixel = 32;
  uint8_t depth = 24;
  uint8_t big_endian = 0;
  uint8_t true_colour = 1;
  uint16_t red_max = 255, green_max = 255, blue_max = 255;
  uint8_t red_shift = 16, green_shift = 8, blue_shift = 0;
};

struct ServerInit {
  uint16_t width = 0;
  uint16_t height = 0;
  PixelFormat format;
  std::string name;
};

struct Screen {
  uint32_t id = 0;
  uint16_t x = 0, y = 0, width = 0, height = 0;
  uint32_t flags = 0;
};

// A DesktopSize or ExtendedDesktopSize pseudo-rectangle.
struct DesktopSize {
  bool extended = false;
  uint16_t reason = kReasonServer;  // extended only
  uint16_t status = kResizeOk;      // extended only
  uint16_t width = 0, height = 0;
  std::vector<Screen> screens;      // extended only
};

struct Rect {
  uint16_t x = 0, y = 0, width = 0, height = 0;
  int32_t encoding = 0;
};

struct ServerMessage {
  uint8_t type = 0;
  std::vector<Rect> rects;                  // FramebufferUpdate (payloads are not kept)
  std::vector<DesktopSize> desktop_sizes;   // FramebufferUpdate pseudo-rects
  std::string cut_text;                     // ServerCutText
  uint16_t audio_op = 0;                    // QEMU audio message: kAudioEnd/Begin/Data
  std::span<const uint8_t> audio_data;      // kAudioData: points into the decoded message
};

struct Frame {
  enum Kind { kComplete, kNeedMore, kMalformed } kind = kNeedMore;
  uint64_t size = 0;  // kComplete: message size; kNeedMore: at least this many bytes in all
  std::string error;  // kMalformed
};

// Framing layer: looks at the bytes buffered so far. accept: AcceptFlags.
Frame frame_server_message(std::span<const uint8_t> buffered, const PixelFormat& format, uint32_t accept = 0);
// Decoding layer: one complete message as framed above (every known encoding).
Status decode_server_message(std::span<const uint8_t> message, const PixelFormat& format, ServerMessage* out);
// The payload size of a rect whose 12-byte header has been read from r (r
// stands just past it). False with *frame set when the size is not known yet
// (need more) or never will be (malformed). For decoders of whole messages.
bool rect_payload_size(::vredir::ByteReader& r, const Rect& rect, const PixelFormat& f, uint32_t accept,
                       uint64_t* size, Frame* frame);
Rect read_rect_header(::vredir::ByteReader& r);

// Handshake pieces, pure so tests and fuzzers can drive them.
// "RFB 003.008\n" -> minor version (3..8); fails on anything else.
Status parse_protocol_version(std::span<const uint8_t> twelve_bytes, int* minor);
// The 24 fixed bytes of ServerInit (name length last; name not included).
Status parse_server_init_fixed(std::span<const uint8_t> twenty_four_bytes, ServerInit* out, uint32_t* name_length);

// Client messages.
std::string encode_set_encodings(std::span<const int32_t> encodings);
std::string encode_framebuffer_update_request(bool incremental, uint16_t x, uint16_t y, uint16_t width,
                                              uint16_t height);
std::string encode_set_desktop_size(uint16_t width, uint16_t height, std::span<const Screen> screens);
std::string encode_set_pixel_format(const PixelFormat& format);
// QEMU audio: enable (op kAudioEnable), disable, and the format to capture in.
std::string encode_qemu_audio(uint16_t op);
std::string encode_qemu_audio_format(uint8_t sample_format, uint8_t channels, uint32_t rate);

// Socket helpers shared by every RFB connection (capture, input, resize).
// send_to_server: EPIPE becomes "the VNC server closed the connection" (6).
Status send_to_server(int fd, std::string_view bytes);
// Waits up to timeout_ms for bytes and appends what is there to *buffer:
// timeout is kExitTimeout, EOF and read errors kExitPeerLost.
Status read_from_server(int fd, int timeout_ms, std::vector<uint8_t>* buffer);

class Client {
 public:
  explicit Client(int fd) : fd_(fd) {}  // takes ownership of fd
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // ProtocolVersion, Security (None only), ClientInit (shared) and ServerInit.
  Status handshake(int timeout_ms);
  const ServerInit& server() const { return init_; }
  Status send(std::string_view bytes);
  // One complete server message, or kExitTimeout when none arrives in time.
  Status next_message(ServerMessage* out, int timeout_ms);
  // The bytes of the next complete server message, valid until the next call
  // on this client; kExitTimeout when none is complete in time (0: only what
  // the socket already holds).
  Status next_message_bytes(std::span<const uint8_t>* out, int timeout_ms);
  // Optional encodings this client has asked for (AcceptFlags).
  void set_accept(uint32_t accept) { accept_ = accept; }
  void set_pixel_format(const PixelFormat& format) { init_.format = format; }
  int fd() const { return fd_; }
  // Bytes held for a message still arriving.
  size_t buffered() const { return buffer_.size() - consumed_ - pending_release_; }
  // True when a complete message is already buffered (no need to wait).
  bool has_message() const;

 private:
  Status read_exact(size_t n, std::vector<uint8_t>* out, int timeout_ms);
  // Reads what the socket has (waiting up to timeout_ms) onto buffer_.
  Status fill(int timeout_ms);

  int fd_ = -1;
  ServerInit init_;
  std::vector<uint8_t> buffer_;  // grows only as bytes arrive
  size_t consumed_ = 0;
  size_t pending_release_ = 0;  // bytes of the message last handed out
  uint32_t accept_ = 0;
};

}  // namespace vredir::rfb
