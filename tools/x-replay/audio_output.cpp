#include "audio_output.hpp"

#include <alsa/asoundlib.h>
#include <spdlog/spdlog.h>

namespace xreplay {

namespace {

// alsa-lib prints its own diagnostics on stderr; x-replay reports in one line.
void quiet_alsa(const char*, int, const char*, int, const char*, ...) {}

constexpr unsigned kLatencyUs = 100000;

}  // namespace

AudioOutput::~AudioOutput() { close(); }

void AudioOutput::warn_once(const std::string& what) {
  if (warned_) return;
  warned_ = true;
  spdlog::warn("{}; playing without sound (choose a device with --audio-device, or --no-audio)", what);
}

bool AudioOutput::open(uint32_t rate, uint32_t channels, vredir::stream::SampleFormat format) {
  close();
  if (warned_) return false;
  snd_lib_error_set_handler(quiet_alsa);
  int rc = snd_pcm_open(&pcm_, device_.c_str(), SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
  if (rc < 0) {
    pcm_ = nullptr;
    warn_once("cannot open ALSA device '" + device_ + "': " + snd_strerror(rc));
    return false;
  }
  snd_pcm_format_t alsa_format = SND_PCM_FORMAT_S16_LE;
  switch (format) {
    case vredir::stream::SampleFormat::kS16le: alsa_format = SND_PCM_FORMAT_S16_LE; break;
  }
  rc = snd_pcm_set_params(pcm_, alsa_format, SND_PCM_ACCESS_RW_INTERLEAVED, channels, rate, 1, kLatencyUs);
  if (rc < 0) {
    snd_pcm_close(pcm_);
    pcm_ = nullptr;
    warn_once("ALSA device '" + device_ + "' cannot play " + std::to_string(rate) + " Hz, " +
              std::to_string(channels) + " channel(s): " + snd_strerror(rc));
    return false;
  }
  rate_ = rate;
  queue_ = std::make_unique<vredir::AudioQueue>(size_t(channels) * vredir::stream::sample_bytes(format), rate);  // one second
  spdlog::debug("audio: ALSA '{}' at {} Hz, {} channel(s)", device_, rate, channels);
  return true;
}

void AudioOutput::close() {
  if (pcm_) {
    snd_pcm_drop(pcm_);
    snd_pcm_close(pcm_);
    pcm_ = nullptr;
  }
  queue_.reset();
}

void AudioOutput::push(std::span<const uint8_t> pcm) {
  if (!pcm_) return;
  queue_->push(pcm);
  if (queue_->dropped_frames() > reported_drops_) {
    spdlog::debug("audio: {} sample frames dropped (the device falls behind)", queue_->dropped_frames());
    reported_drops_ = queue_->dropped_frames();
  }
}

int AudioOutput::pump() {
  if (!pcm_ || queue_->size() == 0) return -1;
  while (queue_->size() > 0) {
    std::span<const uint8_t> chunk = queue_->front();
    snd_pcm_uframes_t frames = chunk.size() / queue_->frame_bytes();
    snd_pcm_sframes_t n = snd_pcm_writei(pcm_, chunk.data(), frames);
    if (n == -EAGAIN) break;
    if (n < 0) {
      // Underrun (-EPIPE) or suspend: recover and try again later.
      if (snd_pcm_recover(pcm_, static_cast<int>(n), 1) < 0) {
        warn_once(std::string("ALSA device '") + device_ + "' failed: " + snd_strerror(static_cast<int>(n)));
        close();
        return -1;
      }
      break;
    }
    queue_->pop(size_t(n) * queue_->frame_bytes());
  }
  return queue_->size() > 0 ? 10 : -1;
}

}  // namespace xreplay
