// A capture connection to QEMU's VNC server: opens the socket (through
// libvirt's virDomainOpenGraphicsFD, or a unix/TCP address for QEMU run
// without libvirt), negotiates the pixel format, encodings and QEMU's audio
// extension, keeps exactly one incremental update request outstanding, and
// turns what the server sends into a client-side framebuffer plus events.
//
// RFB pixel encoding: raw. On a local unix socket bytes cost nothing and CPU
// does (QEMU, a TCG guest and the capture share the host's cores). Measured
// with QEMU 7.2 on a 2-core host, 1024x768 test guest (tests/bench/
// capture_bench.sh, tests/bench/RESULTS.md): a fresh --snapshot took 168 ms
// with raw, 194 ms with ZRLE and 343 ms with zlib; 5 s of a 25 fps animation
// cost QEMU at most 0.15 s of extra CPU with raw, 0.1-0.3 s with ZRLE, 0.9-1 s
// with zlib. zlib and ZRLE are decoded too (VREDIR_RFB_ENCODING=zrle|zlib)
// for servers across a network.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "virt/hypervisor.hpp"
#include "rfb/rfb_client.hpp"
#include "rfb/rfb_encodings.hpp"
#include "wire/status.hpp"

namespace vredir {

struct DomainDevices;

// --vnc addresses (unix:PATH, HOST:PORT) are opened with connect_vnc_address()
// from rfb_input.hpp, shared with redir-inject.

// The VNC displays of a domain: its <graphics type='vnc'> devices in order.
// display picks one; the domain must be running. On success *fd is a socket
// connected to QEMU's VNC server (no authentication needed).
Status open_domain_display(const Domain& domain, const DomainDevices& devices, int display, int* fd);

struct VncSessionOptions {
  bool audio = true;    // ask for QEMU's audio extension
  bool cursor = true;   // ask for cursor shapes
  int32_t encoding = rfb::kEncodingRaw;
  uint32_t audio_rate = 48000;
  uint8_t audio_channels = 2;  // samples are always s16le
};

// What one pump() call brought.
struct VncEvents {
  int updates = 0;                      // FramebufferUpdate messages applied
  bool changed = false;                 // some pixel changed
  bool resized = false;                 // the framebuffer has a new size (black)
  std::vector<rfb::PixelRect> rects;    // pixel rects received, in order
  std::optional<rfb::CursorImage> cursor;
  bool audio_ack = false;               // the server speaks QEMU audio
  std::string audio;                    // PCM received (s16le, interleaved)
  bool bell = false;
};

class VncSession {
 public:
  explicit VncSession(int fd) : client_(fd) {}  // takes ownership of fd

  // Handshake, pixel format, encodings, a full-screen update request.
  Status start(const VncSessionOptions& options, int timeout_ms);
  // Waits up to timeout_ms for data, then applies every complete message the
  // socket holds (bounded per call). A closed connection is kExitPeerLost.
  // The wait also ends early when wake_fd (if >= 0) becomes readable.
  Status pump(int timeout_ms, VncEvents* events, int wake_fd = -1);
  // The same, waking early when any of wake_fds becomes readable.
  Status pump(int timeout_ms, VncEvents* events, std::span<const int> wake_fds);
  // Sends a client message that changes nothing in the guest but makes QEMU
  // go back to its fastest display refresh (every 30 ms) when it had slowed
  // down on an idle screen: a key release of a key that is not pressed
  // (Help), which QEMU's keyboard state drops (any client message of type 4
  // and up resets the refresh interval, ui/vnc.c).
  Status wake_refresh();
  // Asks for the whole screen again (non-incremental).
  Status request_full();

  const rfb::Framebuffer& framebuffer() const { return fb_; }
  const rfb::ServerInit& server() const { return client_.server(); }
  bool audio_enabled() const { return audio_enabled_; }
  uint64_t bytes_received() const { return bytes_; }

 private:
  Status handle(std::span<const uint8_t> message, VncEvents* ev);

  rfb::Client client_;
  rfb::UpdateDecoder decoder_;
  rfb::Framebuffer fb_;
  VncSessionOptions options_;
  bool audio_enabled_ = false;
  uint64_t bytes_ = 0;
};

}  // namespace vredir
