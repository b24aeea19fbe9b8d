// x-replay's GDI windows: the windows of remote Windows applications, drawn
// locally from their GDI records (vredir-gdi(5)). Each remote top-level
// window becomes a local X window with its own title, WM_CLASS, size hints
// and transient-for; popups, menus and tooltips are override-redirect. Every
// target has a backing pixmap (windows) or an offscreen pixmap (surfaces), so
// exposes need no round trip. Text is drawn with Xft through fontconfig.
// Local input in these windows goes back as upstream GDI records.
//
// It uses its own Xlib connection to the same display, so Xlib, Xft and the
// pixmaps it draws on share one request order; the player polls its fd.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "wire/gdi_records.hpp"
#include "gdi_scene.hpp"
#include "media/image_files.hpp"
#include "wire/status.hpp"

namespace xreplay {

class GdiWindows {
 public:
  // Writes one upstream record on the gdi channel `channel` (named `name`).
  using Upstream = std::function<vredir::Status(uint16_t channel, const std::string& name,
                                                const vredir::gdi::Record& rec)>;

  explicit GdiWindows(Upstream upstream, vredir::gdi::SceneLimits limits = {});
  ~GdiWindows();
  GdiWindows(const GdiWindows&) = delete;
  GdiWindows& operator=(const GdiWindows&) = delete;

  vredir::Status open(const std::string& display);
  int fd() const;

  // One GDI frame's payload on a gdi channel. A record that does not decode,
  // or refers to something undefined, or exceeds a cap: kExitMalformed with
  // one line (without the stream name).
  // pixel_budget caps the channel's targets and bitmaps together (its share
  // of the process's memory budget).
  vredir::Status apply(uint16_t channel, const std::string& name, std::span<const uint8_t> payload,
                       uint64_t pixel_budget = UINT64_MAX);
  // The pixels the channel's targets and bitmaps hold.
  uint64_t channel_pixels(uint16_t channel) const;
  // The channel was closed: its windows and surfaces go away.
  void close_channel(uint16_t channel);

  // Handles the X events that arrived; shows what was drawn since the last
  // call. Fails only when an upstream record cannot be written.
  vredir::Status pump();
  bool broken() const;

  // The first mapped GDI window's client area (from its backing pixmap).
  bool capture(vredir::Image* out);
  size_t window_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xreplay
