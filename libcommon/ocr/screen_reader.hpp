// Reading the text on a screen.
//
// A VGA text screen is read through the firmware's font, exactly
// (media/text_mode.hpp). Anything else goes to Tesseract (Debian's
// libtesseract with the tesseract-ocr-eng model) after the picture is made
// to suit it: the part asked for is cut out, turned grey, scaled up twice
// (screen fonts are small; Tesseract reads best at about 20 pixels of
// x-height), binarised at Otsu's threshold and inverted when the text is
// light on dark, since the model was trained on dark text on paper. Word
// boxes come back in screen pixels with Tesseract's confidence.
//
// Tesseract takes about a second to load its model and then a second or
// more per screen on one core, against well under a millisecond for a text
// screen; the reader loads the model on first use only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "media/screen_match.hpp"
#include "media/screen_text.hpp"
#include "media/text_mode.hpp"
#include "wire/status.hpp"

namespace vredir {

class ScreenReader {
 public:
  enum class Method { kAuto, kFont, kOcr };

  ScreenReader();
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
  struct Engine;
  std::unique_ptr<Engine> engine_;
};

}  // namespace vredir
