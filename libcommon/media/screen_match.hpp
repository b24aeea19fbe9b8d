// Finding a needle image on the screen, for CI waits (redir-capture
// --until-match). The score of a position is the share of needle pixels whose
// colour matches the screen there: a pixel matches when each of its red, green
// and blue channels differs by at most the tolerance (16 by default, so the
// match survives mild lossy compression, yet distinct UI colours do not match).
// A search reports the best position whose score reaches the threshold; it
// stops looking at a position as soon as the position can no longer reach it,
// which keeps a whole-screen search of a 96x96 needle near 0.1 s.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "media/image_files.hpp"
#include "wire/status.hpp"

namespace vredir {

struct ScreenRegion {
  uint32_t x = 0, y = 0, w = 0, h = 0;
};

// "x,y,w,h" (decimal, w and h > 0).
bool parse_region(std::string_view text, ScreenRegion* out);

struct MatchResult {
  bool found = false;
  uint32_t x = 0, y = 0;  // top-left corner of the needle on the screen
  double score = 0;       // of the reported position, 0..1
};

class NeedleMatcher {
 public:
  // The needle's pixels are visited in a scattered order, so a wrong position
  // is rejected after a few samples spread over the whole needle.
  explicit NeedleMatcher(const Image& needle, int tolerance = 16);

  // Searches the part of a width x height screen (0x00RRGGBB, row-major)
  // inside region (clipped to the screen; empty region: the whole screen).
  MatchResult find(const uint32_t* screen, uint32_t width, uint32_t height, const ScreenRegion& region,
                   double threshold) const;

  uint32_t width() const { return w_; }
  uint32_t height() const { return h_; }

 private:
  struct Sample {
    uint32_t dx, dy, rgb;
  };
  uint32_t w_ = 0, h_ = 0;
  int tolerance_ = 16;
  std::vector<Sample> samples_;
};

}  // namespace vredir
