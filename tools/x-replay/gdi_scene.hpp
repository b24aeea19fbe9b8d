// The client-side bookkeeping of one gdi channel: which targets (windows and
// offscreen surfaces), fonts and cached bitmaps exist, and the drawing state
// of each target. It checks every downstream record against that state
// (undefined ids, duplicates, memory caps) before a renderer acts on it, so
// a hostile stream is refused here, with one line, and the renderer never
// sees a reference it cannot resolve. No X or other display code in here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "wire/gdi_records.hpp"

namespace vredir::gdi {

struct SceneLimits {
  size_t max_targets = 1024;
  uint64_t max_target_pixels = 64ull << 20;  // windows' backing + surfaces, total
  size_t max_bitmaps = 4096;
  uint64_t max_bitmap_pixels = 32ull << 20;  // cached bitmaps, total
  size_t max_fonts = 1024;
  // Targets' and bitmaps' pixels together (the process-wide memory budget's
  // share for this channel, set before each record).
  uint64_t max_total_pixels = UINT64_MAX;
};

struct SceneTarget {
  uint32_t id = 0;
  bool window = false;  // false: offscreen surface
  // Windows: as created / last moved; surfaces: w/h only.
  uint32_t owner = 0, pid = 0;
  uint8_t role = 0;
  Rect rect;
  uint32_t flags = 0;
  uint8_t show = 0;  // WINDOW_SHOW state; windows created visible start at 1
  std::string title, app;
  uint32_t w = 0, h = 0;  // pixel size of the backing store (>= 1)
};

struct SceneBitmap {
  uint32_t w = 0, h = 0;
  std::vector<uint32_t> pixels;  // 0x00RRGGBB, row-major, decoded from BGRX
};

class GdiScene {
 public:
  explicit GdiScene(SceneLimits limits = {}) : limits_(limits) {}
  void set_max_total_pixels(uint64_t pixels) { limits_.max_total_pixels = pixels; }

  // Checks r against the scene and applies its bookkeeping. False with a
  // one-line reason for an undefined or duplicate id, a cap exceeded, or a
  // bitmap whose data does not decode to w*h pixels; the scene is then
  // unchanged. Upstream (input) records and unknown ops are accepted and
  // ignored. Targets removed by this record (WINDOW_DESTROY, SURFACE_DELETE,
  // APP_EXIT) are listed by removed() until the next call.
  bool apply(const Record& r, std::string* err);
  const std::vector<uint32_t>& removed() const { return removed_; }

  const SceneTarget* target(uint32_t id) const;
  const FontDef* font(uint32_t id) const;
  const SceneBitmap* bitmap(uint32_t id) const;
  // The last STATE for a target, or the default state.
  const State& state(uint32_t target) const;

  size_t target_count() const { return targets_.size(); }
  size_t bitmap_count() const { return bitmaps_.size(); }
  uint64_t target_pixels() const { return target_pixels_; }
  uint64_t bitmap_pixels() const { return bitmap_pixels_; }
  std::vector<uint32_t> windows() const;

 private:
  bool fail(std::string* err, const std::string& m);
  bool need_target(uint32_t id, const char* what, std::string* err) const;
  void remove_target(uint32_t id);

  SceneLimits limits_;
  std::map<uint32_t, SceneTarget> targets_;
  std::map<uint32_t, FontDef> fonts_;
  std::map<uint32_t, SceneBitmap> bitmaps_;
  std::map<uint32_t, State> states_;
  uint64_t target_pixels_ = 0, bitmap_pixels_ = 0;
  std::vector<uint32_t> removed_;
  State default_state_;
};

// Decodes a BITMAP_DEF's data (raw or zlib BGRX) into 0x00RRGGBB pixels.
// False with a reason unless it is exactly w*h*4 bytes once decoded; never
// inflates past that size.
bool decode_bitmap(const BitmapDef& def, std::vector<uint32_t>* pixels, std::string* err);

}  // namespace vredir::gdi
