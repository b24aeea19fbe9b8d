#include "virt/display_resolution.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "sys/signals.hpp"
#include "virt/domain_devices.hpp"
#include "rfb/rfb_client.hpp"

namespace vredir {

namespace {

using Clock = std::chrono::steady_clock;

std::string size_text(unsigned w, unsigned h) { return std::to_string(w) + "x" + std::to_string(h); }

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1000));
}

Status cannot_resize(const Domain& d, const DomainDevices& devices) {
  std::string model = devices.primary_video_model();
  if (model.empty()) model = "none";
  if (model == "virtio")
    return fail(kExitFailure, "the display of '" + d.name() +
                                  "' refused the mode change (is the guest's virtio-gpu driver loaded?)");
  return fail(kExitFailure, "display model '" + model + "' of '" + d.name() +
                                "' cannot change resolution (use virtio-vga)");
}

}  // namespace

bool parse_resolution(std::string_view text, uint16_t* width, uint16_t* height) {
  size_t x = text.find('x');
  if (x == std::string_view::npos) return false;
  unsigned w = 0, h = 0;
  auto a = std::from_chars(text.data(), text.data() + x, w);
  auto b = std::from_chars(text.data() + x + 1, text.data() + text.size(), h);
  if (a.ec != std::errc() || a.ptr != text.data() + x || b.ec != std::errc() || b.ptr != text.data() + text.size())
    return false;
  if (w == 0 || h == 0 || w > 65535 || h > 65535) return false;
  *width = static_cast<uint16_t>(w);
  *height = static_cast<uint16_t>(h);
  return true;
}

Status change_resolution(const Domain& d, const ResolutionRequest& req) {
  const std::string& name = d.name();
  std::string xml;
  if (Status st = d.xml(&xml); !st) return st;
  DomainDevices devices;
  if (Status st = parse_domain_devices(xml, &devices); !st) return st;
  int index = devices.graphics_index("vnc");
  if (index < 0)
    return fail(kExitFailure, "domain '" + name + "' has no VNC display (add <graphics type='vnc'/>; see: virsh edit " +
                                  name + ")");
  DomainState state;
  if (Status st = d.state(&state); !st) return st;
  if (state != DomainState::kRunning && state != DomainState::kPaused)
    return fail(kExitFailure, "cannot change the resolution of '" + name + "': it is " + state_name(state) +
                                  " (try: vm-power start " + name + ")");

  int fd = virDomainOpenGraphicsFD(d.get(), static_cast<unsigned>(index), VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH);
  if (fd < 0) return libvirt_error("cannot open the VNC display of '" + name + "'");
  rfb::Client vnc(fd);
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long long>(req.timeout_s * 1000));
  // The handshake and the layout report are quick; they get their own bound.
  const int kSetupMs = 10000;
  if (Status st = vnc.handshake(kSetupMs); !st) return fail(st.code(), "VNC display of '" + name + "': " + st.message());
  spdlog::debug("VNC server '{}' is {}x{}", vnc.server().name, vnc.server().width, vnc.server().height);

  const int32_t encodings[] = {rfb::kEncodingRaw, rfb::kEncodingExtendedDesktopSize, rfb::kEncodingDesktopSize};
  if (Status st = vnc.send(rfb::encode_set_encodings(encodings)); !st) return st;
  // A non-incremental request makes the server report its screen layout; one
  // pixel keeps the pixel data that comes with it small.
  if (Status st = vnc.send(rfb::encode_framebuffer_update_request(false, 0, 0, 1, 1)); !st) return st;

  // 1. The layout: an ExtendedDesktopSize rect proves the server supports it.
  rfb::DesktopSize layout;
  bool have_layout = false;
  auto setup_deadline = Clock::now() + std::chrono::milliseconds(kSetupMs);
  int updates_without_layout = 0;
  while (!have_layout) {
    rfb::ServerMessage msg;
    Status st = vnc.next_message(&msg, std::max(1, ms_left(setup_deadline)));
    if (!st && st.code() == kExitTimeout && Clock::now() < setup_deadline) continue;
    if (!st && st.code() == kExitTimeout) return cannot_resize(d, devices);
    if (!st) return st;
    for (const rfb::DesktopSize& ds : msg.desktop_sizes)
      if (ds.extended) layout = ds, have_layout = true;
    if (!have_layout && msg.type == rfb::kMsgFramebufferUpdate && ++updates_without_layout >= 2)
      return cannot_resize(d, devices);  // the server does not speak ExtendedDesktopSize
  }
  if (layout.screens.empty()) return cannot_resize(d, devices);
  int head = req.head < 0 ? 0 : req.head;
  if (static_cast<size_t>(head) >= layout.screens.size())
    return fail(kExitFailure, "the VNC display of '" + name + "' shows " + std::to_string(layout.screens.size()) +
                                  " head(s); head " + std::to_string(head) + " is not there (QEMU shows one head per display)");
  uint16_t cur_w = layout.width, cur_h = layout.height;
  if (cur_w == req.width && cur_h == req.height) {
    spdlog::info("'{}' already shows {}", name, size_text(cur_w, cur_h));
    return Status::ok();
  }

  // 2. SetDesktopSize with the chosen screen resized; the server answers with
  //    an ExtendedDesktopSize whose reason is "this client".
  rfb::Screen screen = layout.screens[head];
  screen.x = 0;
  screen.y = 0;
  screen.width = req.width;
  screen.height = req.height;
  if (Status st = vnc.send(rfb::encode_set_desktop_size(req.width, req.height, std::span(&screen, 1))); !st) return st;
  bool answered = false, applied = false;
  auto handle = [&](const rfb::ServerMessage& msg) -> Status {
    for (const rfb::DesktopSize& ds : msg.desktop_sizes) {
      if (ds.extended && ds.reason == rfb::kReasonThisClient) {
        answered = true;
        switch (ds.status) {
          case rfb::kResizeOk:
          case rfb::kResizeForwarded: break;
          case rfb::kResizeProhibited:
            return fail(kExitDenied, "the VNC server of '" + name + "' prohibits resolution changes");
          case rfb::kResizeInvalidLayout: return cannot_resize(d, devices);
          default:
            return fail(kExitFailure, "the display of '" + name + "' refused " + size_text(req.width, req.height) +
                                          ": " + rfb::resize_status_text(ds.status));
        }
      }
      if (ds.reason != rfb::kReasonThisClient || !ds.extended) {
        cur_w = ds.width;
        cur_h = ds.height;
        if (cur_w == req.width && cur_h == req.height) applied = true;
      }
    }
    return Status::ok();
  };
  while (!answered) {
    rfb::ServerMessage msg;
    Status st = vnc.next_message(&msg, std::max(1, ms_left(setup_deadline)));
    if (!st && st.code() == kExitTimeout && Clock::now() < setup_deadline) continue;
    if (!st && st.code() == kExitTimeout) return cannot_resize(d, devices);
    if (!st) return st;
    if (Status h = handle(msg); !h) return h;
  }
  if (!req.wait || applied) return Status::ok();

  // 3. The proof: the server reports the new framebuffer size once the guest
  //    has switched mode.
  auto start = Clock::now();
  auto next_note = start + std::chrono::seconds(5);
  while (!applied) {
    if (interrupted()) return fail(kExitInterrupted, "interrupted while waiting for '" + name + "' to change mode");
    if (Clock::now() >= deadline)
      return fail(kExitTimeout, "sent " + size_text(req.width, req.height) + " to '" + name + "' but the guest kept " +
                                    size_text(cur_w, cur_h) + " for " + std::to_string(static_cast<int>(req.timeout_s)) +
                                    " s (does its driver follow display hotplug?)");
    if (Clock::now() >= next_note) {
      spdlog::info("waiting for '{}' to switch to {} ({} s)", name, size_text(req.width, req.height),
                   static_cast<int>(std::chrono::duration<double>(Clock::now() - start).count()));
      next_note += std::chrono::seconds(5);
    }
    rfb::ServerMessage msg;
    Status st = vnc.next_message(&msg, std::max(1, std::min(200, ms_left(deadline))));
    if (!st && st.code() == kExitTimeout) continue;
    if (!st) return st;
    if (Status h = handle(msg); !h) return h;
  }
  return Status::ok();
}

}  // namespace vredir
