// Pixel decoding of RFB FramebufferUpdate messages into a client-side
// framebuffer: raw, copy-rect, zlib and ZRLE, plus the pseudo-encodings a
// capture needs (cursor, desktop size, extended desktop size, QEMU's audio
// acknowledgement). Input is one complete message as framed by
// frame_server_message(); everything is read through ByteReader, rectangles
// are checked against the framebuffer in 64-bit arithmetic, and inflated data
// is bounded by what the rectangle can hold.
//
// zlib and ZRLE each keep one zlib stream for the whole connection (RFB sends
// them as continuations), so one UpdateDecoder belongs to one connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "rfb/rfb_client.hpp"
#include "wire/status.hpp"

namespace vredir::rfb {

// Limits on what the server can make the client hold.
constexpr uint32_t kMaxFramebufferSide = 16384;
constexpr uint64_t kMaxFramebufferPixels = 8192ull * 8192ull;
constexpr uint32_t kMaxCursorSide = 256;  // larger cursor shapes are ignored

struct Framebuffer {
  uint32_t width = 0, height = 0;
  std::vector<uint32_t> pixels;  // row-major 0x00RRGGBB

  // New size, contents black.
  void resize(uint32_t w, uint32_t h);
};

struct PixelRect {
  uint32_t x = 0, y = 0, w = 0, h = 0;
};

struct CursorImage {
  uint32_t width = 0, height = 0, hot_x = 0, hot_y = 0;
  std::vector<uint32_t> argb;  // 0xAARRGGBB, alpha 0 or 255 (RFB cursors carry a bit mask)
};

struct UpdateResult {
  std::vector<PixelRect> rects;  // pixel rects written (changed or not)
  bool changed = false;          // some pixel differs from what it was
  bool resized = false;          // the framebuffer got a new size (contents black)
  std::vector<DesktopSize> desktop_sizes;
  std::optional<CursorImage> cursor;  // a new cursor shape (0x0: hidden)
  bool audio_ack = false;             // QEMU acknowledged the audio pseudo-encoding
};

// True when the decoder can read pixels in this format (32 bits per pixel,
// true colour, either byte order, any shifts).
bool pixel_format_supported(const PixelFormat& f);

class UpdateDecoder {
 public:
  UpdateDecoder();
  ~UpdateDecoder();
  UpdateDecoder(const UpdateDecoder&) = delete;
  UpdateDecoder& operator=(const UpdateDecoder&) = delete;

  // Applies one complete FramebufferUpdate message to *fb. Fails with
  // kExitMalformed on anything out of bounds or undecodable; *fb may then
  // hold part of the update.
  Status apply(std::span<const uint8_t> message, const PixelFormat& format, Framebuffer* fb, UpdateResult* out);

 private:
  struct Inflater;
  std::unique_ptr<Inflater> zlib_, zrle_;
  std::vector<uint8_t> inflated_;
  std::vector<uint32_t> scratch_;
};

}  // namespace vredir::rfb
