#include <catch2/catch.hpp>

#include "wire/byte_reader.hpp"
#include "rfb/rfb_input.hpp"

using namespace vredir;

namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string rect(uint16_t x, uint16_t y, uint16_t w, uint16_t h, int32_t enc) {
  std::string s;
  put_u16be(s, x);
  put_u16be(s, y);
  put_u16be(s, w);
  put_u16be(s, h);
  put_u32be(s, static_cast<uint32_t>(enc));
  return s;
}

std::string update(const std::vector<std::string>& rects) {
  std::string s("\x00\x00", 2);
  put_u16be(s, static_cast<uint16_t>(rects.size()));
  for (const std::string& r : rects) s += r;
  return s;
}

}  // namespace

TEST_CASE("client input messages have the RFB and QEMU layouts", "[rfb_input]") {
  CHECK(rfb::encode_key_event(true, 0x61) == std::string("\x04\x01\x00\x00\x00\x00\x00\x61", 8));
  CHECK(rfb::encode_pointer_event(1, 0x102, 0x304) == std::string("\x05\x01\x01\x02\x03\x04", 6));
  CHECK(rfb::encode_qemu_extended_key_event(false, 0xffe1, 0x2a) ==
        std::string("\xff\x00\x00\x00\x00\x00\xff\xe1\x00\x00\x00\x2a", 12));
}

TEST_CASE("QEMU's key event ack, LED state and size rects are framed and read", "[rfb_input]") {
  rfb::PixelFormat f;
  std::string msg = update({rect(0, 0, 800, 600, rfb::kEncodingQemuExtendedKeyEvent),
                            rect(0, 0, 1, 1, rfb::kEncodingQemuLedState) + std::string("\x02", 1),
                            rect(0, 0, 640, 480, rfb::kEncodingDesktopSize)});
  for (size_t cut = 0; cut < msg.size(); ++cut)
    CHECK(rfb::frame_input_reply(bytes(msg.substr(0, cut)), f).kind == rfb::Frame::kNeedMore);
  rfb::Frame fr = rfb::frame_input_reply(bytes(msg + "junk"), f);
  REQUIRE(fr.kind == rfb::Frame::kComplete);
  CHECK(fr.size == msg.size());
  rfb::InputReply reply;
  REQUIRE(rfb::decode_input_reply(bytes(msg), f, &reply));
  CHECK(reply.key_event_acks == 1);
  CHECK(reply.size_known);
  CHECK(reply.width == 640);
  CHECK(reply.height == 480);
  CHECK_FALSE(reply.pixel_rects);
}

TEST_CASE("unrequested encodings and trailing bytes are protocol violations", "[rfb_input]") {
  rfb::PixelFormat f;
  std::string bad = update({rect(0, 0, 1, 1, 7)});
  CHECK(rfb::frame_input_reply(bytes(bad), f).kind == rfb::Frame::kMalformed);
  rfb::InputReply reply;
  CHECK_FALSE(rfb::decode_input_reply(bytes(update({}) + "x"), f, &reply));
  std::string huge = update({rect(0, 0, 65535, 65535, rfb::kEncodingRaw)});
  CHECK(rfb::frame_input_reply(bytes(huge), f).kind == rfb::Frame::kMalformed);
  CHECK(rfb::frame_input_reply(bytes(std::string("\x02", 1)), f).kind == rfb::Frame::kComplete);  // Bell
}
