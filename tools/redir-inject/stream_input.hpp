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
  // --seat N: pointer frames of head N go to the seat's tablet (the
  // delivery's absolute path), those of other heads are skipped. Without a
  // seat, pointer frames of heads beyond the first are skipped.
  int seat = -1;
};

// Reads the stream from fd until its END and delivers each input frame in
// order. Frames before a damaged or cut spot are delivered; the damage then
// ends the run (kExitMalformed, or kExitPeerLost for a cut stream).
Status replay_input_stream(int fd, const std::string& what, const StreamInputOptions& options,
                           InputDelivery* delivery);

}  // namespace vredir
