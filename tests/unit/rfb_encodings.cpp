// Pixel decoding of RFB framebuffer updates: raw, copy-rect, zlib and ZRLE
// (persistent zlib streams), cursor, desktop size, QEMU audio; and the bounds
// every decoder must keep. Messages are built here from readable pieces.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "wire/byte_reader.hpp"
#include "rfb/rfb_client.hpp"
#include "rfb/rfb_encodings.hpp"

namespace rfb = vredir::rfb;
using vredir::put_u16be;
using vredir::put_u32be;
using vredir::put_u8;

namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string update(int rects) {
  std::string m;
  put_u8(m, rfb::kMsgFramebufferUpdate);
  put_u8(m, 0);
  put_u16be(m, static_cast<uint16_t>(rects));
  return m;
}

void header(std::string& m, uint16_t x, uint16_t y, uint16_t w, uint16_t h, int32_t enc) {
  put_u16be(m, x);
  put_u16be(m, y);
  put_u16be(m, w);
  put_u16be(m, h);
  put_u32be(m, static_cast<uint32_t>(enc));
}

// 32-bit little-endian 0x00RRGGBB, as the capture asks for.
void pixel(std::string& m, uint32_t rgb) {
  for (int i = 0; i < 4; ++i) m.push_back(char((rgb >> (8 * i)) & 0xFF));
}
// ZRLE's 3-byte CPIXEL of that format.
void cpixel(std::string& m, uint32_t rgb) {
  for (int i = 0; i < 3; ++i) m.push_back(char((rgb >> (8 * i)) & 0xFF));
}

// A server-side zlib stream that lasts the whole connection.
struct Deflater {
  z_stream z{};
  Deflater() { deflateInit(&z, 6); }
  ~Deflater() { deflateEnd(&z); }
  std::string chunk(const std::string& in) {
    std::string out(in.size() + 1024, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_SYNC_FLUSH);
    out.resize(out.size() - z.avail_out);
    return out;
  }
};

void length_prefixed(std::string& m, const std::string& data) {
  put_u32be(m, static_cast<uint32_t>(data.size()));
  m += data;
}

struct Fixture {
  rfb::PixelFormat pf;
  rfb::Framebuffer fb;
  rfb::UpdateDecoder dec;
  rfb::UpdateResult res;
  Fixture(uint32_t w = 8, uint32_t h = 8) { fb.resize(w, h); }
  vredir::Status apply(const std::string& m) {
    // What the client's framing layer would hand over.
    rfb::Frame f = rfb::frame_server_message(bytes(m), pf, rfb::kAcceptAll);
    if (f.kind != rfb::Frame::kComplete || f.size != m.size()) return vredir::fail(vredir::kExitMalformed, "framing");
    return dec.apply(bytes(m), pf, &fb, &res);
  }
  uint32_t at(uint32_t x, uint32_t y) const { return fb.pixels[size_t(y) * fb.width + x]; }
};

}  // namespace

TEST_CASE("raw and copy-rect", "[rfb_encodings]") {
  Fixture f;
  std::string m = update(1);
  header(m, 2, 3, 2, 1, rfb::kEncodingRaw);
  pixel(m, 0x112233);
  pixel(m, 0x445566);
  REQUIRE(f.apply(m).is_ok());
  CHECK(f.at(2, 3) == 0x112233);
  CHECK(f.at(3, 3) == 0x445566);
  CHECK(f.res.changed);
  REQUIRE(f.res.rects.size() == 1);
  CHECK(f.res.rects[0].w == 2);

  SECTION("the same pixels again are no change") {
    REQUIRE(f.apply(m).is_ok());
    CHECK_FALSE(f.res.changed);
  }
  SECTION("copy-rect, overlapping its source") {
    std::string c = update(1);
    header(c, 3, 3, 2, 1, rfb::kEncodingCopyRect);
    put_u16be(c, 2);
    put_u16be(c, 3);
    REQUIRE(f.apply(c).is_ok());
    CHECK(f.at(3, 3) == 0x112233);
    CHECK(f.at(4, 3) == 0x445566);
  }
  SECTION("copy-rect from outside the framebuffer") {
    std::string c = update(1);
    header(c, 0, 0, 2, 2, rfb::kEncodingCopyRect);
    put_u16be(c, 7);
    put_u16be(c, 0);
    CHECK(f.apply(c).code() == vredir::kExitMalformed);
  }
  SECTION("a rect outside the framebuffer") {
    std::string c = update(1);
    header(c, 7, 0, 2, 1, rfb::kEncodingRaw);
    pixel(c, 1);
    pixel(c, 2);
    CHECK(f.apply(c).code() == vredir::kExitMalformed);
  }
  SECTION("a big-endian pixel format with other shifts") {
    f.pf.big_endian = 1;
    f.pf.red_shift = 0;
    f.pf.blue_shift = 16;
    std::string c = update(1);
    header(c, 0, 0, 1, 1, rfb::kEncodingRaw);
    c += std::string("\x00\x33\x22\x11", 4);  // blue 0x33 at 16, green 0x22 at 8, red 0x11 at 0
    REQUIRE(f.apply(c).is_ok());
    CHECK(f.at(0, 0) == 0x112233);
  }
}

TEST_CASE("zlib keeps one stream per connection", "[rfb_encodings]") {
  Fixture f;
  Deflater z;
  for (uint32_t round = 0; round < 3; ++round) {
    std::string px;
    for (int i = 0; i < 16; ++i) pixel(px, 0x010101 * (round + 1) + uint32_t(i));
    std::string m = update(1);
    header(m, 0, uint16_t(round), 8, 2, rfb::kEncodingZlib);
    length_prefixed(m, z.chunk(px));
    REQUIRE(f.apply(m).is_ok());
    CHECK(f.at(0, round) == 0x010101 * (round + 1));
    CHECK(f.at(7, round + 1) == 0x010101 * (round + 1) + 15);
  }
  SECTION("data that inflates beyond its rect") {
    std::string px;
    for (int i = 0; i < 17; ++i) pixel(px, 0);
    std::string m = update(1);
    header(m, 0, 0, 8, 2, rfb::kEncodingZlib);
    length_prefixed(m, z.chunk(px));
    CHECK(f.apply(m).code() == vredir::kExitMalformed);
  }
  SECTION("garbage instead of zlib") {
    std::string m = update(1);
    header(m, 0, 0, 1, 1, rfb::kEncodingZlib);
    length_prefixed(m, "not zlib at all");
    CHECK(f.apply(m).code() == vredir::kExitMalformed);
  }
}

TEST_CASE("ZRLE subencodings", "[rfb_encodings]") {
  // 70x3: two tiles side by side (64 + 6 wide).
  Fixture f(70, 3);
  Deflater z;
  auto send = [&](const std::string& tiles) {
    std::string m = update(1);
    header(m, 0, 0, 70, 3, rfb::kEncodingZrle);
    length_prefixed(m, z.chunk(tiles));
    return f.apply(m);
  };
  SECTION("solid and raw") {
    std::string t;
    put_u8(t, 1);
    cpixel(t, 0xABCDEF);
    put_u8(t, 0);
    for (int i = 0; i < 18; ++i) cpixel(t, uint32_t(i));
    REQUIRE(send(t).is_ok());
    CHECK(f.at(0, 0) == 0xABCDEF);
    CHECK(f.at(63, 2) == 0xABCDEF);
    CHECK(f.at(64, 0) == 0);
    CHECK(f.at(69, 2) == 17);
  }
  SECTION("packed palette (2 colours: 1 bit, rows padded)") {
    std::string t;
    put_u8(t, 1);
    cpixel(t, 0);
    put_u8(t, 2);
    cpixel(t, 0x0000FF);
    cpixel(t, 0xFF0000);
    for (int row = 0; row < 3; ++row) put_u8(t, 0b10100000);  // 6 pixels: 1 0 1 0 0 0
    REQUIRE(send(t).is_ok());
    CHECK(f.at(64, 0) == 0xFF0000);
    CHECK(f.at(65, 1) == 0x0000FF);
    CHECK(f.at(66, 2) == 0xFF0000);
  }
  SECTION("plain RLE with a long run") {
    std::string t;
    put_u8(t, 128);
    cpixel(t, 0x123456);
    put_u8(t, 255);  // 255 + 0 + 1 = 256 pixels
    put_u8(t, 0);
    cpixel(t, 0x654321);
    put_u8(t, 191);  // the remaining 192 - ... : 64*3 = 192 total, 256 > 192
    CHECK(send(t).code() == vredir::kExitMalformed);  // run longer than the tile
  }
  SECTION("plain RLE and palette RLE") {
    std::string t;
    put_u8(t, 128);
    cpixel(t, 0x123456);
    put_u8(t, 99);  // 100 pixels
    cpixel(t, 0x654321);
    put_u8(t, 91);  // 92 pixels: 192 in all
    put_u8(t, 130);  // palette RLE, 2 colours
    cpixel(t, 0xAAAAAA);
    cpixel(t, 0xBBBBBB);
    put_u8(t, 0x80);  // colour 0, run follows
    put_u8(t, 9);     // 10 pixels
    put_u8(t, 1);     // colour 1, single
    for (int i = 0; i < 7; ++i) put_u8(t, 0);
    REQUIRE(send(t).is_ok());
    CHECK(f.at(0, 0) == 0x123456);
    CHECK(f.at(35, 1) == 0x123456);  // pixel 99
    CHECK(f.at(36, 1) == 0x654321);  // pixel 100
    CHECK(f.at(69, 0) == 0xAAAAAA);
    CHECK(f.at(64, 1) == 0xAAAAAA);  // pixel 6 of the 6-wide tile
    CHECK(f.at(68, 1) == 0xBBBBBB);  // pixel 10
    CHECK(f.at(69, 2) == 0xAAAAAA);
  }
  SECTION("palette index out of range") {
    std::string t;
    put_u8(t, 1);
    cpixel(t, 0);
    put_u8(t, 130);
    cpixel(t, 1);
    cpixel(t, 2);
    put_u8(t, 5);
    CHECK(send(t).code() == vredir::kExitMalformed);
  }
  SECTION("unknown subencoding") {
    std::string t;
    put_u8(t, 129);
    CHECK(send(t).code() == vredir::kExitMalformed);
  }
  SECTION("bytes left over after the tiles") {
    std::string t;
    put_u8(t, 1);
    cpixel(t, 0);
    put_u8(t, 1);
    cpixel(t, 0);
    put_u8(t, 7);
    CHECK(send(t).code() == vredir::kExitMalformed);
  }
}

TEST_CASE("pseudo-encodings", "[rfb_encodings]") {
  Fixture f;
  SECTION("cursor shape with its mask") {
    std::string m = update(1);
    header(m, 1, 0, 2, 2, rfb::kEncodingCursor);
    pixel(m, 0xFF0000);
    pixel(m, 0x00FF00);
    pixel(m, 0x0000FF);
    pixel(m, 0xFFFFFF);
    put_u8(m, 0b10000000);
    put_u8(m, 0b01000000);
    REQUIRE(f.apply(m).is_ok());
    REQUIRE(f.res.cursor);
    CHECK(f.res.cursor->hot_x == 1);
    CHECK(f.res.cursor->argb == std::vector<uint32_t>{0xFFFF0000u, 0x0000FF00u, 0x000000FFu, 0xFFFFFFFFu});
    CHECK_FALSE(f.res.changed);
  }
  SECTION("desktop size resizes the framebuffer") {
    std::string m = update(2);
    header(m, 0, 0, 16, 4, rfb::kEncodingDesktopSize);
    header(m, 0, 0, 16, 4, rfb::kEncodingQemuAudio);
    REQUIRE(f.apply(m).is_ok());
    CHECK(f.res.resized);
    CHECK(f.res.audio_ack);
    CHECK(f.fb.width == 16);
    CHECK(f.fb.pixels.size() == 64);
  }
  SECTION("an absurd desktop size") {
    std::string m = update(1);
    header(m, 0, 0, 65535, 65535, rfb::kEncodingDesktopSize);
    CHECK(f.apply(m).code() == vredir::kExitMalformed);
  }
  SECTION("framing refuses encodings that were not asked for") {
    std::string m = update(1);
    header(m, 0, 0, 1, 1, rfb::kEncodingZrle);
    put_u32be(m, 0);
    CHECK(rfb::frame_server_message(bytes(m), f.pf, 0).kind == rfb::Frame::kMalformed);
    CHECK(rfb::frame_server_message(bytes(m), f.pf, rfb::kAcceptZrle).kind == rfb::Frame::kComplete);
  }
}

TEST_CASE("QEMU audio messages", "[rfb_encodings]") {
  rfb::PixelFormat pf;
  std::string m("\xff\x01\x00\x02", 4);
  put_u32be(m, 8);
  m += std::string(8, '\x7f');
  REQUIRE(rfb::frame_server_message(bytes(m.substr(0, 10)), pf).kind == rfb::Frame::kNeedMore);
  REQUIRE(rfb::frame_server_message(bytes(m), pf).size == m.size());
  rfb::ServerMessage msg;
  REQUIRE(rfb::decode_server_message(bytes(m), pf, &msg).is_ok());
  CHECK(msg.audio_op == rfb::kAudioData);
  CHECK(msg.audio_data.size() == 8);
  CHECK(rfb::decode_server_message(bytes(std::string("\xff\x01\x00\x07", 4)), pf, &msg).code() ==
        vredir::kExitMalformed);
  CHECK(rfb::encode_qemu_audio_format(rfb::kAudioS16, 2, 48000) ==
        std::string("\xff\x01\x00\x02\x03\x02\x00\x00\xbb\x80", 10));
  CHECK(rfb::encode_qemu_audio(rfb::kAudioEnable) == std::string("\xff\x01\x00\x00", 4));
}
