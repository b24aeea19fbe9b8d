#include "media/screen_match.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace vredir {

bool parse_region(std::string_view text, ScreenRegion* out) {
  uint32_t v[4];
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    auto r = std::from_chars(p, end, v[i]);
    if (r.ec != std::errc()) return false;
    p = r.ptr;
    if (i < 3) {
      if (p == end || *p != ',') return false;
      ++p;
    }
  }
  if (p != end || v[2] == 0 || v[3] == 0) return false;
  *out = ScreenRegion{v[0], v[1], v[2], v[3]};
  return true;
}

NeedleMatcher::NeedleMatcher(const Image& needle, int tolerance)
    : w_(needle.width), h_(needle.height), tolerance_(tolerance) {
  const size_t n = size_t(w_) * h_;
  samples_.reserve(n);
  // A stride coprime with n walks every pixel once, in an order spread over
  // the whole needle.
  size_t stride = std::max<size_t>(1, static_cast<size_t>(n * 0.618));
  auto gcd = [](size_t a, size_t b) {
    while (b) a %= b, std::swap(a, b);
    return a;
  };
  while (n > 1 && gcd(stride, n) != 1) ++stride;
  for (size_t i = 0, k = 0; i < n; ++i, k = (k + stride) % n)
    samples_.push_back(Sample{uint32_t(k % w_), uint32_t(k / w_), needle.pixels[k] & 0xFFFFFFu});
}

MatchResult NeedleMatcher::find(const uint32_t* screen, uint32_t width, uint32_t height, const ScreenRegion& region,
                                double threshold) const {
  MatchResult best;
  if (samples_.empty()) return best;
  uint64_t rx = 0, ry = 0, rw = width, rh = height;
  if (region.w && region.h) {
    rx = std::min<uint64_t>(region.x, width);
    ry = std::min<uint64_t>(region.y, height);
    rw = std::min<uint64_t>(region.w, width - rx);
    rh = std::min<uint64_t>(region.h, height - ry);
  }
  if (rw < w_ || rh < h_) return best;
  const size_t n = samples_.size();
  // Mismatches a position may have and still reach the threshold.
  size_t budget = static_cast<size_t>(std::floor((1.0 - std::clamp(threshold, 0.0, 1.0)) * double(n) + 1e-9));
  const int tol = tolerance_;
  auto close = [tol](uint32_t a, uint32_t b) {
    return std::abs(int((a >> 16) & 0xFF) - int((b >> 16) & 0xFF)) <= tol &&
           std::abs(int((a >> 8) & 0xFF) - int((b >> 8) & 0xFF)) <= tol &&
           std::abs(int(a & 0xFF) - int(b & 0xFF)) <= tol;
  };
  for (uint64_t y = ry; y + h_ <= ry + rh; ++y) {
    for (uint64_t x = rx; x + w_ <= rx + rw; ++x) {
      const uint32_t* origin = screen + y * width + x;
      size_t misses = 0;
      size_t i = 0;
      for (; i < n; ++i) {
        const Sample& s = samples_[i];
        if (!close(origin[size_t(s.dy) * width + s.dx], s.rgb) && ++misses > budget) break;
      }
      if (i < n) continue;
      double score = double(n - misses) / double(n);
      if (!best.found || score > best.score) {
        best = MatchResult{true, uint32_t(x), uint32_t(y), score};
        if (misses == 0) return best;
        budget = misses - 1;  // only a better position is of interest now
      }
    }
  }
  return best;
}

}  // namespace vredir
