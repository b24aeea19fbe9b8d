// Fuzz target for what reads screens and images from untrusted bytes: the
// VGA text-mode reader (the guest draws the screen), the font search in a
// firmware image, the PPM decoder (QEMU's screendump), and regular
// expression search over the text read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "media/image_files.hpp"
#include "media/screen_text.hpp"
#include "media/text_mode.hpp"

using namespace vredir;

namespace {

// A font whose glyph c has row 2 = c, so every glyph differs.
VgaFont make_font() {
  std::vector<uint8_t> rom(256 * 16, 0);
  for (int c = 0; c < 256; ++c) rom[size_t(c) * 16 + 2] = static_cast<uint8_t>(c);
  for (int r = 0; r < 16; ++r) {
    rom[0 * 16 + r] = rom[0x20 * 16 + r] = 0;
    rom[0xDB * 16 + r] = 0xFF;
    rom[0xDC * 16 + r] = r >= 7 ? 0xFF : 0;
  }
  VgaFont f;
  (void)f.load_from_rom(rom);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const VgaFont font = make_font();
  Image img;
  std::string err;
  (void)decode_ppm(std::span<const uint8_t>(data, size), &img, &err);
  VgaFont other;
  (void)other.load_from_rom(std::span<const uint8_t>(data, size));
  // A 40x10-cell screen (360x160) whose pixels come from the input: colours
  // pick from a small palette so that cells are often two-coloured.
  const uint32_t w = 360, h = 160;
  std::vector<uint32_t> px(size_t(w) * h, 0);
  static const uint32_t kPalette[4] = {0x000000, 0xAAAAAA, 0xFFFFFF, 0x0000AA};
  for (size_t i = 0; i < px.size() && size > 0; ++i) px[i] = kPalette[(data[(i / 7) % size] >> ((i % 4) * 2)) & 3];
  ScreenText text;
  if (read_text_mode(px.data(), w, h, font, &text, &err)) {
    std::regex re;
    if (compile_text_regex("[A-Z]+ ?\\S", &re, &err)) {
      TextMatch m;
      (void)find_text(text, re, &m);
    }
    (void)text.inside(ScreenRegion{9, 16, 90, 32});
  }
  return 0;
}
