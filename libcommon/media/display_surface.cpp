#include "media/display_surface.hpp"

#include <zlib.h>

#include <cstring>

namespace vredir::stream {

void DisplaySurface::resize(uint32_t width, uint32_t height) {
  width_ = width;
  height_ = height;
  pix_.clear();
  pix_.shrink_to_fit();
}

void DisplaySurface::ensure() {
  if (pix_.size() != size_t(width_) * height_) pix_.assign(size_t(width_) * height_, 0);
}

const std::vector<uint32_t>& DisplaySurface::pixels() {
  ensure();
  return pix_;
}

bool zlib_inflate_exact(std::span<const uint8_t> in, size_t expected, std::vector<uint8_t>* out, std::string* err) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) {
    *err = "zlib init failed";
    return false;
  }
  out->resize(expected);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out->data();
  zs.avail_out = static_cast<uInt>(expected);
  int rc = inflate(&zs, Z_FINISH);
  size_t produced = expected - zs.avail_out;
  // One more byte of room would tell us whether the data is longer than said.
  bool longer = false;
  if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
    uint8_t extra;
    zs.next_out = &extra;
    zs.avail_out = 1;
    int rc2 = inflate(&zs, Z_FINISH);
    longer = zs.avail_out == 0 || rc2 == Z_OK;
  }
  inflateEnd(&zs);
  if (rc == Z_STREAM_END && produced == expected) return true;
  if (longer) *err = "zlib data inflates to more than the rect's " + std::to_string(expected) + " bytes";
  else if (rc == Z_DATA_ERROR) *err = "corrupt zlib data";
  else *err = "zlib data inflates to " + std::to_string(produced) + " bytes, rect needs " + std::to_string(expected);
  return false;
}

bool DisplaySurface::apply(const Rect& r, std::string* err) {
  if (uint64_t(r.x) + r.w > width_ || uint64_t(r.y) + r.h > height_) {
    *err = "rect outside the surface";
    return false;
  }
  ensure();
  const size_t row_bytes = size_t(r.w) * 4;
  auto blit_rows = [&](const uint8_t* src) {
    for (uint32_t row = 0; row < r.h; ++row) {
      uint32_t* dst = &pix_[size_t(r.y + row) * width_ + r.x];
      const uint8_t* s = src + row * row_bytes;
      for (uint32_t col = 0; col < r.w; ++col, s += 4)
        dst[col] = (uint32_t(s[0]) | (uint32_t(s[1]) << 8) | (uint32_t(s[2]) << 16)) & 0x00ffffff;
    }
  };
  switch (r.encoding) {
    case RectEncoding::kRaw:
      if (r.data.size() != row_bytes * r.h) {
        *err = "raw rect has " + std::to_string(r.data.size()) + " bytes, needs " + std::to_string(row_bytes * r.h);
        return false;
      }
      blit_rows(r.data.data());
      return true;
    case RectEncoding::kZlib:
      if (!zlib_inflate_exact(r.data, row_bytes * r.h, &scratch_, err)) return false;
      blit_rows(scratch_.data());
      return true;
    case RectEncoding::kSolid:
      for (uint32_t row = 0; row < r.h; ++row)
        std::fill_n(&pix_[size_t(r.y + row) * width_ + r.x], r.w, r.colour);
      return true;
    case RectEncoding::kCopyRect: {
      if (uint64_t(r.src_x) + r.w > width_ || uint64_t(r.src_y) + r.h > height_) {
        *err = "copy-rect source outside the surface";
        return false;
      }
      // Overlapping copies: go in the direction that does not clobber the source.
      if (r.src_y < r.y) {
        for (uint32_t row = r.h; row-- > 0;)
          std::memmove(&pix_[size_t(r.y + row) * width_ + r.x], &pix_[size_t(r.src_y + row) * width_ + r.src_x],
                       row_bytes);
      } else {
        for (uint32_t row = 0; row < r.h; ++row)
          std::memmove(&pix_[size_t(r.y + row) * width_ + r.x], &pix_[size_t(r.src_y + row) * width_ + r.src_x],
                       row_bytes);
      }
      return true;
    }
  }
  *err = "unknown rect encoding " + std::to_string(static_cast<int>(r.encoding));
  return false;
}

}  // namespace vredir::stream
