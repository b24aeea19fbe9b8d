// The screens of a stream as redir-dump reads it, for --text and
// --until-text: the pixels of each display channel (read through the VGA
// font or OCR, ocr/screen_reader.hpp) and the text model of each gdi channel
// (from its drawing commands, gdi_text.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gdi_text.hpp"
#include "media/display_surface.hpp"
#include "media/screen_text.hpp"
#include "ocr/screen_reader.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir {

class StreamScreens {
 public:
  struct Screen {
    uint16_t id = 0;
    std::string name;
    bool gdi = false;
    stream::DisplaySurface surface;  // display channels
    GdiTextModel model;              // gdi channels
    bool complete = false;           // a FRAME_END (display) or FLUSH (gdi) was seen
    uint64_t shown_us = 0;           // timestamp of the last one
  };

  // wanted: channel names or ids (empty: every display and gdi channel).
  explicit StreamScreens(std::vector<std::string> wanted) : wanted_(std::move(wanted)) {}

  // Follows one event. Returns the screen that just became complete (a
  // frame ended or a gdi target flushed), else nullptr. A malformed rect or
  // record is a Status.
  Status add(const stream::Event& ev, Screen** completed);
  // The text of a screen. ocr false: a display channel is read through the
  // VGA font only (fails when it is not a text screen).
  Status text(Screen& s, const ScreenRegion& region, bool ocr, ScreenText* out);
  std::vector<Screen*> screens();

 private:
  std::vector<std::string> wanted_;
  std::map<uint16_t, std::unique_ptr<Screen>> screens_;
  ScreenReader reader_;
};

}  // namespace vredir
