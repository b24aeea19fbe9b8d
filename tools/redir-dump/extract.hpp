// redir-dump --extract: a display channel to one PNG per frame-end or to a
// video file (WebM or MP4, with the frames' real timing, when built with
// VREDIR_VIDEO), a cursor channel to PNG shapes, an audio channel to a WAV
// file.
#pragma once

#include <memory>
#include <string>

#include "media/display_surface.hpp"
#include "media/image_files.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir {
class VideoEncoder;
}

class Extractor {
 public:
  Extractor();
  ~Extractor();
  vredir::Status open(const std::string& channel, const std::string& to);
  vredir::Status add(const vredir::stream::Event& ev);
  // end_us: the stream's last timestamp (a video's last frame lasts until it).
  vredir::Status finish(uint64_t end_us);
  std::string summary() const;
  uint64_t frames() const { return frames_; }

 private:
  std::string want_;
  std::string to_;
  bool video_ = false;
  int id_ = -1;  // the channel once its declaration is seen
  vredir::stream::ChannelKind kind_{};
  vredir::stream::DisplaySurface surface_;
  std::unique_ptr<vredir::WavWriter> wav_;
  std::unique_ptr<vredir::VideoEncoder> encoder_;
  uint64_t frames_ = 0;
  uint64_t audio_bytes_ = 0;
};
