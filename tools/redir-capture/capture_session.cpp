#include "capture_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "capture_output.hpp"
#include "sys/cli.hpp"
#include "virt/dbus_display.hpp"
#include "virt/domain_devices.hpp"
#include "virt/hypervisor.hpp"
#include "media/image_files.hpp"
#include "rfb/rfb_input.hpp"
#include "sys/stdio_files.hpp"
#include "wire/stream_writer.hpp"
#include "virt/vnc_session.hpp"

namespace vredir {

namespace {

using Clock = std::chrono::steady_clock;
using rfb::PixelRect;

constexpr uint16_t kDisplayChannel = 1;
constexpr uint16_t kCursorChannel = 2;
constexpr uint16_t kAudioChannel = 3;
constexpr uint32_t kAudioRate = 48000;
constexpr uint8_t kAudioChannels = 2;
constexpr stream::SampleFormat kAudioFormat = stream::SampleFormat::kS16le;  // what QEMU is asked for
const size_t kAudioFrameBytes = size_t(kAudioChannels) * stream::sample_bytes(kAudioFormat);
const size_t kAudioBytesPerSecond = size_t(kAudioRate) * kAudioFrameBytes;
constexpr size_t kMaxAudioFrameBytes = 65536;
constexpr size_t kMaxRectBytes = 4u << 20;  // raw bytes per RECT: well under the 16 MiB payload cap
constexpr int kSetupMs = 15000;
constexpr int kDrainMs = 5000;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Damage waiting to be sent: a few rects, collapsed to their bounding box
// when they get many (sending a little more is cheaper than tracking it).
class Damage {
 public:
  void add(const PixelRect& r) {
    if (r.w == 0 || r.h == 0) return;
    for (const PixelRect& o : rects_)
      if (contains(o, r)) return;
    std::erase_if(rects_, [&](const PixelRect& o) { return contains(r, o); });
    rects_.push_back(r);
    if (rects_.size() > 16) {
      PixelRect box = rects_[0];
      for (const PixelRect& o : rects_) box = unite(box, o);
      rects_.assign(1, box);
    }
  }
  void all(uint32_t w, uint32_t h) { rects_.assign(1, PixelRect{0, 0, w, h}); }
  bool empty() const { return rects_.empty(); }
  void clear() { rects_.clear(); }
  const std::vector<PixelRect>& rects() const { return rects_; }

 private:
  static bool contains(const PixelRect& a, const PixelRect& b) {
    return b.x >= a.x && b.y >= a.y && uint64_t(b.x) + b.w <= uint64_t(a.x) + a.w &&
           uint64_t(b.y) + b.h <= uint64_t(a.y) + a.h;
  }
  static PixelRect unite(const PixelRect& a, const PixelRect& b) {
    uint32_t x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
    uint32_t x1 = std::max(a.x + a.w, b.x + b.w), y1 = std::max(a.y + a.h, b.y + b.h);
    return PixelRect{x0, y0, x1 - x0, y1 - y0};
  }
  std::vector<PixelRect> rects_;
};

// Which pixels the server has sent since the last (re)size: the first frame
// goes out only once the whole screen is known.
class Coverage {
 public:
  void reset(uint32_t w, uint32_t h) {
    w_ = w;
    h_ = h;
    rows_.assign(h, {});
    complete_ = false;
  }
  void add(const PixelRect& r) {
    if (complete_) return;
    for (uint32_t y = r.y; y < r.y + r.h && y < h_; ++y) {
      auto& spans = rows_[y];
      spans.push_back({r.x, r.x + r.w});
      std::sort(spans.begin(), spans.end());
      std::vector<std::pair<uint32_t, uint32_t>> merged;
      for (auto s : spans) {
        if (!merged.empty() && s.first <= merged.back().second)
          merged.back().second = std::max(merged.back().second, s.second);
        else
          merged.push_back(s);
      }
      spans = std::move(merged);
    }
    complete_ = std::all_of(rows_.begin(), rows_.end(), [this](const auto& spans) {
      return spans.size() == 1 && spans[0].first == 0 && spans[0].second >= w_;
    });
    if (complete_) rows_.clear();
  }
  bool complete() const { return complete_; }

 private:
  uint32_t w_ = 0, h_ = 0;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> rows_;
  bool complete_ = false;
};

// Writes the damaged parts of the framebuffer as RECTs in the chosen
// encoding; zlib rects are packed at `level`.
Status write_rects(stream::StreamWriter& w, const rfb::Framebuffer& fb, const PixelRect& whole,
                   StreamRectEncoding enc, int level) {
  const uint32_t band = std::max<uint32_t>(1, static_cast<uint32_t>(kMaxRectBytes / (uint64_t(whole.w) * 4)));
  std::string raw;
  for (uint32_t y0 = whole.y; y0 < whole.y + whole.h; y0 += band) {
    PixelRect r{whole.x, y0, whole.w, std::min(band, whole.y + whole.h - y0)};
    raw.resize(size_t(r.w) * r.h * 4);
    bool uniform = true;
    const uint32_t first = fb.pixels[size_t(r.y) * fb.width + r.x];
    char* out = raw.data();
    for (uint32_t y = 0; y < r.h; ++y) {
      const uint32_t* row = &fb.pixels[size_t(r.y + y) * fb.width + r.x];
      for (uint32_t x = 0; x < r.w; ++x) {
        uint32_t v = row[x];
        uniform &= v == first;
        out[0] = char(v & 0xFF);
        out[1] = char((v >> 8) & 0xFF);
        out[2] = char((v >> 16) & 0xFF);
        out[3] = 0;
        out += 4;
      }
    }
    stream::Rect sr;
    sr.x = r.x;
    sr.y = r.y;
    sr.w = r.w;
    sr.h = r.h;
    std::string packed;
    if (enc != StreamRectEncoding::kRaw && uniform) {
      sr.encoding = stream::RectEncoding::kSolid;
      sr.colour = first;
    } else if (enc == StreamRectEncoding::kZlib || (enc == StreamRectEncoding::kAuto && uint64_t(r.w) * r.h >= 1024)) {
      packed = stream::zlib_compress(raw, level);
      if (enc == StreamRectEncoding::kZlib || packed.size() < raw.size() - raw.size() / 8) {
        sr.encoding = stream::RectEncoding::kZlib;
        sr.data = std::span(reinterpret_cast<const uint8_t*>(packed.data()), packed.size());
      }
    }
    if (sr.encoding == stream::RectEncoding::kRaw)
      sr.data = std::span(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
    if (Status st = w.rect(kDisplayChannel, sr); !st) return st;
  }
  return Status::ok();
}

std::string cursor_payload(const rfb::CursorImage& c) {
  std::string p;
  stream::CursorShape s;
  s.w = c.width;
  s.h = c.height;
  s.hot_x = c.hot_x;
  s.hot_y = c.hot_y;
  std::string px;
  px.reserve(c.argb.size() * 4);
  for (uint32_t v : c.argb) put_u32le(px, v);
  s.pixels = std::span(reinterpret_cast<const uint8_t*>(px.data()), px.size());
  stream::encode_cursor_shape(s, p);
  return p;
}

class Capture {
 public:
  explicit Capture(const CaptureOptions& o) : o_(o) {}
  Status run();

 private:
  Status open_source(int* fd);
  Status begin_stream();
  Status handle_events(VncEvents& ev);
  Status handle_cursor_moves();
  Status emit_frame();
  Status finish(Status result, stream::EndReason reason, const std::string& message);
  Status write_snapshot();
  Status check_source();
  void flush(CaptureOutput::Kind kind, size_t pcm = 0) {
    if (writer_) (void)writer_->flush();  // the pending DEFLATE piece, with --compress
    if (out_) out_->push(kind, std::move(batch_), pcm);
    batch_.clear();
  }

  const CaptureOptions& o_;
  std::string label_;  // "domain 'x'" or "the VNC server at ADDR"
  Connection conn_;
  Domain domain_;
  bool have_domain_ = false;
  bool sound_ = true;
  std::unique_ptr<VncSession> vnc_;
  std::unique_ptr<DbusCursorWatch> cursor_watch_;  // cursor positions, when the domain has a D-Bus display

  OutputFile file_;
  std::unique_ptr<CaptureOutput> out_;
  std::string batch_;
  std::unique_ptr<stream::StreamWriter> writer_;
  bool audio_declared_ = false;

  Damage damage_;
  Coverage coverage_;
  bool have_full_ = false;
  uint64_t seq_ = 0;
  Clock::time_point start_, last_change_, next_frame_;
  std::optional<NeedleMatcher> needle_;
  bool match_dirty_ = true;
  Clock::time_point next_match_;
  MatchResult last_match_;
};

Status Capture::open_source(int* fd) {
  if (!o_.vnc_address.empty()) {
    label_ = "the VNC server at " + o_.vnc_address;
    return connect_vnc_address(o_.vnc_address, fd);
  }
  if (Status st = conn_.open(o_.uri); !st) return st;
  if (Status st = conn_.lookup(o_.domain_ref, &domain_); !st) return st;
  have_domain_ = true;
  label_ = "domain '" + domain_.name() + "'";
  std::string xml;
  if (Status st = domain_.xml(&xml); !st) return st;
  DomainDevices devices;
  if (Status st = parse_domain_devices(xml, &devices); !st) return st;
  if (Status st = open_domain_display(domain_, devices, o_.display, fd); !st) return st;
  if (o_.cursor && o_.stream) {
    std::string why;
    if (Status st = open_domain_cursor_watch(domain_, devices, o_.display, &cursor_watch_, &why); !st)
      spdlog::warn("{}: the cursor channel has shapes but no positions: {}", label_, st.message());
    else if (!cursor_watch_)
      spdlog::debug("{}: the cursor channel has shapes but no positions: {}", label_, why);
  }
  sound_ = !devices.sound.empty();
  if (!sound_ && o_.audio && o_.stream)
    spdlog::info("domain '{}' has no sound device: the stream has no audio channel", domain_.name());
  return Status::ok();
}

Status Capture::begin_stream() {
  if (!o_.stream) return Status::ok();
  if (Status st = file_.open(o_.output); !st) return st;
  out_ = std::make_unique<CaptureOutput>(file_.fd(), file_.path(), kAudioBytesPerSecond);
  writer_ = std::make_unique<stream::StreamWriter>([this](std::string_view b) {
    batch_.append(b);
    return Status::ok();
  });
  stream::Params hello;
  hello["source"] = have_domain_ ? domain_.name() : o_.vnc_address;
  if (have_domain_) hello["uri"] = conn_.uri();
  if (Status st = writer_->begin("redir-capture", hello); !st) return st;
  if (o_.compress > 0) writer_->set_compression(o_.compress);
  const rfb::Framebuffer& fb = vnc_->framebuffer();
  stream::Params dp{{"width", std::to_string(fb.width)},
                    {"height", std::to_string(fb.height)},
                    {"head", std::to_string(o_.display)}};
  if (Status st = writer_->declare(kDisplayChannel, stream::ChannelKind::kDisplay, "display", dp); !st) return st;
  if (o_.cursor) {
    stream::Params cp{{"display", std::to_string(kDisplayChannel)}};
    if (Status st = writer_->declare(kCursorChannel, stream::ChannelKind::kCursor, "cursor", cp); !st) return st;
  }
  if (Status st = writer_->surface(kDisplayChannel, fb.width, fb.height); !st) return st;
  flush(CaptureOutput::Kind::kControl);
  return Status::ok();
}

Status Capture::handle_events(VncEvents& ev) {
  const rfb::Framebuffer& fb = vnc_->framebuffer();
  if (ev.resized) {
    spdlog::debug("the screen is now {}x{}", fb.width, fb.height);
    coverage_.reset(fb.width, fb.height);
    have_full_ = false;
    damage_.all(fb.width, fb.height);
    if (writer_) {
      if (Status st = writer_->surface(kDisplayChannel, fb.width, fb.height); !st) return st;
      flush(CaptureOutput::Kind::kControl);
    }
  }
  for (const PixelRect& r : ev.rects) {
    damage_.add(r);
    coverage_.add(r);
  }
  if (!have_full_ && coverage_.complete()) {
    have_full_ = true;
    damage_.all(fb.width, fb.height);
    last_change_ = Clock::now();
    match_dirty_ = true;
  }
  if (ev.changed) {
    last_change_ = Clock::now();
    match_dirty_ = true;
  }
  if (writer_ && o_.cursor && ev.cursor) {
    if (Status st = writer_->frame(kCursorChannel, stream::FrameType::kCursorShape, cursor_payload(*ev.cursor)); !st)
      return st;
    flush(CaptureOutput::Kind::kControl);
  }
  if (writer_ && ev.audio_ack && !audio_declared_) {
    audio_declared_ = true;
    stream::Params ap{{"rate", std::to_string(kAudioRate)},
                      {"channels", std::to_string(kAudioChannels)},
                      {"format", stream::sample_format_name(kAudioFormat)}};
    if (Status st = writer_->declare(kAudioChannel, stream::ChannelKind::kAudio, "audio", ap); !st) return st;
    flush(CaptureOutput::Kind::kControl);
  }
  if (writer_ && audio_declared_ && !ev.audio.empty()) {
    std::string_view pcm = ev.audio;
    const size_t frame = kAudioFrameBytes;
    while (!pcm.empty()) {
      size_t n = std::min(pcm.size(), kMaxAudioFrameBytes / frame * frame);
      if (Status st = writer_->frame(kAudioChannel, stream::FrameType::kAudioData, pcm.substr(0, n)); !st) return st;
      flush(CaptureOutput::Kind::kAudio, n);
      pcm.remove_prefix(n);
    }
  }
  return Status::ok();
}

Status Capture::handle_cursor_moves() {
  DbusCursorEvents ev = cursor_watch_->take();
  if (writer_) {
    for (const DbusCursorPos& p : ev.positions) {
      stream::CursorPos cp;
      cp.x = p.x;
      cp.y = p.y;
      cp.visible = p.visible;
      std::string payload;
      stream::encode_cursor_pos(cp, payload);
      if (Status st = writer_->frame(kCursorChannel, stream::FrameType::kCursorPos, payload); !st) return st;
    }
    if (!ev.positions.empty()) flush(CaptureOutput::Kind::kControl);
  }
  if (ev.closed) {
    spdlog::debug("{}: the D-Bus display closed; no more cursor positions", label_);
    cursor_watch_.reset();
  }
  return Status::ok();
}

Status Capture::emit_frame() {
  const rfb::Framebuffer& fb = vnc_->framebuffer();
  for (const PixelRect& r : damage_.rects()) {
    PixelRect c = r;
    if (c.x >= fb.width || c.y >= fb.height) continue;
    c.w = std::min(c.w, fb.width - c.x);
    c.h = std::min(c.h, fb.height - c.y);
    if (Status st = write_rects(*writer_, fb, c, o_.encoding, o_.compress > 0 ? o_.compress : 1); !st) return st;
  }
  damage_.clear();
  if (Status st = writer_->frame_end(kDisplayChannel, ++seq_); !st) return st;
  flush(CaptureOutput::Kind::kDisplay);
  return Status::ok();
}

Status Capture::write_snapshot() {
  if (o_.snapshot.empty()) return Status::ok();
  const rfb::Framebuffer& fb = vnc_->framebuffer();
  if (fb.pixels.empty()) return Status::ok();
  return write_png(o_.snapshot, fb.width, fb.height, fb.pixels.data());
}

Status Capture::finish(Status result, stream::EndReason reason, const std::string& message) {
  if (Status st = write_snapshot(); !st && result.is_ok()) result = st;
  if (writer_ && out_ && out_->status()) {
    // What the consumer has not seen yet goes out with the END.
    if (have_full_ && !damage_.empty()) (void)emit_frame();
    (void)writer_->end(reason, message);
    flush(CaptureOutput::Kind::kControl);
    if (!out_->close(kDrainMs)) spdlog::warn("the stream consumer did not take the last frames in time");
  }
  return result;
}

Status Capture::check_source() {
  if (!have_domain_) return Status::ok();
  DomainState state;
  int reason = 0;
  if (Status st = domain_.state(&state, &reason); !st) {
    if (virConnectIsAlive(conn_.get()) != 1)
      return fail(kExitPeerLost, "lost the connection to libvirt at " + conn_.uri() + " (libvirtd restarted?)");
    return fail(kExitPeerLost, "cannot read the state of " + label_ + ": " + st.message());
  }
  if (state != DomainState::kRunning && state != DomainState::kPaused)
    return fail(kExitPeerLost, label_ + " stopped running (it is " + state_name(state) + ")");
  return Status::ok();
}

Status Capture::run() {
  if (!o_.until_match.empty()) {
    Image img;
    if (Status st = read_png(o_.until_match, &img); !st) return st;
    if (img.width == 0 || img.height == 0) return fail(kExitFailure, "needle " + o_.until_match + " is empty");
    needle_.emplace(img);
  }
  int fd = -1;
  if (Status st = open_source(&fd); !st) return st;
  vnc_ = std::make_unique<VncSession>(fd);
  VncSessionOptions vo;
  vo.audio = o_.audio && sound_ && o_.stream;
  vo.cursor = o_.cursor && o_.stream;
  vo.audio_rate = kAudioRate;
  vo.audio_channels = kAudioChannels;
  if (const char* e = std::getenv("VREDIR_RFB_ENCODING")) {
    std::string_view v(e);
    if (v == "zrle") vo.encoding = rfb::kEncodingZrle;
    if (v == "zlib") vo.encoding = rfb::kEncodingZlib;
  }
  if (Status st = vnc_->start(vo, kSetupMs); !st) return fail(st.code(), label_ + ": " + st.message());
  spdlog::debug("VNC server '{}' shows {}x{}", vnc_->server().name, vnc_->server().width, vnc_->server().height);
  if (needle_ && o_.region.w) {
    const rfb::Framebuffer& fb = vnc_->framebuffer();
    if (uint64_t(o_.region.x) + o_.region.w > fb.width || uint64_t(o_.region.y) + o_.region.h > fb.height)
      return fail(kExitUsage, "--region lies outside the " + std::to_string(fb.width) + "x" +
                                  std::to_string(fb.height) + " screen");
    if (o_.region.w < needle_->width() || o_.region.h < needle_->height())
      return fail(kExitUsage, "--region is smaller than the needle");
  }
  coverage_.reset(vnc_->framebuffer().width, vnc_->framebuffer().height);
  if (Status st = begin_stream(); !st) return st;

  start_ = last_change_ = next_frame_ = next_match_ = Clock::now();
  const auto frame_interval = std::chrono::microseconds(static_cast<int64_t>(1e6 / std::max(0.1, o_.fps)));
  const bool waiting = o_.until_stable_s >= 0 || needle_.has_value();
  const bool snapshot_only = !o_.snapshot.empty() && !waiting;
  const double timeout = o_.timeout_s > 0 ? o_.timeout_s : (snapshot_only ? kSetupMs / 1000.0 : 0);
  auto next_check = start_ + std::chrono::seconds(1);
  auto next_note = start_ + std::chrono::seconds(10);

  for (;;) {
    if (interrupted()) return finish(fail(kExitInterrupted, ""), stream::EndReason::kInterrupted, "interrupted");
    int wait_ms = 100;
    if (writer_ && have_full_ && !damage_.empty()) {
      // A frame is due: wake for it, or poll the writer while it is busy.
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(next_frame_ - Clock::now()).count();
      wait_ms = out_->display_busy() ? 10 : static_cast<int>(std::clamp<long long>(until, 1, 100));
    }
    VncEvents ev;
    Status st = vnc_->pump(wait_ms, &ev, cursor_watch_ ? cursor_watch_->wake_fd() : -1);
    if (!st) {
      if (st.code() == kExitPeerLost) {
        std::string why = label_ + ": the VNC connection closed";
        if (Status src = check_source(); !src) why = src.message();
        return finish(fail(kExitPeerLost, why), stream::EndReason::kSourceGone, why);
      }
      return finish(fail(st.code(), label_ + ": " + st.message()), stream::EndReason::kError, st.message());
    }
    if (Status h = handle_events(ev); !h) return finish(h, stream::EndReason::kError, h.message());
    if (cursor_watch_)
      if (Status h = handle_cursor_moves(); !h) return finish(h, stream::EndReason::kError, h.message());
    const auto now = Clock::now();

    if (snapshot_only && have_full_) {
      if (Status w = write_snapshot(); !w) return w;
      spdlog::debug("wrote {}", o_.snapshot);
      return writer_ ? finish(Status::ok(), stream::EndReason::kNormal, "") : Status::ok();
    }
    if (writer_ && have_full_ && !damage_.empty() && now >= next_frame_ && !out_->display_busy()) {
      if (Status e = emit_frame(); !e) return finish(e, stream::EndReason::kError, e.message());
      next_frame_ = now + frame_interval;
      if (o_.frames && seq_ >= o_.frames) return finish(Status::ok(), stream::EndReason::kNormal, "");
    }
    if (out_) {
      Status ws = out_->status();
      if (ws.is_reader_gone()) return ws;
      if (!ws) return ws;
    }
    if (o_.until_stable_s >= 0 && have_full_ && seconds_since(last_change_) >= o_.until_stable_s) {
      double took = seconds_since(start_);
      spdlog::info("{}: the screen has not changed for {:g} s (after {:.1f} s)", label_, o_.until_stable_s, took);
      if (o_.json) {
        nlohmann::ordered_json j = {{"event", "stable"}, {"seconds", o_.until_stable_s}, {"elapsed_s", took}};
        if (Status w = write_stdout(j.dump() + "\n"); !w) return w;
      }
      return finish(Status::ok(), stream::EndReason::kNormal, "");
    }
    if (needle_ && have_full_ && match_dirty_ && now >= next_match_) {
      const rfb::Framebuffer& fb = vnc_->framebuffer();
      last_match_ = needle_->find(fb.pixels.data(), fb.width, fb.height, o_.region, o_.threshold);
      match_dirty_ = false;
      next_match_ = Clock::now() + std::chrono::milliseconds(100);
      if (last_match_.found) {
        double took = seconds_since(start_);
        spdlog::info("found {} at {},{} (score {:.4f}) after {:.1f} s", o_.until_match, last_match_.x, last_match_.y,
                     last_match_.score, took);
        if (o_.json) {
          nlohmann::ordered_json j = {{"event", "match"},      {"needle", o_.until_match},
                                      {"x", last_match_.x},    {"y", last_match_.y},
                                      {"width", needle_->width()}, {"height", needle_->height()},
                                      {"score", last_match_.score}, {"elapsed_s", took}};
          if (Status w = write_stdout(j.dump() + "\n"); !w) return w;
        }
        return finish(Status::ok(), stream::EndReason::kNormal, "");
      }
    }
    if (o_.duration_s > 0 && seconds_since(start_) >= o_.duration_s)
      return finish(Status::ok(), stream::EndReason::kNormal, "");
    if (timeout > 0 && seconds_since(start_) >= timeout) {
      std::string what = needle_ ? o_.until_match + " did not appear on " + label_
                         : o_.until_stable_s >= 0
                             ? "the screen of " + label_ + " did not stay unchanged for " +
                                   fmt::format("{:g} s", o_.until_stable_s)
                             : "no complete frame from " + label_;
      std::string msg = what + " within " + std::to_string(static_cast<int>(std::ceil(timeout))) + " s";
      if (!o_.snapshot.empty()) msg += " (last screen: " + o_.snapshot + ")";
      return finish(fail(kExitTimeout, msg), stream::EndReason::kNormal, "timed out");
    }
    if (now >= next_check) {
      next_check = now + std::chrono::seconds(1);
      if (Status src = check_source(); !src)
        return finish(src, stream::EndReason::kSourceGone, src.message());
    }
    if (waiting && now >= next_note) {
      next_note = now + std::chrono::seconds(10);
      if (needle_)
        spdlog::info("still waiting for {} on {} ({:.0f} s)", o_.until_match, label_, seconds_since(start_));
      else
        spdlog::info("still waiting for the screen of {} to settle ({:.0f} s, last change {:.1f} s ago)", label_,
                     seconds_since(start_), seconds_since(last_change_));
    }
  }
}

}  // namespace

Status run_capture(const CaptureOptions& options) {
  Capture c(options);
  return c.run();
}

}  // namespace vredir
