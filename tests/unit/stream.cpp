#include <catch2/catch.hpp>

#include "media/display_surface.hpp"
#include "wire/stream_decoder.hpp"
#include "wire/stream_writer.hpp"
#include "unit/memory_stream.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

using vredir::stream::testing::Built;

// Decodes everything; returns the events' types, or the error.
struct Decoded {
  std::vector<Event> events;  // payload spans point into the decoder: only use types/headers
  std::vector<FrameType> types;
  std::vector<Event::What> whats;
  std::string error;
  bool need_more = false;
};

Decoded decode_all(const std::string& bytes, size_t chunk = 7) {
  Decoded out;
  StreamDecoder dec;
  Event ev;
  for (size_t pos = 0; pos < bytes.size() || pos == 0; pos += chunk) {
    size_t n = std::min(chunk, bytes.size() - std::min(pos, bytes.size()));
    dec.feed(reinterpret_cast<const uint8_t*>(bytes.data()) + pos, n);
    for (;;) {
      auto r = dec.next(&ev, &out.error);
      if (r == StreamDecoder::Result::kError) return out;
      if (r == StreamDecoder::Result::kNeedMore) break;
      out.types.push_back(ev.type());
      out.whats.push_back(ev.what);
    }
    if (bytes.empty()) break;
  }
  out.need_more = !dec.ended();
  return out;
}

void sample(Built& b) {
  b.w.begin("unit", {{"purpose", "test"}});
  b.w.declare(1, ChannelKind::kDisplay, "screen", {{"width", "4"}, {"height", "2"}});
  b.w.declare(2, ChannelKind::kAudio, "sound", {{"rate", "48000"}, {"channels", "2"}, {"format", "s16le"}});
  b.w.declare(3, ChannelKind::kKeyboard, "kbd");
  b.w.surface(1, 4, 2);
  Rect solid;
  solid.w = 4;
  solid.h = 2;
  solid.encoding = RectEncoding::kSolid;
  solid.colour = 0x112233;
  b.w.rect(1, solid);
  b.w.frame_end(1, 1);
  b.w.frame(2, FrameType::kAudioData, std::string(8, '\0'));
  b.w.key(3, Key{1, 30, true, 0x61});
  b.w.end();
}

}  // namespace

TEST_CASE("a written stream decodes frame by frame, in any chunking", "[stream]") {
  Built b;
  sample(b);
  for (size_t chunk : {1, 3, 16, 4096}) {
    Decoded d = decode_all(b.bytes, chunk);
    INFO("chunk " << chunk);
    CHECK(d.error.empty());
    REQUIRE(d.types.size() == 10);
    CHECK(d.types.front() == FrameType::kHello);
    CHECK(d.types[4] == FrameType::kSurface);
    CHECK(d.types.back() == FrameType::kEnd);
    CHECK_FALSE(d.need_more);
  }
}

TEST_CASE("payload encoders and decoders round-trip", "[stream]") {
  std::string p;
  std::string err;
  SECTION("key") {
    encode_key(Key{42, 57, true, 0x20}, p);
    Key k;
    REQUIRE(decode_key({reinterpret_cast<const uint8_t*>(p.data()), p.size()}, &k, &err));
    CHECK(k.seq == 42);
    CHECK(k.code == 57);
    CHECK(k.down);
    CHECK(k.keysym == 0x20);
  }
  SECTION("control with arguments") {
    encode_control(Control{"resolution", {{"width", "800"}, {"height", "600"}}}, p);
    Control c;
    REQUIRE(decode_control({reinterpret_cast<const uint8_t*>(p.data()), p.size()}, &c, &err));
    CHECK(c.verb == "resolution");
    CHECK(c.args.at("width") == "800");
  }
  SECTION("pointer with negative coordinates") {
    encode_pointer(Pointer{7, -3, 500, kButtonLeft | kWheelDown}, p);
    Pointer ptr;
    REQUIRE(decode_pointer({reinterpret_cast<const uint8_t*>(p.data()), p.size()}, &ptr, &err));
    CHECK(ptr.x == -3);
    CHECK(ptr.buttons == (kButtonLeft | kWheelDown));
  }
  SECTION("relative pointer motion") {
    encode_pointer_rel(PointerRel{9, 40, -25, kButtonRight}, p);
    CHECK(p.size() == 20);
    PointerRel rel;
    REQUIRE(decode_pointer_rel({reinterpret_cast<const uint8_t*>(p.data()), p.size()}, &rel, &err));
    CHECK(rel.seq == 9);
    CHECK(rel.dx == 40);
    CHECK(rel.dy == -25);
    CHECK(rel.buttons == kButtonRight);
  }
  SECTION("relative motion of a bad length or out of range is rejected") {
    encode_pointer_rel(PointerRel{1, -kMaxRelMotion, kMaxRelMotion, 0}, p);
    PointerRel rel;
    auto span = [&] { return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()); };
    REQUIRE(decode_pointer_rel(span(), &rel, &err));
    p.pop_back();
    CHECK_FALSE(decode_pointer_rel(span(), &rel, &err));
    CHECK_FALSE(err.empty());
    p.append("\0\0", 2);  // trailing bytes are room to grow, as for every fixed frame
    err.clear();
    CHECK(decode_pointer_rel(span(), &rel, &err));
    p.clear();
    encode_pointer_rel(PointerRel{1, kMaxRelMotion + 1, 0, 0}, p);
    err.clear();
    CHECK_FALSE(decode_pointer_rel(span(), &rel, &err));
    CHECK(err.find("out of range") != std::string::npos);
  }
  SECTION("clipboard text: UTF-8 without NUL, a known format, bounded") {
    auto span = [&] { return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()); };
    encode_clipboard(Clipboard{ClipboardFormat::kUtf8Text, "two\nlines \xc3\xbc"}, p);
    Clipboard c;
    REQUIRE(decode_clipboard(span(), &c, &err));
    CHECK(c.data == "two\nlines \xc3\xbc");
    p = std::string("\x01", 1);
    REQUIRE(decode_clipboard(span(), &c, &err));  // empty text: nothing was copied
    CHECK(c.data.empty());
    for (std::string bad : {std::string("\x02text"), std::string("\x01\xc3", 2), std::string("\x01a\0b", 4),
                            std::string()}) {
      p = bad;
      err.clear();
      CHECK_FALSE(decode_clipboard(span(), &c, &err));
      CHECK_FALSE(err.empty());
    }
    p = "\x01" + std::string(kMaxClipboard + 1, 'x');
    err.clear();
    CHECK_FALSE(decode_clipboard(span(), &c, &err));
    CHECK(err.find("too long") != std::string::npos);
  }
  SECTION("truncated payloads fail") {
    encode_ack(Ack{3, 99, AckStatus::kDelivered}, p);
    Ack a;
    p.pop_back();
    CHECK_FALSE(decode_ack({reinterpret_cast<const uint8_t*>(p.data()), p.size()}, &a, &err));
    CHECK_FALSE(err.empty());
  }
}

TEST_CASE("truncation at every offset is reported, never accepted", "[stream]") {
  Built b;
  sample(b);
  for (size_t cut = 0; cut < b.bytes.size(); ++cut) {
    Decoded d = decode_all(b.bytes.substr(0, cut), 5);
    INFO("cut at " << cut);
    CHECK(d.error.empty());  // a cut is not damage...
    CHECK(d.need_more);      // ...but the stream never ended
  }
}

TEST_CASE("damage is detected", "[stream]") {
  Built b;
  sample(b);
  SECTION("text-mode conversion of the magic") {
    std::string s = b.bytes;
    s.erase(4, 1);  // CR LF -> LF
    Decoded d = decode_all(s);
    CHECK(d.error.find("text-mode") != std::string::npos);
  }
  SECTION("a frame length over the cap") {
    std::string s = b.bytes;
    s[kStreamHeaderSize + 3] = '\x7f';  // HELLO's length becomes huge
    Decoded d = decode_all(s);
    CHECK(d.error.find("over the limit") != std::string::npos);
  }
  SECTION("a rect outside its surface") {
    Built c;
    c.w.begin("unit");
    c.w.declare(1, ChannelKind::kDisplay, "s");
    c.w.surface(1, 10, 10);
    Rect r;
    r.x = 0xfffffff0u;  // would wrap in 32-bit arithmetic
    r.w = 0x20;
    r.h = 1;
    r.encoding = RectEncoding::kSolid;
    c.w.rect(1, r);
    Decoded d = decode_all(c.bytes);
    CHECK(d.error.find("outside the 10x10 surface") != std::string::npos);
  }
  SECTION("a frame on an undeclared channel") {
    Built c;
    c.w.begin("unit");
    c.w.frame_end(5, 1);
    CHECK(decode_all(c.bytes).error.find("undeclared channel 5") != std::string::npos);
  }
  SECTION("a frame type on the wrong kind of channel") {
    Built c;
    c.w.begin("unit");
    c.w.declare(1, ChannelKind::kKeyboard, "k");
    c.w.frame_end(1, 1);
    CHECK(decode_all(c.bytes).error.find("does not belong to keyboard") != std::string::npos);
  }
  SECTION("data after the end frame") {
    Built c;
    c.w.begin("unit");
    c.w.end();
    c.w.frame(0, FrameType::kEnd, std::string(3, '\0'));
    CHECK(decode_all(c.bytes).error.find("after end of stream") != std::string::npos);
  }
}

TEST_CASE("unknown kinds, types and encodings are skipped, not fatal", "[stream]") {
  Built b;
  b.w.begin("unit");
  Declare d;
  d.id = 9;
  d.kind = 200;
  d.name = "future";
  b.w.declare_raw(d);
  b.w.frame(9, static_cast<FrameType>(0x01), "xyz");  // anything on an unknown kind
  b.w.frame(0, static_cast<FrameType>(0x0e), "abc");  // unknown stream-level type
  b.w.declare(1, ChannelKind::kDisplay, "s");
  b.w.surface(1, 2, 2);
  b.w.frame(1, static_cast<FrameType>(0x1f), "");  // unknown type
  Rect r;
  r.w = r.h = 1;
  r.encoding = static_cast<RectEncoding>(77);
  b.w.rect(1, r);
  b.w.end();
  Decoded out = decode_all(b.bytes);
  REQUIRE(out.error.empty());
  CHECK(std::count(out.whats.begin(), out.whats.end(), Event::What::kUnknownChannel) == 1);
  CHECK(std::count(out.whats.begin(), out.whats.end(), Event::What::kUnknownType) == 2);
  CHECK(std::count(out.whats.begin(), out.whats.end(), Event::What::kUnknownEncoding) == 1);
  CHECK_FALSE(out.need_more);
}

TEST_CASE("display surface applies every encoding", "[stream]") {
  DisplaySurface s;
  s.resize(4, 4);
  std::string err;
  Rect solid;
  solid.w = 4;
  solid.h = 4;
  solid.encoding = RectEncoding::kSolid;
  solid.colour = 0x0000ff;
  REQUIRE(s.apply(solid, &err));
  std::string raw;
  for (uint32_t c : {0xff0000u, 0x00ff00u, 0x123456u, 0xabcdefu}) put_u32le(raw, c);
  Rect r;
  r.x = 1;
  r.y = 1;
  r.w = 2;
  r.h = 2;
  std::string z = zlib_compress(raw, 6);
  r.encoding = RectEncoding::kZlib;
  r.data = {reinterpret_cast<const uint8_t*>(z.data()), z.size()};
  REQUIRE(s.apply(r, &err));
  CHECK(s.pixel(1, 1) == 0xff0000);
  CHECK(s.pixel(2, 2) == 0xabcdef);
  CHECK(s.pixel(0, 0) == 0x0000ff);
  Rect copy;
  copy.w = 2;
  copy.h = 2;
  copy.encoding = RectEncoding::kCopyRect;
  copy.src_x = 1;
  copy.src_y = 1;
  REQUIRE(s.apply(copy, &err));
  CHECK(s.pixel(0, 0) == 0xff0000);
  CHECK(s.pixel(1, 1) == 0xabcdef);
  SECTION("zlib data of the wrong size is rejected") {
    Rect bad = r;
    bad.w = 1;
    CHECK_FALSE(s.apply(bad, &err));
    CHECK(err.find("inflates") != std::string::npos);
  }
  SECTION("raw data of the wrong size is rejected") {
    Rect bad = r;
    bad.encoding = RectEncoding::kRaw;
    bad.data = {reinterpret_cast<const uint8_t*>(raw.data()), raw.size() - 1};
    CHECK_FALSE(s.apply(bad, &err));
  }
}
