#include "virt/vnc_session.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "wire/byte_reader.hpp"
#include "wire/stream_format.hpp"
#include "virt/domain_devices.hpp"

namespace vredir {

namespace {

// Messages applied per pump() call, so a busy server cannot starve the caller.
constexpr int kMaxMessagesPerPump = 64;

}  // namespace

Status open_domain_display(const Domain& d, const DomainDevices& devices, int display, int* fd) {
  const std::string& name = d.name();
  std::vector<int> vnc;  // indexes among <graphics> of the VNC ones
  for (size_t i = 0; i < devices.graphics.size(); ++i)
    if (devices.graphics[i].type == "vnc") vnc.push_back(static_cast<int>(i));
  if (vnc.empty())
    return fail(kExitFailure, "domain '" + name + "' has no VNC display (add <graphics type='vnc'/>; see: virsh edit " +
                                  name + ")");
  if (display < 0 || static_cast<size_t>(display) >= vnc.size()) {
    std::string range = vnc.size() == 1 ? "0" : "0-" + std::to_string(vnc.size() - 1);
    return fail(kExitFailure, "domain '" + name + "' has " + std::to_string(vnc.size()) +
                                  (vnc.size() == 1 ? " display (" : " displays (") + range + ")");
  }
  DomainState state;
  if (Status st = d.state(&state); !st) return st;
  if (state != DomainState::kRunning && state != DomainState::kPaused)
    return fail(kExitFailure, "cannot capture '" + name + "': it is " + state_name(state) + " (try: vm-power start " +
                                  name + ")");
  int s = virDomainOpenGraphicsFD(d.get(), static_cast<unsigned>(vnc[display]), VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH);
  if (s < 0) return libvirt_error("cannot open the VNC display of '" + name + "'");
  *fd = s;
  return Status::ok();
}

Status VncSession::start(const VncSessionOptions& options, int timeout_ms) {
  options_ = options;
  if (Status st = client_.handshake(timeout_ms); !st) return st;
  const rfb::ServerInit& init = client_.server();
  if (init.width == 0 || init.height == 0 || init.width > rfb::kMaxFramebufferSide ||
      init.height > rfb::kMaxFramebufferSide)
    return fail(kExitMalformed, "the VNC server announced a " + std::to_string(init.width) + "x" +
                                    std::to_string(init.height) + " screen");
  fb_.resize(init.width, init.height);

  // 32-bit little-endian 0x00RRGGBB: raw pixels are then the stream's BGRX as is.
  rfb::PixelFormat pf;
  client_.set_pixel_format(pf);
  if (Status st = client_.send(rfb::encode_set_pixel_format(pf)); !st) return st;

  std::vector<int32_t> enc;
  uint32_t accept = 0;
  if (options.encoding == rfb::kEncodingZrle) {
    enc.push_back(rfb::kEncodingZrle);
    accept |= rfb::kAcceptZrle;
  } else if (options.encoding == rfb::kEncodingZlib) {
    enc.push_back(rfb::kEncodingZlib);
    accept |= rfb::kAcceptZlib;
  }
  enc.push_back(rfb::kEncodingRaw);
  enc.push_back(rfb::kEncodingCopyRect);
  enc.push_back(rfb::kEncodingExtendedDesktopSize);
  enc.push_back(rfb::kEncodingDesktopSize);
  enc.push_back(rfb::kEncodingLastRect);
  if (options.cursor) enc.push_back(rfb::kEncodingCursor);
  if (options.audio) {
    enc.push_back(rfb::kEncodingQemuAudio);
    accept |= rfb::kAcceptQemuAudio;
  }
  client_.set_accept(accept);
  if (Status st = client_.send(rfb::encode_set_encodings(enc)); !st) return st;
  return request_full();
}

Status VncSession::request_full() {
  return client_.send(rfb::encode_framebuffer_update_request(false, 0, 0, static_cast<uint16_t>(fb_.width),
                                                             static_cast<uint16_t>(fb_.height)));
}

Status VncSession::handle(std::span<const uint8_t> msg, VncEvents* ev) {
  bytes_ += msg.size();
  switch (msg[0]) {
    case rfb::kMsgFramebufferUpdate: {
      rfb::UpdateResult r;
      if (Status st = decoder_.apply(msg, client_.server().format, &fb_, &r); !st) return st;
      ev->updates++;
      ev->changed |= r.changed;
      if (r.resized) {
        ev->resized = true;
        ev->rects.clear();  // everything before the resize is gone
      }
      ev->rects.insert(ev->rects.end(), r.rects.begin(), r.rects.end());
      if (r.cursor) ev->cursor = std::move(r.cursor);
      if (r.audio_ack && options_.audio && !audio_enabled_) {
        ev->audio_ack = true;
        audio_enabled_ = true;
        // The format first: QEMU applies it when capture is enabled.
        if (Status st = client_.send(rfb::encode_qemu_audio_format(rfb::kAudioS16, options_.audio_channels,
                                                                   options_.audio_rate));
            !st)
          return st;
        if (Status st = client_.send(rfb::encode_qemu_audio(rfb::kAudioEnable)); !st) return st;
      }
      // One request per update keeps exactly one outstanding: QEMU sends the
      // next update once the screen changes, with no further round trip.
      return client_.send(rfb::encode_framebuffer_update_request(true, 0, 0, static_cast<uint16_t>(fb_.width),
                                                                 static_cast<uint16_t>(fb_.height)));
    }
    case rfb::kMsgQemuServer: {
      rfb::ServerMessage m;
      if (Status st = rfb::decode_server_message(msg, client_.server().format, &m); !st) return st;
      if (m.audio_op == rfb::kAudioData) {
        // Whole sample frames only; QEMU was asked for s16le.
        size_t frame = size_t(options_.audio_channels) * stream::sample_bytes(stream::SampleFormat::kS16le);
        size_t n = m.audio_data.size() / frame * frame;
        ev->audio.append(reinterpret_cast<const char*>(m.audio_data.data()), n);
      }
      return Status::ok();
    }
    case rfb::kMsgBell: ev->bell = true; return Status::ok();
    default: {
      rfb::ServerMessage m;  // colour map, cut text: validated, not used
      return rfb::decode_server_message(msg, client_.server().format, &m);
    }
  }
}

Status VncSession::pump(int timeout_ms, VncEvents* ev, int wake_fd) {
  const int fds[1] = {wake_fd};
  return pump(timeout_ms, ev, std::span<const int>(fds, wake_fd >= 0 ? 1 : 0));
}

Status VncSession::wake_refresh() {
  constexpr uint32_t kXkHelp = 0xFF6A;
  std::string msg;
  put_u8(msg, rfb::kMsgKeyEvent);
  put_u8(msg, 0);  // release
  put_u16be(msg, 0);
  put_u32be(msg, kXkHelp);
  return client_.send(msg);
}

Status VncSession::pump(int timeout_ms, VncEvents* ev, std::span<const int> wake_fds) {
  if (timeout_ms > 0 && !client_.has_message()) {
    std::vector<pollfd> p;
    p.push_back({client_.fd(), POLLIN, 0});
    for (int fd : wake_fds)
      if (fd >= 0) p.push_back({fd, POLLIN, 0});
    int rc = ::poll(p.data(), p.size(), timeout_ms);
    if (rc < 0 && errno != EINTR) return fail(kExitFailure, std::string("poll: ") + std::strerror(errno));
    if (rc <= 0 || !p[0].revents) return Status::ok();
  }
  for (int i = 0; i < kMaxMessagesPerPump; ++i) {
    std::span<const uint8_t> msg;
    Status st = client_.next_message_bytes(&msg, 0);
    if (!st && st.code() == kExitTimeout) return Status::ok();
    if (!st) return st;
    if (Status h = handle(msg, ev); !h) return h;
  }
  return Status::ok();
}

}  // namespace vredir
