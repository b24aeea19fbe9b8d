#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <unistd.h>

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

namespace {

// What reached the guest's devices, in order.
struct DeviceLog {
  std::vector<std::string> events;
};

struct FakeKeys : KeyBatchPath {
  explicit FakeKeys(DeviceLog* log) : log_(log) {}
  Status send(std::span<const KeyPress> keys, int) override {
    for (const KeyPress& k : keys) log_->events.push_back("key " + std::to_string(k.code) + (k.down ? " down" : " up"));
    return Status::ok();
  }
  int max_batch() const override { return 16; }
  DeviceLog* log_;
};

struct FakeTablet : AbsPointerPath {
  explicit FakeTablet(DeviceLog* log) : log_(log) {}
  Status move(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint8_t buttons) override {
    log_->events.push_back("abs " + std::to_string(x) + "," + std::to_string(y) + " of " + std::to_string(w) + "x" +
                           std::to_string(h) + " buttons " + std::to_string(buttons));
    return Status::ok();
  }
  DeviceLog* log_;
};

}  // namespace

TEST_CASE("a seat's tablet gets the pointer in order with the keys, clamped to its head's surface", "[rfb_input]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  VncInput vnc(sv[0]);  // never opened: nothing may go through the VNC server
  std::vector<uint64_t> acked;
  InputDelivery d(vnc, Pacing{}, [&](const AckTag& t) {
    if (t.wanted) acked.push_back(t.seq);
    return Status::ok();
  });
  DeviceLog log;
  FakeKeys keys(&log);
  FakeTablet tablet(&log);
  d.use_virtio_keyboard(&keys);
  d.use_abs_pointer(&tablet, 0, 0);
  // No surface size yet (a head beyond the first before its channel said it).
  CHECK_FALSE(d.pointer(10, 10, 0));
  d.set_abs_surface(640, 480);
  CHECK(d.surface_width() == 640);
  CHECK(d.surface_height() == 480);
  REQUIRE(d.key({30, true, 'a'}));
  REQUIRE(d.key({30, false, 'a'}));
  REQUIRE(d.pointer(700, -5, 1, {true, 2, 7}));
  REQUIRE(d.key({31, true, 's'}));
  REQUIRE(d.pointer(100, 200, 0));
  REQUIRE(d.finish());
  const std::vector<std::string> want = {"key 30 down", "key 30 up", "abs 639,0 of 640x480 buttons 1", "key 31 down",
                                         "abs 100,200 of 640x480 buttons 0"};
  CHECK(log.events == want);
  CHECK(acked == std::vector<uint64_t>{7});
  CHECK(d.pointer_events() == 2);
  // A stream that stops with a button held gets it released on the tablet.
  REQUIRE(d.pointer(5, 5, 4));
  REQUIRE(d.release_all());
  CHECK(log.events.back() == "abs 5,5 of 640x480 buttons 0");
  // Nothing was written to the VNC server.
  char buf[16];
  CHECK(::recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) < 0);
  ::close(sv[1]);  // sv[0] is the VncInput's
}
