// Reading the text on a screen.
//
// A VGA text screen is read through the firmware's font, exactly
// (media/text_mode.hpp). Anything else goes to Tesseract through its plugin
// (vredir-ocr-tesseract.so, tesseract_plugin.cpp, loaded on first use: it
// pulls in Tesseract, Leptonica and their libraries, which no tool should
// load to take a snapshot). Word boxes come back in screen pixels with
// Tesseract's confidence.
//
// Tesseract takes about a second to load its model and then a second or
// more per screen on one core, against well under a millisecond for a text
// screen.
#pragma once

#include <cstdint>
#include <string>

#include "media/screen_match.hpp"
#include "media/screen_text.hpp"
#include "media/text_mode.hpp"
#include "wire/status.hpp"

namespace vredir {

class ScreenReader {
 public:
  enum class Method { kAuto, kFont, kOcr };

  ScreenReader() = default;
  ~ScreenReader();
  ScreenReader(const ScreenReader&) = delete;
  ScreenReader& operator=(const ScreenReader&) = delete;

  // Reads the text inside region (w == 0: the whole screen) of a width x
  // height screen (0x00RRGGBB). kAuto tries the font first, then OCR.
  Status read(const uint32_t* pixels, uint32_t width, uint32_t height, const ScreenRegion& region, ScreenText* out,
              Method method = Method::kAuto);

 private:
  Status ocr(const uint32_t* pixels, uint32_t width, uint32_t height, const ScreenRegion& region, ScreenText* out);

  VgaFont font_;
  bool font_tried_ = false;
  void* engine_ = nullptr;  // the plugin's Tesseract
  void (*free_)(void*) = nullptr;
  int (*read_)(void*, const uint32_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t,
               void (*)(void*, const char*, uint32_t, uint32_t, uint32_t, uint32_t, double, int), void*, char*,
               size_t) = nullptr;
  Status engine_status_;
};

}  // namespace vredir
