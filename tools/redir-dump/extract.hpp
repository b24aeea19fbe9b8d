// redir-dump --extract: a display channel to one PNG per frame-end, an audio
// channel to a WAV file.
#pragma once

#include <memory>
#include <string>

#include "media/display_surface.hpp"
#include "media/image_files.hpp"
#include "wire/stream_decoder.hpp"

class Extractor {
 public:
  vredir::Status open(const std::string& channel, const std::string& dir);
  vredir::Status add(const vredir::stream::Event& ev);
  vredir::Status finish();
  std::string summary() const;

 private:
  std::string want_;
  std::string dir_;
  int id_ = -1;  // the channel once its declaration is seen
  vredir::stream::ChannelKind kind_{};
  vredir::stream::DisplaySurface surface_;
  std::unique_ptr<vredir::WavWriter> wav_;
  uint64_t frames_ = 0;
  uint64_t audio_bytes_ = 0;
};
