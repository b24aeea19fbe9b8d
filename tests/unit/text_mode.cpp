// Reading VGA text screens through their font, and finding text in them.
#include "media/text_mode.hpp"

#include <catch2/catch.hpp>

#include "media/screen_text.hpp"

using namespace vredir;

namespace {

// A made-up code page 437 font inside a made-up ROM: glyph 0 and the space
// empty, 0xDB full, 0xDC the lower half (what the loader looks for), every
// other glyph a distinct pattern.
std::vector<uint8_t> fake_rom(size_t offset) {
  std::vector<uint8_t> rom(offset + 256 * 16 + 100, 0xA5);
  uint8_t* t = rom.data() + offset;
  for (int c = 0; c < 256; ++c)
    for (int r = 0; r < 16; ++r)
      t[c * 16 + r] = static_cast<uint8_t>(r == 2 ? c : (r > 2 && r < 14) ? (c * 7 + r * 13) : 0);
  for (int r = 0; r < 16; ++r) {
    t[0 * 16 + r] = 0;
    t[0x20 * 16 + r] = 0;
    t[0xFF * 16 + r] = 0;
    t[0xDB * 16 + r] = 0xFF;
    t[0xDC * 16 + r] = r >= 7 ? 0xFF : 0;
  }
  return rom;
}

struct Screen {
  uint32_t w = 720, h = 400;
  std::vector<uint32_t> px = std::vector<uint32_t>(size_t(720) * 400, 0x000000);
  void put(const VgaFont& f, uint32_t col, uint32_t row, const std::string& s, uint32_t fg = 0xAAAAAA,
           uint32_t bg = 0x000000) {
    for (size_t i = 0; i < s.size(); ++i) {
      const auto& g = f.glyph(static_cast<uint8_t>(s[i]));
      for (uint32_t y = 0; y < 16; ++y)
        for (uint32_t x = 0; x < 9; ++x) {
          bool on = x < 8 && (g[y] & (0x80 >> x));
          px[size_t(row * 16 + y) * w + (col + i) * 9 + x] = on ? fg : bg;
        }
    }
  }
};

}  // namespace

TEST_CASE("the font is found in a VGA BIOS image", "[text_mode]") {
  VgaFont f;
  CHECK_FALSE(f.load_from_rom(std::vector<uint8_t>(8192, 0x11)));
  CHECK_FALSE(f.load_from_rom(std::vector<uint8_t>(100, 0)));
  REQUIRE(f.load_from_rom(fake_rom(1234)));
  CHECK(f.lookup(f.glyph('A')) == 'A');
  CHECK(f.lookup(VgaFont::Glyph{}) == ' ');
  VgaFont::Glyph junk;
  junk.fill(0x5A);
  CHECK(f.lookup(junk) == -1);
}

TEST_CASE("a text screen reads back exactly", "[text_mode]") {
  VgaFont f;
  REQUIRE(f.load_from_rom(fake_rom(0)));
  Screen s;
  s.put(f, 0, 0, "/ # echo OCR-$((6*7))-DONE");
  s.put(f, 0, 1, "OCR-42-DONE");
  s.put(f, 10, 3, "white on blue", 0xFFFFFF, 0x0000AA);
  ScreenText t;
  std::string why;
  REQUIRE(read_text_mode(s.px.data(), s.w, s.h, f, &t, &why));
  CHECK(t.source == "vga-font");
  REQUIRE(t.lines.size() == 25);
  CHECK(t.lines[0].text == "/ # echo OCR-$((6*7))-DONE");
  CHECK(t.lines[1].text == "OCR-42-DONE");
  CHECK(t.lines[3].text == "          white on blue");
  CHECK(t.text() == "/ # echo OCR-$((6*7))-DONE\nOCR-42-DONE\n\n          white on blue");
  REQUIRE(t.lines[0].words.size() == 4);
  CHECK(t.lines[0].words[3].text == "OCR-$((6*7))-DONE");
  CHECK(t.lines[0].words[3].box.x == 9 * 9);
  CHECK(t.lines[0].words[3].box.w == 17 * 9);
  CHECK(t.lines[0].words[3].box.h == 16);

  SECTION("the cursor's rows do not change a character") {
    // Linux's underline cursor: rows 13 and 14 of the cell.
    for (uint32_t y = 13; y < 15; ++y)
      for (uint32_t x = 0; x < 9; ++x) s.px[size_t(16 + y) * s.w + 11 * 9 + x] = 0xAAAAAA;  // after "OCR-42-DONE"
    for (uint32_t y = 13; y < 15; ++y)
      for (uint32_t x = 0; x < 9; ++x) s.px[size_t(16 + y) * s.w + 0 * 9 + x] = 0xAAAAAA;   // over its "O"
    REQUIRE(read_text_mode(s.px.data(), s.w, s.h, f, &t, &why));
    CHECK(t.lines[1].text == "OCR-42-DONE");
  }
  SECTION("a regular expression gives the box of what it matched") {
    std::regex re;
    REQUIRE(compile_text_regex("OCR-[0-9]+", &re, &why));
    TextMatch m;
    REQUIRE(find_text(t, re, &m));
    CHECK(m.text == "OCR-42");
    CHECK(m.box.x == 0);
    CHECK(m.box.y == 16);
    CHECK(m.box.w == 6 * 9);
    CHECK(m.centre_x() == 27);
    CHECK(m.centre_y() == 24);
    REQUIRE(compile_text_regex("^white", &re, &why) == true);
    CHECK_FALSE(find_text(t, re, &m));  // the line starts with spaces
    REQUIRE(compile_text_regex("on blue$", &re, &why));
    REQUIRE(find_text(t, re, &m));
    CHECK(m.box.x == 16 * 9);
    CHECK_FALSE(compile_text_regex("(", &re, &why));
  }
  SECTION("a region keeps the words inside it") {
    ScreenText part = t.inside(ScreenRegion{0, 16, 720, 16});
    CHECK(part.text() == "OCR-42-DONE");
  }
  SECTION("three colours in a cell: not a text screen") {
    s.px[5] = 0x123456;
    CHECK_FALSE(read_text_mode(s.px.data(), s.w, s.h, f, &t, &why));
    CHECK(why.find("more than two colours") != std::string::npos);
  }
  SECTION("a bitmap the font lacks: not a text screen in this font") {
    s.px[size_t(16 * 5 + 3) * s.w + 40 * 9 + 2] = 0xAAAAAA;
    CHECK_FALSE(read_text_mode(s.px.data(), s.w, s.h, f, &t, &why));
    CHECK(why.find("no glyph") != std::string::npos);
  }
  SECTION("other sizes are no text mode") {
    CHECK_FALSE(read_text_mode(s.px.data(), 1024, 390, f, &t, &why));
    uint32_t cw = 0, ch = 0;
    CHECK(text_mode_geometry(720, 400, &cw, &ch));
    CHECK(cw == 9);
    CHECK(text_mode_geometry(640, 480, &cw, &ch));
    CHECK(cw == 8);
    CHECK(text_mode_geometry(1024, 768, &cw, &ch));  // a framebuffer console: 128x48 cells of 8x16
    CHECK_FALSE(text_mode_geometry(1001, 768, &cw, &ch));
  }
}

TEST_CASE("code page 437 as UTF-8", "[text_mode]") {
  CHECK(cp437_utf8('A') == "A");
  CHECK(cp437_utf8(0) == " ");
  CHECK(cp437_utf8(0xC4) == "\u2500");
  CHECK(cp437_utf8(0x81) == "\u00FC");
  CHECK(cp437_utf8(0xFE) == "\u25A0");
  CHECK(cp437_utf8(0x01) == "\u263A");
}
