#include "pending_limits.hpp"

#include <charconv>
#include <vector>

namespace redir_mux {

unsigned PendingLimits::refuse_percent(unsigned pending) const {
  if (pending >= full) return 100;
  if (pending < start) return 0;
  // rate% at start, rising linearly to 100% at full.
  return rate + (100 - rate) * (pending - start) / (full - start);
}

bool PendingLimits::admit(unsigned pending, std::mt19937& random) const {
  unsigned p = refuse_percent(pending);
  if (p == 0) return true;
  if (p >= 100) return false;
  return std::uniform_int_distribution<unsigned>(0, 99)(random) >= p;
}

bool parse_startups(const std::string& text, PendingLimits* out, std::string* err) {
  std::vector<unsigned> v;
  size_t pos = 0;
  for (;;) {
    size_t colon = text.find(':', pos);
    std::string part = text.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    unsigned x = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), x);
    if (part.empty() || r.ec != std::errc() || r.ptr != part.data() + part.size() || v.size() == 3) {
      *err = "'" + text + "' is not START:RATE:FULL (for example 10:30:32)";
      return false;
    }
    v.push_back(x);
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  if (v.size() == 1) {
    out->start = out->full = v[0];
    out->rate = 100;
  } else if (v.size() == 3) {
    out->start = v[0];
    out->rate = v[1];
    out->full = v[2];
  } else {
    *err = "'" + text + "' is not START:RATE:FULL (for example 10:30:32)";
    return false;
  }
  if (out->full == 0 || out->start > out->full || out->rate > 100) {
    *err = "'" + text + "' needs 0 < FULL, START <= FULL and RATE <= 100";
    return false;
  }
  return true;
}

}  // namespace redir_mux
