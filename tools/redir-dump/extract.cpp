#include "extract.hpp"

#include <sys/stat.h>

#include "video/video_encoder.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace vredir;
using namespace vredir::stream;

namespace {

}  // namespace

Extractor::Extractor() = default;
Extractor::~Extractor() = default;

Status Extractor::open(const std::string& channel, const std::string& dir) {
  want_ = channel;
  to_ = dir;
  video_ = VideoEncoder::is_video_path(dir);
  if (video_) return Status::ok();  // the file is made at the first frame
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return fail(kExitFailure, "cannot create directory '" + dir + "': " + std::strerror(errno));
  struct stat sb {};
  if (::stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) return fail(kExitFailure, "'" + dir + "' is not a directory");
  return Status::ok();
}

Status Extractor::add(const Event& ev) {
  if (ev.type() == FrameType::kDeclare && ev.channel && id_ < 0) {
    const ChannelInfo& ch = *ev.channel;
    if (want_ != std::to_string(ch.id) && want_ != ch.name) return Status::ok();
    if (!ch.known_kind || (ch.kind_enum() != ChannelKind::kDisplay && ch.kind_enum() != ChannelKind::kAudio &&
                           ch.kind_enum() != ChannelKind::kCursor))
      return fail(kExitFailure, "channel '" + want_ + "' is a " + ch.kind_label() +
                                    " channel; --extract takes display, cursor or audio channels");
    if (video_ && ch.kind_enum() != ChannelKind::kDisplay)
      return fail(kExitUsage, "channel '" + want_ + "' is a " + ch.kind_label() +
                                  " channel; only a display channel becomes a video");
    id_ = ch.id;
    kind_ = ch.kind_enum();
    if (kind_ == ChannelKind::kAudio) {
      wav_ = std::make_unique<WavWriter>();
      return wav_->open(to_ + "/audio.wav", ch.rate, static_cast<uint16_t>(ch.channels), ch.format);
    }
    return Status::ok();
  }
  if (id_ < 0 || ev.frame.header.channel != id_ || ev.what != Event::What::kFrame) return Status::ok();
  std::string err;
  if (const auto* s = std::get_if<Surface>(&ev.payload)) {
    surface_.resize(s->width, s->height);
  } else if (const auto* r = std::get_if<Rect>(&ev.payload)) {
    if (!surface_.apply(*r, &err))
      return fail(kExitMalformed, err + " in RECT at offset " + std::to_string(ev.frame.offset));
  } else if (std::holds_alternative<FrameEnd>(ev.payload)) {
    if (surface_.width() == 0) return Status::ok();
    if (video_) {
      if (!encoder_) {
        encoder_ = std::make_unique<VideoEncoder>();
        if (Status st = encoder_->open(to_, surface_.width(), surface_.height()); !st) return st;
      }
      ++frames_;
      return encoder_->add(surface_.pixels().data(), surface_.width(), surface_.height(),
                           static_cast<int64_t>(ev.frame.header.timestamp_us));
    }
    char name[32];
    std::snprintf(name, sizeof(name), "/frame-%06llu.png", static_cast<unsigned long long>(++frames_));
    return write_png(to_ + name, surface_.width(), surface_.height(), surface_.pixels().data());
  } else if (const auto* c = std::get_if<CursorShape>(&ev.payload)) {
    // One PNG with alpha per shape; the hotspot is in the name.
    std::vector<uint32_t> argb(size_t(c->w) * c->h);
    for (size_t i = 0; i < argb.size() && i * 4 + 3 < c->pixels.size(); ++i)
      argb[i] = uint32_t(c->pixels[i * 4]) | uint32_t(c->pixels[i * 4 + 1]) << 8 |
                uint32_t(c->pixels[i * 4 + 2]) << 16 | uint32_t(c->pixels[i * 4 + 3]) << 24;
    char name[64];
    std::snprintf(name, sizeof(name), "/cursor-%06llu-hot-%u-%u.png", static_cast<unsigned long long>(++frames_),
                  c->hot_x, c->hot_y);
    return write_png_alpha(to_ + name, c->w, c->h, argb.data());
  } else if (const auto* a = std::get_if<AudioData>(&ev.payload)) {
    audio_bytes_ += a->pcm.size();
    return wav_->write(a->pcm.data(), a->pcm.size());
  }
  return Status::ok();
}

Status Extractor::finish(uint64_t end_us) {
  if (id_ < 0) return fail(kExitNotFound, "no channel '" + want_ + "' in the stream (see: redir-dump --stats)");
  if (wav_) return wav_->close();
  if (video_) {
    if (!encoder_) return fail(kExitFailure, "channel '" + want_ + "' has no complete frame: no video written");
    return encoder_->finish(static_cast<int64_t>(end_us));
  }
  return Status::ok();
}

std::string Extractor::summary() const {
  if (kind_ == ChannelKind::kAudio) return std::to_string(audio_bytes_) + " bytes of audio";
  if (kind_ == ChannelKind::kCursor) return std::to_string(frames_) + " cursor shape(s)";
  if (encoder_) return std::to_string(frames_) + " frame(s) as " + encoder_->codec_name() + " video";
  return std::to_string(frames_) + " frame(s)";
}
