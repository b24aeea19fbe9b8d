#include "video/video_encoder.hpp"

#include "sys/plugins.hpp"
#include "video/video_plugin.hpp"

namespace vredir {

struct VideoEncoder::Impl {
  void* video = nullptr;
  vredir_video_add_fn add = nullptr;
  vredir_video_finish_fn finish = nullptr;
  vredir_video_codec_fn codec = nullptr;
  vredir_video_free_fn free = nullptr;
  uint64_t frames = 0;
  std::string codec_name;
  ~Impl() {
    if (video && free) free(video);
  }
};

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  std::string t(suffix);
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace

VideoEncoder::VideoEncoder() : impl_(std::make_unique<Impl>()) {}
VideoEncoder::~VideoEncoder() = default;

bool VideoEncoder::is_video_path(const std::string& path) {
  return ends_with(path, ".webm") || ends_with(path, ".mp4") || ends_with(path, ".mkv");
}

uint64_t VideoEncoder::frames() const { return impl_->frames; }
const std::string& VideoEncoder::codec_name() const { return impl_->codec_name; }

Status VideoEncoder::open(const std::string& path, uint32_t width, uint32_t height) {
  void* plugin = nullptr;
  if (Status st = load_plugin(VREDIR_VIDEO_PLUGIN,
                              "video export: build with FFmpeg's libraries, apt-get install libavcodec-dev "
                              "libavformat-dev libswscale-dev libavutil-dev",
                              &plugin);
      !st)
    return st;
  auto open = reinterpret_cast<vredir_video_open_fn>(plugin_symbol(plugin, "vredir_video_open"));
  impl_->add = reinterpret_cast<vredir_video_add_fn>(plugin_symbol(plugin, "vredir_video_add"));
  impl_->finish = reinterpret_cast<vredir_video_finish_fn>(plugin_symbol(plugin, "vredir_video_finish"));
  impl_->codec = reinterpret_cast<vredir_video_codec_fn>(plugin_symbol(plugin, "vredir_video_codec"));
  impl_->free = reinterpret_cast<vredir_video_free_fn>(plugin_symbol(plugin, "vredir_video_free"));
  if (!open || !impl_->add || !impl_->finish || !impl_->codec || !impl_->free)
    return fail(kExitFailure, std::string(VREDIR_VIDEO_PLUGIN) + " lacks its functions");
  char err[512] = "";
  impl_->video = open(path.c_str(), width, height, err, sizeof err);
  if (!impl_->video) return fail(kExitFailure, err);
  impl_->codec_name = impl_->codec(impl_->video);
  return Status::ok();
}

Status VideoEncoder::add(const uint32_t* pixels, uint32_t width, uint32_t height, int64_t timestamp_us) {
  if (!impl_->video) return fail(kExitFailure, "the video is not open");
  char err[512] = "";
  if (impl_->add(impl_->video, pixels, width, height, timestamp_us, err, sizeof err) != 0)
    return fail(kExitFailure, err);
  ++impl_->frames;
  return Status::ok();
}

Status VideoEncoder::finish(int64_t end_us) {
  if (!impl_->video) return Status::ok();
  char err[512] = "";
  if (impl_->finish(impl_->video, end_us, err, sizeof err) != 0) return fail(kExitFailure, err);
  return Status::ok();
}

}  // namespace vredir
