#include "rfb/rfb_input.hpp"

#include <netdb.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <thread>

#include "wire/byte_reader.hpp"
#include "sys/signals.hpp"
#include "sys/stdio_files.hpp"

namespace vredir::rfb {

std::string encode_key_event(bool down, uint32_t keysym) {
  std::string out;
  put_u8(out, kMsgKeyEvent);
  put_u8(out, down ? 1 : 0);
  put_u16be(out, 0);
  put_u32be(out, keysym);
  return out;
}

std::string encode_pointer_event(uint8_t buttons, uint16_t x, uint16_t y) {
  std::string out;
  put_u8(out, kMsgPointerEvent);
  put_u8(out, buttons);
  put_u16be(out, x);
  put_u16be(out, y);
  return out;
}

std::string encode_qemu_extended_key_event(bool down, uint32_t keysym, uint32_t qnum) {
  std::string out;
  put_u8(out, kMsgQemuClient);
  put_u8(out, kQemuSubExtendedKeyEvent);
  put_u16be(out, down ? 1 : 0);
  put_u32be(out, keysym);
  put_u32be(out, qnum);
  return out;
}

Frame frame_input_reply(std::span<const uint8_t> buf, const PixelFormat& f) {
  return frame_server_message(buf, f, kAcceptQemuInput);
}

Status decode_input_reply(std::span<const uint8_t> msg, const PixelFormat& f, InputReply* out) {
  *out = InputReply();
  if (msg.empty()) return fail(kExitMalformed, "empty RFB message from the VNC server");
  out->type = msg[0];
  if (out->type != kMsgFramebufferUpdate) {
    ServerMessage other;
    return decode_server_message(msg, f, &other);
  }
  ByteReader r(msg);
  r.skip(2);
  uint16_t count = r.u16be();
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    Rect rect = read_rect_header(r);
    if (!r.ok()) break;
    uint64_t payload = 0;
    Frame pending;
    if (!rect_payload_size(r, rect, f, kAcceptQemuInput, &payload, &pending)) {
      r.fail(pending.kind == Frame::kMalformed ? pending.error : "truncated rectangle");
      break;
    }
    switch (rect.encoding) {
      case kEncodingQemuExtendedKeyEvent:
        ++out->key_event_acks;
        break;
      case kEncodingDesktopSize:
      case kEncodingExtendedDesktopSize:
        out->size_known = true;
        out->width = rect.width;
        out->height = rect.height;
        break;
      case kEncodingRaw: out->pixel_rects = true; break;
      default: break;
    }
    r.skip(payload);
    if (rect.encoding == kEncodingLastRect) break;
  }
  if (r.ok() && !r.at_end()) r.fail("framebuffer update has " + std::to_string(r.remaining()) + " trailing bytes");
  if (!r.ok()) return fail(kExitMalformed, "malformed RFB message from the VNC server: " + r.error());
  return Status::ok();
}

}  // namespace vredir::rfb

namespace vredir {

namespace {

int ms_until(InputClock::time_point t) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - InputClock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1000));
}

}  // namespace

VncInput::~VncInput() {
  if (fd_ >= 0) ::close(fd_);
}

Status VncInput::send(std::string_view bytes) { return rfb::send_to_server(fd_, bytes); }

Status VncInput::fill(int timeout_ms) {
  if (consumed_ > 0 && consumed_ == in_.size()) {
    in_.clear();
    consumed_ = 0;
  }
  return rfb::read_from_server(fd_, timeout_ms, &in_);
}

Status VncInput::read_exact(size_t n, std::vector<uint8_t>* out, int timeout_ms) {
  auto deadline = InputClock::now() + std::chrono::milliseconds(timeout_ms);
  while (in_.size() - consumed_ < n) {
    if (InputClock::now() >= deadline) return fail(kExitTimeout, "the VNC server did not finish the handshake in time");
    if (Status st = fill(std::max(1, ms_until(deadline))); !st && st.code() != kExitTimeout) return st;
  }
  out->assign(in_.begin() + consumed_, in_.begin() + consumed_ + n);
  consumed_ += n;
  return Status::ok();
}

Status VncInput::drain_messages() {
  for (;;) {
    std::span<const uint8_t> pending(in_.data() + consumed_, in_.size() - consumed_);
    if (pending.empty()) return Status::ok();
    rfb::Frame frame = rfb::frame_input_reply(pending, init_.format);
    if (frame.kind == rfb::Frame::kMalformed)
      return fail(kExitMalformed, "malformed RFB message from the VNC server: " + frame.error);
    if (frame.kind == rfb::Frame::kNeedMore) {
      if (consumed_ > 0) {
        in_.erase(in_.begin(), in_.begin() + consumed_);
        consumed_ = 0;
      }
      return Status::ok();
    }
    rfb::InputReply reply;
    Status st = rfb::decode_input_reply(pending.first(frame.size), init_.format, &reply);
    consumed_ += frame.size;
    if (!st) return st;
    if (reply.size_known && (reply.width != width_ || reply.height != height_)) {
      spdlog::debug("VNC surface is now {}x{}", reply.width, reply.height);
      width_ = reply.width;
      height_ = reply.height;
    }
    pongs_ += scancodes_ ? reply.key_event_acks : (reply.pixel_rects ? 1 : 0);
  }
}

std::string VncInput::ping_message() const {
  if (!scancodes_) return rfb::encode_framebuffer_update_request(false, 0, 0, 1, 1);
  // SetEncodings replaces the client's whole list, so it always names all.
  const int32_t encodings[] = {rfb::kEncodingRaw, rfb::kEncodingExtendedDesktopSize, rfb::kEncodingDesktopSize,
                               rfb::kEncodingQemuExtendedKeyEvent, rfb::kEncodingQemuLedState};
  return rfb::encode_set_encodings(encodings);
}

Status VncInput::open(int timeout_ms) {
  std::vector<uint8_t> b;
  if (Status st = read_exact(12, &b, timeout_ms); !st) return st;
  int minor = 0;
  if (Status st = rfb::parse_protocol_version(b, &minor); !st) return st;
  char version[13];
  std::snprintf(version, sizeof version, "RFB 003.%03d\n", minor);
  if (Status st = send(std::string_view(version, 12)); !st) return st;
  auto reason = [&](const std::string& what) -> Status {
    std::vector<uint8_t> len;
    if (Status st = read_exact(4, &len, timeout_ms); !st) return st;
    uint32_t n = ByteReader(len).u32be();
    if (n > rfb::kMaxReasonBytes) return fail(kExitMalformed, what + ": reason text over the cap");
    std::vector<uint8_t> text;
    if (Status st = read_exact(n, &text, timeout_ms); !st) return st;
    return fail(kExitDenied, what + ": " + std::string(text.begin(), text.end()));
  };
  if (minor >= 7) {
    if (Status st = read_exact(1, &b, timeout_ms); !st) return st;
    if (b[0] == 0) return reason("the VNC server refused the connection");
    if (Status st = read_exact(b[0], &b, timeout_ms); !st) return st;
    if (std::find(b.begin(), b.end(), uint8_t{1}) == b.end())
      return fail(kExitDenied, "the VNC server requires authentication (open it through libvirt, or allow security type None)");
    if (Status st = send(std::string_view("\x01", 1)); !st) return st;
  } else {
    if (Status st = read_exact(4, &b, timeout_ms); !st) return st;
    uint32_t type = ByteReader(b).u32be();
    if (type == 0) return reason("the VNC server refused the connection");
    if (type != 1) return fail(kExitDenied, "the VNC server requires authentication");
  }
  if (minor >= 8) {
    if (Status st = read_exact(4, &b, timeout_ms); !st) return st;
    if (ByteReader(b).u32be() != 0) return reason("VNC security handshake failed");
  }
  if (Status st = send(std::string_view("\x01", 1)); !st) return st;  // ClientInit: shared
  if (Status st = read_exact(24, &b, timeout_ms); !st) return st;
  uint32_t name_length = 0;
  if (Status st = rfb::parse_server_init_fixed(b, &init_, &name_length); !st) return st;
  if (Status st = read_exact(name_length, &b, timeout_ms); !st) return st;
  init_.name.assign(b.begin(), b.end());
  width_ = init_.width;
  height_ = init_.height;

  // Ask for the QEMU extensions; QEMU answers the key event one at once.
  scancodes_ = true;
  if (Status st = send(ping_message()); !st) return st;
  auto deadline = InputClock::now() + std::chrono::milliseconds(std::min(timeout_ms, 3000));
  while (pongs_ == 0 && InputClock::now() < deadline) {
    Status st = fill(std::max(1, ms_until(deadline)));
    if (!st && st.code() == kExitTimeout) break;
    if (!st) return st;
    if (Status d = drain_messages(); !d) return d;
  }
  if (pongs_ == 0) {
    scancodes_ = false;
    spdlog::warn("the VNC server '{}' does not take scancodes (no QEMU extended key event): sending keysyms, "
                 "which the server maps through its own keymap",
                 init_.name);
  }
  pongs_ = 0;
  return Status::ok();
}

void VncInput::queue_key(const KeyPress& key) {
  uint16_t qnum = qnum_from_evdev(key.code);
  if (scancodes_ && qnum != 0) out_ += rfb::encode_qemu_extended_key_event(key.down, key.keysym, qnum);
  else out_ += rfb::encode_key_event(key.down, key.keysym ? key.keysym : default_keysym(key.code));
}

void VncInput::queue_pointer(uint16_t x, uint16_t y, uint8_t buttons) {
  out_ += rfb::encode_pointer_event(buttons, x, y);
}

Status VncInput::round_trip(int timeout_ms) {
  out_ += ping_message();
  Status st = send(out_);
  out_.clear();
  if (!st) return st;
  uint64_t want = pongs_ + 1;
  auto deadline = InputClock::now() + std::chrono::milliseconds(timeout_ms);
  while (pongs_ < want) {
    if (InputClock::now() >= deadline)
      return fail(kExitTimeout, "the VNC server did not confirm input within " + std::to_string(timeout_ms / 1000) +
                                    " s (is the VM paused?)");
    Status f = fill(std::max(1, ms_until(deadline)));
    if (!f && f.code() != kExitTimeout) return f;
    if (Status d = drain_messages(); !d) return d;
  }
  return Status::ok();
}

Status VncInput::idle(int timeout_ms) {
  Status f = fill(timeout_ms);
  if (!f && f.code() != kExitTimeout) return f;
  return drain_messages();
}

// --- delivery ------------------------------------------------------------

Status InputDelivery::give_acks(bool all) {
  auto now = InputClock::now();
  while (!acks_.empty() && (all || acks_.front().first <= now)) {
    AckTag tag = acks_.front().second;
    acks_.pop_front();
    if (on_ack_)
      if (Status st = on_ack_(tag); !st) return st;
  }
  return Status::ok();
}

Status InputDelivery::flush_virtio_keys() {
  if (virtio_keys_.empty()) return Status::ok();
  if (InputClock::now() < virtio_next_) std::this_thread::sleep_until(virtio_next_);
  // The interval paces report starts, so the monitor round trips of one
  // report overlap the time its events are owed.
  auto start = InputClock::now();
  if (Status st = virtio_->send(virtio_keys_, pacing_.reply_timeout_ms); !st) return st;
  auto delivered = InputClock::now();
  auto interval = virtio_events_ < uint64_t(pacing_.virtio_warmup_events)
                      ? std::max(pacing_.virtio_key_interval, pacing_.virtio_warmup_interval)
                      : pacing_.virtio_key_interval;
  virtio_next_ = start + interval * static_cast<int64_t>(virtio_keys_.size());
  virtio_events_ += virtio_keys_.size();
  for (const AckTag& t : virtio_tags_)
    if (t.wanted) acks_.emplace_back(delivered, t);
  virtio_keys_.clear();
  virtio_tags_.clear();
  return Status::ok();
}

Status InputDelivery::flush() {
  if (Status st = flush_virtio_keys(); !st) return st;
  if (batch_.empty()) return give_acks(false);
  if (Status st = vnc_.round_trip(pacing_.reply_timeout_ms); !st) return st;
  auto confirmed = InputClock::now();
  for (const Pending& p : batch_) {
    // The server had the event by the time it answered; QEMU's key queue
    // releases one key per interval from then on (conservative model).
    auto start = std::max(free_at_[p.device], confirmed);
    auto delivered = p.device == kKeyboard ? start : confirmed;
    free_at_[p.device] = start + interval(p.device);
    if (p.tag.wanted) acks_.emplace_back(delivered, p.tag);
  }
  batch_.clear();
  return give_acks(false);
}

Status InputDelivery::wait_for_rel() {
  if (InputClock::now() < rel_free_at_) return wait_until(rel_free_at_);
  return Status::ok();
}

Status InputDelivery::admit(Device d) {
  if (Status st = wait_for_rel(); !st) return st;
  Device other = d == kKeyboard ? kPointer : kKeyboard;
  bool other_pending = std::any_of(batch_.begin(), batch_.end(), [&](const Pending& p) { return p.device == other; });
  if (other_pending)
    if (Status st = flush(); !st) return st;
  // Keep the order across devices: the other one's events are out first.
  if (InputClock::now() < free_at_[other])
    if (Status st = wait_until(free_at_[other]); !st) return st;
  for (;;) {
    if (stop_requested()) return fail(kExitInterrupted, "interrupted");
    auto now = InputClock::now();
    long pending = std::count_if(batch_.begin(), batch_.end(), [&](const Pending& p) { return p.device == d; });
    auto queue_end = std::max(free_at_[d], now) + interval(d) * pending;
    if (queue_end - now < interval(d) * window(d)) return Status::ok();
    if (!batch_.empty()) {
      if (Status st = flush(); !st) return st;
      continue;
    }
    if (Status st = wait_until(free_at_[d] - interval(d) * (window(d) - 1)); !st) return st;
  }
}

Status InputDelivery::key(const KeyPress& k, const AckTag& tag) {
  if (virtio_) {
    // Pointer events before this key are confirmed first.
    if (stop_requested()) return fail(kExitInterrupted, "interrupted");
    if (!batch_.empty())
      if (Status st = flush(); !st) return st;
    if (InputClock::now() < free_at_[kPointer])
      if (Status st = wait_until(free_at_[kPointer]); !st) return st;
    if (Status st = wait_for_rel(); !st) return st;
    virtio_keys_.push_back(k);
    virtio_tags_.push_back(tag);
    if (k.down) held_.insert(k.code);
    else held_.erase(k.code);
    ++key_events_;
    if (virtio_keys_.size() >= static_cast<size_t>(virtio_->max_batch())) return flush();
    return Status::ok();
  }
  if (Status st = admit(kKeyboard); !st) return st;
  vnc_.queue_key(k);
  if (k.down) held_.insert(k.code);
  else held_.erase(k.code);
  batch_.push_back({kKeyboard, tag});
  ++key_events_;
  return Status::ok();
}

Status InputDelivery::pointer(int64_t x, int64_t y, uint8_t buttons, const AckTag& tag) {
  if (Status st = flush_virtio_keys(); !st) return st;  // keys before this event are delivered
  if (abs_ && (abs_w_ == 0 || abs_h_ == 0))
    return fail(kExitFailure, "pointer position for a tablet whose surface size is not known");
  if (!abs_)
    if (Status st = admit(kPointer); !st) return st;
  int64_t w = surface_width() ? surface_width() : 65536, h = surface_height() ? surface_height() : 65536;
  int64_t cx = std::clamp<int64_t>(x, 0, w - 1), cy = std::clamp<int64_t>(y, 0, h - 1);
  if ((cx != x || cy != y) && !clamp_warned_) {
    spdlog::warn("pointer position {},{} is outside the {}x{} surface; using {},{}", x, y, w, h, cx, cy);
    clamp_warned_ = true;
  }
  if (abs_) {
    // Another route than the VNC server's: everything before it is out
    // first, as for relative motion.
    if (Status st = flush(); !st) return st;
    if (Status st = wait_until(std::max({free_at_[kKeyboard], free_at_[kPointer], rel_free_at_})); !st) return st;
    if (Status st = abs_->move(static_cast<uint32_t>(cx), static_cast<uint32_t>(cy), abs_w_, abs_h_, buttons); !st)
      return st;
    free_at_[kPointer] = InputClock::now();
    buttons_ = buttons;
    last_x_ = static_cast<int32_t>(cx);
    last_y_ = static_cast<int32_t>(cy);
    has_position_ = true;
    ++pointer_events_;
    return mark(tag);
  }
  vnc_.queue_pointer(static_cast<uint16_t>(cx), static_cast<uint16_t>(cy), buttons);
  buttons_ = buttons;
  last_x_ = static_cast<int32_t>(cx);
  last_y_ = static_cast<int32_t>(cy);
  has_position_ = true;
  batch_.push_back({kPointer, tag});
  ++pointer_events_;
  return Status::ok();
}

Status InputDelivery::pointer_rel(int32_t dx, int32_t dy, uint8_t buttons, const AckTag& tag) {
  if (!rel_) return fail(kExitFailure, "relative pointer motion needs the VM's monitor (a DOMAIN, not --vnc)");
  if (Status st = flush_virtio_keys(); !st) return st;
  // Everything before it is out first: the motion takes another route.
  if (Status st = flush(); !st) return st;
  if (Status st = wait_until(std::max(free_at_[kKeyboard], free_at_[kPointer])); !st) return st;
  if (Status st = rel_->move(dx, dy, buttons); !st) return st;
  int64_t most = std::max(std::abs(int64_t{dx}), std::abs(int64_t{dy}));
  int64_t packets = std::max<int64_t>(1, (most + 126) / 127);
  rel_free_at_ = InputClock::now() + pacing_.rel_interval * packets;
  ++pointer_events_;
  return mark(tag);
}

Status InputDelivery::mark(const AckTag& tag) {
  if (Status st = flush(); !st) return st;
  acks_.emplace_back(std::max({free_at_[kKeyboard], free_at_[kPointer], rel_free_at_, InputClock::now()}), tag);
  return give_acks(false);
}

Status InputDelivery::wait_until(InputClock::time_point t) {
  if (Status st = flush(); !st) return st;
  for (;;) {
    if (stop_requested()) return fail(kExitInterrupted, "interrupted");
    if (Status st = give_acks(false); !st) return st;
    auto now = InputClock::now();
    if (now >= t) return Status::ok();
    // Wake for the next acknowledgement too, so acks are not held back.
    auto wake = t;
    if (!acks_.empty()) wake = std::min(wake, acks_.front().first);
    int ms = ms_until(wake);
    if (ms == 0) {
      std::this_thread::sleep_until(wake);
      continue;
    }
    if (Status st = vnc_.idle(ms); !st) return st;
  }
}

Status InputDelivery::release_all() {
  releasing_ = true;
  std::vector<uint16_t> held(held_.rbegin(), held_.rend());
  Status st;
  for (uint16_t code : held)
    if (st) st = key({code, false, default_keysym(code)});
  if (st && buttons_ != 0 && has_position_) st = pointer(last_x_, last_y_, 0);
  if (st) st = finish();
  releasing_ = false;
  return st;
}

Status InputDelivery::finish() {
  if (Status st = flush(); !st) return st;
  if (Status st = wait_until(std::max({free_at_[kKeyboard], free_at_[kPointer], rel_free_at_})); !st) return st;
  return give_acks(true);
}

Status connect_vnc_address(const std::string& address, int* fd) {
  if (address.rfind("unix:", 0) == 0) {
    std::string path = address.substr(5);
    sockaddr_un sa{};
    if (path.empty() || path.size() >= sizeof sa.sun_path)
      return fail(kExitUsage, "bad VNC socket path in '" + address + "'");
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return fail(kExitFailure, std::string("socket: ") + std::strerror(errno));
    if (::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      int e = errno;
      ::close(s);
      return fail(e == EACCES ? kExitDenied : kExitFailure,
                  "cannot connect to the VNC socket " + path + ": " + std::strerror(e));
    }
    *fd = s;
    return Status::ok();
  }
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    return fail(kExitUsage, "bad VNC address '" + address + "' (unix:PATH or HOST:PORT)");
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return fail(kExitFailure, "cannot resolve VNC address '" + address + "': " + gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (s < 0) continue;
    if (::connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      *fd = s;
      return Status::ok();
    }
    last = std::strerror(errno);
    ::close(s);
  }
  ::freeaddrinfo(res);
  return fail(kExitFailure, "cannot connect to VNC server " + address + ": " + last);
}

}  // namespace vredir
