// The GDI record codec (vredir-gdi(5)): round trips of every op, and
// rejection of truncated, oversized and out-of-range payloads.
#include <catch2/catch.hpp>

#include <set>

#include "wire/byte_reader.hpp"
#include "wire/gdi_records.hpp"

namespace gdi = vredir::gdi;
using gdi::Rect;
using gdi::Point;

namespace {

std::string enc(const gdi::Record& r) {
  std::string out;
  gdi::encode_record(r, out);
  return out;
}

std::span<const uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool dec(const std::string& bytes, gdi::Record* out, std::string* err) {
  return gdi::decode_record(span_of(bytes), out, err);
}

std::string reject(const std::string& bytes) {
  gdi::Record r;
  std::string err;
  CHECK_FALSE(dec(bytes, &r, &err));
  CHECK_FALSE(err.empty());
  CHECK(err.find('\n') == std::string::npos);
  return err;
}

gdi::State sample_state() {
  gdi::State s;
  s.target = 3;
  s.pen = {1, 2, 0x112233};
  s.brush.style = 3;
  s.brush.pw = 2;
  s.brush.ph = 2;
  s.brush.pattern = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF};
  s.text = 0x000080;
  s.bk = 0xC0C0C0;
  s.bk_mode = 1;
  s.rop2 = 7;
  s.text_align = 0x18;
  s.font = 5;
  s.poly_fill_mode = 2;
  s.clip = {{0, 0, 10, 10}, {20, 20, 5, 5}};
  return s;
}

std::vector<gdi::Record> one_of_each() {
  std::vector<gdi::Record> v;
  v.push_back(gdi::WindowCreate{7, 3, 4242, 1, {100, -20, 320, 200}, 0xF, "Caf\xC3\xA9 \"dialog\"", "notepad"});
  v.push_back(gdi::WindowDestroy{7});
  v.push_back(gdi::WindowShow{7, 3});
  v.push_back(gdi::WindowMove{7, {-32768, 65535, 32768, 0}});
  v.push_back(gdi::WindowTitle{7, "New title"});
  v.push_back(gdi::WindowZorder{7, 2});
  v.push_back(gdi::WindowFocus{7});
  v.push_back(gdi::WindowIcon{7, 2, 1, std::string("\x01\x02\x03\xff\x00\x00\x00\x00", 8)});
  v.push_back(gdi::SurfaceCreate{9, 4096, 4096});
  v.push_back(gdi::SurfaceDelete{9});
  v.push_back(gdi::FontDef{5, -13, 700, 1, 0, 1, 0, "DejaVu Sans"});
  gdi::FontDef realised{6, -14, 400, 0, 0, 0, 1, "Courier New"};
  realised.real_face = "Liberation Sans";
  realised.em = 14;
  realised.ascent = 13;
  realised.descent = 3;
  realised.real_weight = 400;
  realised.fixed_pitch = 1;
  realised.smoothing = gdi::FontDef::kSmoothRgb;
  realised.stretch = 778;
  v.push_back(realised);
  v.push_back(sample_state());
  gdi::State plain;
  plain.target = 1;
  v.push_back(plain);
  v.push_back(gdi::FillRect{1, {1, 2, 3, 4}, 0x00F00021});
  v.push_back(gdi::FrameRect{1, {1, 2, 3, 4}});
  v.push_back(gdi::InvertRect{1, {1, 2, 3, 4}});
  v.push_back(gdi::Rectangle{1, {1, 2, 3, 4}});
  v.push_back(gdi::RoundRect{1, {1, 2, 30, 40}, 5, 6});
  v.push_back(gdi::Ellipse{1, {1, 2, 30, 40}});
  v.push_back(gdi::Arc{1, 2, {0, 0, 50, 50}, {50, 25}, {25, 0}});
  v.push_back(gdi::Polygon{1, {3, 4}, {{0, 0}, {10, 0}, {5, 5}, {1, 1}, {2, 1}, {2, 2}, {1, 2}}});
  v.push_back(gdi::Polyline{1, {{0, 0}, {10, 10}}});
  v.push_back(gdi::PolyBezier{1, {{0, 0}, {1, 5}, {5, 1}, {10, 10}}});
  v.push_back(gdi::FillRgn{1, {{0, 0, 5, 5}, {5, 5, 5, 5}}});
  v.push_back(gdi::Text{1, {4, 20}, 6, {0, 0, 100, 20}, "Hi \xE2\x82\xAC\xF0\x9F\x98\x80", {7, 7, 7, 9, 8, 8}});
  v.push_back(gdi::Text{1, {4, 20}, 0, {}, "no advances", {}});
  v.push_back(gdi::Gradient{1, 1, {0, 0, 64, 64}, 0xFF0000, 0x0000FF});
  v.push_back(gdi::Copy{1, {0, 0, 20, 20}, 9, {3, 4}, 0x00CC0020});
  v.push_back(gdi::Stretch{1, {0, 0, 40, 40}, 9, {0, 0, 20, 20}, 0x00CC0020});
  v.push_back(gdi::AlphaBlend{1, {0, 0, 40, 40}, 9, {0, 0, 20, 20}, 128, 1});
  v.push_back(gdi::TransparentBlt{1, {0, 0, 40, 40}, 9, {0, 0, 20, 20}, 0xFF00FF});
  v.push_back(gdi::MaskBlt{1, {0, 0, 8, 8}, 9, {1, 1}, 12, {2, 2}, 0xCCAA0000u});
  v.push_back(gdi::BitmapDef{12, 2, 1, 0, std::string("\x01\x02\x03\x00\x04\x05\x06\x00", 8)});
  v.push_back(gdi::BitmapDef{13, 64, 64, 1, "x\x9c\x03\x00"});
  v.push_back(gdi::BitmapDraw{1, {0, 0, 2, 1}, 12, {0, 0, 2, 1}, 0x00CC0020});
  v.push_back(gdi::BitmapFree{12});
  v.push_back(gdi::Flush{1});
  v.push_back(gdi::AppStart{4242, "notepad", "notepad.exe C:\\a b.txt"});
  v.push_back(gdi::AppExit{4242, -1, 2});
  v.push_back(gdi::InputKey{7, 0x41, 0x1E, 1, 'a'});
  v.push_back(gdi::InputPointer{7, {-5, 300}, 5, -240});
  v.push_back(gdi::WindowRequest{7, 0, {10, 20, 300, 200}});
  v.push_back(gdi::WindowRequest{0, gdi::WindowRequest::kRedraw, {}});
  v.push_back(gdi::Unknown{0x7E, "\x01\x02"});
  return v;
}

}  // namespace

TEST_CASE("every op round-trips through encode and decode", "[gdi_records]") {
  auto records = one_of_each();
  std::set<uint8_t> ops;
  for (const auto& rec : records) {
    std::string bytes = enc(rec);
    INFO(gdi::describe(rec));
    gdi::Record back;
    std::string err;
    REQUIRE(dec(bytes, &back, &err));
    CHECK(err.empty());
    CHECK(back == rec);
    CHECK(static_cast<uint8_t>(bytes[0]) == gdi::op_of(rec));
    ops.insert(gdi::op_of(rec));
    // Re-encoding is byte-identical.
    CHECK(enc(back) == bytes);
  }
  // Every op the format defines is covered (39) plus the unknown one.
  CHECK(ops.size() == 40);
}

TEST_CASE("the wire layout is the documented one", "[gdi_records]") {
  std::string b = enc(gdi::FillRect{0x01020304, {-1, 2, 3, 4}, 0x00F00021});
  CHECK(b == std::string("\x20\x04\x03\x02\x01\xFF\xFF\xFF\xFF\x02\x00\x00\x00\x03\x00\x00\x00"
                         "\x04\x00\x00\x00\x21\x00\xF0\x00",
                         25));
  std::string t = enc(gdi::WindowTitle{1, "ab"});
  CHECK(t == std::string("\x05\x01\x00\x00\x00\x02\x00" "ab", 9));
  std::string k = enc(gdi::InputKey{2, 0x0D, 0x1C, 1, 13});
  CHECK(k == std::string("\x80\x02\x00\x00\x00\x0D\x00\x1C\x00\x01\x0D\x00\x00\x00", 14));
}

TEST_CASE("op names and the command/pixel split", "[gdi_records]") {
  CHECK(std::string(gdi::op_name(0x30)) == "TEXT");
  CHECK(std::string(gdi::op_name(0x51)) == "BITMAP_DRAW");
  CHECK(std::string(gdi::op_name(0x82)) == "WINDOW_REQUEST");
  CHECK(std::string(gdi::op_name(0xEE)) == "UNKNOWN");
  CHECK(gdi::is_command_update(gdi::FillRect{}));
  CHECK(gdi::is_command_update(gdi::Text{}));
  CHECK(gdi::is_command_update(gdi::Copy{}));
  CHECK(gdi::is_command_update(gdi::MaskBlt{}));
  CHECK_FALSE(gdi::is_command_update(gdi::BitmapDef{}));
  CHECK_FALSE(gdi::is_pixel_update(gdi::BitmapDef{}));
  CHECK(gdi::carries_pixels(gdi::BitmapDef{}));
  CHECK(gdi::carries_pixels(gdi::BitmapDraw{}));
  CHECK_FALSE(gdi::carries_pixels(gdi::Copy{}));
  CHECK_FALSE(gdi::is_command_update(gdi::BitmapDraw{}));
  CHECK(gdi::is_pixel_update(gdi::BitmapDraw{}));
  CHECK_FALSE(gdi::is_pixel_update(gdi::Text{}));
  CHECK_FALSE(gdi::is_command_update(gdi::State{}));
  CHECK_FALSE(gdi::is_command_update(gdi::WindowCreate{}));
  CHECK_FALSE(gdi::is_command_update(gdi::Flush{}));
  CHECK_FALSE(gdi::is_command_update(gdi::Unknown{0x2F, ""}));
  CHECK(gdi::target_of(gdi::Copy{4, {}, 9, {}, 0}) == 4);
  gdi::Text text;
  text.target = 6;
  CHECK(gdi::target_of(text) == 6);
  CHECK(gdi::target_of(gdi::AppExit{}) == 0);
}

TEST_CASE("describe and to_json show strings and rects with colours", "[gdi_records]") {
  gdi::Text t{1, {4, 20}, 0, {}, "Hello \"you\"\n", {}};
  CHECK(gdi::describe(t) == "TEXT target=1 at=4,20 text=\"Hello \\\"you\\\"\\n\" advances=0");
  gdi::State st;
  st.brush.color = 0xFF8000;
  st.pen.color = 0x000000;
  st.text = 0x0000FF;
  CHECK(gdi::describe(gdi::FillRect{2, {10, 20, 30, 40}, 0x00F00021}, &st) ==
        "FILL_RECT target=2 rect=10,20+30x40 rop3=0xF00021 brush=#FF8000");
  CHECK(gdi::to_json(gdi::FillRect{2, {10, 20, 30, 40}, 0x00F00021}, &st) ==
        "{\"op\":\"FILL_RECT\",\"target\":2,\"rect\":{\"x\":10,\"y\":20,\"w\":30,\"h\":40},"
        "\"rop3\":15728673,\"brush\":\"#FF8000\"}");
  std::string j = gdi::to_json(t, &st);
  CHECK(j.find("\"text\":\"Hello \\\"you\\\"\\n\"") != std::string::npos);
  CHECK(j.find("\"color\":\"#0000FF\"") != std::string::npos);
  st.brush.style = 1;
  CHECK(gdi::describe(gdi::Rectangle{2, {0, 0, 1, 1}}, &st) ==
        "RECTANGLE target=2 rect=0,0+1x1 pen=#000000 brush=null");
  // Every record describes and serialises without throwing.
  for (const auto& rec : one_of_each()) {
    CHECK_FALSE(gdi::describe(rec).empty());
    auto js = gdi::to_json(rec, &st);
    CHECK(js.front() == '{');
    CHECK(js.back() == '}');
  }
}

TEST_CASE("every truncation of a valid record is rejected", "[gdi_records]") {
  for (const auto& rec : one_of_each()) {
    if (std::holds_alternative<gdi::Unknown>(rec)) continue;
    std::string bytes = enc(rec);
    INFO(gdi::describe(rec));
    for (size_t n = 0; n < bytes.size(); ++n) {
      // A zlib bitmap's data is opaque here: cutting it shorter still parses
      // unless it becomes empty.
      if (std::holds_alternative<gdi::BitmapDef>(rec) && std::get<gdi::BitmapDef>(rec).encoding == 1 &&
          n > 14)
        continue;
      // A font cut right before its realised block is the font as asked.
      if (const auto* f = std::get_if<gdi::FontDef>(&rec); f && f->realised()) {
        gdi::FontDef asked{f->font, f->height, f->weight, f->italic, f->underline, f->strikeout, f->charset, f->face};
        if (n == enc(asked).size()) continue;
      }
      gdi::Record r;
      std::string err;
      CHECK_FALSE(dec(bytes.substr(0, n), &r, &err));
    }
    // Trailing bytes are rejected too (a bitmap's data runs to the end).
    if (!std::holds_alternative<gdi::BitmapDef>(rec)) reject(bytes + '\0');
  }
}

TEST_CASE("out-of-range fields are rejected", "[gdi_records]") {
  CHECK(reject("").find("empty") != std::string::npos);
  // Rects: negative or huge extents, coordinates out of range.
  CHECK(reject(enc(gdi::FillRect{1, {0, 0, -1, 5}, 0xF00021})).find("out of range") != std::string::npos);
  reject(enc(gdi::FillRect{1, {0, 0, 32769, 5}, 0xF00021}));
  reject(enc(gdi::FillRect{1, {-32769, 0, 5, 5}, 0xF00021}));
  reject(enc(gdi::FillRect{1, {0, 65536, 5, 5}, 0xF00021}));
  reject(enc(gdi::FillRect{1, {0, 0, 5, 5}, 0x01000000}));
  reject(enc(gdi::WindowCreate{1, 0, 1, 4, {0, 0, 1, 1}, 0, "", ""}));  // role
  reject(enc(gdi::WindowShow{1, 4}));
  reject(enc(gdi::SurfaceCreate{1, 0, 10}));
  reject(enc(gdi::SurfaceCreate{1, 16385, 1}));
  reject(enc(gdi::SurfaceCreate{1, 16384, 16384}));  // above the pixel cap
  reject(enc(gdi::Arc{1, 3, {}, {}, {}}));
  reject(enc(gdi::Arc{1, 0, {}, {70000, 0}, {}}));
  reject(enc(gdi::Gradient{1, 2, {}, 0, 0}));
  reject(enc(gdi::RoundRect{1, {}, -1, 0}));
  reject(enc(gdi::AppExit{1, 0, 3}));
  reject(enc(gdi::InputKey{1, 0x100, 0, 1, 0}));
  reject(enc(gdi::InputKey{1, 0x41, 0, 2, 0}));
  reject(enc(gdi::InputKey{1, 0x41, 0, 1, 0xD800}));
  reject(enc(gdi::InputPointer{1, {0, 0}, 8, 0}));
  reject(enc(gdi::WindowRequest{1, 7, {}}));
  reject(enc(gdi::AlphaBlend{1, {}, 2, {}, 255, 2}));
  reject(enc(gdi::BitmapDraw{1, {}, 2, {0, 0, 40000, 1}, 0xCC0020}));
}

TEST_CASE("bad font records are rejected", "[gdi_records]") {
  reject(enc(gdi::FontDef{1, 100000, 400, 0, 0, 0, 0, "Arial"}));
  reject(enc(gdi::FontDef{1, -12, 1001, 0, 0, 0, 0, "Arial"}));
  reject(enc(gdi::FontDef{1, -12, 400, 2, 0, 0, 0, "Arial"}));
  reject(enc(gdi::FontDef{1, -12, 400, 0, 0, 0, 0, std::string("Ar\0ial", 6)}));
  reject(enc(gdi::FontDef{1, -12, 400, 0, 0, 0, 0, std::string(256, 'a')}));
  CHECK(reject(enc(gdi::FontDef{1, -12, 400, 0, 0, 0, 0, "Ar\xFFial"})).find("UTF-8") != std::string::npos);
  // A face whose length runs past the end.
  std::string b = enc(gdi::FontDef{1, -12, 400, 0, 0, 0, 0, "Arial"});
  b[b.size() - 7] = 50;
  reject(b);
}

TEST_CASE("a font record may carry the realised font, all of it or none", "[gdi_records]") {
  gdi::FontDef asked{1, -14, 400, 0, 0, 0, 0, "Courier New"};
  gdi::FontDef got = asked;
  got.real_face = "Liberation Sans";
  got.em = 14;
  got.ascent = 13;
  got.descent = 3;
  got.real_weight = 400;
  std::string plain = enc(asked), full = enc(got);
  REQUIRE(full.size() == plain.size() + 2 + 15 + 13);
  gdi::Record r;
  std::string err;
  REQUIRE(dec(plain, &r, &err));
  CHECK(!std::get<gdi::FontDef>(r).realised());
  REQUIRE(dec(full, &r, &err));
  CHECK(std::get<gdi::FontDef>(r) == got);
  CHECK(gdi::describe(r).find("real_face=\"Liberation Sans\" em=14 ascent=13 descent=3") != std::string::npos);
  CHECK(gdi::to_json(r).find("\"smoothing\":\"none\",\"stretch\":1000") != std::string::npos);
  // Part of the block is a truncated record.
  for (size_t cut = plain.size() + 1; cut < full.size(); ++cut) reject(full.substr(0, cut));
  auto bad = [&](auto mutate) {
    gdi::FontDef f = got;
    mutate(f);
    return reject(enc(f));
  };
  bad([](gdi::FontDef& f) { f.em = 4097; });
  bad([](gdi::FontDef& f) { f.ascent = 5000; });
  bad([](gdi::FontDef& f) { f.descent = 5000; });
  bad([](gdi::FontDef& f) { f.real_weight = 1001; });
  bad([](gdi::FontDef& f) { f.real_italic = 2; });
  bad([](gdi::FontDef& f) { f.fixed_pitch = 2; });
  bad([](gdi::FontDef& f) { f.smoothing = 4; });
  bad([](gdi::FontDef& f) { f.stretch = 0; });
  bad([](gdi::FontDef& f) { f.stretch = 16001; });
  bad([](gdi::FontDef& f) { f.real_face = std::string(256, 'a'); });
  bad([](gdi::FontDef& f) { f.real_face = std::string("Li\0b", 4); });
  CHECK(bad([](gdi::FontDef& f) { f.real_face = "Li\xFF"; }).find("UTF-8") != std::string::npos);
}

TEST_CASE("state records: styles, patterns and clip counts are bounded", "[gdi_records]") {
  auto bad = [](auto mutate) {
    gdi::State s = sample_state();
    mutate(s);
    return reject(enc(s));
  };
  bad([](gdi::State& s) { s.pen.style = 6; });
  bad([](gdi::State& s) { s.pen.width = 5000; });
  bad([](gdi::State& s) { s.brush.style = 4; });
  bad([](gdi::State& s) { s.brush.hatch = 6; });
  bad([](gdi::State& s) { s.bk_mode = 0; });
  bad([](gdi::State& s) { s.rop2 = 17; });
  bad([](gdi::State& s) { s.rop2 = 0; });
  bad([](gdi::State& s) { s.poly_fill_mode = 3; });
  bad([](gdi::State& s) { s.clip[1].w = -4; });
  CHECK(bad([](gdi::State& s) {
          s.brush.pw = 17;
          s.brush.ph = 1;
          s.brush.pattern.assign(17, 0);
        }).find("16x16") != std::string::npos);
  bad([](gdi::State& s) {
    s.brush.pw = 0;
    s.brush.pattern.clear();
  });
  // A clip count above the cap, and one that claims more rects than present.
  gdi::State s = sample_state();
  s.clip.assign(gdi::kMaxRects + 1, Rect{0, 0, 1, 1});
  CHECK(reject(enc(s)).find("above") != std::string::npos);
  s.clip.assign(3, Rect{0, 0, 1, 1});
  std::string b = enc(s);
  b[b.size() - 3 * 16 - 2] = static_cast<char>(0xFF);
  reject(b);
}

TEST_CASE("lists: polygon, polyline, bezier, regions and text advances", "[gdi_records]") {
  // More points than the cap.
  gdi::Polyline pl{1, std::vector<Point>(gdi::kMaxPoints + 1)};
  CHECK(reject(enc(pl)).find("above") != std::string::npos);
  gdi::Polygon pg{1, {60000, 60000}, {}};
  CHECK(reject(enc(pg)).find("above") != std::string::npos);
  // Counts claiming points that are not there.
  gdi::Polygon short_pg{1, {4}, {{0, 0}, {1, 1}}};
  reject(enc(short_pg));
  gdi::PolyBezier bz{1, {{0, 0}, {1, 1}}};
  CHECK(reject(enc(bz)).find("1+3k") != std::string::npos);
  gdi::FillRgn rg{1, std::vector<Rect>(gdi::kMaxRects + 1, Rect{0, 0, 1, 1})};
  reject(enc(rg));
  // Advances must be none or one per UTF-16 unit (an astral character is two).
  reject(enc(gdi::Text{1, {}, 0, {}, "abc", {1, 2}}));
  reject(enc(gdi::Text{1, {}, 0, {}, "\xF0\x9F\x98\x80", {1}}));
  gdi::Record ok;
  std::string err;
  CHECK(dec(enc(gdi::Text{1, {}, 0, {}, "\xF0\x9F\x98\x80", {8, 0}}), &ok, &err));
  reject(enc(gdi::Text{1, {}, 0, {}, "a", {40000}}));
  // Overlong and surrogate UTF-8 are not valid text.
  reject(enc(gdi::Text{1, {}, 0, {}, "\xC0\xAF", {}}));
  reject(enc(gdi::Text{1, {}, 0, {}, "\xED\xA0\x80", {}}));
  CHECK(gdi::utf16_length("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == 5);
}

TEST_CASE("bitmap definitions: sizes and data length", "[gdi_records]") {
  reject(enc(gdi::BitmapDef{1, 0, 4, 0, ""}));
  reject(enc(gdi::BitmapDef{1, 4097 * 4, 1, 0, ""}));
  reject(enc(gdi::BitmapDef{1, 4096, 4097, 1, "x"}));  // above w*h cap
  CHECK(reject(enc(gdi::BitmapDef{1, 2, 2, 0, std::string(15, '\0')})).find("expected 16") !=
        std::string::npos);
  reject(enc(gdi::BitmapDef{1, 2, 2, 0, std::string(17, '\0')}));
  reject(enc(gdi::BitmapDef{1, 2, 2, 1, ""}));
  reject(enc(gdi::BitmapDef{1, 2, 2, 2, std::string(16, '\0')}));
  // A huge declared size never allocates: it is rejected before any data.
  std::string huge;
  vredir::put_u8(huge, 0x50);
  vredir::put_u32le(huge, 1);
  vredir::put_u32le(huge, 0xFFFFFFFF);
  vredir::put_u32le(huge, 0xFFFFFFFF);
  vredir::put_u8(huge, 0);
  reject(huge);
}

TEST_CASE("unknown ops decode as Unknown and keep their bytes", "[gdi_records]") {
  gdi::Record r;
  std::string err;
  REQUIRE(dec(std::string("\x7F\x01\x02\x03", 4), &r, &err));
  REQUIRE(std::holds_alternative<gdi::Unknown>(r));
  CHECK(std::get<gdi::Unknown>(r).op == 0x7F);
  CHECK(std::get<gdi::Unknown>(r).body == "\x01\x02\x03");
  CHECK(gdi::describe(r) == "UNKNOWN code=0x7F bytes=3");
}

TEST_CASE("WINDOW_ICON: its size bounds its pixels", "[gdi_records]") {
  std::string ok, big, short_by_one;
  gdi::encode_record(gdi::WindowIcon{1, 2, 2, std::string(16, '\x7f')}, ok);
  gdi::Record r;
  std::string err;
  REQUIRE(gdi::decode_record(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(ok.data()), ok.size()), &r, &err));
  CHECK(std::get<gdi::WindowIcon>(r).argb.size() == 16);
  gdi::encode_record(gdi::WindowIcon{1, 257, 1, std::string(257 * 4, '\0')}, big);
  CHECK_FALSE(gdi::decode_record(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(big.data()), big.size()), &r, &err));
  short_by_one = ok.substr(0, ok.size() - 1);
  CHECK_FALSE(gdi::decode_record(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(short_by_one.data()), short_by_one.size()), &r, &err));
}
