// Image and sound files: PNG (libpng) for snapshots, extracted frames and
// needles; WAV for extracted audio.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "wire/status.hpp"
#include "wire/stream_format.hpp"

namespace vredir {

struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint32_t> pixels;  // row-major 0x00RRGGBB
};

Status write_png(const std::string& path, uint32_t width, uint32_t height, const uint32_t* pixels);
// The same with an alpha channel: pixels are 0xAARRGGBB (cursor shapes).
Status write_png_alpha(const std::string& path, uint32_t width, uint32_t height, const uint32_t* pixels);
// Reads any PNG libpng understands, converted to RGB; caps the size.
Status read_png(const std::string& path, Image* out);
// Decodes a binary PPM (P6, maxval 255, what QEMU's screendump writes) from
// untrusted bytes; sides are capped at 16384. False with *err otherwise.
bool decode_ppm(std::span<const uint8_t> data, Image* out, std::string* err);

// A streaming WAV writer: header first, sizes patched on close.
class WavWriter {
 public:
  ~WavWriter();
  Status open(const std::string& path, uint32_t rate, uint16_t channels, stream::SampleFormat format);
  Status write(const uint8_t* pcm, size_t size);
  Status close();

 private:
  int fd_ = -1;
  std::string path_;
  uint64_t data_bytes_ = 0;
};

}  // namespace vredir
