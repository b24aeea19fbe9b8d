// os-autoinst needles: parsing their JSON and matching as os-autoinst does.
#include "media/needle.hpp"

#include <catch2/catch.hpp>

using namespace vredir;

namespace {

Image noise_image(uint32_t w, uint32_t h, uint32_t seed) {
  Image img;
  img.width = w;
  img.height = h;
  img.pixels.resize(size_t(w) * h);
  uint32_t v = seed;
  // Blocky noise (8x8 cells), like screen content rather than film grain.
  std::vector<uint32_t> cells(size_t(w / 8 + 1) * (h / 8 + 1));
  for (uint32_t& c : cells) c = (v = v * 1103515245u + 12345u) >> 8 & 0xFFFFFF;
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) img.pixels[size_t(y) * w + x] = cells[size_t(y / 8) * (w / 8 + 1) + x / 8];
  return img;
}

Needle needle_of(const Image& img, std::vector<NeedleArea> areas) {
  Needle n;
  n.name = "test";
  n.image = img;
  n.areas = std::move(areas);
  return n;
}

NeedleArea area(uint32_t x, uint32_t y, uint32_t w, uint32_t h, NeedleArea::Type t = NeedleArea::Type::kMatch) {
  NeedleArea a;
  a.box = ScreenRegion{x, y, w, h};
  a.type = t;
  return a;
}

}  // namespace

TEST_CASE("needle JSON", "[needle]") {
  Needle n;
  std::string err;
  SECTION("an openQA needle") {
    REQUIRE(parse_needle_json(R"({"area":[{"xpos":10,"ypos":20,"width":30,"height":40,"type":"match","match":90},
        {"xpos":0,"ypos":0,"width":5,"height":5,"type":"exclude"},{"xpos":1,"ypos":2,"width":3,"height":4,
        "click_point":{"xpos":1,"ypos":2}}],"tags":["login","x"],"properties":[]})",
                              &n, &err));
    REQUIRE(n.areas.size() == 3);
    CHECK(n.areas[0].box.x == 10);
    CHECK(n.areas[0].match == 90);
    CHECK(n.areas[0].margin == 50);
    CHECK(n.areas[1].type == NeedleArea::Type::kExclude);
    CHECK(n.areas[2].match == 96);  // the default
    CHECK(n.areas[2].has_click);
    CHECK(n.areas[2].click_y == 2);
    CHECK(n.tags == std::vector<std::string>{"login", "x"});
  }
  SECTION("what is refused") {
    CHECK_FALSE(parse_needle_json("not json", &n, &err));
    CHECK_FALSE(parse_needle_json("[]", &n, &err));
    CHECK_FALSE(parse_needle_json(R"({"tags":[]})", &n, &err));
    CHECK_FALSE(parse_needle_json(R"({"area":[{"xpos":0,"ypos":0,"width":5,"height":5,"type":"exclude"}]})", &n, &err));
    CHECK(err == "no match area");
    CHECK_FALSE(parse_needle_json(R"({"area":[{"xpos":-1,"ypos":0,"width":5,"height":5}]})", &n, &err));
    CHECK_FALSE(parse_needle_json(R"({"area":[{"xpos":1,"ypos":0,"width":0,"height":5}]})", &n, &err));
    CHECK_FALSE(parse_needle_json(R"({"area":[{"xpos":1,"ypos":0,"width":99999,"height":5}]})", &n, &err));
    CHECK_FALSE(parse_needle_json(R"({"area":[{"xpos":"1","ypos":0,"width":9,"height":5}]})", &n, &err));
    CHECK_FALSE(parse_needle_json(R"({"area":[{"xpos":1,"ypos":0,"width":9,"height":5,"type":"odd"}]})", &n, &err));
    CHECK_FALSE(parse_needle_json(R"({"area":[{"xpos":1,"ypos":0,"width":9,"height":5,"match":101}]})", &n, &err));
    CHECK_FALSE(parse_needle_json(R"({"area":[{"xpos":1.5,"ypos":0,"width":9,"height":5}]})", &n, &err));
    CHECK(parse_needle_json(R"({"area":[{"xpos":1.0,"ypos":0,"width":9,"height":5}]})", &n, &err));
  }
}

TEST_CASE("the grey and blur os-autoinst applies", "[needle]") {
  // One white pixel in black: grey 255, blurred by [1 2 1]x[1 2 1]/16.
  std::vector<uint32_t> px(25, 0);
  px[12] = 0xFFFFFF;
  auto g = needle_prepare(px.data(), 5, 5, {});
  CHECK(g[12] == (255 * 4 + 8) / 16);
  CHECK(g[11] == (255 * 2 + 8) / 16);
  CHECK(g[6] == (255 + 8) / 16);
  CHECK(g[0] == 0);
  // OpenCV's weights: pure red, green and blue.
  std::vector<uint32_t> rgb = {0xFF0000, 0x00FF00, 0x0000FF};
  auto flat = needle_prepare(rgb.data(), 1, 1, {});
  CHECK(flat[0] == 76);
  flat = needle_prepare(rgb.data() + 1, 1, 1, {});
  CHECK(flat[0] == 150);
  flat = needle_prepare(rgb.data() + 2, 1, 1, {});
  CHECK(flat[0] == 29);
}

TEST_CASE("matching a needle the way os-autoinst does", "[needle]") {
  Image screen = noise_image(320, 200, 7);
  SECTION("the same screen: similarity 1 where it was recorded") {
    Needle n = needle_of(screen, {area(100, 60, 64, 32)});
    NeedleResult r = NeedleSearch(n).find(screen.pixels.data(), screen.width, screen.height);
    REQUIRE(r.ok);
    CHECK(r.areas[0].similarity == 1.0);
    CHECK(r.areas[0].box.x == 100);
    CHECK(r.areas[0].click_x == 132);
    CHECK(r.areas[0].click_y == 76);
  }
  SECTION("moved within the margin: found where it went") {
    Image moved = noise_image(320, 200, 99);
    for (uint32_t y = 0; y < 32; ++y)
      for (uint32_t x = 0; x < 64; ++x)
        moved.pixels[size_t(60 + 13 + y) * 320 + 100 + 21 + x] = screen.pixels[size_t(60 + y) * 320 + 100 + x];
    Needle n = needle_of(screen, {area(100, 60, 64, 32)});
    NeedleResult r = NeedleSearch(n).find(moved.pixels.data(), 320, 200);
    REQUIRE(r.areas.size() == 1);
    CHECK(r.areas[0].box.x == 121);
    CHECK(r.areas[0].box.y == 73);
    // The blur mixes in the new surroundings along the edges.
    CHECK(r.areas[0].similarity > 0.96);
    CHECK(r.ok);
  }
  SECTION("another picture in the area: no match") {
    Image other = noise_image(320, 200, 12345);
    Needle n = needle_of(screen, {area(100, 60, 64, 32)});
    NeedleResult r = NeedleSearch(n).find(other.pixels.data(), 320, 200);
    CHECK_FALSE(r.ok);
    CHECK(r.areas[0].similarity < 0.96);
  }
  SECTION("an exclude area over a clock") {
    Image later = screen;
    for (uint32_t y = 70; y < 80; ++y)
      for (uint32_t x = 150; x < 160; ++x) later.pixels[size_t(y) * 320 + x] = 0xFFFFFF;  // the clock moved on
    Needle with = needle_of(screen, {area(100, 60, 64, 32), area(148, 68, 14, 14, NeedleArea::Type::kExclude)});
    Needle without = needle_of(screen, {area(100, 60, 64, 32)});
    NeedleResult a = NeedleSearch(with).find(later.pixels.data(), 320, 200);
    NeedleResult b = NeedleSearch(without).find(later.pixels.data(), 320, 200);
    CHECK(a.ok);
    CHECK(a.areas[0].similarity == 1.0);
    CHECK(b.areas[0].similarity < a.areas[0].similarity);
  }
  SECTION("the match percentage decides") {
    Image later = screen;
    for (uint32_t y = 60; y < 66; ++y)
      for (uint32_t x = 100; x < 164; ++x) later.pixels[size_t(y) * 320 + x] ^= 0x303030;
    Needle strict = needle_of(screen, {area(100, 60, 64, 32)});
    NeedleResult r = NeedleSearch(strict).find(later.pixels.data(), 320, 200);
    const double sim = r.areas[0].similarity;
    CHECK(sim < 1.0);
    strict.areas[0].match = sim * 100 - 0.5;
    CHECK(NeedleSearch(strict).find(later.pixels.data(), 320, 200).ok);
    strict.areas[0].match = sim * 100 + 0.5;
    CHECK_FALSE(NeedleSearch(strict).find(later.pixels.data(), 320, 200).ok);
  }
}
