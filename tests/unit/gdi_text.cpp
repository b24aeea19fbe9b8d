// The text of an application's windows from its GDI drawing commands.
#include "gdi_text.hpp"

#include <catch2/catch.hpp>

using namespace vredir;
using namespace vredir::gdi;

namespace {

Text text(uint32_t target, int32_t x, int32_t y, std::string s, std::vector<int32_t> adv = {}) {
  Text t;
  t.target = target;
  t.pos = Point{x, y};
  t.text = std::move(s);
  t.advances = std::move(adv);
  return t;
}

WindowCreate window(uint32_t id, int32_t x, int32_t y) {
  WindowCreate w;
  w.target = id;
  w.rect = gdi::Rect{x, y, 400, 300};
  w.flags = WindowCreate::kFlagVisible;
  return w;
}

}  // namespace

TEST_CASE("text runs become lines in screen coordinates", "[gdi_text]") {
  GdiTextModel m;
  m.add(window(1, 100, 50));
  FontDef f;
  f.font = 3;
  f.height = -13;
  f.em = 13;
  f.ascent = 12;
  f.descent = 3;
  m.add(f);
  State st;
  st.target = 1;
  st.font = 3;
  m.add(st);
  m.add(text(1, 10, 20, "File saved", {7, 7, 7, 7, 4, 7, 7, 7, 7, 7}));
  m.add(text(1, 200, 21, "OK", {9, 9}));
  m.add(text(1, 10, 60, "Second line"));
  ScreenText t = m.text();
  CHECK(t.source == "gdi");
  REQUIRE(t.lines.size() == 2);
  CHECK(t.lines[0].text == "File saved OK");
  CHECK(t.lines[1].text == "Second line");
  REQUIRE(t.lines[0].words.size() == 3);
  CHECK(t.lines[0].words[0].box.x == 110);
  CHECK(t.lines[0].words[0].box.y == 70);
  CHECK(t.lines[0].words[0].box.w == 28);
  CHECK(t.lines[0].words[1].box.x == 110 + 32);
  CHECK(t.lines[0].words[1].box.w == 35);
  CHECK(t.lines[0].words[0].box.h == 15);
  std::regex re;
  std::string err;
  REQUIRE(compile_text_regex("saved", &re, &err));
  TextMatch match;
  REQUIRE(find_text(t, re, &match));
  CHECK(match.box.x == 142);

  SECTION("drawing over text removes it") {
    FillRect fr;
    fr.target = 1;
    fr.rect = gdi::Rect{0, 15, 390, 25};
    m.add(fr);
    CHECK(m.text().text() == "Second line");
  }
  SECTION("text over text replaces it") {
    m.add(text(1, 10, 60, "Replaced line"));
    CHECK(m.text().lines[1].text == "Replaced line");
  }
  SECTION("a hidden or destroyed window shows nothing; a moved one moves its text") {
    WindowMove mv;
    mv.target = 1;
    mv.rect = gdi::Rect{0, 0, 400, 300};
    m.add(mv);
    CHECK(m.text().lines[0].words[0].box.x == 10);
    WindowShow hide;
    hide.target = 1;
    hide.state = 0;
    m.add(hide);
    CHECK(m.text().lines.empty());
    WindowDestroy d;
    d.target = 1;
    m.add(d);
    CHECK(m.text().lines.empty());
  }
  SECTION("a region keeps what is inside it") {
    CHECK(m.text(ScreenRegion{100, 100, 300, 30}).text() == "Second line");
  }
}

TEST_CASE("text drawn offscreen shows once copied to a window", "[gdi_text]") {
  GdiTextModel m;
  m.add(window(1, 0, 0));
  SurfaceCreate s;
  s.target = 9;
  s.w = 200;
  s.h = 100;
  m.add(s);
  m.add(text(9, 5, 5, "buffered", {8, 8, 8, 8, 8, 8, 8, 8}));
  CHECK(m.text().lines.empty());
  Copy c;
  c.dst = 1;
  c.dst_rect = gdi::Rect{50, 40, 200, 100};
  c.src = 9;
  c.src_pt = Point{0, 0};
  m.add(c);
  ScreenText t = m.text();
  REQUIRE(t.lines.size() == 1);
  CHECK(t.lines[0].text == "buffered");
  CHECK(t.lines[0].words[0].box.x == 55);
  CHECK(t.lines[0].words[0].box.y == 45);
}

TEST_CASE("text drawn outside a window's area is not its text", "[gdi_text]") {
  GdiTextModel m;
  m.add(window(1, 100, 50));  // 400x300
  // A caption drawn into the window's DC above its area (Wine draws the
  // non-client part there), clipped on screen.
  m.add(text(1, 4, -16, "Untitled - Notepad", std::vector<int32_t>(18, 7)));
  m.add(text(1, 10, 20, "Body", {7, 7, 7, 7}));
  m.add(text(1, 395, 40, "Edge", {7, 7, 7, 7}));   // starts inside, centre outside
  m.add(text(1, 10, 310, "Below", {7, 7, 7, 7, 7}));
  ScreenText t = m.text();
  REQUIRE(t.lines.size() == 1);
  CHECK(t.lines[0].text == "Body");
  // A resize that brings it into the area brings the text back.
  WindowMove mv;
  mv.target = 1;
  mv.rect = gdi::Rect{100, 50, 500, 400};
  m.add(mv);
  t = m.text();
  REQUIRE(t.lines.size() == 3);
  CHECK(t.lines[1].text == "Edge");
  CHECK(t.lines[2].text == "Below");
}
