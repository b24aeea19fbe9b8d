// Still-screen detection: blinking cursors, ignored areas, PSNR.
#include "media/screen_stability.hpp"

#include <catch2/catch.hpp>

using namespace vredir;
using Clock = StabilityWatch::Clock;
using namespace std::chrono_literals;

namespace {

struct Frames {
  uint32_t w = 80, h = 40;
  std::vector<uint32_t> base = std::vector<uint32_t>(size_t(80) * 40, 0x101010);
  std::vector<uint32_t> with_cursor() const {
    auto f = base;
    for (uint32_t y = 30; y < 32; ++y)
      for (uint32_t x = 18; x < 27; ++x) f[size_t(y) * w + x] = 0xAAAAAA;
    return f;
  }
  std::vector<uint32_t> with_char() const {
    auto f = base;
    for (uint32_t y = 18; y < 30; ++y) f[size_t(y) * w + 20] = 0xAAAAAA;
    return f;
  }
};

}  // namespace

TEST_CASE("a blinking cursor does not keep a screen unsettled", "[screen_stability]") {
  Frames fr;
  const auto on = fr.with_cursor(), off = fr.base;
  Clock::time_point t0 = Clock::now();
  StabilityWatch w({});
  CHECK(w.observe(on.data(), fr.w, fr.h, t0));  // the first frame is the reference
  // QEMU's VGA cursor: about 267 ms on, 267 ms off.
  Clock::time_point t = t0;
  bool settled = false;
  for (int i = 1; i <= 20; ++i) {
    t += 267ms;
    CHECK_FALSE(w.observe(i % 2 ? off.data() : on.data(), fr.w, fr.h, t));
    if (w.settled_for(2.0, t)) {
      settled = true;
      break;
    }
  }
  CHECK(settled);
  CHECK(std::chrono::duration<double>(t - t0).count() < 2.7);
  CHECK(w.blink_box().w == 9);
  CHECK(w.blink_box().h == 2);

  SECTION("a pixel-exact watch never settles on it") {
    StabilityWatch exact(StabilityOptions{0, {}, false});
    Clock::time_point u = t0;
    exact.observe(on.data(), fr.w, fr.h, u);
    bool ever = false;
    for (int i = 1; i <= 40; ++i) {
      u += 267ms;
      exact.observe(i % 2 ? off.data() : on.data(), fr.w, fr.h, u);
      ever |= exact.settled_for(2.0, u);
    }
    CHECK_FALSE(ever);
  }
}

TEST_CASE("small changes that stay are changes", "[screen_stability]") {
  Frames fr;
  const auto a = fr.base, b = fr.with_char();
  Clock::time_point t0 = Clock::now();
  StabilityWatch w({});
  w.observe(a.data(), fr.w, fr.h, t0);
  CHECK_FALSE(w.observe(b.data(), fr.w, fr.h, t0 + 500ms));   // held back: it may be a blink
  CHECK_FALSE(w.settled_for(0.4, t0 + 900ms));                 // not settled while undecided
  CHECK(w.observe(b.data(), fr.w, fr.h, t0 + 2100ms));         // still there after the window
  CHECK(w.last_change() == t0 + 500ms);                        // dated from when it appeared
  CHECK(w.settled_for(1.5, t0 + 2100ms));

  SECTION("decided by the clock when no frame comes") {
    StabilityWatch v({});
    v.observe(a.data(), fr.w, fr.h, t0);
    v.observe(b.data(), fr.w, fr.h, t0 + 100ms);
    CHECK_FALSE(v.settled_for(1.0, t0 + 1000ms));
    CHECK(v.settled_for(1.0, t0 + 1700ms));  // 1.6 s after the change
    CHECK(v.last_change() == t0 + 100ms);
    CHECK_FALSE(v.observe(b.data(), fr.w, fr.h, t0 + 1800ms));  // the screen it settled on
  }
}

TEST_CASE("a digit that ticks in one cell keeps the screen unsettled", "[screen_stability]") {
  // A seconds counter: one cell, a new glyph about every 1.2 s (a busy guest
  // ticks late), never back to an earlier one. Each tick is a change when it
  // comes, not dated back to the tick before it.
  Frames fr;
  auto digit = [&](int n) {
    auto f = fr.base;
    for (uint32_t y = 18; y < 30; ++y)
      for (uint32_t x = 20; x < 27; ++x)
        if ((x + y + n) % 3 == 0) f[size_t(y) * fr.w + x] = 0xAAAAAA + uint32_t(n);
    return f;
  };
  Clock::time_point t0 = Clock::now();
  StabilityWatch w({});
  auto first = digit(0);
  w.observe(first.data(), fr.w, fr.h, t0);
  for (int n = 1; n <= 12; ++n) {
    const Clock::time_point tick = t0 + n * 1200ms;
    auto f = digit(n);
    w.observe(f.data(), fr.w, fr.h, tick);
    for (auto probe : {100ms, 600ms, 1100ms}) CHECK_FALSE(w.settled_for(2.0, tick + probe));
  }
}

TEST_CASE("large changes count at once; ignored areas and PSNR", "[screen_stability]") {
  Frames fr;
  auto a = fr.base, big = fr.base;
  for (uint32_t i = 0; i < 400; ++i) big[i] = 0xFFFFFF;
  Clock::time_point t0 = Clock::now();
  StabilityWatch w({});
  w.observe(a.data(), fr.w, fr.h, t0);
  CHECK(w.observe(big.data(), fr.w, fr.h, t0 + 10ms));
  CHECK(w.last_change() == t0 + 10ms);

  SECTION("ignored areas") {
    StabilityWatch v(StabilityOptions{0, {ScreenRegion{0, 0, 80, 5}}, true});
    v.observe(a.data(), fr.w, fr.h, t0);
    CHECK_FALSE(v.observe(big.data(), fr.w, fr.h, t0 + 10ms));
    CHECK(v.settled_for(0.5, t0 + 600ms));
  }
  SECTION("PSNR: slight noise passes, a real change does not") {
    auto noisy = a;
    for (size_t i = 0; i < noisy.size(); i += 7) noisy[i] ^= 0x010101;
    StabilityWatch v(StabilityOptions{47, {}, true});
    v.observe(a.data(), fr.w, fr.h, t0);
    CHECK_FALSE(v.observe(noisy.data(), fr.w, fr.h, t0 + 10ms));
    CHECK(v.observe(big.data(), fr.w, fr.h, t0 + 20ms));
  }
  SECTION("a new size is a change") {
    CHECK(w.observe(a.data(), fr.w / 2, fr.h, t0 + 30ms));
  }
}
