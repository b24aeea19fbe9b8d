// The libcommon parts of x-replay: key codes, the escape chord, the bounded
// audio queue and the playback clock.
#include <catch2/catch.hpp>

#include <numeric>

#include "audio_queue.hpp"
#include "input/escape_chord.hpp"
#include "input/keycodes.hpp"
#include "wire/playback_clock.hpp"

using vredir::AudioQueue;
using vredir::EscapeChord;
using vredir::KeyStroke;
namespace keys = vredir::keys;

TEST_CASE("X keycodes under the evdev keymap are evdev codes + 8", "[x_replay]") {
  CHECK(keys::evdev_from_x_keycode(38) == uint16_t{30});  // a
  CHECK(keys::evdev_from_x_keycode(119) == uint16_t{111});  // Delete
  CHECK_FALSE(keys::evdev_from_x_keycode(7));
  CHECK_FALSE(keys::evdev_from_x_keycode(256));
  CHECK(keys::x_keycode_from_evdev(30) == uint8_t{38});
  CHECK_FALSE(keys::x_keycode_from_evdev(248));
}

TEST_CASE("key names, aliases and numbers", "[x_replay]") {
  CHECK(keys::key_from_name("menu") == keys::kCompose);
  CHECK(keys::key_from_name("KEY_LEFTCTRL") == keys::kLeftCtrl);
  CHECK(keys::key_from_name("RightCtrl") == keys::kRightCtrl);
  CHECK(keys::key_from_name("1") == uint16_t{2});  // the key "1", not code 1
  CHECK(keys::key_from_name("0x77") == keys::kPause);
  CHECK(keys::key_from_name("119") == keys::kPause);
  CHECK_FALSE(keys::key_from_name("nosuchkey"));
  CHECK_FALSE(keys::key_from_name(""));
  CHECK_FALSE(keys::key_from_name("0x300"));
  CHECK(std::string(keys::key_name(keys::kDelete)) == "delete");
  CHECK(keys::key_name(500) == nullptr);
  CHECK(keys::us_keysym(30) == 0x61);
  CHECK(keys::us_keysym(keys::kLeftCtrl) == 0xffe3);
  for (int n = 1; n <= 12; ++n) {
    auto code = keys::function_key(n);
    REQUIRE(code);
    CHECK(keys::function_key_number(*code) == n);
    CHECK(keys::us_keysym(*code) == 0xffbeu + uint32_t(n - 1));
  }
  CHECK_FALSE(keys::function_key(13));
  CHECK(keys::function_key_number(30) == 0);
}

namespace {
std::vector<KeyStroke> feed(EscapeChord& c, std::initializer_list<KeyStroke> in) {
  std::vector<KeyStroke> out;
  for (const KeyStroke& k : in) c.feed(k.code, k.down, &out);
  return out;
}
std::vector<KeyStroke> combo(uint16_t key) {
  return {{keys::kLeftCtrl, true}, {keys::kLeftAlt, true}, {key, true},
          {key, false},            {keys::kLeftAlt, false}, {keys::kLeftCtrl, false}};
}
constexpr uint16_t kMenu = keys::kCompose, kDel = keys::kDelete, kA = 30;
}  // namespace

TEST_CASE("escape chord", "[x_replay]") {
  EscapeChord c;
  SECTION("keys pass through when no escape is pending") {
    CHECK(feed(c, {{kA, true}, {kA, false}}) == std::vector<KeyStroke>{{kA, true}, {kA, false}});
  }
  SECTION("Menu then Delete, one after the other, gives Ctrl-Alt-Delete") {
    CHECK(feed(c, {{kMenu, true}, {kMenu, false}}).empty());
    CHECK(c.armed());
    CHECK(feed(c, {{kDel, true}, {kDel, false}}) == combo(kDel));
    CHECK_FALSE(c.armed());
  }
  SECTION("Menu held with Delete gives the same") {
    CHECK(feed(c, {{kMenu, true}, {kDel, true}, {kDel, false}, {kMenu, false}}) == combo(kDel));
  }
  SECTION("Menu then F5 and Backspace") {
    CHECK(feed(c, {{kMenu, true}, {kMenu, false}, {63, true}, {63, false}}) == combo(63));
    CHECK(feed(c, {{kMenu, true}, {kMenu, false}, {keys::kBackspace, true}, {keys::kBackspace, false}}) ==
          combo(keys::kBackspace));
  }
  SECTION("Menu Menu sends Menu once") {
    CHECK(feed(c, {{kMenu, true}, {kMenu, false}, {kMenu, true}, {kMenu, false}}) ==
          std::vector<KeyStroke>{{kMenu, true}, {kMenu, false}});
    CHECK_FALSE(c.armed());
  }
  SECTION("Menu then another key drops the escape and sends the key") {
    CHECK(feed(c, {{kMenu, true}, {kMenu, false}, {kA, true}, {kA, false}}) ==
          std::vector<KeyStroke>{{kA, true}, {kA, false}});
  }
  SECTION("Menu then G toggles the pointer grab and sends nothing") {
    CHECK_FALSE(c.take_grab_toggle());
    CHECK(feed(c, {{kMenu, true}, {kMenu, false}, {keys::kG, true}, {keys::kG, false}}).empty());
    CHECK(c.take_grab_toggle());
    CHECK_FALSE(c.take_grab_toggle());
    CHECK(feed(c, {{keys::kG, true}, {keys::kG, false}}) ==
          std::vector<KeyStroke>{{keys::kG, true}, {keys::kG, false}});
    CHECK_FALSE(c.take_grab_toggle());
  }
  SECTION("reset forgets a pending escape") {
    feed(c, {{kMenu, true}});
    c.reset();
    CHECK_FALSE(c.armed());
    CHECK(feed(c, {{kDel, true}}) == std::vector<KeyStroke>{{kDel, true}});
  }
  SECTION("another escape key") {
    EscapeChord rc(keys::kRightCtrl);
    CHECK(feed(rc, {{keys::kRightCtrl, true}, {keys::kRightCtrl, false}, {kDel, true}, {kDel, false}}) == combo(kDel));
    CHECK(feed(rc, {{kMenu, true}, {kMenu, false}}) == std::vector<KeyStroke>{{kMenu, true}, {kMenu, false}});
  }
}

TEST_CASE("audio queue is bounded and drops the oldest frames", "[x_replay]") {
  AudioQueue q(2, 4);  // 4 mono 16-bit frames
  std::vector<uint8_t> pcm(6);
  std::iota(pcm.begin(), pcm.end(), 1);  // frames 0102 0304 0506
  q.push(pcm);
  CHECK(q.frames() == 3);
  q.push(std::vector<uint8_t>{7, 8, 9, 10, 11});  // two frames and a partial one
  CHECK(q.frames() == 4);
  CHECK(q.dropped_frames() == 1);
  std::vector<uint8_t> got;
  while (q.size()) {
    auto f = q.front();
    got.insert(got.end(), f.begin(), f.end());
    q.pop(f.size());
  }
  CHECK(got == std::vector<uint8_t>{3, 4, 5, 6, 7, 8, 9, 10});
  SECTION("a push larger than the queue keeps its newest part") {
    std::vector<uint8_t> big(20);
    std::iota(big.begin(), big.end(), 0);
    q.push(big);
    CHECK(q.frames() == 4);
    CHECK(q.front()[0] == 12);
  }
}

TEST_CASE("playback clock paces recorded timestamps", "[x_replay]") {
  vredir::stream::PlaybackClock clock(2.0);
  CHECK(clock.wait_us(1000, 50) == 0);              // the first frame anchors
  CHECK(clock.wait_us(1000 + 1000000, 50) == 500000);  // 1 s of stream at speed 2
  CHECK(clock.wait_us(1000 + 1000000, 500050) == 0);
  CHECK(clock.wait_us(500, 600000) == 0);           // backwards: re-anchored
  CHECK(clock.wait_us(200500, 600000) == 100000);
}
