// redir-capture's flags as given, and the checks that turn them into a
// capture (CaptureOptions) or a request to a running one (--via): one usage
// error, or the options. main.cpp only declares the flags.
#pragma once

#include <string>
#include <vector>

#include "capture_session.hpp"
#include "control_protocol.hpp"

namespace vredir {

struct CaptureFlags {
  std::string encoding = "auto";
  std::string region;
  std::vector<std::string> ignore, areas;
  bool audio = false, no_audio = false, no_cursor = false, no_blink_filter = false, text = false;
  double until_stable = -1;
  std::string until_match, until_text, until_serial;
  double threshold = -1, psnr = -1;
  std::string via;
  std::string head = "all";  // --head all|N
  bool threshold_given() const { return threshold >= 0; }
};

// Fills *o (a capture) or, with --via, *q (a request). Returns "" or the
// usage error.
std::string resolve_capture_flags(const CaptureFlags& f, CaptureOptions* o, ControlRequest* q);

}  // namespace vredir
