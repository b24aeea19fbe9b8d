// A display channel's pixels: applies RECT frames (raw, zlib, copy-rect,
// solid) to a BGRX surface. Shared by redir-dump --extract, x-replay and the
// capture side. Storage is allocated on the first rect, not on SURFACE, so a
// header alone never allocates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wire/stream_format.hpp"

namespace vredir::stream {

class DisplaySurface {
 public:
  void resize(uint32_t width, uint32_t height);
  // The rect must already be bounds-checked against the surface (the stream
  // decoder does); this checks pixel data sizes and inflates zlib data.
  bool apply(const Rect& r, std::string* err);

  uint32_t width() const { return width_; }
  uint32_t height() const { return height_; }
  // Row-major 0x00RRGGBB pixels; allocates (black) on first use.
  const std::vector<uint32_t>& pixels();
  uint32_t pixel(uint32_t x, uint32_t y) { return pixels()[size_t(y) * width_ + x]; }

 private:
  void ensure();
  uint32_t width_ = 0, height_ = 0;
  std::vector<uint32_t> pix_;
  std::vector<uint8_t> scratch_;
};

// Inflates a zlib body into exactly expected bytes; false on any mismatch.
bool zlib_inflate_exact(std::span<const uint8_t> in, size_t expected, std::vector<uint8_t>* out, std::string* err);

}  // namespace vredir::stream
