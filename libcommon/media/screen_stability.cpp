#include "media/screen_stability.hpp"

#include <cmath>

namespace vredir {

namespace {

bool inside(const ScreenRegion& r, uint32_t x, uint32_t y) {
  return r.w && x >= r.x && y >= r.y && uint64_t(x) < uint64_t(r.x) + r.w && uint64_t(y) < uint64_t(r.y) + r.h;
}

}  // namespace

bool StabilityWatch::ignored(uint32_t x, uint32_t y) const {
  for (const ScreenRegion& r : o_.ignore)
    if (inside(r, x, y)) return true;
  return inside(blink_, x, y);
}

bool StabilityWatch::equals_outside_ignored(const uint32_t* a, const uint32_t* b) const {
  const bool any_ignored = !o_.ignore.empty() || blink_.w;
  for (uint32_t y = 0; y < h_; ++y)
    for (uint32_t x = 0; x < w_; ++x) {
      const size_t i = size_t(y) * w_ + x;
      if (((a[i] ^ b[i]) & 0xFFFFFF) == 0) continue;
      if (any_ignored && ignored(x, y)) continue;
      return false;
    }
  return true;
}

StabilityWatch::Diff StabilityWatch::compare(const uint32_t* px) const {
  Diff d;
  const bool any_ignored = !o_.ignore.empty() || blink_.w;
  for (uint32_t y = 0; y < h_; ++y) {
    const uint32_t* a = px + size_t(y) * w_;
    const uint32_t* b = &ref_[size_t(y) * w_];
    for (uint32_t x = 0; x < w_; ++x) {
      uint32_t p = a[x] & 0xFFFFFF, q = b[x] & 0xFFFFFF;
      if (any_ignored && ignored(x, y)) continue;
      ++d.pixels;
      if (p == q) continue;
      for (int s = 0; s < 24; s += 8) {
        double e = double(int((p >> s) & 0xFF) - int((q >> s) & 0xFF));
        d.sse += e * e;
      }
      if (!d.any) {
        d.any = true;
        d.x0 = x, d.y0 = y, d.x1 = x + 1, d.y1 = y + 1;
      } else {
        d.x0 = std::min(d.x0, x), d.y0 = std::min(d.y0, y);
        d.x1 = std::max(d.x1, x + 1), d.y1 = std::max(d.y1, y + 1);
      }
    }
  }
  return d;
}

void StabilityWatch::take_reference(const uint32_t* px, Clock::time_point when, std::string why) {
  ref_.assign(px, px + size_t(w_) * h_);
  last_change_ = when;
  pending_ = false;
  reason_ = std::move(why);
}

bool StabilityWatch::observe(const uint32_t* px, uint32_t width, uint32_t height, Clock::time_point now) {
  if (!have_ref_ || width != w_ || height != h_) {
    w_ = width;
    h_ = height;
    blink_ = {};
    have_ref_ = true;
    take_reference(px, now, "a new screen size");
    return true;
  }
  Diff d = compare(px);
  if (!d.any) {
    if (pending_ && o_.ignore_blink) {
      // Back to the reference where the candidate was: a blink.
      blink_ = candidate_;
      pending_ = false;
    }
    return false;
  }
  if (o_.psnr_db > 0 && d.pixels) {
    double psnr = 10.0 * std::log10(255.0 * 255.0 * 3.0 * double(d.pixels) / d.sse);
    if (psnr >= o_.psnr_db) return false;
  }
  const ScreenRegion box{d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0};
  if (o_.ignore_blink && box.w <= kCellW && box.h <= kCellH) {
    if (!pending_) {
      pending_ = true;
      candidate_ = box;
      candidate_frame_.assign(px, px + size_t(w_) * h_);
      candidate_since_ = now;
      return false;
    }
    if (box.x == candidate_.x && box.y == candidate_.y && box.w == candidate_.w && box.h == candidate_.h) {
      if (equals_outside_ignored(px, candidate_frame_.data())) {
        if (now - candidate_since_ < kBlinkWindow) return false;
        take_reference(px, candidate_since_, "a small change that stayed");
        return true;
      }
      // A third state in the same cell (a ticking clock's digit): neither a
      // blink nor the change that stayed, but a change now.
    }
  }
  take_reference(px, now, "changed " + std::to_string(box.w) + "x" + std::to_string(box.h) + " at " +
                              std::to_string(box.x) + "," + std::to_string(box.y));
  return true;
}

bool StabilityWatch::settled_for(double seconds, Clock::time_point now) {
  if (!have_ref_) return false;
  if (pending_) {
    if (now - candidate_since_ < kBlinkWindow) return false;
    // No frame came to decide it: the small change stayed.
    ref_.swap(candidate_frame_);
    last_change_ = candidate_since_;
    pending_ = false;
    reason_ = "a small change that stayed";
  }
  return std::chrono::duration<double>(now - last_change_).count() >= seconds;
}

}  // namespace vredir
