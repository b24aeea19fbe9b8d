// The Barrier messages that carry key events into QEMU (virt/barrier_keyboard):
// what the server sends, and what it accepts back from a connection.
#include <catch2/catch.hpp>

#include "virt/barrier_keyboard.hpp"
#include "input/keymap.hpp"

using namespace vredir;

namespace {
std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
std::string body_of(const std::string& framed) { return framed.substr(4); }
}  // namespace

TEST_CASE("barrier key codes are the XFree86 driver's, offset by 8", "[barrier_keyboard]") {
  CHECK(barrier_keycode_from_evdev(1) == 9);     // Escape
  CHECK(barrier_keycode_from_evdev(30) == 38);   // A
  CHECK(barrier_keycode_from_evdev(42) == 50);   // left Shift
  CHECK(barrier_keycode_from_evdev(57) == 65);   // space
  CHECK(barrier_keycode_from_evdev(88) == 96);   // F12
  CHECK(barrier_keycode_from_evdev(103) == 98);  // Up: extended keys from 0x59
  CHECK(barrier_keycode_from_evdev(96) == 108);  // KP Enter
  CHECK(barrier_keycode_from_evdev(84) == 0);    // no key
  CHECK(barrier_keycode_from_evdev(113) == 0);   // Mute: not in the driver's table
  // Every key that text needs has one, so typing never falls back.
  std::string printable = "\t\n";
  for (char c = ' '; c <= '~'; ++c) printable += c;
  std::vector<KeyPress> text;
  std::string err;
  REQUIRE(text_to_keys(Layout::kUs, printable, &text, &err));
  CHECK(text.size() > 2 * printable.size());
  CHECK(barrier_can_send(text));
  KeyPress mute{113, true, 0};
  CHECK_FALSE(barrier_can_send(std::span<const KeyPress>(&mute, 1)));
}

TEST_CASE("barrier messages the server sends", "[barrier_keyboard]") {
  CHECK(barrier_hello() == std::string("\0\0\0\x0b" "Barrier\0\x01\0\x06", 15));
  CHECK(barrier_key_message(38, true) == std::string("\0\0\0\x0a" "DKDN\0\0\0\0\0\x26", 14));
  CHECK(barrier_key_message(38, false) == std::string("\0\0\0\x0a" "DKUP\0\0\0\0\0\x26", 14));
  CHECK(barrier_keep_alive() == std::string("\0\0\0\x04" "CALV", 8));
}

TEST_CASE("barrier replies are parsed within bounds", "[barrier_keyboard]") {
  BarrierReply r;
  std::string hello_back("Barrier\0\x01\0\x06\0\0\0\x05vm-01", 20);
  REQUIRE(parse_barrier_reply(bytes(hello_back), &r));
  CHECK(r.kind == BarrierReply::kHelloBack);
  CHECK(r.major == 1);
  CHECK(r.minor == 6);
  CHECK(r.name == "vm-01");
  REQUIRE(parse_barrier_reply(bytes(body_of(barrier_keep_alive())), &r));
  CHECK(r.kind == BarrierReply::kKeepAlive);
  REQUIRE(parse_barrier_reply(bytes(std::string("EUNK")), &r));
  CHECK(r.kind == BarrierReply::kOther);
  CHECK(r.command == "\"EUNK\"");
  // A name longer than it says, or claiming more than is there.
  CHECK_FALSE(parse_barrier_reply(bytes(std::string("Barrier\0\x01\0\x06\0\0\0\x09vm", 17)), &r));
  CHECK_FALSE(parse_barrier_reply(bytes(std::string("Barrier\0\x01\0\x06\xff\xff\xff\xff", 15)), &r));
  CHECK_FALSE(parse_barrier_reply(bytes(std::string("Barrier\0", 8)), &r));
  CHECK_FALSE(parse_barrier_reply(bytes(std::string("CA")), &r));
  // A control byte in a command is escaped for the log.
  REQUIRE(parse_barrier_reply(bytes(std::string("E\nXX")), &r));
  CHECK(r.command.find('\n') == std::string::npos);
}

TEST_CASE("barrier framing takes whole messages and refuses oversized ones", "[barrier_keyboard]") {
  BarrierFramer f;
  std::string all = barrier_keep_alive() + barrier_keep_alive();
  std::string body;
  bool have = true;
  f.feed(bytes(all.substr(0, 6)));
  REQUIRE(f.next(&body, &have));
  CHECK_FALSE(have);
  f.feed(bytes(all.substr(6)));
  REQUIRE(f.next(&body, &have));
  CHECK(have);
  CHECK(body == "CALV");
  REQUIRE(f.next(&body, &have));
  CHECK(have);
  REQUIRE(f.next(&body, &have));
  CHECK_FALSE(have);

  BarrierFramer big;
  big.feed(bytes(std::string("\0\0\x04\x01", 4)));  // 1025 bytes
  CHECK_FALSE(big.next(&body, &have));
  BarrierFramer empty;
  empty.feed(bytes(std::string("\0\0\0\0", 4)));
  CHECK_FALSE(empty.next(&body, &have));
}
