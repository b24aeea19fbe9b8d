// vredir-video-ffmpeg.so: a display channel's frames as a video file through
// FFmpeg's libraries (libavcodec, libavformat, libswscale), loaded by
// VideoEncoder (video_encoder.hpp says what it writes) only when a video is
// asked for: FFmpeg pulls in over a hundred shared libraries.
#include "video/video_plugin.hpp"
#include "wire/status.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cstdio>
#include <vector>

namespace vredir {

namespace {

std::string av_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

bool ends_with(const std::string& s, const char* suffix) {
  std::string t(suffix);
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace

struct Video {
  std::string path;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* st = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* pkt = nullptr;
  AVPacket* held = nullptr;  // the newest packet, written once the next one gives its duration
  bool have_held = false;
  uint32_t width = 0, height = 0;  // of the source's first frame
  int64_t first_us = -1;
  int64_t last_pts = -1;
  uint64_t frames = 0;
  std::string codec;
  bool opened = false, header = false;

  ~Video() {
    if (sws) sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    av_packet_free(&held);
    avcodec_free_context(&enc);
    if (fmt) {
      if (fmt->pb && !(fmt->oformat->flags & AVFMT_NOFILE)) avio_closep(&fmt->pb);
      avformat_free_context(fmt);
    }
  }

  Status write_held(int64_t next_pts) {
    if (!have_held) return Status::ok();
    held->duration = std::max<int64_t>(1, next_pts - held->pts);
    av_packet_rescale_ts(held, enc->time_base, st->time_base);
    held->stream_index = st->index;
    int r = av_interleaved_write_frame(fmt, held);
    have_held = false;
    if (r < 0) return fail(kExitFailure, "cannot write video to '" + path + "': " + av_text(r));
    return Status::ok();
  }

  // Takes what the encoder has ready.
  Status drain() {
    for (;;) {
      int r = avcodec_receive_packet(enc, pkt);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return Status::ok();
      if (r < 0) return fail(kExitFailure, "the " + codec + " encoder failed: " + av_text(r));
      if (Status s = write_held(pkt->pts); !s) return s;
      av_packet_unref(held);
      av_packet_move_ref(held, pkt);
      have_held = true;
    }
  }
};

Status video_open(Video& m, const std::string& path, uint32_t width, uint32_t height) {
  av_log_set_level(AV_LOG_ERROR);  // the encoders' banners are not for our users
  m.path = path;
  m.width = width;
  m.height = height;
  const bool mp4 = ends_with(path, ".mp4");
  std::vector<const char*> names = mp4 ? std::vector<const char*>{"libx264"}
                                       : std::vector<const char*>{"libvpx-vp9", "libvpx"};
  const AVCodec* codec = nullptr;
  for (const char* n : names)
    if ((codec = avcodec_find_encoder_by_name(n))) break;
  if (!codec)
    return fail(kExitFailure, std::string("this FFmpeg has no ") + (mp4 ? "H.264 (libx264)" : "VP9 or VP8 (libvpx)") +
                                  " encoder (Debian's libavcodec59 has both)");
  m.codec = codec->name;
  int r = avformat_alloc_output_context2(&m.fmt, nullptr, mp4 ? "mp4" : (ends_with(path, ".mkv") ? "matroska" : "webm"),
                                         path.c_str());
  if (r < 0 || !m.fmt) return fail(kExitFailure, "cannot set up '" + path + "': " + av_text(r));
  m.enc = avcodec_alloc_context3(codec);
  m.st = avformat_new_stream(m.fmt, nullptr);
  m.frame = av_frame_alloc();
  m.pkt = av_packet_alloc();
  m.held = av_packet_alloc();
  if (!m.enc || !m.st || !m.frame || !m.pkt || !m.held) return fail(kExitFailure, "out of memory for the video");
  m.enc->width = static_cast<int>((width + 1) & ~1u);
  m.enc->height = static_cast<int>((height + 1) & ~1u);
  m.enc->pix_fmt = AV_PIX_FMT_YUV420P;
  m.enc->time_base = AVRational{1, 1000};
  m.enc->framerate = AVRational{0, 1};  // variable
  m.enc->gop_size = 250;
  m.enc->max_b_frames = 0;
  m.enc->thread_count = 0;
  if (m.fmt->oformat->flags & AVFMT_GLOBALHEADER) m.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* opts = nullptr;
  if (m.codec == "libx264") {
    av_dict_set(&opts, "preset", "veryfast", 0);
    av_dict_set(&opts, "crf", "23", 0);
    av_dict_set(&opts, "tune", "zerolatency", 0);  // no frame delay, packets in order
  } else {
    // libvpx: realtime, one pass, no lag (packets in order), quality-bound.
    av_dict_set(&opts, "deadline", "realtime", 0);
    av_dict_set(&opts, "cpu-used", m.codec == "libvpx-vp9" ? "8" : "16", 0);
    av_dict_set(&opts, "lag-in-frames", "0", 0);
    av_dict_set(&opts, "crf", "30", 0);
    av_dict_set(&opts, "b", "0", 0);
    if (m.codec == "libvpx-vp9") {
      av_dict_set(&opts, "row-mt", "1", 0);
      av_dict_set(&opts, "tune-content", "screen", 0);
    }
  }
  r = avcodec_open2(m.enc, codec, &opts);
  av_dict_free(&opts);
  if (r < 0) return fail(kExitFailure, "cannot start the " + m.codec + " encoder: " + av_text(r));
  if ((r = avcodec_parameters_from_context(m.st->codecpar, m.enc)) < 0)
    return fail(kExitFailure, "cannot set up the video stream: " + av_text(r));
  m.st->time_base = m.enc->time_base;
  if (!(m.fmt->oformat->flags & AVFMT_NOFILE) && (r = avio_open(&m.fmt->pb, path.c_str(), AVIO_FLAG_WRITE)) < 0)
    return fail(kExitFailure, "cannot write '" + path + "': " + av_text(r));
  if ((r = avformat_write_header(m.fmt, nullptr)) < 0)
    return fail(kExitFailure, "cannot write the header of '" + path + "': " + av_text(r));
  m.header = true;
  m.frame->format = m.enc->pix_fmt;
  m.frame->width = m.enc->width;
  m.frame->height = m.enc->height;
  if ((r = av_frame_get_buffer(m.frame, 0)) < 0) return fail(kExitFailure, "out of memory for the video");
  m.opened = true;
  return Status::ok();
}

Status video_add(Video& m, const uint32_t* pixels, uint32_t width, uint32_t height, int64_t timestamp_us) {
  if (!m.opened) return fail(kExitFailure, "the video is not open");
  if (m.first_us < 0) m.first_us = timestamp_us;
  int64_t pts = (timestamp_us - m.first_us) / 1000;
  if (pts <= m.last_pts) pts = m.last_pts + 1;  // two frames in one millisecond
  int r = av_frame_make_writable(m.frame);
  if (r < 0) return fail(kExitFailure, "out of memory for the video");
  // Black first when the frame does not cover the picture (odd sizes).
  if (width != static_cast<uint32_t>(m.enc->width) || height != static_cast<uint32_t>(m.enc->height)) {
    for (int p = 0; p < 3; ++p) {
      int h = p ? m.enc->height / 2 : m.enc->height;
      std::fill_n(m.frame->data[p], size_t(m.frame->linesize[p]) * h, uint8_t(p ? 128 : 16));
    }
  }
  // The picture keeps the first frame's size; another size is scaled to it.
  m.sws = sws_getCachedContext(m.sws, static_cast<int>(width), static_cast<int>(height), AV_PIX_FMT_BGR0,
                               static_cast<int>(m.width), static_cast<int>(m.height), AV_PIX_FMT_YUV420P,
                               SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (!m.sws) return fail(kExitFailure, "cannot convert the frames' pixels");
  const uint8_t* src[1] = {reinterpret_cast<const uint8_t*>(pixels)};
  int stride[1] = {static_cast<int>(width * 4)};
  sws_scale(m.sws, src, stride, 0, static_cast<int>(height), m.frame->data, m.frame->linesize);
  m.frame->pts = pts;
  m.last_pts = pts;
  if ((r = avcodec_send_frame(m.enc, m.frame)) < 0)
    return fail(kExitFailure, "the " + m.codec + " encoder refused a frame: " + av_text(r));
  ++m.frames;
  return m.drain();
}

Status video_finish(Video& m, int64_t end_us) {
  if (!m.opened) return Status::ok();
  m.opened = false;
  int r = avcodec_send_frame(m.enc, nullptr);
  if (r < 0 && r != AVERROR_EOF) return fail(kExitFailure, "cannot finish the video: " + av_text(r));
  if (Status s = m.drain(); !s) return s;
  int64_t end = m.last_pts + 40;  // one frame at 25 fps
  if (end_us >= 0 && m.first_us >= 0) end = std::max<int64_t>(m.last_pts + 1, (end_us - m.first_us) / 1000);
  if (Status s = m.write_held(end); !s) return s;
  if ((r = av_write_trailer(m.fmt)) < 0) return fail(kExitFailure, "cannot finish '" + m.path + "': " + av_text(r));
  return Status::ok();
}

}  // namespace vredir

namespace {

void put_error(const vredir::Status& st, char* err, size_t n) {
  if (err && n) std::snprintf(err, n, "%s", st.message().c_str());
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* vredir_video_open(const char* path, uint32_t width, uint32_t height,
                                                               char* err, size_t err_size) {
  auto* v = new vredir::Video();
  if (vredir::Status st = vredir::video_open(*v, path, width, height); !st) {
    put_error(st, err, err_size);
    delete v;
    return nullptr;
  }
  return v;
}

__attribute__((visibility("default"))) int vredir_video_add(void* video, const uint32_t* pixels, uint32_t width,
                                                            uint32_t height, int64_t timestamp_us, char* err,
                                                            size_t err_size) {
  vredir::Status st = vredir::video_add(*static_cast<vredir::Video*>(video), pixels, width, height, timestamp_us);
  put_error(st, err, err_size);
  return st ? 0 : -1;
}

__attribute__((visibility("default"))) int vredir_video_finish(void* video, int64_t end_us, char* err, size_t err_size) {
  vredir::Status st = vredir::video_finish(*static_cast<vredir::Video*>(video), end_us);
  put_error(st, err, err_size);
  return st ? 0 : -1;
}

__attribute__((visibility("default"))) const char* vredir_video_codec(void* video) {
  return static_cast<vredir::Video*>(video)->codec.c_str();
}

__attribute__((visibility("default"))) void vredir_video_free(void* video) { delete static_cast<vredir::Video*>(video); }

}  // extern "C"
