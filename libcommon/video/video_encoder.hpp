// A display channel as a video file, through FFmpeg's libraries (Debian's
// libavcodec, libavformat, libswscale): WebM with VP9 (VP8 when this
// FFmpeg has no VP9 encoder) or MP4 with H.264, chosen by the file's
// suffix. Frames keep their real timing: each one is stamped with its
// stream timestamp (millisecond time base, variable frame rate), so a
// recording that sat still for a minute plays for a minute and costs almost
// nothing. The size of the first frame is kept; later frames of another
// size are scaled to it. Both codecs need an even size, so an odd width or
// height gets one black column or row.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "wire/status.hpp"

namespace vredir {

class VideoEncoder {
 public:
  VideoEncoder();
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // Whether path asks for a video (.webm, .mp4 or .mkv).
  static bool is_video_path(const std::string& path);

  // Creates the file; the codec and container follow the suffix.
  Status open(const std::string& path, uint32_t width, uint32_t height);
  // One frame (0x00RRGGBB, width x height) shown from timestamp_us on.
  Status add(const uint32_t* pixels, uint32_t width, uint32_t height, int64_t timestamp_us);
  // The last frame stays until end_us (the stream's end); then the file is
  // finished. Without a later end the last frame lasts one frame interval.
  Status finish(int64_t end_us = -1);

  uint64_t frames() const;
  const std::string& codec_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vredir
