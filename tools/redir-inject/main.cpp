// redir-inject: delivers keyboard and pointer input to a VM through QEMU's VNC
// server, in order, paced so that nothing is dropped, and acknowledged.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "cli.hpp"
#include "hypervisor.hpp"
#include "input_script.hpp"
#include "rfb_input.hpp"
#include "stdio_files.hpp"
#include "stream_input.hpp"
#include "stream_writer.hpp"
#include "domain_devices.hpp"
#include "virtio_keyboard.hpp"
#include "vnc_session.hpp"

using namespace vredir;

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

// Opens the VNC display; *domain keeps the domain (for its virtio keyboard).
Status open_vnc(const std::string& vnc_address, const std::string& uri, const std::string& domain_ref, int* fd,
                Domain* domain) {
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
  *domain = std::move(dom);
  return Status::ok();
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

int main(int argc, char** argv) {
  Tool tool("redir-inject",
            "Deliver keyboard and pointer input to a VM's virtual devices (through its VNC server, and keys through\n"
            "its virtio keyboard when it has one): typed text, key combinations, pointer moves and clicks, scripts,\n"
            "or the input channels of a vredir stream (stdin by default).\n"
            "Events arrive in order and are never dropped.");
  CLI::App& app = tool.app();
  std::string domain, uri, vnc, input, keymap = "us", keyboard = "auto";
  bool ack = false, no_timing = false;
  double key_interval_ms = -1;  // by path: 11 through VNC, 1 through a virtio keyboard
  std::vector<std::string> types, keys, moves, clicks, scrolls, scripts;
  app.add_option("DOMAIN", domain, "Domain name, UUID or id");
  app.add_option("-c,--connect", uri, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then qemu:///system)");
  app.add_option("--vnc", vnc, "Use this VNC server instead of the domain's: unix:PATH or HOST:PORT");
  auto* o_type = app.add_option("--type", types, "Type TEXT through the keymap (escapes: \\n \\t \\\\ \\e \\b)");
  auto* o_key = app.add_option("--key", keys, "Press key combinations, e.g. ctrl-alt-delete shift-a f12 ret");
  auto* o_move = app.add_option("--move", moves, "Move the pointer to surface pixel X,Y");
  auto* o_click = app.add_option("--click", clicks, "Click at X,Y[,BUTTON] (left, middle, right or 1, 2, 3)");
  auto* o_scroll = app.add_option("--scroll", scrolls, "Scroll N wheel notches (negative up, positive down)");
  auto* o_script = app.add_option("--script", scripts, "Run the actions of a script file (see redir-inject(1))");
  for (CLI::Option* o : {o_type, o_move, o_click, o_scroll, o_script}) o->type_size(1)->allow_extra_args(false);
  o_key->type_size(1)->expected(1, 64)->allow_extra_args(true);
  app.add_option("-i,--input", input, "Read a vredir stream from FILE ('-' stdin; the default without action flags)");
  app.add_option("--keyboard", keyboard,
                 "Key path: auto (default: virtio when the VM has one, else vnc), virtio (the VM's virtio keyboard "
                 "through QEMU's monitor, faster), or vnc")
      ->check(CLI::IsMember({"auto", "virtio", "vnc"}))
      ->capture_default_str();
  app.add_option("--keymap", keymap, "Keyboard layout of the guest: us, de, fr, gb")->capture_default_str();
  app.add_flag("--ack", ack, "Write a vredir stream of ACK frames on stdout, one per delivered input event");
  app.add_flag("--no-timing", no_timing, "Replay a stream as fast as delivery allows, ignoring its timestamps");
  app.add_option("--key-interval", key_interval_ms,
                 "Least milliseconds per key event (default 11 through VNC, where QEMU releases one per 10 ms; "
                 "1 through a virtio keyboard)")
      ->check(CLI::Range(0.1, 1000.0));
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;

  std::optional<Layout> layout = parse_layout(keymap);
  if (!layout) return tool.usage_error("unknown keymap '" + keymap + "' (us, de, fr, gb)");
  if (domain.empty() && vnc.empty()) return tool.usage_error("a DOMAIN (or --vnc ADDRESS) is required");
  if (!vnc.empty() && keyboard == "virtio")
    return tool.usage_error("--keyboard virtio needs a DOMAIN's virtio keyboard, not --vnc");

  // Resolve every action first: a bad one stops the run before any input.
  std::vector<InputAction> actions;
  std::map<const CLI::Option*, size_t> used;
  for (const CLI::Option* o : app.parse_order()) {
    const std::vector<std::string>& values = o->results();
    size_t i = used[o]++;
    if (i >= values.size()) continue;
    const std::string& v = values[i];
    InputAction a;
    std::string err;
    bool ok = true;
    if (o == o_type) ok = make_type_action(v, *layout, &a, &err);
    else if (o == o_key) ok = make_key_action(v, &a, &err);
    else if (o == o_move) ok = make_move_action(v, &a, &err);
    else if (o == o_click) ok = make_click_action(v, &a, &err);
    else if (o == o_scroll) ok = make_scroll_action(v, &a, &err);
    else if (o == o_script) {
      std::string content;
      if (Status st = read_script(v, &content); !st) return tool.finish(st);
      if (!parse_input_script(content, v, *layout, &actions, &err)) return tool.finish(fail(kExitUsage, err));
      continue;
    } else continue;
    if (!ok) return tool.finish(fail(kExitUsage, o->get_name() + ": " + err));
    actions.push_back(std::move(a));
  }
  bool read_stream = !input.empty() || actions.empty();
  InputFile in;
  if (read_stream)
    if (Status st = in.open(input.empty() ? "-" : input); !st) return tool.finish(st);

  install_interrupt_handlers();
  int fd = -1;
  Domain dom;
  if (Status st = open_vnc(vnc, uri, domain, &fd, &dom); !st) return tool.finish(st);
  VncInput vnc_input(fd);
  std::string target = vnc.empty() ? "'" + domain + "'" : vnc;
  if (Status st = vnc_input.open(10000); !st) return tool.finish(fail(st.code(), "VNC display of " + target + ": " + st.message()));
  spdlog::debug("VNC server '{}', {}x{}, scancodes {}", vnc_input.server_name(), vnc_input.width(),
                vnc_input.height(), vnc_input.scancodes() ? "yes" : "no");

  VirtioKeyboard virtio;
  bool use_virtio = false;
  if (keyboard != "vnc") {
    if (vnc.empty()) {
      if (Status st = virtio.open(std::move(dom)); st) {
        use_virtio = true;
      } else if (keyboard == "virtio" || st.code() != kExitNotFound) {
        if (keyboard == "virtio") return tool.finish(st);
        spdlog::warn("{}; keys go through the VNC server", st.message());
      }
    }
  }
  spdlog::debug("keys through {}", use_virtio ? "the virtio keyboard " + virtio.qom_path() : "the VNC server");

  stream::StreamWriter writer([](std::string_view b) { return write_all(1, b, "stdout"); });
  if (ack) {
    Status st = writer.begin("redir-inject", {{"source", read_stream ? "stream" : "flags"}});
    if (st) st = writer.declare(kAckChannel, stream::ChannelKind::kAck, "acks");
    if (st && !actions.empty()) st = writer.declare(kFlagKeyboardChannel, stream::ChannelKind::kKeyboard, "flag-keys");
    if (st && !actions.empty()) st = writer.declare(kFlagPointerChannel, stream::ChannelKind::kPointer, "flag-pointer");
    if (!st) return tool.finish(st);
  }
  auto on_ack = [&](const AckTag& t) -> Status {
    if (!t.wanted) return Status::ok();
    stream::Ack a{t.channel, t.seq, t.failed ? stream::AckStatus::kFailed : stream::AckStatus::kDelivered};
    return writer.ack(kAckChannel, a);
  };
  Pacing pacing;
  if (key_interval_ms > 0) {
    pacing.key_interval = std::chrono::microseconds(static_cast<int64_t>(key_interval_ms * 1000));
    pacing.virtio_key_interval = pacing.key_interval;
  }
  InputDelivery delivery(vnc_input, pacing, on_ack);
  if (use_virtio) delivery.use_virtio_keyboard(&virtio);

  auto t0 = InputClock::now();
  uint64_t key_seq = 0, ptr_seq = 0;
  Status st = run_actions(actions, &delivery, ack, &key_seq, &ptr_seq);
  if (st && read_stream) {
    StreamInputOptions opt{*layout, !no_timing, ack};
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
  if (ack && !st.is_reader_gone()) {
    stream::EndReason reason = st ? stream::EndReason::kNormal
                                  : (st.code() == kExitInterrupted ? stream::EndReason::kInterrupted
                                                                   : stream::EndReason::kError);
    Status e = writer.end(reason, st ? "" : st.message());
    if (st && !e) st = e;
  }
  if (st.is_reader_gone()) return kExitOk;
  return tool.finish(st);
}
