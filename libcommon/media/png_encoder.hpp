// Fast PNG encoding of screens, for snapshots.
//
// A screen is cut into bands of 16 rows. Each band is filtered (per row the
// cheaper of PNG's Sub and Up filters by the usual sum-of-magnitudes rule;
// the first row of a band uses Sub, so bands do not depend on each other)
// and deflated at zlib level 1 as an independent piece that ends on a byte
// boundary (a sync flush). The pieces joined, behind one zlib header and
// before the combined Adler-32, are one valid zlib stream, so the bands can
// be compressed on several threads at once, and a live framebuffer can keep
// the pieces of the bands that did not change (PngBandCache): a snapshot of
// a running session then compresses only what changed since the last one.
// libpng's writer spends most of its time choosing filters and deflating
// one row at a time; see tests/bench/RESULTS.md for the numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wire/status.hpp"

namespace vredir {

// Encodes width x height 0x00RRGGBB pixels (row-major) as an RGB PNG into
// *png. threads: 0 picks the machine's cores (at most 4).
void encode_png(const uint32_t* pixels, uint32_t width, uint32_t height, std::string* png, int threads = 0);

// The compressed bands of one framebuffer, kept between snapshots.
class PngBandCache {
 public:
  static constexpr uint32_t kBandRows = 16;

  // A new size drops every band.
  void resize(uint32_t width, uint32_t height);
  // Rows [y, y + h) changed.
  void invalidate(uint32_t y, uint32_t h);
  // Encodes the framebuffer, compressing only the bands invalidated since
  // the last call. pixels must be width x height as given to resize().
  void encode(const uint32_t* pixels, std::string* png, int threads = 0);

  // Bands compressed by the last encode() (for tests and benchmarks).
  size_t last_compressed() const { return last_compressed_; }

 private:
  struct Band {
    bool valid = false;
    std::string deflated;  // raw deflate, ends with a sync flush
    uint32_t adler = 1;
    uint64_t raw_bytes = 0;
  };
  uint32_t width_ = 0, height_ = 0;
  std::vector<Band> bands_;
  size_t last_compressed_ = 0;
};

// write_png (image_files.hpp) goes through encode_png; this writes an
// encoded PNG to path (through a temporary file and a rename, so a reader
// never sees half a file).
Status write_png_bytes(const std::string& path, const std::string& png);

// The last screen of a wait that gave up, where the user did not name a
// file: $TMPDIR (else /tmp)/PREFIX-XXXXXX.png. *path is the file written.
Status write_temporary_png(const std::string& prefix, const uint32_t* pixels, uint32_t width, uint32_t height,
                           std::string* path);

}  // namespace vredir
