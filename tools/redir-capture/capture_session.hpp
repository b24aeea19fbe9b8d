// Hypervisor-level output capture: a VM's display, cursor and audio from
// QEMU's VNC server, written as a vredir stream, plus the CI modes built on
// the same client-side framebuffer: a snapshot, the text on the screen, a
// needle pair, and the waits (until still, until a needle matches, until
// text shows), either once from the command line or, through a control
// socket, for as long as the capture runs. redir-capture is a thin main
// around run_capture().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "media/screen_match.hpp"
#include "screen_waits.hpp"
#include "wire/status.hpp"

namespace vredir {

enum class StreamRectEncoding { kRaw, kZlib, kAuto };

struct CaptureOptions {
  // Source: a libvirt domain (domain_ref, uri, display) or a VNC address.
  std::string domain_ref;
  std::string uri;
  std::string vnc_address;  // unix:PATH or HOST:PORT
  int display = 0;
  // The heads whose display channels the stream gets: -1 all (head 0
  // through VNC, the others through QEMU's D-Bus display), else that one.
  // Waits, --snapshot and --text read head 0.
  int head = -1;

  // Channels follow the domain's devices (session_channels): audio only
  // with a sound device. --audio (audio_required) makes a missing one an
  // error (exit 3); --no-audio (audio false) leaves it out.
  bool audio = true;
  bool audio_required = false;
  bool cursor = true;
  // The serial console (--serial): a bytes channel (purpose serial) in the
  // stream, input from a stream of serial DATA frames (--serial-input), and
  // --until-serial REGEX (with timeout_s and json). Never opened unless asked.
  bool serial = false;
  std::string serial_input;
  std::string until_serial;
  // --no-display (with --serial): a stream of the console alone; no VNC
  // connection, no display, cursor or audio channel.
  bool no_display = false;
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
  std::string snapshot;               // PNG path
  std::optional<WaitSpec> wait;       // --until-stable, --until-match, --until-text
  bool text = false;                  // --text: print the screen's text
  ScreenRegion region;                // --text (waits carry their own)
  std::string needle_new;             // --needle-new NAME
  std::vector<ScreenRegion> areas;    // its match areas
  std::vector<ScreenRegion> ignore;   // its exclude areas
  std::string control;                // --control SOCKET
  double timeout_s = 0;               // 0: none
  bool json = false;
};

// --until-serial alone: no display is opened, only the console.
bool serial_only(const CaptureOptions& options);

// Runs a capture until its end condition. The Status carries the exit code:
// 0 done, 5 timed out, 6 source gone, 130 interrupted, ...
Status run_capture(const CaptureOptions& options);

}  // namespace vredir
