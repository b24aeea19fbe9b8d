#include "audio_queue.hpp"

#include <algorithm>
#include <cstring>

namespace vredir {

AudioQueue::AudioQueue(size_t frame_bytes, size_t capacity_frames)
    : frame_bytes_(frame_bytes ? frame_bytes : 1), ring_(frame_bytes_ * std::max<size_t>(capacity_frames, 1)) {}

void AudioQueue::push(std::span<const uint8_t> pcm) {
  size_t bytes = pcm.size() - pcm.size() % frame_bytes_;
  const size_t cap = ring_.size();
  // Only the newest capacity's worth of this push can survive.
  if (bytes > cap) {
    dropped_ += (bytes - cap) / frame_bytes_;
    pcm = pcm.subspan(bytes - cap, cap);
    bytes = cap;
  }
  if (size_ + bytes > cap) {
    size_t drop = size_ + bytes - cap;
    dropped_ += drop / frame_bytes_;
    pop(drop);
  }
  size_t tail = (head_ + size_) % cap;
  size_t first = std::min(bytes, cap - tail);
  std::memcpy(ring_.data() + tail, pcm.data(), first);
  std::memcpy(ring_.data(), pcm.data() + first, bytes - first);
  size_ += bytes;
}

std::span<const uint8_t> AudioQueue::front() const {
  size_t n = std::min(size_, ring_.size() - head_);
  return {ring_.data() + head_, n};
}

void AudioQueue::pop(size_t bytes) {
  bytes = std::min(bytes, size_);
  head_ = (head_ + bytes) % ring_.size();
  size_ -= bytes;
  if (size_ == 0) head_ = 0;
}

}  // namespace vredir
