#include "capture_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cctype>

#include "capture_output.hpp"
#include "control_protocol.hpp"
#include "control_server.hpp"
#include "media/needle.hpp"
#include "media/png_encoder.hpp"
#include "ocr/screen_reader.hpp"
#include "screendump.hpp"
#include "serial_channel.hpp"
#include "sys/cli.hpp"
#include "sys/log_text.hpp"
#include "text_worker.hpp"
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
constexpr uint16_t kSerialChannel = 4;
// Head N beyond the first (from QEMU's D-Bus display) is channel 4 + N.
constexpr uint16_t kHeadChannelBase = 4;
constexpr size_t kMaxSerialFrameBytes = 65536;
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
Status write_rects(stream::StreamWriter& w, uint16_t channel, const rfb::Framebuffer& fb, const PixelRect& whole,
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
    if (Status st = w.rect(channel, sr); !st) return st;
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

// A head beyond the first: its pixels come from QEMU's D-Bus display.
struct ExtraHead {
  int index = 0;
  uint16_t channel = 0;
  std::unique_ptr<DbusConsoleWatch> watch;
  bool declared = false;
  bool error_told = false;
  uint32_t width = 0, height = 0;
  Damage damage;
  uint64_t seq = 0;
};

// A wait in progress: from the command line (client < 0) or from a control
// client.
struct ActiveWait {
  std::unique_ptr<ScreenWait> wait;
  int client = -1;
  Clock::time_point start, deadline, next_note;
};

class Capture {
 public:
  explicit Capture(const CaptureOptions& o) : o_(o) {}
  Status run();

 private:
  Status open_source(int* fd);
  Status one_shot_screendump(bool* done);
  Status one_shot(const Image& screen);
  Status begin_stream();
  // A source that could not be opened, told to a stream consumer.
  Status end_unopened(Status st);
  Status handle_events(VncEvents& ev);
  Status handle_cursor_moves();
  // The heads beyond the first: their pictures and changes into the stream.
  Status open_heads(const DomainDevices& devices);
  Status handle_heads();
  Status emit_head_frames();
  Status declare_head(ExtraHead& h);
  // Frames written on every display channel of the stream (--frames).
  uint64_t frames_everywhere() const;
  // Console output into the stream, input to the console, the serial wait.
  Status handle_serial(Clock::time_point now, std::optional<Status>* wait_result);
  Status run_console();
  Status emit_frame();
  Status finish(Status result, stream::EndReason reason, const std::string& message);
  Status write_snapshot();
  Status check_source();
  TextWorker* worker() {
    if (!worker_) worker_ = std::make_unique<TextWorker>();
    return worker_.get();
  }
  Status add_wait(const WaitSpec& spec, int client);
  void add_wait(std::unique_ptr<ScreenWait> wait, int client);
  // Polls the waits; *cli_result is set when the command line's wait ended.
  void poll_waits(Clock::time_point now, std::optional<Status>* cli_result);
  Status end_wait(ActiveWait& w, bool found, const nlohmann::ordered_json& report, Status failure,
                  Clock::time_point now);
  void serve_control(Clock::time_point now);
  void answer(int client, const ControlRequest& q);
  void answer_text(Clock::time_point now);
  void flush(CaptureOutput::Kind kind, size_t pcm = 0) {
    if (writer_) (void)writer_->flush();  // the pending DEFLATE piece, with --compress
    if (out_) out_->push(kind, std::move(batch_), pcm);
    batch_.clear();
  }
  Image screen_image() const {
    const rfb::Framebuffer& fb = vnc_->framebuffer();
    Image img;
    img.width = fb.width;
    img.height = fb.height;
    img.pixels = fb.pixels;
    return img;
  }
  Status write_screen(const std::string& path) {
    const rfb::Framebuffer& fb = vnc_->framebuffer();
    std::string png;
    png_cache_.encode(fb.pixels.data(), &png);
    return write_png_bytes(path, png);
  }

  const CaptureOptions& o_;
  std::string label_;  // "domain 'x'" or "the VNC server at ADDR"
  Connection conn_;
  Domain domain_;
  bool have_domain_ = false;
  bool sound_ = true;
  std::unique_ptr<VncSession> vnc_;
  std::unique_ptr<DbusConsoleWatch> cursor_watch_;  // cursor positions, when the domain has a D-Bus display
  std::unique_ptr<SerialSession> serial_;          // --serial
  std::vector<ExtraHead> heads_;                   // heads beyond the first, when captured
  bool head0_ = true;                              // head 0 (VNC) is a channel of the stream

  OutputFile file_;
  std::unique_ptr<CaptureOutput> out_;
  std::string batch_;
  std::unique_ptr<stream::StreamWriter> writer_;
  bool audio_declared_ = false;

  Damage damage_;
  Coverage coverage_;
  bool have_full_ = false;
  bool screen_news_ = false;  // the screen changed since the waits last heard of it
  uint64_t seq_ = 0;
  Clock::time_point start_, last_change_, next_frame_;

  PngBandCache png_cache_;
  std::unique_ptr<TextWorker> worker_;
  std::vector<ActiveWait> waits_;
  std::unique_ptr<ControlServer> control_;
  struct TextJob {
    int client;
    uint64_t job;
  };
  std::vector<TextJob> text_jobs_;  // control clients waiting for "text"
  Clock::time_point next_wake_{};   // when QEMU's refresh is next kept at its fastest
};

// While a wait is pending, QEMU's display refresh is kept at its fastest
// (every 30 ms): on a screen that changed little it slows down to up to 3 s
// between refreshes, and keys sent through QMP (a virtio keyboard) do not
// speed it up again, so what a wait looks for would show late. A harmless
// VNC client message every 25 ms holds it there (VncSession::wake_refresh).
constexpr auto kWakeRefreshEvery = std::chrono::milliseconds(25);

Status Capture::open_source(int* fd) {
  if (!o_.vnc_address.empty()) {
    label_ = "the VNC server at " + o_.vnc_address;
    return connect_vnc_address(o_.vnc_address, fd);
  }
  if (o_.serial)
    if (Status st = enable_libvirt_events(); !st) return st;
  if (!conn_.get())
    if (Status st = conn_.open(o_.uri); !st) return st;
  if (!have_domain_) {
    if (Status st = conn_.lookup(o_.domain_ref, &domain_); !st) return st;
    have_domain_ = true;
  }
  label_ = "domain '" + domain_.name() + "'";
  std::string xml;
  if (Status st = domain_.xml(&xml); !st) return st;
  DomainDevices devices;
  if (Status st = parse_domain_devices(xml, &devices); !st) return st;
  // The domain's devices decide the channels; asking for one it lacks is
  // "not found", before anything is opened.
  const SessionChannels channels = session_channels(devices);
  if (o_.audio_required && !channels.opens("audio"))
    return fail(kExitNotFound, "domain '" + domain_.name() +
                                   "' has no sound device, so no audio channel (add <sound model='ich9'/>; see: "
                                   "vm-list --json --name " + domain_.name() + ")");
  if (o_.no_display) {
    serial_ = std::make_unique<SerialSession>();
    SerialSession::Options so{o_.serial_input, o_.until_serial, o_.timeout_s, o_.json};
    return serial_->open(domain_, so);
  }
  if (Status st = open_domain_display(domain_, devices, o_.display, fd); !st) return st;
  if (Status st = open_heads(devices); !st) return st;
  if (o_.cursor && o_.stream && head0_) {
    std::string why;
    if (Status st = open_domain_cursor_watch(domain_, devices, o_.display, &cursor_watch_, &why); !st)
      spdlog::warn("{}: the cursor channel has shapes but no positions: {}", label_, st.message());
    else if (!cursor_watch_)
      spdlog::debug("{}: the cursor channel has shapes but no positions: {}", label_, why);
  }
  sound_ = channels.opens("audio");
  if (!sound_ && o_.audio && o_.stream)
    spdlog::info("domain '{}' has no sound device: the stream has no audio channel", domain_.name());
  if (o_.serial) {
    serial_ = std::make_unique<SerialSession>();
    SerialSession::Options so{o_.serial_input, o_.until_serial, o_.timeout_s, o_.json};
    if (Status st = serial_->open(domain_, so); !st) return st;
  }
  return Status::ok();
}

// --snapshot, --text and --needle-new alone need one picture: QEMU's own
// screendump gives it at once, without waiting for a VNC refresh tick.
Status Capture::one_shot_screendump(bool* done) {
  *done = false;
  if (!o_.vnc_address.empty() || o_.display != 0 || std::getenv("VREDIR_SNAPSHOT_VNC")) return Status::ok();
  if (Status st = conn_.open(o_.uri); !st) return st;
  if (Status st = conn_.lookup(o_.domain_ref, &domain_); !st) return st;
  have_domain_ = true;
  label_ = "domain '" + domain_.name() + "'";
  Image screen;
  if (Status st = domain_screendump(domain_, &screen); !st) {
    DomainState state;
    if (domain_.state(&state) && state != DomainState::kRunning && state != DomainState::kPaused)
      return fail(kExitFailure, "cannot capture '" + domain_.name() + "': it is " + state_name(state) +
                                    " (try: vm-power start " + domain_.name() + ")");
    spdlog::debug("{}: no screendump ({}); through VNC instead", label_, st.message());
    return Status::ok();
  }
  *done = true;
  return one_shot(screen);
}

Status Capture::one_shot(const Image& screen) {
  if (!o_.snapshot.empty())
    if (Status st = write_png(o_.snapshot, screen.width, screen.height, screen.pixels.data()); !st) return st;
  if (!o_.needle_new.empty()) {
    for (const ScreenRegion& r : o_.areas)
      if (uint64_t(r.x) + r.w > screen.width || uint64_t(r.y) + r.h > screen.height)
        return fail(kExitUsage, "--area lies outside the " + std::to_string(screen.width) + "x" +
                                    std::to_string(screen.height) + " screen");
    if (Status st = write_needle(o_.needle_new, screen, o_.areas, o_.ignore); !st) return st;
    spdlog::info("wrote {}.json and {}.png", o_.needle_new, o_.needle_new);
  }
  if (o_.text) {
    ScreenReader reader;
    ScreenText text;
    if (Status st = reader.read(screen.pixels.data(), screen.width, screen.height, o_.region, &text); !st) return st;
    std::string out = o_.json ? text_json(text, screen.width, screen.height).dump() + "\n" : text.text() + "\n";
    if (Status st = write_stdout(out); !st) return st;
  }
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
  if (!vnc_) {  // --no-display: the console alone
    stream::Params sp{{"purpose", stream::kPurposeSerial}};
    if (Status st = writer_->declare(kSerialChannel, stream::ChannelKind::kBytes, "serial", sp); !st) return st;
    flush(CaptureOutput::Kind::kControl);
    return Status::ok();
  }
  const rfb::Framebuffer& fb = vnc_->framebuffer();
  if (head0_) {
    stream::Params dp{{"width", std::to_string(fb.width)}, {"height", std::to_string(fb.height)}, {"head", "0"}};
    if (o_.display != 0) dp["display"] = std::to_string(o_.display);
    if (Status st = writer_->declare(kDisplayChannel, stream::ChannelKind::kDisplay, "display", dp); !st) return st;
  }
  // The other heads in order, each as soon as QEMU has sent its picture.
  for (ExtraHead& h : heads_)
    if (Status st = declare_head(h); !st) return st;
  if (o_.cursor && head0_) {
    stream::Params cp{{"display", std::to_string(kDisplayChannel)}};
    if (Status st = writer_->declare(kCursorChannel, stream::ChannelKind::kCursor, "cursor", cp); !st) return st;
  }
  if (serial_) {
    stream::Params sp{{"purpose", stream::kPurposeSerial}};
    if (Status st = writer_->declare(kSerialChannel, stream::ChannelKind::kBytes, "serial", sp); !st) return st;
  }
  if (head0_)
    if (Status st = writer_->surface(kDisplayChannel, fb.width, fb.height); !st) return st;
  flush(CaptureOutput::Kind::kControl);
  return Status::ok();
}

Status Capture::open_heads(const DomainDevices& devices) {
  const int n = std::max(1, devices.head_count());
  if (o_.head >= n)
    return fail(kExitNotFound, label_ + " has " + (n == 1 ? std::string("one head (0)") :
                std::to_string(n) + " heads (0 to " + std::to_string(n - 1) + ")") + ", so no head " +
                std::to_string(o_.head));
  head0_ = o_.head <= 0;
  if (!o_.stream || n == 1 || o_.head == 0) return Status::ok();
  for (int h = 1; h < n; ++h) {
    if (o_.head > 0 && h != o_.head) continue;
    std::string why;
    std::unique_ptr<DbusConsoleWatch> w;
    if (Status st = open_domain_head_watch(domain_, devices, h, &w, &why); !st) why = st.message();
    if (!w) {
      if (o_.head > 0) return fail(kExitNotFound, label_ + ": cannot capture head " + std::to_string(h) + ": " + why);
      spdlog::warn("{} has {} heads, but the stream gets the first only: {}", label_, n, why);
      heads_.clear();
      return Status::ok();
    }
    ExtraHead e;
    e.index = h;
    e.channel = static_cast<uint16_t>(kHeadChannelBase + h);
    e.watch = std::move(w);
    heads_.push_back(std::move(e));
  }
  return Status::ok();
}

Status Capture::declare_head(ExtraHead& h) {
  if (h.declared || !writer_) return Status::ok();
  uint32_t width = 0, height = 0;
  h.watch->with_picture([&](const rfb::Framebuffer& fb) {
    width = fb.width;
    height = fb.height;
  });
  if (width == 0) return Status::ok();  // no picture yet
  stream::Params dp{{"width", std::to_string(width)}, {"height", std::to_string(height)},
                    {"head", std::to_string(h.index)}};
  const std::string name = "display-" + std::to_string(h.index);
  if (Status st = writer_->declare(h.channel, stream::ChannelKind::kDisplay, name, dp); !st) return st;
  if (Status st = writer_->surface(h.channel, width, height); !st) return st;
  h.declared = true;
  h.width = width;
  h.height = height;
  h.damage.all(width, height);
  flush(CaptureOutput::Kind::kControl);
  return Status::ok();
}

Status Capture::handle_heads() {
  for (ExtraHead& h : heads_) {
    if (!h.watch) continue;
    DbusConsoleEvents ev = h.watch->take();
    if (!ev.error.empty() && !h.error_told) {
      h.error_told = true;  // once: the guest's driver may repeat it every frame
      spdlog::warn("{}: head {}: dropped a bad picture from QEMU's D-Bus display: {}", label_, h.index,
                   log_quote(ev.error));
    }
    if (!h.declared) {
      if (Status st = declare_head(h); !st) return st;
    } else if (ev.resized) {
      h.watch->with_picture([&](const rfb::Framebuffer& fb) {
        h.width = fb.width;
        h.height = fb.height;
      });
      if (Status st = writer_->surface(h.channel, h.width, h.height); !st) return st;
      flush(CaptureOutput::Kind::kControl);
      h.damage.all(h.width, h.height);
    } else {
      for (const PixelRect& r : ev.damage) h.damage.add(r);
    }
    if (ev.closed) {
      spdlog::warn("{}: QEMU's D-Bus display closed; head {} is no longer captured", label_, h.index);
      h.watch.reset();
      if (h.declared) {
        if (Status st = emit_head_frames(); !st) return st;
        if (Status st = writer_->close_channel(h.channel); !st) return st;
        flush(CaptureOutput::Kind::kControl);
      }
      h.declared = false;
    }
  }
  return Status::ok();
}

Status Capture::emit_head_frames() {
  for (ExtraHead& h : heads_) {
    if (!h.declared || h.damage.empty() || !h.watch) continue;
    Status st = Status::ok();
    h.watch->with_picture([&](const rfb::Framebuffer& fb) {
      // A Scanout between take() and now changed the size: the next take()
      // brings the SURFACE and a whole frame.
      if (fb.width != h.width || fb.height != h.height) return;
      for (const PixelRect& r : h.damage.rects()) {
        if (!st) break;
        PixelRect c = r;
        if (c.x >= fb.width || c.y >= fb.height) continue;
        c.w = std::min(c.w, fb.width - c.x);
        c.h = std::min(c.h, fb.height - c.y);
        st = write_rects(*writer_, h.channel, fb, c, o_.encoding, o_.compress > 0 ? o_.compress : 1);
      }
    });
    if (!st) return st;
    h.damage.clear();
    if (Status e = writer_->frame_end(h.channel, ++h.seq); !e) return e;
    flush(CaptureOutput::Kind::kDisplay);
  }
  return Status::ok();
}

uint64_t Capture::frames_everywhere() const {
  uint64_t n = head0_ ? seq_ : UINT64_MAX;
  for (const ExtraHead& h : heads_) n = std::min(n, h.seq);
  return n == UINT64_MAX ? 0 : n;
}

Status Capture::handle_serial(Clock::time_point now, std::optional<Status>* wait_result) {
  std::string bytes;
  Status st = serial_->service(now, &bytes, wait_result);
  if (writer_ && !bytes.empty()) {
    for (std::string_view rest = bytes; !rest.empty(); rest.remove_prefix(std::min(rest.size(), kMaxSerialFrameBytes)))
      if (Status w = writer_->frame(kSerialChannel, stream::FrameType::kData, rest.substr(0, kMaxSerialFrameBytes)); !w)
        return w;
    flush(CaptureOutput::Kind::kControl);
  }
  if (st.code() == kExitPeerLost && vnc_) {
    // The display goes on; the console's channel closes.
    spdlog::warn("{}", st.message());
    serial_.reset();
    if (writer_) {
      if (Status c = writer_->close_channel(kSerialChannel); !c) return c;
      flush(CaptureOutput::Kind::kControl);
    }
    return Status::ok();
  }
  return st;
}

Status Capture::handle_events(VncEvents& ev) {
  const rfb::Framebuffer& fb = vnc_->framebuffer();
  if (ev.resized) {
    spdlog::debug("the screen is now {}x{}", fb.width, fb.height);
    coverage_.reset(fb.width, fb.height);
    have_full_ = false;
    damage_.all(fb.width, fb.height);
    png_cache_.resize(fb.width, fb.height);
    if (writer_ && head0_) {
      if (Status st = writer_->surface(kDisplayChannel, fb.width, fb.height); !st) return st;
      flush(CaptureOutput::Kind::kControl);
    }
  }
  for (const PixelRect& r : ev.rects) {
    damage_.add(r);
    coverage_.add(r);
    png_cache_.invalidate(r.y, r.h);
  }
  if (!have_full_ && coverage_.complete()) {
    have_full_ = true;
    damage_.all(fb.width, fb.height);
    last_change_ = Clock::now();
    screen_news_ = true;
  }
  if (ev.changed) {
    last_change_ = Clock::now();
    screen_news_ = true;
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
  DbusConsoleEvents ev = cursor_watch_->take();
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
    if (Status st = write_rects(*writer_, kDisplayChannel, fb, c, o_.encoding, o_.compress > 0 ? o_.compress : 1); !st) return st;
  }
  damage_.clear();
  if (Status st = writer_->frame_end(kDisplayChannel, ++seq_); !st) return st;
  flush(CaptureOutput::Kind::kDisplay);
  return Status::ok();
}

Status Capture::write_snapshot() {
  if (o_.snapshot.empty() || o_.wait) return Status::ok();  // a wait writes its own
  const rfb::Framebuffer& fb = vnc_->framebuffer();
  if (fb.pixels.empty() || !have_full_) return Status::ok();
  return write_screen(o_.snapshot);
}

// A stream on a pipe or socket (a mux session, a pipeline) hears why the
// source could not be opened, the console held by another client say: HELLO,
// then END with reason error and the message, before the one-line error and
// exit code. A terminal or a file gets nothing, as before.
Status Capture::end_unopened(Status st) {
  if (!o_.stream || (!o_.output.empty() && o_.output != "-") || ::isatty(1)) return st;
  struct stat sb {};
  if (::fstat(1, &sb) != 0 || !(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))) return st;
  std::string bytes;
  stream::StreamWriter w([&bytes](std::string_view b) {
    bytes.append(b);
    return Status::ok();
  });
  stream::Params hello{{"source", have_domain_ ? domain_.name() : o_.domain_ref.empty() ? o_.vnc_address : o_.domain_ref}};
  if (w.begin("redir-capture", hello) && w.end(stream::EndReason::kError, st.message())) {
    OutputFile out;
    if (out.open("-")) (void)out.write(bytes);
  }
  return st;
}

Status Capture::finish(Status result, stream::EndReason reason, const std::string& message) {
  if (Status st = write_snapshot(); !st && result.is_ok()) result = st;
  // Control clients still waiting hear why the capture ends.
  if (control_) {
    Status why = result.is_ok() ? fail(kExitPeerLost, "the capture ended") : result;
    for (ActiveWait& w : waits_)
      if (w.client >= 0)
        control_->reply(w.client, {{"status", why.code()}, {"error", why.message().empty() ? "interrupted" : why.message()}});
  }
  if (writer_ && out_ && out_->status()) {
    // What the consumer has not seen yet goes out with the END.
    if (head0_ && have_full_ && !damage_.empty()) (void)emit_frame();
    (void)emit_head_frames();
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

Status Capture::add_wait(const WaitSpec& spec, int client) {
  std::unique_ptr<ScreenWait> w;
  if (Status st = ScreenWait::create(spec, spec.kind == WaitSpec::Kind::kText ? worker() : nullptr, &w); !st)
    return st;
  if (have_full_)
    if (Status st = w->fits(vnc_->framebuffer()); !st) return st;
  add_wait(std::move(w), client);
  return Status::ok();
}

void Capture::add_wait(std::unique_ptr<ScreenWait> w, int client) {
  const WaitSpec& spec = w->spec();
  ActiveWait a;
  a.wait = std::move(w);
  a.client = client;
  a.start = Clock::now();
  a.deadline = spec.timeout_s > 0 ? a.start + std::chrono::microseconds(static_cast<int64_t>(spec.timeout_s * 1e6))
                                  : Clock::time_point::max();
  a.next_note = a.start + std::chrono::seconds(10);
  if (have_full_) a.wait->screen_changed(vnc_->framebuffer(), a.start);
  waits_.push_back(std::move(a));
}

// A wait ended: it found what it waited for, or it timed out (failure). The
// last screen goes to its --snapshot, or on a timeout to a file in $TMPDIR.
Status Capture::end_wait(ActiveWait& w, bool found, const nlohmann::ordered_json& report, Status failure,
                         Clock::time_point now) {
  const WaitSpec& spec = w.wait->spec();
  const double took = std::chrono::duration<double>(now - w.start).count();
  std::string shot = spec.snapshot;
  Status written;
  if (!shot.empty() && have_full_) {
    written = write_screen(shot);
  } else if (!found && failure.code() == kExitTimeout && have_full_) {
    const rfb::Framebuffer& fb = vnc_->framebuffer();
    written = write_temporary_png("redir-capture-" + (have_domain_ ? domain_.name() : std::string("vnc")),
                                  fb.pixels.data(), fb.width, fb.height, &shot);
  }
  if (found) {
    nlohmann::ordered_json j = report;
    j["elapsed_s"] = took;
    if (!spec.snapshot.empty() && written) j["snapshot"] = spec.snapshot;
    if (w.client >= 0) {
      nlohmann::ordered_json answer = {{"status", written ? 0 : written.code()}};
      for (auto& [k, v] : j.items()) answer[k] = v;
      if (!written) answer["error"] = written.message();
      control_->reply(w.client, answer);
      return Status::ok();
    }
    if (o_.json)
      if (Status st = write_stdout(j.dump() + "\n"); !st) return st;
    return written;
  }
  std::string msg = failure.message();
  if (failure.code() == kExitTimeout) {
    msg = w.wait->failure(label_) + " within " + fmt::format("{:g}", spec.timeout_s) + " s";
    if (!shot.empty()) msg += written ? " (last screen: " + shot + ")" : " (" + written.message() + ")";
  }
  if (w.client >= 0) {
    nlohmann::ordered_json answer = {{"status", failure.code()}, {"error", msg}};
    if (!shot.empty() && written) answer["snapshot"] = shot;
    control_->reply(w.client, answer);
    return Status::ok();
  }
  return fail(failure.code(), msg);
}

void Capture::poll_waits(Clock::time_point now, std::optional<Status>* cli_result) {
  if (!have_full_) return;
  if (screen_news_) {
    screen_news_ = false;
    for (ActiveWait& w : waits_) w.wait->screen_changed(vnc_->framebuffer(), now);
  }
  for (size_t i = 0; i < waits_.size();) {
    ActiveWait& w = waits_[i];
    bool done = false;
    nlohmann::ordered_json report;
    Status st = w.wait->poll(vnc_->framebuffer(), now, &done, &report);
    std::optional<Status> ended;
    if (!st) {
      ended = end_wait(w, false, {}, st, now);
    } else if (done) {
      const nlohmann::ordered_json& r = report;
      if (w.client >= 0)
        spdlog::debug("control client {}: {} found after {:.1f} s", w.client, r["event"].get<std::string>(),
                      std::chrono::duration<double>(now - w.start).count());
      else if (r.contains("x") && r["event"] != "stable")
        spdlog::info("found {} at {},{} after {:.1f} s", r.contains("needle") ? r["needle"].get<std::string>()
                                                                              : "'" + r["text"].get<std::string>() + "'",
                     r["x"].get<uint32_t>(), r["y"].get<uint32_t>(),
                     std::chrono::duration<double>(now - w.start).count());
      else
        spdlog::info("{}: the screen has not changed for {:g} s (after {:.1f} s)", label_, w.wait->spec().stable_s,
                     std::chrono::duration<double>(now - w.start).count());
      ended = end_wait(w, true, report, Status::ok(), now);
    } else if (now >= w.deadline) {
      ended = end_wait(w, false, {}, fail(kExitTimeout, ""), now);
    } else if (now >= w.next_note && w.client < 0) {
      w.next_note = now + std::chrono::seconds(10);
      spdlog::info("{} ({:.0f} s)", w.wait->progress(label_, now), std::chrono::duration<double>(now - w.start).count());
    }
    if (!ended) {
      ++i;
      continue;
    }
    if (w.client < 0) *cli_result = *ended;
    waits_.erase(waits_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void Capture::answer(int client, const ControlRequest& q) {
  auto refuse = [&](const Status& st) { control_->reply(client, {{"status", st.code()}, {"error", st.message()}}); };
  switch (q.verb) {
    case ControlRequest::Verb::kSnapshot: {
      auto t0 = Clock::now();
      Status st = write_screen(q.file);
      if (!st) return refuse(st);
      const rfb::Framebuffer& fb = vnc_->framebuffer();
      control_->reply(client, {{"status", 0},
                               {"event", "snapshot"},
                               {"file", q.file},
                               {"width", fb.width},
                               {"height", fb.height},
                               {"encode_ms", std::chrono::duration<double, std::milli>(Clock::now() - t0).count()}});
      return;
    }
    case ControlRequest::Verb::kText: {
      const rfb::Framebuffer& fb = vnc_->framebuffer();
      const ScreenRegion& r = q.region;
      if (r.w && (uint64_t(r.x) + r.w > fb.width || uint64_t(r.y) + r.h > fb.height))
        return refuse(fail(kExitUsage, "--region lies outside the screen"));
      text_jobs_.push_back({client, worker()->submit(fb.pixels.data(), fb.width, fb.height, r)});
      return;
    }
    case ControlRequest::Verb::kNeedleNew: {
      Image screen = screen_image();
      for (const ScreenRegion& r : q.areas)
        if (uint64_t(r.x) + r.w > screen.width || uint64_t(r.y) + r.h > screen.height)
          return refuse(fail(kExitUsage, "--area lies outside the screen"));
      if (Status st = write_needle(q.file, screen, q.areas, q.ignore); !st) return refuse(st);
      control_->reply(client, {{"status", 0}, {"event", "needle-new"}, {"json", q.file + ".json"}, {"png", q.file + ".png"}});
      return;
    }
    case ControlRequest::Verb::kWait:
      if (Status st = add_wait(q.wait, client); !st) return refuse(st);
      return;
  }
}

void Capture::answer_text(Clock::time_point) {
  const rfb::Framebuffer& fb = vnc_->framebuffer();
  for (size_t i = 0; i < text_jobs_.size();) {
    TextWorker::Result res;
    if (!worker_->take(text_jobs_[i].job, &res)) {
      ++i;
      continue;
    }
    if (!res.status)
      control_->reply(text_jobs_[i].client, {{"status", res.status.code()}, {"error", res.status.message()}});
    else {
      nlohmann::ordered_json j = {{"status", 0}};
      const nlohmann::ordered_json found = text_json(res.text, fb.width, fb.height);
      for (auto& [k, v] : found.items()) j[k] = v;
      control_->reply(text_jobs_[i].client, j);
    }
    text_jobs_.erase(text_jobs_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void Capture::serve_control(Clock::time_point now) {
  std::vector<ControlServer::Request> requests;
  std::vector<int> gone;
  control_->service(&requests, &gone);
  for (int c : gone) {
    std::erase_if(waits_, [c](const ActiveWait& w) { return w.client == c; });
    for (const TextJob& t : text_jobs_)
      if (t.client == c) worker_->cancel(t.job);
    std::erase_if(text_jobs_, [c](const TextJob& t) { return t.client == c; });
  }
  for (const ControlServer::Request& r : requests) {
    ControlRequest q;
    std::string err;
    if (!parse_control_request(r.line, &q, &err)) {
      control_->reply(r.client, {{"status", kExitUsage}, {"error", err}});
      continue;
    }
    spdlog::debug("control client {}: {}", r.client, r.line.substr(0, 200));
    answer(r.client, q);
  }
  if (worker_) answer_text(now);
}

// --no-display (and --until-serial without a stream): the console's bytes
// into the stream if there is one, its input from --serial-input, until the
// console or the domain goes, the wait ends, or the consumer leaves.
Status Capture::run_console() {
  if (Status st = begin_stream(); !st) return st;
  start_ = Clock::now();
  auto next_check = start_ + std::chrono::seconds(1);
  for (;;) {
    if (interrupted()) return finish(fail(kExitInterrupted, ""), stream::EndReason::kInterrupted, "interrupted");
    std::vector<int> wake;
    serial_->fds(&wake);
    std::vector<pollfd> p;
    for (int w : wake) p.push_back({w, POLLIN, 0});
    (void)::poll(p.data(), p.size(), 100);
    const auto now = Clock::now();
    std::optional<Status> serial_result;
    // The console closing ends it: nothing is left to stream.
    if (Status h = handle_serial(now, &serial_result); !h)
      return finish(h, h.code() == kExitPeerLost ? stream::EndReason::kSourceGone : stream::EndReason::kError,
                    h.message());
    if (serial_result) {
      Status r = *serial_result;
      return finish(r, stream::EndReason::kNormal, r ? "" : r.code() == kExitTimeout ? "timed out" : r.message());
    }
    if (out_) {
      Status ws = out_->status();
      if (!ws) return ws;
    }
    if (o_.duration_s > 0 && seconds_since(start_) >= o_.duration_s)
      return finish(Status::ok(), stream::EndReason::kNormal, "");
    if (now >= next_check) {
      next_check = now + std::chrono::seconds(1);
      if (Status src = check_source(); !src) return finish(src, stream::EndReason::kSourceGone, src.message());
    }
  }
}

Status Capture::run() {
  const bool one_shot_only = o_.wait == std::nullopt && !o_.stream && o_.control.empty() &&
                             (!o_.snapshot.empty() || o_.text || !o_.needle_new.empty());
  if (one_shot_only) {
    bool done = false;
    if (Status st = one_shot_screendump(&done); !st || done) return st;
  }
  // A bad needle or expression fails before anything is connected.
  std::unique_ptr<ScreenWait> cli_wait;
  if (o_.wait)
    if (Status st = ScreenWait::create(*o_.wait, o_.wait->kind == WaitSpec::Kind::kText ? worker() : nullptr, &cli_wait);
        !st)
      return st;
  int fd = -1;
  if (Status st = open_source(&fd); !st) return end_unopened(st);
  if (o_.no_display) return run_console();
  vnc_ = std::make_unique<VncSession>(fd);
  VncSessionOptions vo;
  vo.audio = o_.audio && sound_ && o_.stream;
  vo.cursor = o_.cursor && o_.stream && head0_;
  vo.audio_rate = kAudioRate;
  vo.audio_channels = kAudioChannels;
  if (const char* e = std::getenv("VREDIR_RFB_ENCODING")) {
    std::string_view v(e);
    if (v == "zrle") vo.encoding = rfb::kEncodingZrle;
    if (v == "zlib") vo.encoding = rfb::kEncodingZlib;
  }
  if (Status st = vnc_->start(vo, kSetupMs); !st) return fail(st.code(), label_ + ": " + st.message());
  spdlog::debug("VNC server '{}' shows {}x{}", vnc_->server().name, vnc_->server().width, vnc_->server().height);
  const rfb::Framebuffer& fb0 = vnc_->framebuffer();
  coverage_.reset(fb0.width, fb0.height);
  png_cache_.resize(fb0.width, fb0.height);
  if (cli_wait) {
    if (Status st = cli_wait->fits(fb0); !st) return st;
    add_wait(std::move(cli_wait), -1);
  }
  if (!o_.control.empty()) {
    control_ = std::make_unique<ControlServer>();
    if (Status st = control_->listen(o_.control); !st) return st;
    spdlog::info("{}: control socket {}", label_, o_.control);
  }
  if (Status st = begin_stream(); !st) return st;

  start_ = last_change_ = next_frame_ = Clock::now();
  const auto frame_interval = std::chrono::microseconds(static_cast<int64_t>(1e6 / std::max(0.1, o_.fps)));
  const bool one_shot_vnc = one_shot_only;
  const double timeout = o_.timeout_s > 0 && !o_.wait && o_.until_serial.empty() ? o_.timeout_s : (one_shot_vnc ? kSetupMs / 1000.0 : 0);
  auto next_check = start_ + std::chrono::seconds(1);

  for (;;) {
    if (interrupted()) return finish(fail(kExitInterrupted, ""), stream::EndReason::kInterrupted, "interrupted");
    int wait_ms = 100;
    const bool heads_due = std::any_of(heads_.begin(), heads_.end(),
                                       [](const ExtraHead& h) { return h.declared && !h.damage.empty(); });
    if (writer_ && have_full_ && (heads_due || (head0_ && !damage_.empty()))) {
      // A frame is due: wake for it, or poll the writer while it is busy.
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(next_frame_ - Clock::now()).count();
      wait_ms = out_->display_busy() ? 10 : static_cast<int>(std::clamp<long long>(until, 1, 100));
    }
    if (!waits_.empty()) wait_ms = std::min(wait_ms, 25);
    std::vector<int> wake;
    if (cursor_watch_) wake.push_back(cursor_watch_->wake_fd());
    for (const ExtraHead& h : heads_)
      if (h.watch) wake.push_back(h.watch->wake_fd());
    if (serial_) serial_->fds(&wake);
    if (worker_) wake.push_back(worker_->wake_fd());
    if (control_ && have_full_) control_->fds(&wake);
    VncEvents ev;
    Status st = vnc_->pump(wait_ms, &ev, wake);
    if (!st) {
      if (st.code() == kExitPeerLost) {
        std::string why = label_ + ": the VNC connection closed";
        if (Status src = check_source(); !src) why = src.message();
        return finish(fail(kExitPeerLost, why), stream::EndReason::kSourceGone, why);
      }
      return finish(fail(st.code(), label_ + ": " + st.message()), stream::EndReason::kError, st.message());
    }
    if (worker_) worker_->drain_wake();
    if (Status h = handle_events(ev); !h) return finish(h, stream::EndReason::kError, h.message());
    if (cursor_watch_)
      if (Status h = handle_cursor_moves(); !h) return finish(h, stream::EndReason::kError, h.message());
    if (writer_ && !heads_.empty())
      if (Status h = handle_heads(); !h) return finish(h, stream::EndReason::kError, h.message());
    const auto now = Clock::now();
    if (serial_) {
      std::optional<Status> serial_result;
      if (Status h = handle_serial(now, &serial_result); !h) return finish(h, stream::EndReason::kError, h.message());
      if (serial_result) {
        Status r = *serial_result;
        return finish(r, stream::EndReason::kNormal, r ? "" : r.code() == kExitTimeout ? "timed out" : r.message());
      }
    }

    if (one_shot_vnc && have_full_) {
      Status r = one_shot(screen_image());
      return writer_ ? finish(r, stream::EndReason::kNormal, "") : r;
    }
    const bool frame_due = std::any_of(heads_.begin(), heads_.end(),
                                       [](const ExtraHead& h) { return h.declared && !h.damage.empty(); });
    if (writer_ && have_full_ && (frame_due || (head0_ && !damage_.empty())) && now >= next_frame_ &&
        !out_->display_busy()) {
      if (head0_ && !damage_.empty())
        if (Status e = emit_frame(); !e) return finish(e, stream::EndReason::kError, e.message());
      if (Status e = emit_head_frames(); !e) return finish(e, stream::EndReason::kError, e.message());
      next_frame_ = now + frame_interval;
      // --frames N: every display channel of the stream has had N.
      if (o_.frames && frames_everywhere() >= o_.frames) return finish(Status::ok(), stream::EndReason::kNormal, "");
    }
    if (out_) {
      Status ws = out_->status();
      if (ws.is_reader_gone()) return ws;
      if (!ws) return ws;
    }
    if (control_ && have_full_) serve_control(now);
    if ((!waits_.empty() || !text_jobs_.empty()) && now >= next_wake_) {
      if (Status w = vnc_->wake_refresh(); !w) return finish(w, stream::EndReason::kError, w.message());
      next_wake_ = now + kWakeRefreshEvery;
    }
    std::optional<Status> cli_result;
    poll_waits(now, &cli_result);
    if (cli_result) {
      Status r = *cli_result;
      return finish(r, stream::EndReason::kNormal, r ? "" : "timed out");
    }
    if (o_.duration_s > 0 && seconds_since(start_) >= o_.duration_s)
      return finish(Status::ok(), stream::EndReason::kNormal, "");
    if (timeout > 0 && seconds_since(start_) >= timeout) {
      std::string msg = "no complete frame from " + label_ + " within " +
                        std::to_string(static_cast<int>(std::ceil(timeout))) + " s";
      return finish(fail(kExitTimeout, msg), stream::EndReason::kNormal, "timed out");
    }
    if (now >= next_check) {
      next_check = now + std::chrono::seconds(1);
      if (Status src = check_source(); !src) return finish(src, stream::EndReason::kSourceGone, src.message());
    }
  }
}

}  // namespace

bool serial_only(const CaptureOptions& o) { return !o.until_serial.empty() && !o.stream && o.control.empty(); }

Status run_capture(const CaptureOptions& options) {
  if (serial_only(options)) {
    // --until-serial without a stream: the console alone, no display.
    CaptureOptions o = options;
    o.no_display = true;
    Capture c(o);
    return c.run();
  }
  Capture c(options);
  return c.run();
}

}  // namespace vredir
