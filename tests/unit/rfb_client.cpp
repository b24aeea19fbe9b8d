#include <catch2/catch.hpp>

#include "wire/byte_reader.hpp"
#include "virt/display_resolution.hpp"
#include "rfb/rfb_client.hpp"

namespace rfb = vredir::rfb;

namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void rect(std::string& out, uint16_t x, uint16_t y, uint16_t w, uint16_t h, int32_t enc) {
  vredir::put_u16be(out, x);
  vredir::put_u16be(out, y);
  vredir::put_u16be(out, w);
  vredir::put_u16be(out, h);
  vredir::put_u32be(out, static_cast<uint32_t>(enc));
}

// A FramebufferUpdate as QEMU sends it after SetDesktopSize: one
// ExtendedDesktopSize rect (reason, status, size, one screen) then a raw 1x1.
std::string update_with_layout(uint16_t reason, uint16_t status, uint16_t w, uint16_t h) {
  std::string m;
  vredir::put_u8(m, rfb::kMsgFramebufferUpdate);
  vredir::put_u8(m, 0);
  vredir::put_u16be(m, 2);
  rect(m, reason, status, w, h, rfb::kEncodingExtendedDesktopSize);
  vredir::put_u8(m, 1);
  m.append(3, '\0');
  vredir::put_u32be(m, 7);  // screen id
  vredir::put_u16be(m, 0);
  vredir::put_u16be(m, 0);
  vredir::put_u16be(m, w);
  vredir::put_u16be(m, h);
  vredir::put_u32be(m, 0);
  rect(m, 0, 0, 1, 1, rfb::kEncodingRaw);
  m.append(4, '\x55');  // one 32-bit pixel
  return m;
}

}  // namespace

TEST_CASE("framing: a message is complete only with all its bytes", "[rfb_client]") {
  rfb::PixelFormat pf;
  std::string m = update_with_layout(rfb::kReasonThisClient, rfb::kResizeForwarded, 1024, 768);
  for (size_t n = 0; n < m.size(); ++n) {
    rfb::Frame f = rfb::frame_server_message(bytes(m.substr(0, n)), pf);
    INFO("prefix " << n);
    REQUIRE(f.kind == rfb::Frame::kNeedMore);
    CHECK(f.size > n);
    CHECK(f.size <= m.size());
  }
  rfb::Frame f = rfb::frame_server_message(bytes(m + "\x02"), pf);
  REQUIRE(f.kind == rfb::Frame::kComplete);
  CHECK(f.size == m.size());
}

TEST_CASE("decoding ExtendedDesktopSize", "[rfb_client]") {
  rfb::PixelFormat pf;
  rfb::ServerMessage msg;
  std::string m = update_with_layout(rfb::kReasonThisClient, rfb::kResizeInvalidLayout, 640, 480);
  REQUIRE(rfb::decode_server_message(bytes(m), pf, &msg).is_ok());
  CHECK(msg.rects.size() == 2);
  REQUIRE(msg.desktop_sizes.size() == 1);
  const rfb::DesktopSize& ds = msg.desktop_sizes[0];
  CHECK(ds.extended);
  CHECK(ds.reason == rfb::kReasonThisClient);
  CHECK(ds.status == rfb::kResizeInvalidLayout);
  CHECK(ds.width == 640);
  CHECK(ds.height == 480);
  REQUIRE(ds.screens.size() == 1);
  CHECK(ds.screens[0].id == 7);
  CHECK(ds.screens[0].width == 640);
}

TEST_CASE("other server messages", "[rfb_client]") {
  rfb::PixelFormat pf;
  rfb::ServerMessage msg;
  SECTION("bell") {
    CHECK(rfb::frame_server_message(bytes("\x02"), pf).size == 1);
    CHECK(rfb::decode_server_message(bytes("\x02"), pf, &msg).is_ok());
  }
  SECTION("cut text") {
    std::string m("\x03\0\0\0", 4);
    vredir::put_u32be(m, 5);
    m += "hello";
    REQUIRE(rfb::frame_server_message(bytes(m), pf).kind == rfb::Frame::kComplete);
    REQUIRE(rfb::decode_server_message(bytes(m), pf, &msg).is_ok());
    CHECK(msg.cut_text == "hello");
  }
  SECTION("cut text over the cap is refused before it arrives") {
    std::string m("\x03\0\0\0", 4);
    vredir::put_u32be(m, 0xFFFFFFFFu);
    CHECK(rfb::frame_server_message(bytes(m), pf).kind == rfb::Frame::kMalformed);
  }
  SECTION("colour map entries") {
    std::string m("\x01\0\0\0", 4);
    vredir::put_u16be(m, 2);
    CHECK(rfb::frame_server_message(bytes(m), pf).size == 6 + 12);
    m.append(12, '\0');
    CHECK(rfb::decode_server_message(bytes(m), pf, &msg).is_ok());
  }
  SECTION("DesktopSize") {
    std::string m("\0\0", 2);
    vredir::put_u16be(m, 1);
    rect(m, 0, 0, 800, 600, rfb::kEncodingDesktopSize);
    REQUIRE(rfb::decode_server_message(bytes(m), pf, &msg).is_ok());
    REQUIRE(msg.desktop_sizes.size() == 1);
    CHECK_FALSE(msg.desktop_sizes[0].extended);
    CHECK(msg.desktop_sizes[0].width == 800);
  }
}

TEST_CASE("hostile input", "[rfb_client]") {
  rfb::PixelFormat pf;
  rfb::ServerMessage msg;
  SECTION("unknown message type") {
    CHECK(rfb::frame_server_message(bytes("\x09"), pf).kind == rfb::Frame::kMalformed);
  }
  SECTION("an encoding that was not requested") {
    std::string m("\0\0", 2);
    vredir::put_u16be(m, 1);
    rect(m, 0, 0, 16, 16, 16 /* ZRLE */);
    CHECK(rfb::frame_server_message(bytes(m), pf).kind == rfb::Frame::kMalformed);
  }
  SECTION("a raw rect larger than the cap") {
    std::string m("\0\0", 2);
    vredir::put_u16be(m, 1);
    rect(m, 0, 0, 65535, 65535, rfb::kEncodingRaw);
    CHECK(rfb::frame_server_message(bytes(m), pf).kind == rfb::Frame::kMalformed);
  }
  SECTION("truncated message given to the decoder") {
    std::string m = update_with_layout(0, 0, 10, 10);
    CHECK(rfb::decode_server_message(bytes(m.substr(0, m.size() - 1)), pf, &msg).code() == vredir::kExitMalformed);
  }
  SECTION("trailing bytes") {
    CHECK(rfb::decode_server_message(bytes(std::string("\x02\x02")), pf, &msg).code() == vredir::kExitMalformed);
  }
}

TEST_CASE("handshake pieces", "[rfb_client]") {
  int minor = 0;
  CHECK(rfb::parse_protocol_version(bytes("RFB 003.008\n"), &minor).is_ok());
  CHECK(minor == 8);
  CHECK(rfb::parse_protocol_version(bytes("RFB 003.889\n"), &minor).is_ok());
  CHECK(minor == 8);
  CHECK(rfb::parse_protocol_version(bytes("RFB 003.007\n"), &minor).is_ok());
  CHECK(minor == 7);
  CHECK_FALSE(rfb::parse_protocol_version(bytes("RFB 004.000\n"), &minor).is_ok());
  CHECK_FALSE(rfb::parse_protocol_version(bytes("HTTP/1.1 200"), &minor).is_ok());
  CHECK_FALSE(rfb::parse_protocol_version(bytes("RFB 003"), &minor).is_ok());

  std::string init;
  vredir::put_u16be(init, 1280);
  vredir::put_u16be(init, 800);
  init += std::string("\x20\x18\x00\x01\x00\xff\x00\xff\x00\xff\x10\x08\x00\0\0\0", 16);
  vredir::put_u32be(init, 4);
  rfb::ServerInit si;
  uint32_t name_len = 0;
  REQUIRE(rfb::parse_server_init_fixed(bytes(init), &si, &name_len).is_ok());
  CHECK(si.width == 1280);
  CHECK(si.height == 800);
  CHECK(si.format.bits_per_pixel == 32);
  CHECK(name_len == 4);
  std::string big = init.substr(0, 20);
  vredir::put_u32be(big, 1u << 30);
  CHECK(rfb::parse_server_init_fixed(bytes(big), &si, &name_len).code() == vredir::kExitMalformed);
}

TEST_CASE("client messages", "[rfb_client]") {
  const int32_t enc[] = {0, rfb::kEncodingExtendedDesktopSize};
  CHECK(rfb::encode_set_encodings(enc) == std::string("\x02\0\0\x02\0\0\0\0\xff\xff\xfe\xcc", 12));
  CHECK(rfb::encode_framebuffer_update_request(false, 0, 0, 1, 1) == std::string("\x03\0\0\0\0\0\0\x01\0\x01", 10));
  rfb::Screen s;
  s.id = 1;
  s.width = 800;
  s.height = 600;
  std::string m = rfb::encode_set_desktop_size(800, 600, std::span(&s, 1));
  REQUIRE(m.size() == 8 + 16);
  CHECK(static_cast<uint8_t>(m[0]) == 251);
  CHECK(m.substr(2, 4) == std::string("\x03\x20\x02\x58", 4));
  CHECK(m[6] == 1);
}

TEST_CASE("resolution text", "[rfb_client]") {
  uint16_t w = 0, h = 0;
  CHECK(vredir::parse_resolution("800x600", &w, &h));
  CHECK(w == 800);
  CHECK(h == 600);
  CHECK_FALSE(vredir::parse_resolution("800", &w, &h));
  CHECK_FALSE(vredir::parse_resolution("0x600", &w, &h));
  CHECK_FALSE(vredir::parse_resolution("70000x600", &w, &h));
  CHECK_FALSE(vredir::parse_resolution("800x600x", &w, &h));
  CHECK_FALSE(vredir::parse_resolution("x600", &w, &h));
}
