#include "rfb/rfb_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "wire/byte_reader.hpp"
#include "sys/stdio_files.hpp"

namespace vredir::rfb {

namespace {

Frame need_more(uint64_t total) { return Frame{Frame::kNeedMore, total, {}}; }
Frame malformed(std::string why) { return Frame{Frame::kMalformed, 0, std::move(why)}; }

uint64_t bytes_per_pixel(const PixelFormat& f) { return (uint64_t(f.bits_per_pixel) + 7) / 8; }

}  // namespace

Rect read_rect_header(ByteReader& r) {
  Rect rect;
  rect.x = r.u16be();
  rect.y = r.u16be();
  rect.width = r.u16be();
  rect.height = r.u16be();
  rect.encoding = r.i32be();
  return rect;
}

namespace {

Frame frame_framebuffer_update(std::span<const uint8_t> buf, const PixelFormat& f, uint32_t accept) {
  ByteReader r(buf);
  if (r.remaining() < 4) return need_more(4);
  r.skip(2);
  uint16_t count = r.u16be();
  for (uint32_t i = 0; i < count; ++i) {
    if (r.remaining() < 12) return need_more(r.offset() + 12);
    Rect rect = read_rect_header(r);
    uint64_t payload = 0;
    Frame pending;
    if (!rect_payload_size(r, rect, f, accept, &payload, &pending)) return pending;
    if (r.offset() + payload > kMaxMessageBytes)
      return malformed("framebuffer update larger than " + std::to_string(kMaxMessageBytes >> 20) + " MiB");
    if (r.remaining() < payload) return need_more(r.offset() + payload);
    r.skip(payload);
    if (rect.encoding == kEncodingLastRect) break;
  }
  return Frame{Frame::kComplete, r.offset(), {}};
}

Frame frame_qemu_message(std::span<const uint8_t> buf) {
  ByteReader r(buf);
  if (r.remaining() < 4) return need_more(4);
  r.skip(1);
  uint8_t sub = r.u8();
  uint16_t op = r.u16be();
  if (sub != 1) return malformed("unknown QEMU server message " + std::to_string(sub));
  if (op == 0 || op == 1) return Frame{Frame::kComplete, 4, {}};  // audio end / begin
  if (op != 2) return malformed("unknown QEMU audio operation " + std::to_string(op));
  if (r.remaining() < 4) return need_more(8);
  uint32_t n = r.u32be();
  if (n > kMaxMessageBytes) return malformed("QEMU audio data larger than the message cap");
  return r.remaining() < n ? need_more(8 + uint64_t(n)) : Frame{Frame::kComplete, 8 + uint64_t(n), {}};
}

}  // namespace

bool rect_payload_size(ByteReader& r, const Rect& rect, const PixelFormat& f, uint32_t accept, uint64_t* size,
                       Frame* frame) {
  uint64_t w = rect.width, h = rect.height;
  auto length_prefixed = [&]() {
    if (r.remaining() < 4) {
      *frame = need_more(r.offset() + 4);
      return false;
    }
    ByteReader peek(r.rest());
    *size = 4 + uint64_t(peek.u32be());
    return true;
  };
  switch (rect.encoding) {
    case kEncodingRaw: *size = w * h * bytes_per_pixel(f); return true;
    case kEncodingCopyRect: *size = 4; return true;
    case kEncodingDesktopSize:
    case kEncodingLastRect: *size = 0; return true;
    case kEncodingCursor: *size = w * h * bytes_per_pixel(f) + ((w + 7) / 8) * h; return true;
    case kEncodingQemuExtendedKeyEvent:
    case kEncodingQemuLedState:
      if (!(accept & kAcceptQemuInput)) break;
      *size = rect.encoding == kEncodingQemuLedState ? 1 : 0;
      return true;
    case kEncodingExtendedDesktopSize:
      if (r.remaining() < 1) {
        *frame = need_more(r.offset() + 1);
        return false;
      }
      *size = 4 + 16 * uint64_t(r.rest()[0]);
      return true;
    case kEncodingZlib:
      if (accept & kAcceptZlib) return length_prefixed();
      break;
    case kEncodingZrle:
      if (accept & kAcceptZrle) return length_prefixed();
      break;
    case kEncodingQemuAudio:
      if (accept & kAcceptQemuAudio) {
        *size = 0;  // QEMU's acknowledgement of the audio pseudo-encoding
        return true;
      }
      break;
    default: break;
  }
  *frame = malformed("server sent rectangle encoding " + std::to_string(rect.encoding) + " that was not requested");
  return false;
}

const char* resize_status_text(uint16_t status) {
  switch (status) {
    case kResizeOk: return "no error";
    case kResizeProhibited: return "resize is administratively prohibited";
    case kResizeOutOfResources: return "out of resources";
    case kResizeInvalidLayout: return "invalid screen layout";
    case kResizeForwarded: return "request forwarded";
    default: return "unknown status";
  }
}

Frame frame_server_message(std::span<const uint8_t> buf, const PixelFormat& f, uint32_t accept) {
  if (buf.empty()) return need_more(1);
  switch (buf[0]) {
    case kMsgFramebufferUpdate: return frame_framebuffer_update(buf, f, accept);
    case kMsgSetColourMapEntries: {
      ByteReader r(buf);
      if (r.remaining() < 6) return need_more(6);
      r.skip(4);
      uint64_t size = 6 + 6 * uint64_t(r.u16be());
      return r.remaining() + 6 < size ? need_more(size) : Frame{Frame::kComplete, size, {}};
    }
    case kMsgBell: return Frame{Frame::kComplete, 1, {}};
    case kMsgServerCutText: {
      ByteReader r(buf);
      if (r.remaining() < 8) return need_more(8);
      r.skip(4);
      uint32_t n = r.u32be();
      if (n > kMaxCutTextBytes) return malformed("server cut text of " + std::to_string(n) + " bytes is over the cap");
      uint64_t size = 8 + uint64_t(n);
      return buf.size() < size ? need_more(size) : Frame{Frame::kComplete, size, {}};
    }
    case kMsgQemuServer: return frame_qemu_message(buf);
    default: return malformed("unknown server message type " + std::to_string(buf[0]));
  }
}

Status decode_server_message(std::span<const uint8_t> msg, const PixelFormat& f, ServerMessage* out) {
  *out = ServerMessage();
  ByteReader r(msg);
  out->type = r.u8();
  if (out->type == kMsgFramebufferUpdate) {
    r.skip(1);
    uint16_t count = r.u16be();
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
      Rect rect = read_rect_header(r);
      if (!r.ok()) break;
      out->rects.push_back(rect);
      if (rect.encoding == kEncodingDesktopSize) {
        out->desktop_sizes.push_back(DesktopSize{false, 0, 0, rect.width, rect.height, {}});
      } else if (rect.encoding == kEncodingExtendedDesktopSize) {
        DesktopSize ds{true, rect.x, rect.y, rect.width, rect.height, {}};
        uint8_t screens = r.u8();
        r.skip(3);
        if (!r.need(16 * uint64_t(screens))) break;
        for (uint8_t s = 0; s < screens; ++s) {
          Screen sc;
          sc.id = r.u32be();
          sc.x = r.u16be();
          sc.y = r.u16be();
          sc.width = r.u16be();
          sc.height = r.u16be();
          sc.flags = r.u32be();
          ds.screens.push_back(sc);
        }
        out->desktop_sizes.push_back(std::move(ds));
      } else {
        uint64_t payload = 0;
        Frame pending;
        if (!rect_payload_size(r, rect, f, kAcceptAll, &payload, &pending)) {
          r.fail(pending.kind == Frame::kMalformed ? pending.error : "truncated rectangle");
          break;
        }
        r.skip(payload);
      }
      if (rect.encoding == kEncodingLastRect) break;
    }
  } else if (out->type == kMsgSetColourMapEntries) {
    r.skip(3);
    uint16_t n = r.u16be();
    r.skip(6 * uint64_t(n));
  } else if (out->type == kMsgServerCutText) {
    r.skip(3);
    uint32_t n = r.u32be();
    if (n > kMaxCutTextBytes) r.fail("server cut text over the cap");
    out->cut_text = std::string(r.str(n));
  } else if (out->type == kMsgQemuServer) {
    if (r.u8() != 1) r.fail("unknown QEMU server message");
    out->audio_op = r.u16be();
    if (out->audio_op == kAudioData) {
      uint32_t n = r.u32be();
      if (n > kMaxMessageBytes) r.fail("QEMU audio data larger than the message cap");
      out->audio_data = r.bytes(n);
    } else if (out->audio_op != kAudioBegin && out->audio_op != kAudioEnd) {
      r.fail("unknown QEMU audio operation " + std::to_string(out->audio_op));
    }
  } else if (out->type != kMsgBell) {
    r.fail("unknown server message type " + std::to_string(out->type));
  }
  if (r.ok() && !r.at_end()) r.fail("server message has " + std::to_string(r.remaining()) + " trailing bytes");
  if (!r.ok()) return fail(kExitMalformed, "malformed RFB message from the VNC server: " + r.error());
  return Status::ok();
}

Status parse_protocol_version(std::span<const uint8_t> b, int* minor) {
  ByteReader r(b);
  std::string_view v = r.str(12);
  if (!r.ok() || v.substr(0, 4) != "RFB " || v[7] != '.' || v[11] != '\n')
    return fail(kExitMalformed, "the VNC server did not send an RFB protocol version");
  int major = 0, min = 0;
  for (size_t i = 4; i < 7; ++i) {
    if (v[i] < '0' || v[i] > '9') return fail(kExitMalformed, "bad RFB protocol version");
    major = major * 10 + (v[i] - '0');
  }
  for (size_t i = 8; i < 11; ++i) {
    if (v[i] < '0' || v[i] > '9') return fail(kExitMalformed, "bad RFB protocol version");
    min = min * 10 + (v[i] - '0');
  }
  if (major != 3 || min < 3) return fail(kExitMalformed, "unsupported RFB protocol version " + std::string(v.substr(4, 7)));
  *minor = min >= 8 ? 8 : (min == 7 ? 7 : 3);
  return Status::ok();
}

Status parse_server_init_fixed(std::span<const uint8_t> b, ServerInit* out, uint32_t* name_length) {
  ByteReader r(b);
  out->width = r.u16be();
  out->height = r.u16be();
  PixelFormat& f = out->format;
  f.bits_per_pixel = r.u8();
  f.depth = r.u8();
  f.big_endian = r.u8();
  f.true_colour = r.u8();
  f.red_max = r.u16be();
  f.green_max = r.u16be();
  f.blue_max = r.u16be();
  f.red_shift = r.u8();
  f.green_shift = r.u8();
  f.blue_shift = r.u8();
  r.skip(3);
  *name_length = r.u32be();
  if (!r.ok()) return fail(kExitMalformed, "short RFB ServerInit: " + r.error());
  if (f.bits_per_pixel != 8 && f.bits_per_pixel != 16 && f.bits_per_pixel != 32)
    return fail(kExitMalformed, "RFB ServerInit has " + std::to_string(f.bits_per_pixel) + " bits per pixel");
  if (*name_length > kMaxNameBytes) return fail(kExitMalformed, "RFB desktop name is over the cap");
  return Status::ok();
}

std::string encode_set_encodings(std::span<const int32_t> encodings) {
  std::string out;
  put_u8(out, kMsgSetEncodings);
  put_u8(out, 0);
  put_u16be(out, static_cast<uint16_t>(encodings.size()));
  for (int32_t e : encodings) put_u32be(out, static_cast<uint32_t>(e));
  return out;
}

std::string encode_framebuffer_update_request(bool incremental, uint16_t x, uint16_t y, uint16_t w, uint16_t h) {
  std::string out;
  put_u8(out, kMsgFramebufferUpdateRequest);
  put_u8(out, incremental ? 1 : 0);
  put_u16be(out, x);
  put_u16be(out, y);
  put_u16be(out, w);
  put_u16be(out, h);
  return out;
}

std::string encode_set_desktop_size(uint16_t w, uint16_t h, std::span<const Screen> screens) {
  std::string out;
  put_u8(out, kMsgSetDesktopSize);
  put_u8(out, 0);
  put_u16be(out, w);
  put_u16be(out, h);
  put_u8(out, static_cast<uint8_t>(screens.size()));
  put_u8(out, 0);
  for (const Screen& s : screens) {
    put_u32be(out, s.id);
    put_u16be(out, s.x);
    put_u16be(out, s.y);
    put_u16be(out, s.width);
    put_u16be(out, s.height);
    put_u32be(out, s.flags);
  }
  return out;
}

std::string encode_set_pixel_format(const PixelFormat& f) {
  std::string out;
  put_u8(out, kMsgSetPixelFormat);
  out.append(3, '\0');
  put_u8(out, f.bits_per_pixel);
  put_u8(out, f.depth);
  put_u8(out, f.big_endian);
  put_u8(out, f.true_colour);
  put_u16be(out, f.red_max);
  put_u16be(out, f.green_max);
  put_u16be(out, f.blue_max);
  put_u8(out, f.red_shift);
  put_u8(out, f.green_shift);
  put_u8(out, f.blue_shift);
  out.append(3, '\0');
  return out;
}

std::string encode_qemu_audio(uint16_t op) {
  std::string out;
  put_u8(out, kMsgQemuClient);
  put_u8(out, 1);
  put_u16be(out, op);
  return out;
}

std::string encode_qemu_audio_format(uint8_t sample_format, uint8_t channels, uint32_t rate) {
  std::string out = encode_qemu_audio(kAudioSetFormat);
  put_u8(out, sample_format);
  put_u8(out, channels);
  put_u32be(out, rate);
  return out;
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

Status send_to_server(int fd, std::string_view bytes) {
  Status st = write_all(fd, bytes, "the VNC server");
  if (st.is_reader_gone()) return fail(kExitPeerLost, "the VNC server closed the connection");
  return st;
}

Status read_from_server(int fd, int timeout_ms, std::vector<uint8_t>* buffer) {
  pollfd p{fd, POLLIN, 0};
  int rc = ::poll(&p, 1, timeout_ms);
  if (rc < 0) {
    if (errno == EINTR) return Status::ok();
    return fail(kExitFailure, std::string("poll on the VNC socket failed: ") + std::strerror(errno));
  }
  if (rc == 0) return fail(kExitTimeout, "no answer from the VNC server");
  uint8_t chunk[65536];
  ssize_t n = ::read(fd, chunk, sizeof chunk);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return Status::ok();
    return fail(kExitPeerLost, std::string("reading from the VNC server failed: ") + std::strerror(errno));
  }
  if (n == 0) return fail(kExitPeerLost, "the VNC server closed the connection (did the VM stop?)");
  buffer->insert(buffer->end(), chunk, chunk + n);
  return Status::ok();
}

Status Client::send(std::string_view bytes) { return send_to_server(fd_, bytes); }

Status Client::fill(int timeout_ms) { return read_from_server(fd_, timeout_ms, &buffer_); }

Status Client::read_exact(size_t n, std::vector<uint8_t>* out, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (buffer_.size() - consumed_ < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return fail(kExitTimeout, "the VNC server did not finish the handshake in time");
    if (Status st = fill(static_cast<int>(left.count())); !st) return st;
  }
  out->assign(buffer_.begin() + consumed_, buffer_.begin() + consumed_ + n);
  consumed_ += n;
  return Status::ok();
}

Status Client::handshake(int timeout_ms) {
  std::vector<uint8_t> b;
  if (Status st = read_exact(12, &b, timeout_ms); !st) return st;
  int minor = 0;
  if (Status st = parse_protocol_version(b, &minor); !st) return st;
  char version[13];
  std::snprintf(version, sizeof version, "RFB 003.%03d\n", minor);
  if (Status st = send(std::string_view(version, 12)); !st) return st;

  auto read_reason = [&](const char* what) -> Status {
    std::vector<uint8_t> len;
    if (Status st = read_exact(4, &len, timeout_ms); !st) return st;
    ByteReader r(len);
    uint32_t n = r.u32be();
    if (n > kMaxReasonBytes) return fail(kExitMalformed, std::string(what) + ": reason text over the cap");
    std::vector<uint8_t> text;
    if (Status st = read_exact(n, &text, timeout_ms); !st) return st;
    return fail(kExitDenied, std::string(what) + ": " + std::string(text.begin(), text.end()));
  };

  if (minor >= 7) {
    if (Status st = read_exact(1, &b, timeout_ms); !st) return st;
    uint8_t count = b[0];
    if (count == 0) return read_reason("the VNC server refused the connection");
    if (Status st = read_exact(count, &b, timeout_ms); !st) return st;
    bool has_none = false;
    std::string offered;
    for (uint8_t t : b) {
      has_none = has_none || t == 1;
      offered += (offered.empty() ? "" : ",") + std::to_string(t);
    }
    if (!has_none)
      return fail(kExitDenied, "the VNC server requires authentication (security types " + offered + ")");
    if (Status st = send(std::string_view("\x01", 1)); !st) return st;
  } else {
    if (Status st = read_exact(4, &b, timeout_ms); !st) return st;
    ByteReader r(b);
    uint32_t type = r.u32be();
    if (type == 0) return read_reason("the VNC server refused the connection");
    if (type != 1) return fail(kExitDenied, "the VNC server requires authentication (security type " +
                                                std::to_string(type) + ")");
  }
  if (minor >= 8) {
    if (Status st = read_exact(4, &b, timeout_ms); !st) return st;
    ByteReader r(b);
    if (r.u32be() != 0) return read_reason("VNC security handshake failed");
  }
  if (Status st = send(std::string_view("\x01", 1)); !st) return st;  // ClientInit: shared
  if (Status st = read_exact(24, &b, timeout_ms); !st) return st;
  uint32_t name_length = 0;
  if (Status st = parse_server_init_fixed(b, &init_, &name_length); !st) return st;
  if (Status st = read_exact(name_length, &b, timeout_ms); !st) return st;
  init_.name.assign(b.begin(), b.end());
  return Status::ok();
}

Status Client::next_message(ServerMessage* out, int timeout_ms) {
  std::span<const uint8_t> bytes;
  if (Status st = next_message_bytes(&bytes, timeout_ms); !st) return st;
  return decode_server_message(bytes, init_.format, out);
}

bool Client::has_message() const {
  size_t from = consumed_ + pending_release_;
  std::span<const uint8_t> pending(buffer_.data() + from, buffer_.size() - from);
  return !pending.empty() && frame_server_message(pending, init_.format, accept_).kind != Frame::kNeedMore;
}

Status Client::next_message_bytes(std::span<const uint8_t>* out, int timeout_ms) {
  // The message handed out last time stays valid until now.
  consumed_ += pending_release_;
  pending_release_ = 0;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    std::span<const uint8_t> pending(buffer_.data() + consumed_, buffer_.size() - consumed_);
    Frame frame = frame_server_message(pending, init_.format, accept_);
    if (frame.kind == Frame::kMalformed)
      return fail(kExitMalformed, "malformed RFB message from the VNC server: " + frame.error);
    if (frame.kind == Frame::kComplete) {
      *out = pending.first(frame.size);
      pending_release_ = frame.size;
      return Status::ok();
    }
    // Drop consumed bytes before growing, so the buffer holds one message at most.
    if (consumed_ > 0) {
      buffer_.erase(buffer_.begin(), buffer_.begin() + consumed_);
      consumed_ = 0;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && timeout_ms > 0) return fail(kExitTimeout, "no message from the VNC server in time");
    Status st = fill(static_cast<int>(std::max<long long>(0, left.count())));
    if (!st) return st;
    if (timeout_ms <= 0 && std::span<const uint8_t>(buffer_.data() + consumed_, buffer_.size() - consumed_).size() ==
                               pending.size())
      return fail(kExitTimeout, "no message from the VNC server in time");
  }
}

}  // namespace vredir::rfb
