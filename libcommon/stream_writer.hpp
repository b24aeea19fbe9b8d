// Writes vredir streams. Every producer (redir-capture, redir-inject's acks,
// x-replay's input, redir-mux, gdi-forward, the test stream builder) goes
// through this one writer, so the header, HELLO, declarations and END are
// always right. Keep it free of POSIX calls: gdi-forward builds it with mingw.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "status.hpp"
#include "stream_format.hpp"

namespace vredir::stream {

class StreamWriter {
 public:
  using Sink = std::function<Status(std::string_view)>;
  explicit StreamWriter(Sink sink);

  // Writes the stream header and HELLO.
  Status begin(const std::string& producer, const Params& params = {});
  Status declare(uint16_t id, ChannelKind kind, const std::string& name, const Params& params = {});
  Status declare_raw(const Declare& d);
  Status close_channel(uint16_t id);
  Status end(EndReason reason = EndReason::kNormal, const std::string& message = "");

  // One frame with an encoded payload. Timestamps are µs since begin(),
  // unless set_clock() fixed them (for reproducible test streams).
  Status frame(uint16_t channel, FrameType type, std::string_view payload, uint8_t flags = 0);
  Status frame_at(uint64_t ts_us, uint16_t channel, FrameType type, std::string_view payload, uint8_t flags = 0);

  // Typed helpers.
  Status surface(uint16_t ch, uint32_t w, uint32_t h);
  Status rect(uint16_t ch, const Rect& r);
  Status frame_end(uint16_t ch, uint64_t seq);
  Status key(uint16_t ch, const Key& k, uint8_t flags = 0);
  Status pointer(uint16_t ch, const Pointer& p, uint8_t flags = 0);
  Status ack(uint16_t ch, const Ack& a);
  Status control(uint16_t ch, const Control& c);

  // Fixed timestamps (tests): every frame gets *ts_us until changed.
  void set_fixed_time(uint64_t ts_us) {
    fixed_ = true;
    fixed_ts_ = ts_us;
  }
  uint64_t now_us() const;
  uint64_t bytes_written() const { return bytes_; }
  bool ended() const { return ended_; }

 private:
  Sink sink_;
  std::chrono::steady_clock::time_point start_;
  bool fixed_ = false;
  uint64_t fixed_ts_ = 0;
  uint64_t bytes_ = 0;
  bool ended_ = false;
  std::string scratch_;
};

// Compresses raw BGRX pixels into a zlib rect payload body.
std::string zlib_compress(std::string_view raw, int level);

}  // namespace vredir::stream
