// Needle search for redir-capture --until-match.
#include "media/screen_match.hpp"

#include <catch2/catch.hpp>

using vredir::Image;
using vredir::NeedleMatcher;
using vredir::ScreenRegion;

namespace {

std::vector<uint32_t> noise_screen(uint32_t w, uint32_t h) {
  std::vector<uint32_t> s(size_t(w) * h);
  uint32_t v = 12345;
  for (uint32_t& p : s) p = (v = v * 1103515245u + 12345u) >> 8 & 0xFFFFFF;
  return s;
}

Image cut(const std::vector<uint32_t>& s, uint32_t sw, uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
  Image img;
  img.width = w;
  img.height = h;
  for (uint32_t j = 0; j < h; ++j)
    for (uint32_t i = 0; i < w; ++i) img.pixels.push_back(s[size_t(y + j) * sw + x + i]);
  return img;
}

}  // namespace

TEST_CASE("finding a needle", "[screen_match]") {
  const uint32_t w = 200, h = 120;
  std::vector<uint32_t> screen = noise_screen(w, h);
  Image needle = cut(screen, w, 150, 70, 20, 10);
  NeedleMatcher m(needle);

  SECTION("exact, whole screen") {
    auto r = m.find(screen.data(), w, h, {}, 0.99);
    REQUIRE(r.found);
    CHECK(r.x == 150);
    CHECK(r.y == 70);
    CHECK(r.score == 1.0);
  }
  SECTION("a region that holds it, one that does not") {
    CHECK(m.find(screen.data(), w, h, ScreenRegion{140, 60, 40, 30}, 0.99).found);
    CHECK_FALSE(m.find(screen.data(), w, h, ScreenRegion{0, 0, 150, 120}, 0.99).found);
    CHECK_FALSE(m.find(screen.data(), w, h, ScreenRegion{150, 70, 19, 10}, 0.99).found);  // smaller than the needle
  }
  SECTION("a few wrong pixels: the score decides") {
    for (uint32_t i = 0; i < 4; ++i) screen[size_t(70 + i) * w + 150 + i] ^= 0x808080;
    auto r = m.find(screen.data(), w, h, {}, 0.97);
    REQUIRE(r.found);
    CHECK(r.score == 196.0 / 200.0);
    CHECK_FALSE(m.find(screen.data(), w, h, {}, 0.99).found);
  }
  SECTION("small colour differences are within the tolerance") {
    for (uint32_t j = 0; j < 10; ++j)
      for (uint32_t i = 0; i < 20; ++i) screen[size_t(70 + j) * w + 150 + i] ^= 0x070707;
    auto r = m.find(screen.data(), w, h, {}, 0.99);
    REQUIRE(r.found);
    CHECK(r.score == 1.0);
    NeedleMatcher strict(needle, 0);
    CHECK_FALSE(strict.find(screen.data(), w, h, {}, 0.99).found);
  }
  SECTION("gone") {
    for (uint32_t j = 0; j < 10; ++j)
      for (uint32_t i = 0; i < 20; ++i) screen[size_t(70 + j) * w + 150 + i] = 0;
    CHECK_FALSE(m.find(screen.data(), w, h, {}, 0.5).found);
  }
}

TEST_CASE("region text", "[screen_match]") {
  ScreenRegion r;
  CHECK(vredir::parse_region("1,2,30,40", &r));
  CHECK(r.x == 1);
  CHECK(r.h == 40);
  CHECK_FALSE(vredir::parse_region("1,2,30", &r));
  CHECK_FALSE(vredir::parse_region("1,2,0,4", &r));
  CHECK_FALSE(vredir::parse_region("1,2,3,4,", &r));
  CHECK_FALSE(vredir::parse_region("a,2,3,4", &r));
}
