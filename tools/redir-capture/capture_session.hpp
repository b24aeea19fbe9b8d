// Hypervisor-level output capture: a VM's display, cursor and audio from
// QEMU's VNC server, written as a vredir stream, plus the CI modes built on
// the same client-side framebuffer (snapshot, wait until stable, wait until a
// needle image shows). redir-capture is a thin main around run_capture().
#pragma once

#include <cstdint>
#include <string>

#include "media/screen_match.hpp"
#include "wire/status.hpp"

namespace vredir {

enum class StreamRectEncoding { kRaw, kZlib, kAuto };

struct CaptureOptions {
  // Source: a libvirt domain (domain_ref, uri, display) or a VNC address.
  std::string domain_ref;
  std::string uri;
  std::string vnc_address;  // unix:PATH or HOST:PORT
  int display = 0;

  bool audio = true;
  bool cursor = true;
  StreamRectEncoding encoding = StreamRectEncoding::kAuto;
  // 0: rects are zlib-packed at level 1 and the stream goes out as is;
  // 1-9: rects at this level and the whole stream deflated at it too
  // (DEFLATE frames, see vredir-stream(5)): for streams that cross a network.
  int compress = 0;
  double fps = 30;          // most display frames per second
  double duration_s = 0;    // 0: until the source goes or a signal
  uint64_t frames = 0;      // 0: no limit
  std::string output;       // stream destination ("-": stdout)
  bool stream = true;       // write a stream at all

  // CI modes.
  std::string snapshot;        // PNG path
  double until_stable_s = -1;  // < 0: off
  std::string until_match;     // needle PNG
  ScreenRegion region;         // w == 0: whole screen
  double threshold = 0.99;
  double timeout_s = 0;        // 0: none
  bool json = false;
};

// Runs a capture until its end condition. The Status carries the exit code:
// 0 done, 5 timed out, 6 source gone, 130 interrupted, ...
Status run_capture(const CaptureOptions& options);

}  // namespace vredir
