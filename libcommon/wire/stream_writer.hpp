// Writes vredir streams. Every producer (redir-capture, redir-inject's acks,
// x-replay's input, redir-mux, gdi-forward, the test stream builder) goes
// through this one writer, so the header, HELLO, declarations and END are
// always right. Keep it free of POSIX calls: gdi-forward builds it with mingw.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "wire/status.hpp"
#include "wire/stream_format.hpp"

namespace vredir::stream {

class StreamWriter {
 public:
  using Sink = std::function<Status(std::string_view)>;
  explicit StreamWriter(Sink sink);
  ~StreamWriter();

  // From now on frames go out in DEFLATE pieces at this zlib level (1 is
  // cheap and gets most of the gain on drawing records); 0 turns it off.
  // Frames wait in the writer until flush(), until a piece reaches
  // kPieceTarget bytes, or until end(). HELLO always goes out plainly.
  void set_compression(int level);
  // Ends the current DEFLATE piece and writes it (nothing when none waits).
  Status flush();
  static constexpr size_t kPieceTarget = 256u << 10;

  // Starts over on the same sink, for a new reader (a client that resumes a
  // session): no compression, nothing waiting; begin() comes next.
  void restart();
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
  // A frame outside any DEFLATE piece: what waits in the piece goes first,
  // then this frame plainly (a compressing writer's latency-bound channel,
  // such as usbredir, whose bytes would gain little and wait for a piece).
  Status frame_plain(uint16_t channel, FrameType type, std::string_view payload, uint8_t flags = 0);

  // Typed helpers.
  Status surface(uint16_t ch, uint32_t w, uint32_t h);
  Status rect(uint16_t ch, const Rect& r);
  Status frame_end(uint16_t ch, uint64_t seq);
  Status key(uint16_t ch, const Key& k, uint8_t flags = 0);
  Status pointer(uint16_t ch, const Pointer& p, uint8_t flags = 0);
  Status pointer_rel(uint16_t ch, const PointerRel& p, uint8_t flags = 0);
  Status ack(uint16_t ch, const Ack& a);
  Status control(uint16_t ch, const Control& c);

  // Fixed timestamps (tests): every frame gets *ts_us until changed.
  void set_fixed_time(uint64_t ts_us) {
    fixed_ = true;
    fixed_ts_ = ts_us;
  }
  uint64_t now_us() const;
  uint64_t bytes_written() const { return bytes_; }  // on the wire
  bool ended() const { return ended_; }

 private:
  struct Deflater;
  Status emit(uint64_t ts_us, uint16_t channel, FrameType type, std::string_view payload, uint8_t flags);

  Sink sink_;
  std::unique_ptr<Deflater> deflater_;
  std::string piece_;  // frames waiting for the next DEFLATE piece
  std::string deflated_;
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
