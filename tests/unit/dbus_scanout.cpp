// The pixels of a head from QEMU's D-Bus display: Scanout and Update are
// checked before they touch the picture (virt/dbus_scanout.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "virt/dbus_scanout.hpp"

using vredir::kPixmanX8R8G8B8;

namespace {

// BGRX bytes of one colour, `stride` bytes a row.
std::vector<uint8_t> pixels(uint32_t w, uint32_t h, uint32_t stride, uint32_t rgb) {
  std::vector<uint8_t> d(size_t(stride) * h, 0xEE);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      uint8_t* p = &d[size_t(y) * stride + x * 4];
      p[0] = rgb & 0xFF;
      p[1] = (rgb >> 8) & 0xFF;
      p[2] = (rgb >> 16) & 0xFF;
      p[3] = 0x99;  // X: never shows
    }
  return d;
}

}  // namespace

TEST_CASE("dbus scanout: a picture and its updates", "[dbus_scanout]") {
  vredir::rfb::Framebuffer fb;
  auto full = pixels(8, 4, 40, 0x102030);  // stride beyond the row
  REQUIRE(vredir::apply_scanout(8, 4, 40, kPixmanX8R8G8B8, full, &fb));
  CHECK(fb.width == 8);
  CHECK(fb.height == 4);
  CHECK(fb.pixels[0] == 0x102030);
  CHECK(fb.pixels[31] == 0x102030);

  auto part = pixels(2, 2, 8, 0xABCDEF);
  vredir::rfb::PixelRect r;
  REQUIRE(vredir::apply_update(5, 1, 2, 2, 8, kPixmanX8R8G8B8, part, &fb, &r));
  CHECK((r.x == 5 && r.y == 1 && r.w == 2 && r.h == 2));
  CHECK(fb.pixels[1 * 8 + 5] == 0xABCDEF);
  CHECK(fb.pixels[2 * 8 + 6] == 0xABCDEF);
  CHECK(fb.pixels[1 * 8 + 4] == 0x102030);
  CHECK(fb.pixels[3 * 8 + 5] == 0x102030);

  SECTION("the last row needs its pixels only, not a whole stride") {
    std::vector<uint8_t> tight(40 * 3 + 8 * 4, 0);
    CHECK(vredir::apply_scanout(8, 4, 40, kPixmanX8R8G8B8, tight, &fb));
    tight.pop_back();
    vredir::Status st = vredir::apply_scanout(8, 4, 40, kPixmanX8R8G8B8, tight, &fb);
    CHECK(st.code() == vredir::kExitMalformed);
    CHECK(st.message().find("short") != std::string::npos);
  }
  SECTION("updates outside the picture, negative or overflowing, change nothing") {
    const auto before = fb.pixels;
    CHECK(vredir::apply_update(7, 0, 2, 1, 8, kPixmanX8R8G8B8, part, &fb, &r).code() == vredir::kExitMalformed);
    CHECK(vredir::apply_update(-1, 0, 1, 1, 8, kPixmanX8R8G8B8, part, &fb, &r).code() == vredir::kExitMalformed);
    CHECK(vredir::apply_update(0, 0, 1, -1, 8, kPixmanX8R8G8B8, part, &fb, &r).code() == vredir::kExitMalformed);
    CHECK(vredir::apply_update(INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, 8, kPixmanX8R8G8B8, part, &fb, &r).code() ==
          vredir::kExitMalformed);
    CHECK(fb.pixels == before);
  }
  SECTION("an empty update is no change") {
    REQUIRE(vredir::apply_update(3, 3, 0, 0, 0, kPixmanX8R8G8B8, {}, &fb, &r));
    CHECK(r.w == 0);
  }
  SECTION("a stride short of the row, another pixel format") {
    CHECK(vredir::apply_update(0, 0, 2, 2, 7, kPixmanX8R8G8B8, part, &fb, &r).code() == vredir::kExitMalformed);
    vredir::Status st = vredir::apply_update(0, 0, 2, 2, 8, 0x10011565 /* r5g6b5 */, part, &fb, &r);
    CHECK(st.code() == vredir::kExitMalformed);
    CHECK(st.message().find("pixel format") != std::string::npos);
    CHECK(vredir::apply_update(0, 0, 2, 2, 8, vredir::kPixmanA8R8G8B8, part, &fb, &r));
  }
  SECTION("sizes beyond the limits allocate nothing") {
    CHECK(vredir::apply_scanout(0, 4, 0, kPixmanX8R8G8B8, {}, &fb).code() == vredir::kExitMalformed);
    CHECK(vredir::apply_scanout(16385, 1, 16385 * 4, kPixmanX8R8G8B8, {}, &fb).code() == vredir::kExitMalformed);
    CHECK(vredir::apply_scanout(16384, 16384, 65536, kPixmanX8R8G8B8, {}, &fb).code() == vredir::kExitMalformed);
    CHECK(vredir::apply_scanout(4096, 4096, 0xFFFFFFFF, kPixmanX8R8G8B8, full, &fb).code() == vredir::kExitMalformed);
    CHECK(fb.width == 8);
  }
}
