// One memory budget for the whole x-replay process. Each channel is charged
// for what it makes x-replay hold: a display channel its surface and the
// image that shows it, a gdi channel its windows' and surfaces' pixels and
// its cached bitmaps, a cursor its shape, an audio channel its second of
// queued samples. Per-channel caps alone would let a stream that declares
// many channels multiply them; this caps their sum (--max-memory).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace xreplay {

inline constexpr uint64_t kDefaultMaxMemory = 1024ull << 20;

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t max_bytes = kDefaultMaxMemory) : max_(max_bytes) {}

  // Sets the channel's charge; false (and nothing changes) when the total
  // would go over the budget.
  bool set(uint16_t channel, uint64_t bytes);
  void release(uint16_t channel);
  // What the channel may hold at most, given everyone else's charges.
  uint64_t available_for(uint16_t channel) const;

  uint64_t max() const { return max_; }
  uint64_t used() const { return used_; }
  // "channel 3 ("screen") needs 268435456 bytes, over x-replay's memory
  // budget of 1024 MiB (--max-memory; 900 MiB held by other channels)";
  // wanted 0: "needs more than N bytes" (what it may still have).
  std::string over(uint16_t channel, const std::string& name, uint64_t wanted) const;

 private:
  uint64_t max_;
  uint64_t used_ = 0;
  std::map<uint16_t, uint64_t> charges_;
};

}  // namespace xreplay
