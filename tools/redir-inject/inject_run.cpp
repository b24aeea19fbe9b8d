#include "inject_run.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "input/keymap.hpp"
#include "rfb/rfb_input.hpp"
#include "stream_input.hpp"
#include "sys/signals.hpp"
#include "sys/stdio_files.hpp"
#include "virt/domain_devices.hpp"
#include "virt/hypervisor.hpp"
#include "virt/input_hotplug.hpp"
#include "virt/relative_mouse.hpp"
#include "virt/console_stream.hpp"
#include "virt/virtio_keyboard.hpp"
#include "virt/vnc_session.hpp"
#include "wire/stream_writer.hpp"

namespace vredir {

namespace {

// Channel ids of the acknowledgement stream. Events that came from flags or a
// script have no input stream of their own: the ack stream declares a keyboard
// and a pointer channel for them, and their ACK frames name those.
constexpr uint16_t kAckChannel = 1;
constexpr uint16_t kFlagKeyboardChannel = 2;
constexpr uint16_t kFlagPointerChannel = 3;

Status read_script(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(kExitFailure, "cannot open script '" + path + "': " + std::strerror(errno));
  std::string data;
  char buf[65536];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    data.append(buf, static_cast<size_t>(f.gcount()));
    if (data.size() > kMaxScriptBytes)
      return fail(kExitUsage, path + ": script is larger than " + std::to_string(kMaxScriptBytes >> 20) + " MiB");
  }
  *out = std::move(data);
  return Status::ok();
}

// Key events at which a keyboard is worth hot-plugging: plugging one in and
// waiting for the guest's driver takes about half a second, in which QEMU's
// VNC key queue delivers about 30 key events anyway.
constexpr size_t kHotplugFromKeys = 32;
constexpr int kHotplugTimeoutMs = 8000;

// Opens the VNC display; *domain keeps the domain (for its virtio keyboard),
// *virtio_keyboard says whether it has one.
Status open_vnc(const std::string& vnc_address, const std::string& uri, const std::string& domain_ref, int* fd,
                Domain* domain, bool* virtio_keyboard) {
  if (!vnc_address.empty()) return connect_vnc_address(vnc_address, fd);
  silence_libvirt_errors();
  Connection conn;
  if (Status st = conn.open(uri); !st) return st;
  Domain dom;
  if (Status st = conn.lookup(domain_ref, &dom); !st) return st;
  DomainState state;
  if (Status st = dom.state(&state); !st) return st;
  if (state == DomainState::kPaused)
    return fail(kExitFailure, "domain '" + dom.name() + "' is paused and would drop input (try: vm-power resume " +
                                  dom.name() + ")");
  if (state != DomainState::kRunning)
    return fail(kExitFailure, "domain '" + dom.name() + "' is " + state_name(state) + " (try: vm-power start " +
                                  dom.name() + ")");
  // The first VNC display, wherever it sits among the domain's <graphics>.
  std::string xml;
  if (Status st = dom.xml(&xml); !st) return st;
  DomainDevices devices;
  if (Status st = parse_domain_devices(xml, &devices); !st) return st;
  if (Status st = open_domain_display(dom, devices, 0, fd); !st) return st;
  for (const InputDevice& i : devices.inputs) *virtio_keyboard |= i.type == "keyboard" && i.bus == "virtio";
  *domain = std::move(dom);
  return Status::ok();
}

size_t key_events(const std::vector<InputAction>& actions) {
  size_t n = 0;
  for (const InputAction& a : actions)
    if (a.kind == InputAction::Kind::kKeys) n += a.keys.size();
  return n;
}

Status run_actions(const std::vector<InputAction>& actions, InputDelivery* d, bool acks, uint64_t* key_seq,
                   uint64_t* ptr_seq) {
  auto key_tag = [&] { return AckTag{acks, kFlagKeyboardChannel, ++*key_seq}; };
  auto ptr_tag = [&] { return AckTag{acks, kFlagPointerChannel, ++*ptr_seq}; };
  for (const InputAction& a : actions) {
    switch (a.kind) {
      case InputAction::Kind::kKeys:
        for (const KeyPress& k : a.keys)
          if (Status st = d->key(k, key_tag()); !st) return st;
        break;
      case InputAction::Kind::kMove:
        if (Status st = d->pointer(a.x, a.y, d->buttons(), ptr_tag()); !st) return st;
        break;
      case InputAction::Kind::kMoveRel:
        if (Status st = d->pointer_rel(a.dx, a.dy, d->buttons(), ptr_tag()); !st) return st;
        break;
      case InputAction::Kind::kClick: {
        uint8_t mask = static_cast<uint8_t>(1u << (a.button - 1));
        uint8_t base = d->buttons() & static_cast<uint8_t>(~mask);
        if (Status st = d->pointer(a.x, a.y, base, ptr_tag()); !st) return st;
        if (Status st = d->pointer(a.x, a.y, base | mask, ptr_tag()); !st) return st;
        if (Status st = d->pointer(a.x, a.y, base, ptr_tag()); !st) return st;
        break;
      }
      case InputAction::Kind::kScroll: {
        // Wheel notches are presses and releases of buttons 4 (up) and 5 (down).
        uint8_t wheel = a.amount < 0 ? 0x08 : 0x10;
        int32_t x = d->has_position() ? d->last_x() : d->surface_width() / 2;
        int32_t y = d->has_position() ? d->last_y() : d->surface_height() / 2;
        for (int32_t i = 0; i < (a.amount < 0 ? -a.amount : a.amount); ++i) {
          if (Status st = d->pointer(x, y, d->buttons() | wheel, ptr_tag()); !st) return st;
          if (Status st = d->pointer(x, y, d->buttons() & static_cast<uint8_t>(~wheel), ptr_tag()); !st) return st;
        }
        break;
      }
      case InputAction::Kind::kSleep:
        if (Status st = d->wait_until(InputClock::now() + std::chrono::milliseconds(a.ms)); !st) return st;
        break;
    }
  }
  return Status::ok();
}

}  // namespace

Status check_inject_options(const InjectOptions& o) {
  if (!parse_layout(o.keymap)) return fail(kExitUsage, "unknown keymap '" + o.keymap + "' (us, de, fr, gb)");
  if (!o.serial_texts.empty()) {
    if (o.domain.empty() || !o.vnc.empty())
      return fail(kExitUsage, "--serial-text needs a DOMAIN (the console comes through libvirt), not --vnc");
    if (!o.actions.empty() || !o.input.empty() || o.ack)
      return fail(kExitUsage, "--serial-text goes to the serial console: not with keyboard or pointer actions, "
                              "--input or --ack (run redir-inject once for each)");
  } else if (o.force) {
    return fail(kExitUsage, "--force only applies to --serial-text");
  }
  if (o.domain.empty() && o.vnc.empty()) return fail(kExitUsage, "a DOMAIN (or --vnc ADDRESS) is required");
  if (o.seat >= 0) {
    if (!o.vnc.empty()) return fail(kExitUsage, "--seat plugs devices into a DOMAIN through libvirt, not --vnc");
    if (o.keyboard == "vnc") return fail(kExitUsage, "--seat types through a virtio keyboard: not with --keyboard vnc");
  }
  if (!o.vnc.empty())
    for (const auto& a : o.actions)
      if (a.first == ActionFlag::kMoveRel)
        return fail(kExitUsage, "--move-rel goes through the VM's monitor: it needs a DOMAIN, not --vnc");
  if (!o.vnc.empty() && o.keyboard == "virtio")
    return fail(kExitUsage, "--keyboard virtio needs a DOMAIN's virtio keyboard, not --vnc");
  return Status::ok();
}

Status resolve_actions(const InjectOptions& o, std::vector<InputAction>* actions) {
  std::optional<Layout> layout = parse_layout(o.keymap);
  if (!layout) return fail(kExitUsage, "unknown keymap '" + o.keymap + "' (us, de, fr, gb)");
  static const char* const kFlagNames[] = {"--type", "--key", "--move", "--move-rel", "--click", "--scroll", "--script"};
  for (const auto& [flag, v] : o.actions) {
    InputAction a;
    std::string err;
    bool ok = true;
    switch (flag) {
      case ActionFlag::kType: ok = make_type_action(v, *layout, &a, &err); break;
      case ActionFlag::kKey: ok = make_key_action(v, &a, &err); break;
      case ActionFlag::kMove: ok = make_move_action(v, &a, &err); break;
      case ActionFlag::kMoveRel: ok = make_move_rel_action(v, &a, &err); break;
      case ActionFlag::kClick: ok = make_click_action(v, &a, &err); break;
      case ActionFlag::kScroll: ok = make_scroll_action(v, &a, &err); break;
      case ActionFlag::kScript: {
        std::string content;
        if (Status st = read_script(v, &content); !st) return st;
        if (!parse_input_script(content, v, *layout, actions, &err)) return fail(kExitUsage, err);
        continue;
      }
    }
    if (!ok) return fail(kExitUsage, std::string(kFlagNames[static_cast<int>(flag)]) + ": " + err);
    actions->push_back(std::move(a));
  }
  return Status::ok();
}

Status serial_bytes(const InjectOptions& o, std::string* out) {
  for (const std::string& t : o.serial_texts) {
    std::string bytes, err;
    if (!unescape_text(t, &bytes, &err)) return fail(kExitUsage, "--serial-text: " + err);
    out->append(bytes);
  }
  return Status::ok();
}

namespace {

// After the last byte the console stays open until the guest has answered
// (output came back) and gone quiet for kSerialQuietMs, at most
// kSerialLingerMs. QEMU looks for a new client on the console's pty about
// once a second and reads nothing before: closing at once would leave the
// bytes in the pty until the next client opens the console. Output reaching
// us means QEMU is reading.
constexpr int kSerialQuietMs = 300;
constexpr int kSerialLingerMs = 3000;

Status run_serial_text(const InjectOptions& o) {
  std::string bytes;
  if (Status st = serial_bytes(o, &bytes); !st) return st;
  install_interrupt_handlers();
  silence_libvirt_errors();
  if (Status st = enable_libvirt_events(); !st) return st;
  Connection conn;
  if (Status st = conn.open(o.uri); !st) return st;
  Domain dom;
  if (Status st = conn.lookup(o.domain, &dom); !st) return st;
  ConsoleStream console;
  if (Status st = console.open(dom, o.force ? ConsoleStream::Takeover::kForce : ConsoleStream::Takeover::kRefuse); !st)
    return st;
  if (Status st = console.write(bytes); !st) return st;
  spdlog::debug("wrote {} bytes to {}", bytes.size(), console.label());
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + std::chrono::milliseconds(kSerialLingerMs);
  std::optional<Clock::time_point> last_output;
  std::string echo;
  while (!interrupted()) {
    auto now = Clock::now();
    auto until = end;
    if (last_output) until = std::min(end, *last_output + std::chrono::milliseconds(kSerialQuietMs));
    if (now >= until) break;
    pollfd p{console.wake_fd(), POLLIN, 0};
    (void)::poll(&p, 1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) + 1);
    console.drain_wake();
    echo.clear();
    if (Status st = console.take(&echo); !st) break;  // taken over or gone: the bytes were written already
    if (!echo.empty()) last_output = Clock::now();
  }
  spdlog::debug("{}: {}", console.label(), last_output ? "the guest answered" : "no answer within the linger time");
  console.close();
  return interrupted() ? fail(kExitInterrupted, "") : Status::ok();
}

}  // namespace

Status run_inject(const InjectOptions& o) {
  if (Status st = check_inject_options(o); !st) return st;
  if (!o.serial_texts.empty()) return run_serial_text(o);
  std::optional<Layout> layout = parse_layout(o.keymap);
  std::vector<InputAction> actions;
  if (Status st = resolve_actions(o, &actions); !st) return st;
  bool pointer_flags = false;
  for (const InputAction& a : actions)
    if (a.kind != InputAction::Kind::kKeys && a.kind != InputAction::Kind::kSleep) {
      // A head beyond the first has a size that only its display channel
      // declares: its pointer comes from a stream.
      if (o.seat > 0)
        return fail(kExitUsage, "--seat " + std::to_string(o.seat) + ": keys only from flags (" +
                                    (a.source.empty() ? std::string("a pointer flag") : a.source) +
                                    "): pointer positions on that head come as POINTER frames of a channel "
                                    "declared with its head, width and height");
      pointer_flags = true;
    }
  bool read_stream = !o.input.empty() || actions.empty();
  InputFile in;
  if (read_stream)
    if (Status st = in.open(o.input.empty() ? "-" : o.input); !st) return st;

  install_interrupt_handlers();
  int fd = -1;
  Domain dom;
  bool has_virtio_keyboard = false;
  if (Status st = open_vnc(o.vnc, o.uri, o.domain, &fd, &dom, &has_virtio_keyboard); !st) return st;
  VncInput vnc_input(fd);
  std::string target = o.vnc.empty() ? "'" + o.domain + "'" : o.vnc;
  if (Status st = vnc_input.open(10000); !st) return fail(st.code(), "VNC display of " + target + ": " + st.message());
  spdlog::debug("VNC server '{}', {}x{}, scancodes {}", vnc_input.server_name(), vnc_input.width(),
                vnc_input.height(), vnc_input.scancodes() ? "yes" : "no");

  // Keys: through the VM's virtio keyboard, or one hot-plugged for this run
  // when the VM has none, or else through the VNC server (said once, why).
  // The hot-plugged keyboard is unplugged when the run ends, however it ends.
  // Relative motion through the monitor, to the VM's relative mouse.
  std::optional<RelativeMouse> rel_mouse;
  if (o.vnc.empty()) rel_mouse.emplace(dom.share());
  InputHotplug hotplug, tablet_plug;
  std::optional<SeatTablet> seat_tablet;
  VirtioKeyboard virtio;
  bool use_virtio = false;
  if (o.seat >= 0) {
    // A seat's own keyboard, bound to its head: no fallback to the shared
    // devices, which other terminals type into too.
    SeatBinding binding;
    std::string xml;
    DomainDevices devices;
    if (Status st = dom.xml(&xml); !st) return st;
    if (Status st = parse_domain_devices(xml, &devices); !st) return st;
    if (Status st = seat_binding(devices, dom.name(), o.seat, &binding); !st) return st;
    const HotplugKind kinds[] = {HotplugKind::kKeyboard};
    if (Status st = hotplug.attach_seat(dom, kinds, binding, "inject", kHotplugTimeoutMs); !st) return st;
    // The tablet is the seat's pointer. Without one (no second free slot)
    // the seat types and its pointer input is skipped, said once here.
    const HotplugKind tablet_kind[] = {HotplugKind::kTablet};
    if (Status st = tablet_plug.attach_seat(dom, tablet_kind, binding, "inject", kHotplugTimeoutMs); st) {
      seat_tablet.emplace(dom.share(), binding);
    } else {
      if (st.code() == kExitInterrupted || pointer_flags) return st;
      spdlog::warn("seat {}: no tablet of its own, so its pointer input is skipped: {}", o.seat, st.message());
    }
    if (Status st = virtio.open_seat(std::move(dom), hotplug.devices().front().qom_path, binding); !st) return st;
    use_virtio = true;
    spdlog::info("seat {}: a virtio keyboard{} of this run's own, bound to {} head {}", o.seat,
                 seat_tablet ? " and tablet" : "", binding.display, binding.head);
  } else if (o.keyboard != "vnc" && o.vnc.empty()) {
    if (has_virtio_keyboard) {
      if (Status st = virtio.open(std::move(dom)); st) {
        use_virtio = true;
      } else {
        if (o.keyboard == "virtio") return st;
        spdlog::warn("{}; keys go through the VNC server", st.message());
      }
    } else if (o.keyboard == "virtio" || read_stream || key_events(actions) >= kHotplugFromKeys) {
      const HotplugKind kinds[] = {HotplugKind::kKeyboard};
      Status st = hotplug.attach(dom, kinds, "inject", kHotplugTimeoutMs);
      if (st) st = virtio.open_path(std::move(dom), hotplug.devices().front().qom_path);
      if (st) {
        use_virtio = true;
        spdlog::info("'{}' has no virtio keyboard: one is plugged in for this run", o.domain);
      } else if (o.keyboard == "virtio" || st.code() == kExitInterrupted) {
        return st;
      } else {
        spdlog::warn("{}; keys go through the VNC server (about 30 characters a second)", st.message());
      }
    }
  }
  spdlog::debug("keys through {}", use_virtio ? "the virtio keyboard " + virtio.qom_path() + " (via " + virtio.route() + ")" : "the VNC server");

  stream::StreamWriter writer([](std::string_view b) { return write_all(1, b, "stdout"); });
  if (o.ack) {
    Status st = writer.begin("redir-inject", {{"source", read_stream ? "stream" : "flags"}});
    if (st) st = writer.declare(kAckChannel, stream::ChannelKind::kAck, "acks");
    if (st && !actions.empty()) st = writer.declare(kFlagKeyboardChannel, stream::ChannelKind::kKeyboard, "flag-keys");
    if (st && !actions.empty()) st = writer.declare(kFlagPointerChannel, stream::ChannelKind::kPointer, "flag-pointer");
    if (!st) return st;
  }
  auto on_ack = [&](const AckTag& t) -> Status {
    if (!t.wanted) return Status::ok();
    stream::Ack a{t.channel, t.seq, t.failed ? stream::AckStatus::kFailed : stream::AckStatus::kDelivered};
    return writer.ack(kAckChannel, a);
  };
  Pacing pacing;
  if (o.key_interval_ms > 0) {
    pacing.key_interval = std::chrono::microseconds(static_cast<int64_t>(o.key_interval_ms * 1000));
    pacing.virtio_key_interval = pacing.key_interval;
  }
  InputDelivery delivery(vnc_input, pacing, on_ack);
  if (use_virtio) delivery.use_virtio_keyboard(&virtio);
  if (rel_mouse) delivery.use_rel_motion(&*rel_mouse);
  // Head 0 is the VNC server's surface; another head's size comes with its
  // channel in the stream.
  if (seat_tablet)
    delivery.use_abs_pointer(&*seat_tablet, o.seat == 0 ? vnc_input.width() : 0, o.seat == 0 ? vnc_input.height() : 0);

  auto t0 = InputClock::now();
  uint64_t key_seq = 0, ptr_seq = 0;
  Status st = run_actions(actions, &delivery, o.ack, &key_seq, &ptr_seq);
  if (st && read_stream) {
    StreamInputOptions opt{*layout, !o.no_timing, o.ack, o.seat};
    st = replay_input_stream(in.fd(), in.path(), opt, &delivery);
  }
  // Whatever stopped the run, keys and buttons are not left pressed.
  if (!st && !st.is_reader_gone() && st.code() != kExitTimeout) (void)delivery.release_all();
  if (st) st = delivery.finish();
  double secs = std::chrono::duration<double>(InputClock::now() - t0).count();
  spdlog::debug("delivered {} key and {} pointer events in {:.2f} s", delivery.key_events(), delivery.pointer_events(),
               secs);
  if (use_virtio)
    spdlog::debug("virtio keyboard: {} reports, {} waits for guest buffers, {} sent again", virtio.batches(),
                  virtio.waits(), virtio.resent());
  if (o.ack && !st.is_reader_gone()) {
    stream::EndReason reason = st ? stream::EndReason::kNormal
                                  : (st.code() == kExitInterrupted ? stream::EndReason::kInterrupted
                                                                   : stream::EndReason::kError);
    Status e = writer.end(reason, st ? "" : st.message());
    if (st && !e) st = e;
  }
  return st;
}

}  // namespace vredir
