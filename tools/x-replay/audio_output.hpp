// Plays one audio channel through ALSA without ever blocking the viewer: the
// device is opened non-blocking and fed from a bounded queue (about one
// second; the oldest audio is dropped when it overflows). A device that
// cannot be opened is reported once and the viewer goes on silent.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "audio_queue.hpp"
#include "wire/stream_format.hpp"

typedef struct _snd_pcm snd_pcm_t;

namespace xreplay {

class AudioOutput {
 public:
  explicit AudioOutput(std::string device) : device_(std::move(device)) {}
  ~AudioOutput();
  AudioOutput(const AudioOutput&) = delete;
  AudioOutput& operator=(const AudioOutput&) = delete;

  // Opens the device for 16-bit little-endian PCM; false (after one warning)
  // if it cannot be used.
  bool open(uint32_t rate, uint32_t channels, vredir::stream::SampleFormat format);
  void close();
  bool active() const { return pcm_ != nullptr; }

  void push(std::span<const uint8_t> pcm);
  // Hands the device what it takes now. Returns how many milliseconds until
  // it should be called again, or -1 when nothing is queued.
  int pump();

 private:
  void warn_once(const std::string& what);

  std::string device_;
  snd_pcm_t* pcm_ = nullptr;
  std::unique_ptr<vredir::AudioQueue> queue_;
  uint32_t rate_ = 0;
  bool warned_ = false;
  uint64_t reported_drops_ = 0;
};

}  // namespace xreplay
