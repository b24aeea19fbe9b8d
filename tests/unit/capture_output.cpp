// The bounded writer between a capture and a slow consumer.
#include "capture_output.hpp"

#include <unistd.h>

#include <csignal>

#include <catch2/catch.hpp>
#include <string>

using vredir::CaptureOutput;

TEST_CASE("a stalled consumer: one display frame queued, old audio dropped", "[capture_output]") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  {
    CaptureOutput out(p[1], "pipe", 1000);
    out.push(CaptureOutput::Kind::kControl, std::string(200000, 'c'));  // fills the pipe: the writer blocks
    CHECK_FALSE(out.display_busy());
    out.push(CaptureOutput::Kind::kDisplay, std::string(10, 'd'));
    CHECK(out.display_busy());
    for (int i = 0; i < 5; ++i) out.push(CaptureOutput::Kind::kAudio, std::string(400, 'a'), 400);
    CHECK(out.dropped_audio_bytes() == 1200);  // 2000 queued, 1000 allowed: the three oldest went

    // The consumer catches up: everything left arrives, in order.
    std::string got;
    char buf[65536];
    const size_t want = 200000 + 10 + 2 * 400;
    while (got.size() < want) {
      ssize_t n = ::read(p[0], buf, sizeof buf);
      REQUIRE(n > 0);
      got.append(buf, size_t(n));
    }
    CHECK(out.close(2000));
    CHECK(got.substr(200000) == std::string(10, 'd') + std::string(800, 'a'));
    CHECK_FALSE(out.display_busy());
    CHECK(out.status().is_ok());
  }
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("a consumer that went away", "[capture_output]") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  std::signal(SIGPIPE, SIG_IGN);  // as every tool does: EPIPE, not a signal
  ::close(p[0]);
  CaptureOutput out(p[1], "pipe", 1000);
  out.push(CaptureOutput::Kind::kControl, "x");
  out.close(2000);
  CHECK(out.status().is_reader_gone());
  ::close(p[1]);
}
