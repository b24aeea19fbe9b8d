#include "stream_input.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sys/cli.hpp"
#include "sys/log_text.hpp"
#include "wire/playback_clock.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir {

namespace {

using stream::ChannelKind;
using stream::FrameType;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(InputClock::now().time_since_epoch()).count();
}

// Waits until fd is readable, sending batched input first and giving
// acknowledgements as they fall due, so a live stream sees no added delay.
Status wait_readable(int fd, InputDelivery* delivery) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) > 0) return Status::ok();
  if (Status st = delivery->send_pending(); !st) return st;
  for (;;) {
    if (interrupted()) return fail(kExitInterrupted, "interrupted");
    auto due = delivery->next_ack_due();
    int timeout = -1;
    if (due != InputClock::time_point::max()) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(due - InputClock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(ms + 1, 0, 1000));
    }
    int rc = ::poll(&p, 1, timeout);
    if (rc > 0) return Status::ok();
    if (rc < 0 && errno != EINTR) return fail(kExitFailure, std::string("poll: ") + std::strerror(errno));
    if (Status st = delivery->send_pending(); !st) return st;
  }
}

struct PointerScale {
  uint32_t width = 0, height = 0;  // the surface the recorded coordinates refer to
};

}  // namespace

Status replay_input_stream(int fd, const std::string& what, const StreamInputOptions& opt, InputDelivery* delivery) {
  stream::StreamDecoder decoder;
  stream::PlaybackClock clock;
  bool eof = false;
  uint64_t offset = 0;
  uint8_t chunk[65536];
  stream::Event ev;
  bool rel_warned = false, head_warned = false;
  for (;;) {
    std::string err;
    stream::StreamDecoder::Result r = decoder.next(&ev, &err);
    if (r == stream::StreamDecoder::Result::kError) return fail(kExitMalformed, what + ": " + err);
    if (r == stream::StreamDecoder::Result::kNeedMore) {
      if (eof) {
        std::string cut = decoder.framing().truncation();
        if (decoder.ended() && cut.empty()) return Status::ok();
        if (cut.empty()) cut = "stream ended without an end-of-stream frame at offset " + std::to_string(offset);
        return fail(kExitPeerLost, what + ": " + cut);
      }
      if (Status st = wait_readable(fd, delivery); !st) return st;
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(kExitFailure, "cannot read " + what + ": " + std::strerror(errno));
      }
      if (n == 0) eof = true;
      offset += static_cast<uint64_t>(n > 0 ? n : 0);
      decoder.feed(chunk, static_cast<size_t>(n > 0 ? n : 0));
      continue;
    }
    if (ev.what != stream::Event::What::kFrame || !ev.channel) continue;
    FrameType type = ev.type();
    if (type != FrameType::kKey && type != FrameType::kPointer && type != FrameType::kPointerRel &&
        type != FrameType::kText)
      continue;

    if (opt.timing) {
      int64_t wait = clock.wait_us(ev.frame.header.timestamp_us, now_us());
      if (wait > 0)
        if (Status st = delivery->wait_until(InputClock::now() + std::chrono::microseconds(wait)); !st) return st;
    }
    uint16_t channel = ev.channel->id;
    bool ack = opt.acks;
    if (type == FrameType::kKey) {
      const auto& k = std::get<stream::Key>(ev.payload);
      KeyPress press{k.code, k.down, k.keysym ? k.keysym : default_keysym(k.code)};
      if (qnum_from_evdev(k.code) == 0 && press.keysym == 0) {
        spdlog::warn("{}: key code {} (seq {}) has no scancode or keysym; skipped", what, k.code, k.seq);
        if (Status st = delivery->mark({ack, channel, k.seq, true}); !st) return st;
        continue;
      }
      if (Status st = delivery->key(press, {ack, channel, k.seq}); !st) return st;
    } else if (type == FrameType::kPointer) {
      const auto& p = std::get<stream::Pointer>(ev.payload);
      // The head of the display whose window the pointer was in (x-replay's
      // pointer channels name it). Without a seat the VM's pointer devices
      // follow its first head: a pointer on another would land on the wrong
      // spot. A seat's tablet is bound to its own head, the others' are not
      // its to move.
      auto h = ev.channel->params.find("head");
      const std::string head = h != ev.channel->params.end() ? h->second : "0";
      std::string skip;
      if (opt.seat < 0 && head != "0")
        skip = "pointer input on head " + log_quote(head, 8) + " skipped: the VM's pointer follows its first head";
      else if (opt.seat >= 0 && head != std::to_string(opt.seat))
        skip = "pointer input on head " + log_quote(head, 8) + " skipped: seat " + std::to_string(opt.seat) +
               "'s tablet is bound to head " + std::to_string(opt.seat);
      else if (opt.seat >= 0 && !delivery->has_abs_pointer())
        skip = "pointer input skipped: seat " + std::to_string(opt.seat) + " has no tablet of its own";
      if (opt.seat >= 0 && skip.empty()) {
        uint32_t w = 0, hh = 0;
        stream::param_u32(ev.channel->params, "width", &w);
        stream::param_u32(ev.channel->params, "height", &hh);
        if (w > 0 && hh > 0 && w <= 65535 && hh <= 65535) delivery->set_abs_surface(w, hh);
        else if (delivery->surface_width() == 0)
          skip = "pointer input skipped: its channel declares no width and height of head " + log_quote(head, 8);
      }
      if (!skip.empty()) {
        if (!head_warned) spdlog::warn("{}: {}", what, skip);
        head_warned = true;
        if (Status st = delivery->mark({ack, channel, p.seq, true}); !st) return st;
        continue;
      }
      PointerScale s;
      stream::param_u32(ev.channel->params, "width", &s.width);
      stream::param_u32(ev.channel->params, "height", &s.height);
      int64_t x = p.x, y = p.y;
      // Coordinates recorded on another surface size land on the same spot.
      if (s.width > 0 && s.height > 0 && delivery->surface_width() > 0 &&
          (s.width != delivery->surface_width() || s.height != delivery->surface_height())) {
        x = x * delivery->surface_width() / s.width;
        y = y * delivery->surface_height() / s.height;
      }
      if (Status st = delivery->pointer(x, y, static_cast<uint8_t>(p.buttons & 0x7f), {ack, channel, p.seq}); !st)
        return st;
    } else if (type == FrameType::kPointerRel) {
      const auto& p = std::get<stream::PointerRel>(ev.payload);
      if (!delivery->has_rel_motion()) {
        if (!rel_warned) spdlog::warn("{}: relative pointer motion needs a DOMAIN (not --vnc); skipped", what);
        rel_warned = true;
        if (Status st = delivery->mark({ack, channel, p.seq, true}); !st) return st;
        continue;
      }
      if (Status st = delivery->pointer_rel(p.dx, p.dy, static_cast<uint8_t>(p.buttons & 0x7f), {ack, channel, p.seq});
          !st)
        return st;
    } else {
      const auto& t = std::get<stream::Text>(ev.payload);
      std::vector<KeyPress> keys;
      std::string why;
      if (!text_to_keys(opt.layout, t.utf8, &keys, &why)) {
        spdlog::warn("{}: text seq {} not typed: {}", what, t.seq, why);
        if (Status st = delivery->mark({ack, channel, t.seq, true}); !st) return st;
        continue;
      }
      for (size_t i = 0; i < keys.size(); ++i) {
        AckTag tag;
        if (i + 1 == keys.size()) tag = {ack, channel, t.seq};
        if (Status st = delivery->key(keys[i], tag); !st) return st;
      }
      if (keys.empty())
        if (Status st = delivery->mark({ack, channel, t.seq}); !st) return st;
    }
  }
}

}  // namespace vredir
