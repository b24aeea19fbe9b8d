// x-replay's player: reads a vredir stream, shows its display channels as X
// windows, plays its audio and writes the local keyboard and pointer as an
// input stream on stdout. One poll() loop serves the stream, the X
// connection, the sound device and the playback clock.
#pragma once

#include <cstdint>
#include <string>

#include "wire/status.hpp"

namespace xreplay {

struct ReplayOptions {
  std::string input = "-";
  std::string x_display;  // empty: $DISPLAY
  std::string audio_device = "default";
  bool no_audio = false;
  bool no_timing = false;
  double speed = 1.0;
  bool hold = false;
  bool no_shm = false;
  std::string screenshot;  // PNG written on exit, empty: none
  uint16_t escape_key = 0;  // evdev code
  uint64_t max_memory = 1024ull << 20;
  size_t clipboard_max = 1u << 20;  // 0: the apps' clipboard channels are left alone  // the whole process (memory_budget.hpp)
};

vredir::Status replay(const ReplayOptions& opt);

}  // namespace xreplay
