// The output side of a capture: a writer thread with a bounded queue between
// the producer (which must keep reading its source, e.g. QEMU's VNC socket)
// and a consumer that may be slow. Chunks are whole stream frames:
//   control  never dropped (declarations, surfaces, cursor shapes, END)
//   display  at most one queued or being written; the producer asks
//            display_busy() and, while busy, merges damage into its own
//            surface and later sends one newer frame instead of many
//   audio    queued up to a limit (about one second); beyond it the oldest
//            queued audio is dropped
// So memory stays at about one frame plus one second of audio.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "wire/status.hpp"

namespace vredir {

class CaptureOutput {
 public:
  enum class Kind { kControl, kDisplay, kAudio };

  // fd stays owned by the caller. audio_limit: queued PCM bytes kept at most.
  CaptureOutput(int fd, std::string what, size_t audio_limit);
  ~CaptureOutput();
  CaptureOutput(const CaptureOutput&) = delete;
  CaptureOutput& operator=(const CaptureOutput&) = delete;

  // pcm_bytes: for audio, the PCM inside the chunk (counts against the limit).
  void push(Kind kind, std::string bytes, size_t pcm_bytes = 0);
  bool display_busy() const;
  // The writer's state: ok, reader_gone() (EPIPE), or a write error.
  Status status() const;
  // Waits up to timeout_ms for the queue to drain, then stops the writer.
  // False when data was still queued (a stalled consumer).
  bool close(int timeout_ms);

  uint64_t dropped_audio_bytes() const;
  size_t queued_bytes() const;

 private:
  struct State;  // shared with the writer thread, which may outlive this object on a stalled pipe
  std::shared_ptr<State> state_;
};

}  // namespace vredir
