// The text an application's windows show, read from its GDI drawing
// commands (vredir-gdi(5)) instead of from pixels: no OCR, and exact.
//
// Every TEXT record leaves a run of text with its box on its target (a
// window, or an offscreen surface that is later copied to one). Whatever is
// drawn over more than half of a run's box (a fill, a rectangle, a bitmap,
// other text, a copy) removes it; a COPY from a surface carries the
// surface's runs over, moved to where they land. The text of the screen is
// the runs of the visible windows, in screen coordinates, as lines (runs
// whose boxes share most of their height) from top to bottom. A run whose
// box's centre lies outside its window's area (a caption drawn into the
// window's DC above it, clipped on screen) is not part of it.
//
// Boxes come from the record: its reference point and the target's text
// alignment, the advances when the producer sent them (gdi-forward does),
// and the height of the realised font; without advances or a font the box
// is an estimate.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "media/screen_text.hpp"
#include "wire/gdi_records.hpp"

namespace vredir {

class GdiTextModel {
 public:
  // At most this many runs per target: the oldest go first.
  static constexpr size_t kMaxRuns = 20000;
  // Targets (windows and surfaces) and fonts followed at most.
  static constexpr size_t kMaxTargets = 65536;

  void add(const gdi::Record& record);
  // The visible windows' text, in screen coordinates (region w == 0: all).
  ScreenText text(const ScreenRegion& region = {}) const;

 private:
  struct Box {
    int64_t x = 0, y = 0, w = 0, h = 0;
  };
  struct Run {
    std::string text;
    Box box;
    std::vector<int32_t> advances;  // per UTF-16 unit, or empty
  };
  struct Target {
    bool window = false;
    bool visible = false;
    int64_t x = 0, y = 0;  // a window's area origin on the screen
    int64_t w = 0, h = 0;  // a window's area size (0: not known)
    uint32_t font = 0;
    uint32_t align = 0;
    std::vector<Run> runs;
  };

  Target* target(uint32_t id);  // nullptr beyond kMaxTargets
  void erase(Target& t, const Box& b);
  void add_text(const gdi::Text& t);
  void copy(uint32_t dst, const gdi::Rect& dst_rect, uint32_t src, gdi::Point src_pt);

  std::map<uint32_t, Target> targets_;
  std::map<uint32_t, gdi::FontDef> fonts_;
  std::vector<uint32_t> order_;  // windows in creation order
};

}  // namespace vredir
