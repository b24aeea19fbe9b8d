#include "player.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "audio_output.hpp"
#include "sys/cli.hpp"
#include "input/escape_chord.hpp"
#include "clipboard_sync.hpp"
#include "gdi_windows.hpp"
#include "media/image_files.hpp"
#include "input_writer.hpp"
#include "input/keycodes.hpp"
#include "wire/playback_clock.hpp"
#include "sys/stdio_files.hpp"
#include "wire/stream_decoder.hpp"
#include "memory_budget.hpp"
#include "surface_window.hpp"
#include "x_display.hpp"

using vredir::fail;
using vredir::Status;
namespace stream = vredir::stream;
namespace keys = vredir::keys;

namespace xreplay {

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Stream work done in one go before the X connection is served again.
constexpr int64_t kStreamSliceUs = 10000;

class Player {
 public:
  explicit Player(const ReplayOptions& opt)
      : opt_(opt), clock_(opt.speed), audio_(opt.audio_device), budget_(opt.max_memory), input_(isatty(1) ? -1 : 1),
        chord_(opt.escape_key) {}

  Status run();

 private:
  // The stream side.
  Status open_input();
  bool step_stream(int64_t* wait_us);
  void read_input();
  void handle(const stream::Event& ev);
  void on_declare(const stream::ChannelInfo& ch);
  void on_close(const stream::ChannelInfo& ch);
  void on_display_frame(const stream::Event& ev, SurfaceWindow& w);
  void on_cursor_frame(const stream::Event& ev);
  void on_gdi_frame(const stream::Event& ev);
  void stream_finished(Status st);

  // The X side.
  void drain_x();
  void on_x_event(xcb_generic_event_t* e);
  void on_key(xcb_window_t win, uint8_t keycode, uint16_t state, bool down);
  void toggle_grab(xcb_window_t win);
  void on_pointer(xcb_window_t win, int16_t x, int16_t y, int button, bool press);
  void release_held_keys();
  void on_window_closed(SurfaceWindow& w, bool destroyed);
  SurfaceWindow* window_of(xcb_window_t win);
  SurfaceWindow* capture_window();
  bool any_window_shown() const;

  void send(Status st);
  void stop(Status st);
  Status write_screenshot();

  const ReplayOptions& opt_;
  XDisplay x_;
  vredir::InputFile in_;
  std::string what_;
  stream::StreamDecoder decoder_;
  stream::Event ev_;
  bool pending_ = false;   // ev_ is decoded and waits for its time
  bool want_read_ = false;
  bool eof_ = false;
  bool stream_done_ = false;
  uint64_t bytes_read_ = 0;
  bool timed_ = false;
  stream::PlaybackClock clock_;

  std::map<uint16_t, std::unique_ptr<SurfaceWindow>> windows_;  // by display channel id
  std::vector<uint16_t> display_order_;                         // declaration order
  std::map<uint16_t, uint16_t> cursor_display_;                 // cursor channel -> display channel
  uint16_t audio_channel_ = 0;
  AudioOutput audio_;
  MemoryBudget budget_;
  // Charges a channel; false (and the stream ends, exit 7) when over budget.
  bool charge(const stream::ChannelInfo& ch, uint64_t bytes);
  std::unique_ptr<GdiWindows> gdi_;  // the windows of gdi channels, opened on first use
  std::unique_ptr<ClipboardSync> clip_;          // opened with the first app clipboard channel
  std::map<uint16_t, std::string> clip_channels_;  // the apps' clipboard channels, by id

  InputWriter input_;
  vredir::EscapeChord chord_;
  std::set<uint16_t> held_keys_;
  std::map<uint16_t, uint32_t> buttons_;  // by display channel id
  std::optional<vredir::Image> capture_at_close_;

  bool done_ = false;
  Status result_;
  Status deferred_;  // a stream error already reported, returned after --hold
};

Status Player::open_input() {
  if (Status st = in_.open(opt_.input); !st) return st;
  what_ = opt_.input == "-" || opt_.input.empty() ? "stdin" : opt_.input;
  struct stat sb {};
  // A recorded stream (a regular file) plays at its own pace; a pipe or socket
  // is live, its frames already arrive in real time.
  timed_ = !opt_.no_timing && fstat(in_.fd(), &sb) == 0 && S_ISREG(sb.st_mode);
  return Status::ok();
}

Status Player::run() {
  if (Status st = x_.open(opt_.x_display, !opt_.no_shm); !st) return st;
  if (Status st = open_input(); !st) return st;
  if (!input_.enabled()) spdlog::info("stdout is a terminal: local keyboard and pointer input is not written");
  spdlog::debug("X display '{}', MIT-SHM {}, {} playback", x_.name(), x_.shm() ? "on" : "off",
                timed_ ? "timed" : "untimed");
  if (Status st = input_.begin(); !st) return st.is_reader_gone() ? Status::ok() : st;

  while (!done_) {
    if (vredir::interrupted()) {
      stop(fail(vredir::kExitInterrupted, "interrupted"));
      break;
    }
    int64_t wait_us = -1;
    bool more = step_stream(&wait_us);
    drain_x();
    if (gdi_) {
      if (Status st = gdi_->pump(); !st) {
        stop(st.is_reader_gone() ? Status::ok() : st);
        break;
      }
    }
    if (clip_) {
      if (Status st = clip_->pump(); !st) {
        stop(st.is_reader_gone() ? Status::ok() : st);
        break;
      }
    }
    int audio_ms = audio_.pump();
    if (done_) break;
    if (x_.broken()) {
      stop(fail(vredir::kExitFailure, "lost the connection to X display '" + x_.name() + "'"));
      break;
    }
    xcb_flush(x_.conn());

    // Never wait unbounded: a signal landing just before poll() is seen soon.
    int timeout = 250;
    if (more) timeout = 0;
    else if (wait_us >= 0) timeout = static_cast<int>(std::min<int64_t>((wait_us + 999) / 1000, 250));
    if (audio_ms >= 0 && audio_ms < timeout) timeout = audio_ms;
    pollfd fds[4] = {{x_.fd(), POLLIN, 0},
                     {in_.fd(), POLLIN, 0},
                     {gdi_ ? gdi_->fd() : -1, POLLIN, 0},
                     {clip_ ? clip_->fd() : -1, POLLIN, 0}};
    nfds_t n = want_read_ && !eof_ && !stream_done_ ? 2 : 1;
    if (gdi_ || clip_) {
      if (n == 1) fds[1].fd = -1;
      n = 4;
    }
    if (::poll(fds, n, timeout) < 0 && errno != EINTR) {
      stop(fail(vredir::kExitFailure, std::string("poll failed: ") + std::strerror(errno)));
      break;
    }
    if (n >= 2 && fds[1].fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) read_input();
  }
  Status st = result_;
  if (st && !deferred_) st = deferred_;
  if (!opt_.screenshot.empty() && !x_.broken()) {
    Status shot = write_screenshot();
    if (!shot && (st || st.is_reader_gone())) st = shot;
    else if (!shot) spdlog::error("{}", shot.message());
  }
  stream::EndReason reason = stream::EndReason::kNormal;
  if (st.code() == vredir::kExitInterrupted) reason = stream::EndReason::kInterrupted;
  else if (!st.is_ok() && !st.is_reader_gone()) reason = stream::EndReason::kError;
  if (!st.is_reader_gone()) {
    Status end = input_.end(reason);
    if (!end && !end.is_reader_gone() && st) st = end;
  }
  return st;
}

// --- the stream -------------------------------------------------------------

void Player::read_input() {
  uint8_t chunk[65536];
  ssize_t n = ::read(in_.fd(), chunk, sizeof chunk);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    stream_finished(fail(vredir::kExitFailure, "cannot read " + what_ + ": " + std::strerror(errno)));
    return;
  }
  want_read_ = false;
  if (n == 0) {
    eof_ = true;
    return;
  }
  bytes_read_ += static_cast<uint64_t>(n);
  decoder_.feed(chunk, static_cast<size_t>(n));
}

// Decodes and applies the frames that are due. Returns true when more are
// ready now; *wait_us says when the next one is due (recorded streams).
bool Player::step_stream(int64_t* wait_us) {
  *wait_us = -1;
  if (stream_done_) return false;
  const int64_t slice_end = now_us() + kStreamSliceUs;
  for (;;) {
    if (!pending_) {
      std::string err;
      switch (decoder_.next(&ev_, &err)) {
        case stream::StreamDecoder::Result::kError:
          stream_finished(fail(vredir::kExitMalformed, what_ + ": " + err));
          return false;
        case stream::StreamDecoder::Result::kNeedMore:
          if (eof_) {
            std::string cut = decoder_.framing().truncation();
            if (cut.empty())
              cut = "stream ended without an end-of-stream frame at offset " + std::to_string(bytes_read_);
            stream_finished(fail(vredir::kExitPeerLost, what_ + ": " + cut));
          } else {
            want_read_ = true;
          }
          return false;
        case stream::StreamDecoder::Result::kEvent: pending_ = true; break;
      }
    }
    if (timed_) {
      int64_t w = clock_.wait_us(ev_.frame.header.timestamp_us, now_us());
      if (w > 0) {
        *wait_us = w;
        return false;
      }
    }
    pending_ = false;
    handle(ev_);
    if (done_ || stream_done_) return false;
    if (now_us() >= slice_end) return true;
  }
}

void Player::stream_finished(Status st) {
  stream_done_ = true;
  pending_ = false;
  // Show what has arrived, even without its FRAME_END.
  for (auto& [id, w] : windows_) w->present();
  if (!opt_.hold) {
    stop(st);
  } else if (!st) {
    // Said now; the exit status follows when the windows are closed.
    spdlog::error("{}", st.message());
    deferred_ = Status(st.code(), "");
  }
}

void Player::handle(const stream::Event& ev) {
  if (ev.what != stream::Event::What::kFrame) {
    spdlog::debug("skipped a frame of unknown type, kind or encoding at offset {}", ev.frame.offset);
    return;
  }
  switch (ev.type()) {
    case stream::FrameType::kDeclare: on_declare(*ev.channel); return;
    case stream::FrameType::kClose: on_close(*ev.channel); return;
    case stream::FrameType::kEnd: stream_finished(Status::ok()); return;
    default: break;
  }
  if (!ev.channel) return;
  switch (ev.channel->kind_enum()) {
    case stream::ChannelKind::kDisplay: {
      auto it = windows_.find(ev.channel->id);
      if (it != windows_.end()) on_display_frame(ev, *it->second);
      return;
    }
    case stream::ChannelKind::kCursor: on_cursor_frame(ev); return;
    case stream::ChannelKind::kAudio:
      if (ev.channel->id == audio_channel_ && ev.type() == stream::FrameType::kAudioData)
        audio_.push(std::get<stream::AudioData>(ev.payload).pcm);
      return;
    case stream::ChannelKind::kGdi: on_gdi_frame(ev); return;
    case stream::ChannelKind::kClipboard:
      if (clip_ && clip_channels_.count(ev.channel->id) && ev.type() == stream::FrameType::kClipboard)
        clip_->from_app(std::get<stream::Clipboard>(ev.payload).data);
      return;
    default:
      // Input, text, control, ack and bytes channels have nothing to show.
      return;
  }
}

bool Player::charge(const stream::ChannelInfo& ch, uint64_t bytes) {
  if (budget_.set(ch.id, bytes)) return true;
  stream_finished(fail(vredir::kExitMalformed, what_ + ": " + budget_.over(ch.id, ch.name, bytes)));
  return false;
}

void Player::on_declare(const stream::ChannelInfo& ch) {
  if (!ch.known_kind) return;
  switch (ch.kind_enum()) {
    case stream::ChannelKind::kDisplay: {
      std::string title = ch.name;
      if (!decoder_.hello().producer.empty()) title += " - " + decoder_.hello().producer;
      windows_[ch.id] = std::make_unique<SurfaceWindow>(x_, ch.id, title);
      display_order_.push_back(ch.id);
      return;
    }
    case stream::ChannelKind::kCursor: {
      uint32_t display = 0;
      if (!stream::param_u32(ch.params, "display", &display) && !display_order_.empty()) display = display_order_[0];
      cursor_display_[ch.id] = static_cast<uint16_t>(display);
      return;
    }
    case stream::ChannelKind::kClipboard:
      // An app's clipboard (a viewer's own, with downstream, is not ours).
      if (ch.params.count("downstream") || opt_.clipboard_max == 0 || !input_.enabled()) return;
      if (!clip_) {
        clip_ = std::make_unique<ClipboardSync>(opt_.clipboard_max, [this](const std::string& text) {
          for (const auto& [id, name] : clip_channels_)
            if (Status st = input_.clipboard(id, name, text); !st) return st;
          return Status::ok();
        });
        if (Status st = clip_->open(opt_.x_display); !st) {
          spdlog::warn("{}; the apps' clipboards stay apart", st.message());
          clip_.reset();
          return;
        }
      }
      clip_channels_[ch.id] = ch.params.count("app") ? ch.params.at("app") : ch.name;
      return;
    case stream::ChannelKind::kAudio:
      if (opt_.no_audio || audio_channel_ != 0) return;
      // The output queue holds one second.
      if (!charge(ch, uint64_t(ch.rate) * stream::audio_frame_bytes(ch))) return;
      if (audio_.open(ch.rate, ch.channels, ch.format)) audio_channel_ = ch.id;
      return;
    default: return;
  }
}

void Player::on_close(const stream::ChannelInfo& ch) {
  budget_.release(ch.id);
  if (ch.id == audio_channel_) {
    audio_.close();
    audio_channel_ = 0;
  }
  if (auto c = cursor_display_.find(ch.id); c != cursor_display_.end()) {
    if (auto w = windows_.find(c->second); w != windows_.end()) w->second->hide_cursor();
    cursor_display_.erase(c);
  }
  if (gdi_ && ch.known_kind && ch.kind_enum() == stream::ChannelKind::kGdi) gdi_->close_channel(ch.id);
  clip_channels_.erase(ch.id);
  if (auto w = windows_.find(ch.id); w != windows_.end()) {
    bool was_shown = w->second->shown();
    if (ch.id == (display_order_.empty() ? 0 : display_order_[0]) && was_shown && !opt_.screenshot.empty()) {
      vredir::Image img;
      if (w->second->capture(&img)) capture_at_close_ = std::move(img);
    }
    send(input_.display_gone(ch.id));
    windows_.erase(w);
  }
}

void Player::on_display_frame(const stream::Event& ev, SurfaceWindow& w) {
  if (w.retired()) return;  // closed by the user: decoded, not shown
  switch (ev.type()) {
    case stream::FrameType::kSurface: {
      const auto& s = std::get<stream::Surface>(ev.payload);
      // The surface, and the image that shows it in the window.
      if (!charge(*ev.channel, uint64_t(s.width) * s.height * 4 * 2)) return;
      w.resize(s.width, s.height);
      auto head = ev.channel->params.find("head");
      send(input_.display_shown(w.channel(), ev.channel->name, s.width, s.height,
                                head == ev.channel->params.end() ? std::string() : head->second));
      return;
    }
    case stream::FrameType::kRect: {
      std::string err;
      if (!w.apply(std::get<stream::Rect>(ev.payload), &err))
        stream_finished(fail(vredir::kExitMalformed,
                             what_ + ": " + err + " in RECT at offset " + std::to_string(ev.frame.offset)));
      return;
    }
    case stream::FrameType::kFrameEnd: w.present(); return;
    default: return;
  }
}

void Player::on_cursor_frame(const stream::Event& ev) {
  auto c = cursor_display_.find(ev.channel->id);
  if (c == cursor_display_.end()) return;
  auto it = windows_.find(c->second);
  if (it == windows_.end() || !it->second->shown()) return;
  SurfaceWindow& w = *it->second;
  if (ev.type() == stream::FrameType::kCursorShape) {
    const auto& shape = std::get<stream::CursorShape>(ev.payload);
    if (!charge(*ev.channel, uint64_t(shape.w) * shape.h * 4)) return;
    w.set_cursor_shape(shape);
  } else if (ev.type() == stream::FrameType::kCursorPos) {
    const auto& p = std::get<stream::CursorPos>(ev.payload);
    w.set_cursor_pos(p.x, p.y, p.visible);
  }
}

// GDI channels: a Windows application's windows, drawn as local X windows
// (gdi_windows.hpp); their input goes back on an upstream gdi channel.
void Player::on_gdi_frame(const stream::Event& ev) {
  if (!gdi_) {
    gdi_ = std::make_unique<GdiWindows>(
        [this](uint16_t channel, const std::string& name, const vredir::gdi::Record& rec) {
          std::string payload;
          vredir::gdi::encode_record(rec, payload);
          return input_.gdi(channel, name, payload);
        });
    if (Status st = gdi_->open(opt_.x_display); !st) {
      stream_finished(st);
      return;
    }
  }
  const uint16_t id = ev.channel->id;
  if (Status st = gdi_->apply(id, ev.channel->name, ev.frame.payload, budget_.available_for(id) / 4); !st) {
    std::string why = st.message().find("memory budget") != std::string::npos
                          ? budget_.over(id, ev.channel->name, 0)
                          : st.message();
    stream_finished(fail(st.code(), what_ + ": " + why + " at offset " + std::to_string(ev.frame.offset)));
    return;
  }
  (void)budget_.set(id, gdi_->channel_pixels(id) * 4);
}

// --- X ----------------------------------------------------------------------

void Player::drain_x() {
  while (xcb_generic_event_t* e = xcb_poll_for_event(x_.conn())) {
    on_x_event(e);
    free(e);
    if (done_) return;
  }
}

SurfaceWindow* Player::window_of(xcb_window_t win) {
  for (auto& [id, w] : windows_)
    if (w->window() == win) return w.get();
  return nullptr;
}

bool Player::any_window_shown() const {
  for (const auto& [id, w] : windows_)
    if (w->shown()) return true;
  return false;
}

void Player::on_x_event(xcb_generic_event_t* e) {
  switch (e->response_type & 0x7f) {
    case XCB_EXPOSE: {
      auto* ex = reinterpret_cast<xcb_expose_event_t*>(e);
      if (SurfaceWindow* w = window_of(ex->window)) w->expose(ex->x, ex->y, ex->width, ex->height);
      return;
    }
    case XCB_KEY_PRESS:
    case XCB_KEY_RELEASE: {
      auto* k = reinterpret_cast<xcb_key_press_event_t*>(e);
      on_key(k->event, k->detail, k->state, (e->response_type & 0x7f) == XCB_KEY_PRESS);
      return;
    }
    case XCB_BUTTON_PRESS:
    case XCB_BUTTON_RELEASE: {
      auto* b = reinterpret_cast<xcb_button_press_event_t*>(e);
      on_pointer(b->event, b->event_x, b->event_y, b->detail, (e->response_type & 0x7f) == XCB_BUTTON_PRESS);
      return;
    }
    case XCB_MOTION_NOTIFY: {
      auto* m = reinterpret_cast<xcb_motion_notify_event_t*>(e);
      on_pointer(m->event, m->event_x, m->event_y, 0, false);
      return;
    }
    case XCB_ENTER_NOTIFY: {
      auto* en = reinterpret_cast<xcb_enter_notify_event_t*>(e);
      on_pointer(en->event, en->event_x, en->event_y, 0, false);
      return;
    }
    case XCB_FOCUS_OUT: {
      auto* f = reinterpret_cast<xcb_focus_out_event_t*>(e);
      if (f->detail != XCB_NOTIFY_DETAIL_INFERIOR && f->detail != XCB_NOTIFY_DETAIL_POINTER) release_held_keys();
      return;
    }
    case XCB_MAPPING_NOTIFY: x_.refresh_keyboard_mapping(reinterpret_cast<xcb_mapping_notify_event_t*>(e)); return;
    case XCB_CLIENT_MESSAGE: {
      auto* cm = reinterpret_cast<xcb_client_message_event_t*>(e);
      if (cm->type == x_.wm_protocols && cm->format == 32 && cm->data.data32[0] == x_.wm_delete_window)
        if (SurfaceWindow* w = window_of(cm->window)) on_window_closed(*w, false);
      return;
    }
    case XCB_DESTROY_NOTIFY: {
      // Destroyed by another client (xkill, xdotool windowclose): closed too.
      auto* d = reinterpret_cast<xcb_destroy_notify_event_t*>(e);
      if (SurfaceWindow* w = window_of(d->window)) on_window_closed(*w, true);
      return;
    }
    default: return;
  }
}

void Player::on_window_closed(SurfaceWindow& w, bool destroyed) {
  if (&w == capture_window() && !opt_.screenshot.empty() && !destroyed) {
    vredir::Image img;
    if (w.capture(&img)) capture_at_close_ = std::move(img);
  }
  w.close(destroyed);
  send(input_.display_gone(w.channel()));
  if (!any_window_shown()) stop(Status::ok());
}

void Player::on_key(xcb_window_t win, uint8_t keycode, uint16_t state, bool down) {
  std::optional<uint16_t> code = keys::evdev_from_x_keycode(keycode);
  if (!code) return;
  uint32_t sym = x_.keysym(keycode, state);
  std::vector<vredir::KeyStroke> out;
  chord_.feed(*code, down, &out);
  if (chord_.take_grab_toggle()) toggle_grab(win);
  for (const vredir::KeyStroke& k : out) {
    if (k.down) held_keys_.insert(k.code);
    else held_keys_.erase(k.code);
    send(input_.key(k.code, k.down, k.code == *code ? sym : keys::us_keysym(k.code)));
  }
}

// Keys held when the focus leaves would stay down in the guest: release them.
void Player::release_held_keys() {
  for (uint16_t code : held_keys_) send(input_.key(code, false, keys::us_keysym(code)));
  held_keys_.clear();
  chord_.reset();
}

// Grabs the pointer in the window that has the keyboard, or releases the
// grab wherever it is.
void Player::toggle_grab(xcb_window_t win) {
  for (auto& [id, w] : windows_)
    if (w->grabbed()) {
      w->release_pointer();
      spdlog::info("pointer released: absolute positions again");
      return;
    }
  SurfaceWindow* w = window_of(win);
  if (!w || w->width() == 0) return;
  if (w->grab_pointer())
    spdlog::info("pointer grabbed in display {}: relative motion (escape key, G releases)", w->channel());
  else
    spdlog::warn("the X server refused the pointer grab (another client holds it)");
}

void Player::on_pointer(xcb_window_t win, int16_t x, int16_t y, int button, bool press) {
  SurfaceWindow* w = window_of(win);
  if (!w || w->width() == 0) return;
  uint32_t& mask = buttons_[w->channel()];
  // X buttons 1..7: left, middle, right, wheel up, down, left, right; the
  // same order as the stream's button bits.
  if (button >= 1 && button <= 7) {
    uint32_t bit = 1u << (button - 1);
    mask = press ? (mask | bit) : (mask & ~bit);
  }
  if (w->grabbed()) {
    // Motion is sent as relative and the pointer warped back to the centre;
    // the warp's own motion event sends nothing.
    int32_t dx = 0, dy = 0;
    if (button == 0 && w->grab_motion(x, y, &dx, &dy)) {
      send(input_.pointer_rel(w->channel(), dx, dy, mask));
      if (x != w->centre_x() || y != w->centre_y()) w->warp_to_centre();
    } else if (button != 0) {
      send(input_.pointer_rel(w->channel(), 0, 0, mask));
    }
    return;
  }
  // The window is 1:1 with the surface, drawn at its top left; a window made
  // larger or smaller by the window manager maps onto the surface's edge.
  int32_t sx = std::clamp<int32_t>(x, 0, static_cast<int32_t>(w->width()) - 1);
  int32_t sy = std::clamp<int32_t>(y, 0, static_cast<int32_t>(w->height()) - 1);
  send(input_.pointer(w->channel(), sx, sy, mask));
}

// --- ending -----------------------------------------------------------------

void Player::send(Status st) {
  if (!st) stop(st);
}

void Player::stop(Status st) {
  if (done_) return;
  done_ = true;
  result_ = st;
}

SurfaceWindow* Player::capture_window() {
  if (display_order_.empty()) return nullptr;
  auto it = windows_.find(display_order_[0]);
  return it == windows_.end() ? nullptr : it->second.get();
}

Status Player::write_screenshot() {
  vredir::Image img;
  SurfaceWindow* w = capture_window();
  if (w && w->shown()) {
    if (Status st = w->capture(&img); !st) return st;
  } else if (capture_at_close_) {
    img = std::move(*capture_at_close_);
  } else if (gdi_ && gdi_->capture(&img)) {
    // No display channel: the first GDI window's client area.
  } else {
    return fail(vredir::kExitFailure, "no display window to read back for '" + opt_.screenshot +
                                          "' (the stream showed none, or its window was destroyed)");
  }
  return vredir::write_png(opt_.screenshot, img.width, img.height, img.pixels.data());
}

}  // namespace

Status replay(const ReplayOptions& opt) {
  Player player(opt);
  return player.run();
}

}  // namespace xreplay
