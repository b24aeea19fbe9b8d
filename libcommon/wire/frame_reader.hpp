// Framing for vredir streams: turns bytes as they arrive into whole frames.
// It only knows "need N more bytes"; decoding a frame held in memory is the
// job of stream_decoder. The buffer grows as bytes actually arrive, never from
// a length field, and holds at most one frame plus the last chunk fed.
// DEFLATE frames are unpacked here: the frames they hold come out of next()
// one by one, as if they had been written plainly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wire/stream_format.hpp"

namespace vredir::stream {

// What a reader accepts. A server reading a peer that has not logged in yet
// lowers these (small frames, no DEFLATE) so that nothing it parses can
// claim memory.
struct FrameLimits {
  uint32_t max_payload = kMaxPayload;
  bool allow_deflate = true;
};

class FrameReader {
 public:
  enum class Result { kFrame, kNeedMore, kError };

  void set_limits(const FrameLimits& limits) { limits_ = limits; }
  const FrameLimits& limits() const { return limits_; }

  void feed(const uint8_t* data, size_t size);

  // kFrame: *out is valid until the next feed() or next(). A frame that
  // came inside a DEFLATE piece has the piece's offset.
  // kError: *err says what and where; the reader stays in error.
  Result next(Frame* out, std::string* err);

  // Call at end of input: describes where the stream was cut, or "" if it
  // ended exactly at a frame boundary.
  std::string truncation() const;

  bool header_seen() const { return header_seen_; }
  uint16_t minor_version() const { return minor_; }
  uint64_t consumed() const { return consumed_; }  // bytes handed out as frames
  size_t buffered() const { return buf_.size() - start_; }
  // DEFLATE pieces read so far: their wire bytes (headers included) and the
  // frame bytes they inflated to.
  uint64_t deflated_bytes() const { return deflated_bytes_; }
  uint64_t inflated_bytes() const { return inflated_bytes_; }

  FrameReader();
  ~FrameReader();
  FrameReader(FrameReader&&) noexcept;
  FrameReader& operator=(FrameReader&&) noexcept;

 private:
  struct Inflater;

  Result fail(std::string* err, std::string message);
  Result read_header(std::string* err);
  Result inflate_piece(const Frame& piece, std::string* err);
  Result next_inflated(Frame* out, std::string* err);

  FrameLimits limits_;
  std::vector<uint8_t> buf_;
  size_t start_ = 0;
  uint64_t consumed_ = 0;
  bool header_seen_ = false;
  bool failed_ = false;
  std::string error_;
  uint16_t minor_ = 0;
  // One inflater spans the stream; inflated_ holds the current piece's frames.
  std::unique_ptr<Inflater> inflater_;
  std::vector<uint8_t> inflated_;
  size_t inflated_pos_ = 0;
  uint64_t piece_offset_ = 0;
  uint64_t deflated_bytes_ = 0;
  uint64_t inflated_bytes_ = 0;
};

// Explains a bad stream header in one line (text-mode damage, wrong file...).
std::string describe_bad_magic(const uint8_t* data, size_t size);

}  // namespace vredir::stream
