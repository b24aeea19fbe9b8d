// Replays the input channels of a vredir stream (keyboard, pointer, text)
// into a VM; every other channel is skipped.
#pragma once

#include "input/keymap.hpp"
#include "rfb/rfb_input.hpp"
#include "wire/status.hpp"

namespace vredir {

struct StreamInputOptions {
  Layout layout = Layout::kUs;
  bool timing = true;  // honour the frames' timestamps
  bool acks = false;
  int seat = -1;  // --seat: pointer frames have no route to a head beyond the first
};

// Reads the stream from fd until its END and delivers each input frame in
// order. Frames before a damaged or cut spot are delivered; the damage then
// ends the run (kExitMalformed, or kExitPeerLost for a cut stream).
Status replay_input_stream(int fd, const std::string& what, const StreamInputOptions& options,
                           InputDelivery* delivery);

}  // namespace vredir
