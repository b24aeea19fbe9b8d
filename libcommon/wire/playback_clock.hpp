// Paces a recorded stream: a frame stamped t µs after the stream started is
// shown t / speed after playback started. Live streams are not paced: their
// frames already arrive in real time.
#pragma once

#include <cstdint>

namespace vredir::stream {

class PlaybackClock {
 public:
  explicit PlaybackClock(double speed = 1.0) : speed_(speed > 0 ? speed : 1.0) {}

  // How long until a frame stamped ts_us is due, given the current time
  // now_us on any monotonic clock; <= 0 means now. The first frame anchors
  // the clock. A timestamp that goes backwards (streams joined end to end)
  // re-anchors at that frame instead of playing it early.
  int64_t wait_us(uint64_t ts_us, int64_t now_us);

  // Time spent away from the stream (paused) is not owed to it afterwards.
  void shift(int64_t delta_us) { start_now_ += delta_us; }

 private:
  double speed_;
  bool anchored_ = false;
  uint64_t start_ts_ = 0;
  uint64_t last_ts_ = 0;
  int64_t start_now_ = 0;
};

}  // namespace vredir::stream
