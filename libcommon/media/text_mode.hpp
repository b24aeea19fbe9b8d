// Reading a VGA text-mode screen exactly, through its font.
//
// In text mode (QEMU shows 80x25 cells of 9x16 pixels as a 720x400 screen)
// every cell is one glyph of a known bitmap font in two colours, so a cell
// is read back by looking its bitmap up in the font: exact, and thousands of
// times faster than OCR. The font is the one the guest's firmware loads:
// SeaBIOS's VGA BIOS (the ROMs QEMU uses, /usr/share/seabios/vgabios-*.bin
// on Debian) carries it as a table of 256 8x16 glyphs, found in the ROM by
// what every code page 437 font has (empty glyph 0 and space, full block
// 0xDB, lower half block 0xDC). A guest that loads a font of its own (a
// distribution's console-setup, for instance) does not match it, and the
// screen is then read by OCR instead (ocr/screen_reader.hpp).
//
// A cell matches when its pixels are two colours and the bitmap of one of
// them is a glyph (the 9th column of 9-pixel cells is ignored). The text
// cursor adds full rows at the bottom of its cell; those are dropped before
// the lookup. A one-colour cell reads as a space.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "media/screen_text.hpp"
#include "wire/status.hpp"

namespace vredir {

class VgaFont {
 public:
  static constexpr int kRows = 16;
  using Glyph = std::array<uint8_t, kRows>;

  // Finds the 8x16 font table in a VGA BIOS ROM image. False when the image
  // has none.
  bool load_from_rom(std::span<const uint8_t> rom);
  // Looks in the firmware ROMs installed for QEMU (the first that has a
  // font). *where names the file used, or the places looked in.
  Status load_installed(std::string* where);

  bool loaded() const { return !index_.empty(); }
  const Glyph& glyph(uint8_t code) const { return glyphs_[code]; }
  // The code point a bitmap shows, or -1. Blank bitmaps read as a space;
  // where several codes share a bitmap, printable ASCII wins.
  int lookup(const Glyph& bits) const;
  // The same, comparing only the rows whose bit is clear in ignore_rows
  // (bit y: row y), in the same order of preference.
  int lookup_except(const Glyph& bits, uint16_t ignore_rows) const;

 private:
  std::array<Glyph, 256> glyphs_{};
  std::vector<uint8_t> order_;  // codes by preference
  std::unordered_map<std::string, uint8_t> index_;
};

// The screen's cell geometry if it can be a text mode: 9 or 8 pixels wide,
// 16 high, 40 to 132 columns and 10 to 100 rows. False otherwise.
bool text_mode_geometry(uint32_t width, uint32_t height, uint32_t* cell_w, uint32_t* cell_h);

// Reads the whole screen (0x00RRGGBB, row-major) cell by cell. False, with
// *why, when it is not a text screen in this font (a cell of three or more
// colours, or a bitmap the font does not have).
bool read_text_mode(const uint32_t* pixels, uint32_t width, uint32_t height, const VgaFont& font, ScreenText* out,
                    std::string* why);

// The UTF-8 text of a code page 437 character (0 and 255 read as a space).
std::string cp437_utf8(uint8_t code);

}  // namespace vredir
