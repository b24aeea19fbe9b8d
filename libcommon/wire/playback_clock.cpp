#include "wire/playback_clock.hpp"

namespace vredir::stream {

int64_t PlaybackClock::wait_us(uint64_t ts_us, int64_t now_us) {
  if (!anchored_ || ts_us < last_ts_) {
    anchored_ = true;
    start_ts_ = ts_us;
    start_now_ = now_us;
  }
  last_ts_ = ts_us;
  double offset = static_cast<double>(ts_us - start_ts_) / speed_;
  int64_t due = start_now_ + static_cast<int64_t>(offset);
  return due - now_us;
}

}  // namespace vredir::stream
