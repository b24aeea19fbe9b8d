// A bounded queue of PCM audio between a stream and a sound device. A player
// that falls behind must not grow without limit: when a push would exceed the
// bound, the oldest whole sample frames are dropped, so the newest audio is
// what plays (about one second of audio, as architecture.md budgets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vredir {

class AudioQueue {
 public:
  // frame_bytes: bytes per sample frame (channels x sample size); capacity in
  // sample frames.
  AudioQueue(size_t frame_bytes, size_t capacity_frames);

  // Queues whole sample frames (a trailing partial frame is ignored).
  void push(std::span<const uint8_t> pcm);
  // The oldest queued bytes, contiguous; may be shorter than size().
  std::span<const uint8_t> front() const;
  // Removes n bytes from the front (whole frames).
  void pop(size_t bytes);
  void clear() { head_ = size_ = 0; }

  size_t size() const { return size_; }        // bytes queued
  size_t frames() const { return size_ / frame_bytes_; }
  size_t frame_bytes() const { return frame_bytes_; }
  uint64_t dropped_frames() const { return dropped_; }

 private:
  size_t frame_bytes_;
  std::vector<uint8_t> ring_;
  size_t head_ = 0;
  size_t size_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace vredir
