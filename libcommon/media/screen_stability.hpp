// When has a screen settled? For redir-capture --until-stable.
//
// Each new frame is compared with the reference: the last frame that
// counted as a change. A difference does not count when
//  - it lies inside an area the caller ignores (a clock, say);
//  - the peak signal-to-noise ratio against the reference is at least the
//    threshold, when one is given (os-autoinst's wait_still_screen uses
//    47 dB); without one, any changed pixel counts;
//  - it is a blinking text cursor. A difference that fits in one character
//    cell (at most 16x32 pixels) is held back as a candidate; when the
//    screen goes back to the reference there, it was a blink, and that box
//    is ignored from then on while its pixels show either of the two
//    states. A candidate that does not go back within kBlinkWindow is a real
//    change, dated from when it appeared; one that changes again (a clock's
//    digit) is a change at once. While a candidate is pending the
//    screen is not called settled, so the answer is never premature.
// A pixel-exact wait on a VGA text console never returns, because QEMU
// redraws the blinking cursor about every 267 ms.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "media/screen_match.hpp"

namespace vredir {

struct StabilityOptions {
  double psnr_db = 0;  // > 0: frames this close to the reference are unchanged
  std::vector<ScreenRegion> ignore;
  bool ignore_blink = true;
};

class StabilityWatch {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kBlinkWindow{1500};
  static constexpr uint32_t kCellW = 16, kCellH = 32;

  explicit StabilityWatch(StabilityOptions options) : o_(std::move(options)) {}

  // A new frame (the whole screen, 0x00RRGGBB). Returns true when it counts
  // as a change (now, or a pending candidate turned out to be one).
  bool observe(const uint32_t* pixels, uint32_t width, uint32_t height, Clock::time_point now);
  // Whether the screen has been settled for at least seconds at now.
  bool settled_for(double seconds, Clock::time_point now);
  Clock::time_point last_change() const { return last_change_; }
  // The blink box found, if any (w == 0: none).
  const ScreenRegion& blink_box() const { return blink_; }
  // Why the last counted change counted, for logs.
  const std::string& last_reason() const { return reason_; }

 private:
  struct Diff {
    bool any = false;
    uint32_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bounding box, exclusive end
    double sse = 0;
    uint64_t pixels = 0;  // compared
  };
  Diff compare(const uint32_t* pixels) const;
  bool ignored(uint32_t x, uint32_t y) const;
  bool equals_outside_ignored(const uint32_t* a, const uint32_t* b) const;
  void take_reference(const uint32_t* pixels, Clock::time_point when, std::string why);

  StabilityOptions o_;
  uint32_t w_ = 0, h_ = 0;
  std::vector<uint32_t> ref_;
  Clock::time_point last_change_{};
  bool have_ref_ = false;
  ScreenRegion blink_{};      // confirmed blinking box
  bool pending_ = false;      // a small change waits to be told apart from a blink
  ScreenRegion candidate_{};
  std::vector<uint32_t> candidate_frame_;  // the screen when the candidate appeared
  Clock::time_point candidate_since_{};
  std::string reason_;
};

}  // namespace vredir
