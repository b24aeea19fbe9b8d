// The client-side GDI bookkeeping: ids must be defined before use, memory
// caps hold, and lifecycle records remove what they name.
#include <catch2/catch.hpp>

#include "gdi_scene.hpp"
#include "wire/stream_writer.hpp"

namespace gdi = vredir::gdi;

namespace {

bool ok(gdi::GdiScene& s, const gdi::Record& r) {
  std::string err;
  bool res = s.apply(r, &err);
  if (!res) INFO(err);
  return res;
}

std::string refuse(gdi::GdiScene& s, const gdi::Record& r) {
  std::string err;
  CHECK_FALSE(s.apply(r, &err));
  CHECK_FALSE(err.empty());
  return err;
}

gdi::WindowCreate window(uint32_t id, uint32_t pid = 1, uint32_t owner = 0) {
  gdi::WindowCreate w;
  w.target = id;
  w.pid = pid;
  w.owner = owner;
  w.rect = {0, 0, 100, 50};
  w.flags = gdi::WindowCreate::kFlagVisible;
  w.title = "w";
  return w;
}

}  // namespace

TEST_CASE("targets must exist before drawing", "[gdi_scene]") {
  gdi::GdiScene s;
  CHECK(refuse(s, gdi::FillRect{1, {0, 0, 1, 1}, 0xF00021}).find("undefined target 1") != std::string::npos);
  REQUIRE(ok(s, window(1)));
  CHECK(ok(s, gdi::FillRect{1, {0, 0, 1, 1}, 0xF00021}));
  CHECK(s.target(1)->window);
  CHECK(s.target(1)->w == 100);
  CHECK(s.target(1)->show == 1);
  refuse(s, gdi::Copy{1, {0, 0, 1, 1}, 7, {}, 0xCC0020});
  CHECK(ok(s, gdi::Copy{1, {0, 0, 1, 1}, 0, {}, 0x00000042}));  // no source
  refuse(s, gdi::Stretch{1, {}, 0, {}, 0xCC0020});
  REQUIRE(ok(s, gdi::SurfaceCreate{2, 10, 10}));
  CHECK(ok(s, gdi::Copy{1, {0, 0, 10, 10}, 2, {}, 0xCC0020}));
  CHECK(ok(s, gdi::Stretch{1, {0, 0, 20, 20}, 2, {0, 0, 10, 10}, 0xCC0020}));
  // Window records need a window, surface records a surface.
  refuse(s, gdi::WindowShow{2, 1});
  refuse(s, gdi::SurfaceDelete{1});
  refuse(s, gdi::WindowDestroy{2});
  // Duplicates and id 0.
  CHECK(refuse(s, window(1)).find("redefines") != std::string::npos);
  refuse(s, gdi::SurfaceCreate{1, 5, 5});
  refuse(s, gdi::SurfaceCreate{0, 5, 5});
  refuse(s, window(3, 1, 99));  // owner that does not exist
  refuse(s, window(3, 1, 2));   // owner that is a surface
}

TEST_CASE("fonts, states and bitmaps", "[gdi_scene]") {
  gdi::GdiScene s;
  REQUIRE(ok(s, window(1)));
  gdi::State st;
  st.target = 1;
  st.font = 3;
  CHECK(refuse(s, st).find("undefined font 3") != std::string::npos);
  CHECK(s.state(1).font == 0);  // unchanged: the default state
  REQUIRE(ok(s, gdi::FontDef{3, -12, 400, 0, 0, 0, 0, "Sans"}));
  CHECK(ok(s, st));
  CHECK(s.state(1).font == 3);
  refuse(s, gdi::FontDef{0, -12, 400, 0, 0, 0, 0, "Sans"});

  CHECK(refuse(s, gdi::BitmapDraw{1, {}, 5, {}, 0xCC0020}).find("undefined bitmap 5") != std::string::npos);
  std::string raw;
  for (int i = 0; i < 4; ++i) raw += std::string("\x01\x02\x03\x00", 4);
  REQUIRE(ok(s, gdi::BitmapDef{5, 2, 2, gdi::BitmapDef::kRaw, raw}));
  REQUIRE(s.bitmap(5));
  CHECK(s.bitmap(5)->pixels == std::vector<uint32_t>(4, 0x030201));
  CHECK(ok(s, gdi::BitmapDraw{1, {0, 0, 2, 2}, 5, {0, 0, 2, 2}, 0xCC0020}));
  // zlib data must inflate to exactly w*h*4 bytes.
  std::string z = vredir::stream::zlib_compress(raw, 6);
  CHECK(ok(s, gdi::BitmapDef{6, 2, 2, gdi::BitmapDef::kZlib, z}));
  CHECK(s.bitmap(6)->pixels == s.bitmap(5)->pixels);
  refuse(s, gdi::BitmapDef{7, 4, 4, gdi::BitmapDef::kZlib, z});
  refuse(s, gdi::BitmapDef{7, 1, 1, gdi::BitmapDef::kZlib, z});
  refuse(s, gdi::BitmapDef{7, 1, 1, gdi::BitmapDef::kZlib, "not zlib"});
  CHECK(s.bitmap(7) == nullptr);
  CHECK(ok(s, gdi::BitmapFree{5}));
  refuse(s, gdi::BitmapFree{5});
  refuse(s, gdi::BitmapDraw{1, {}, 5, {}, 0xCC0020});
  CHECK(s.bitmap_pixels() == 4);
}

TEST_CASE("lifecycle: destroy, delete and app exit remove targets", "[gdi_scene]") {
  gdi::GdiScene s;
  REQUIRE(ok(s, window(1, 10)));
  REQUIRE(ok(s, window(2, 10, 1)));
  REQUIRE(ok(s, window(3, 20)));
  REQUIRE(ok(s, gdi::SurfaceCreate{4, 8, 8}));
  gdi::State st;
  st.target = 2;
  REQUIRE(ok(s, st));
  CHECK(s.target_pixels() == 3 * 5000 + 64);
  REQUIRE(ok(s, gdi::WindowDestroy{1}));
  CHECK(s.removed() == std::vector<uint32_t>{1});
  CHECK(s.target(2)->owner == 0);  // its owner is gone
  REQUIRE(ok(s, gdi::AppExit{10, 0, 0}));
  CHECK(s.removed() == std::vector<uint32_t>{2});
  CHECK(s.target(2) == nullptr);
  CHECK(s.state(2).target == 0);  // its state went with it
  CHECK(s.windows() == std::vector<uint32_t>{3});
  REQUIRE(ok(s, gdi::SurfaceDelete{4}));
  CHECK(s.removed() == std::vector<uint32_t>{4});
  CHECK(s.target_pixels() == 5000);
  refuse(s, gdi::FillRect{4, {}, 0xF00021});
  // Ids can be used again once removed.
  CHECK(ok(s, gdi::SurfaceCreate{4, 8, 8}));
}

TEST_CASE("memory caps: targets, pixels and bitmaps", "[gdi_scene]") {
  gdi::SceneLimits l;
  l.max_targets = 3;
  l.max_target_pixels = 10001;
  l.max_bitmaps = 2;
  l.max_bitmap_pixels = 100;
  l.max_fonts = 1;
  gdi::GdiScene s(l);
  REQUIRE(ok(s, gdi::SurfaceCreate{1, 50, 100}));
  CHECK(refuse(s, gdi::SurfaceCreate{2, 50, 101}).find("pixels") != std::string::npos);
  REQUIRE(ok(s, gdi::SurfaceCreate{2, 1, 1}));
  REQUIRE(ok(s, window(3)));
  CHECK(refuse(s, gdi::SurfaceCreate{4, 1, 1}).find("targets") != std::string::npos);
  // Growing a window past the cap is refused and leaves it as it was.
  refuse(s, gdi::WindowMove{3, {0, 0, 200, 200}});
  CHECK(s.target(3)->w == 100);
  CHECK(ok(s, gdi::WindowMove{3, {5, 5, 90, 50}}));
  CHECK(s.target(3)->rect.x == 5);

  std::string px(4 * 50, '\0');
  REQUIRE(ok(s, gdi::BitmapDef{1, 10, 5, 0, px}));
  REQUIRE(ok(s, gdi::BitmapDef{2, 10, 5, 0, px}));
  CHECK(refuse(s, gdi::BitmapDef{3, 1, 1, 0, std::string(4, '\0')}).find("cached bitmaps") != std::string::npos);
  // Redefining an id replaces it within the cap.
  CHECK(ok(s, gdi::BitmapDef{2, 10, 5, 0, px}));
  std::string big(4 * 60, '\0');
  refuse(s, gdi::BitmapDef{2, 10, 6, 0, big});
  REQUIRE(ok(s, gdi::FontDef{1, 10, 400, 0, 0, 0, 0, "a"}));
  CHECK(ok(s, gdi::FontDef{1, 12, 400, 0, 0, 0, 0, "a"}));
  refuse(s, gdi::FontDef{2, 10, 400, 0, 0, 0, 0, "a"});
}

TEST_CASE("window records update the bookkeeping", "[gdi_scene]") {
  gdi::GdiScene s;
  REQUIRE(ok(s, window(1)));
  CHECK(ok(s, gdi::WindowShow{1, 0}));
  CHECK(s.target(1)->show == 0);
  CHECK(ok(s, gdi::WindowTitle{1, "new"}));
  CHECK(s.target(1)->title == "new");
  CHECK(ok(s, gdi::WindowZorder{1, 0}));
  refuse(s, gdi::WindowZorder{1, 9});
  CHECK(ok(s, gdi::WindowMove{1, {0, 0, 0, 0}}));
  CHECK(s.target(1)->w == 1);  // a backing store is at least 1x1
  // Input and unknown records are accepted and ignored.
  CHECK(ok(s, gdi::InputKey{9, 0x41, 0x1E, 1, 'a'}));
  CHECK(ok(s, gdi::Unknown{0x7F, ""}));
}
