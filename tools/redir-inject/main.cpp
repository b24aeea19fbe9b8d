// redir-inject: delivers keyboard and pointer input to a VM through QEMU's VNC
// server, in order, paced so that nothing is dropped, and acknowledged. The
// run itself is inject_run.cpp.
#include <map>

#include "inject_run.hpp"
#include "sys/cli.hpp"

using namespace vredir;

int main(int argc, char** argv) {
  Tool tool("redir-inject",
            "Deliver keyboard and pointer input to a VM's virtual devices (through its VNC server, and keys through\n"
            "its virtio keyboard when it has one): typed text, key combinations, pointer moves and clicks, scripts,\n"
            "or the input channels of a vredir stream (stdin by default); or text to its serial console.\n"
            "Events arrive in order and are never dropped.");
  CLI::App& app = tool.app();
  InjectOptions o;
  std::vector<std::string> types, keys, moves, move_rels, clicks, scrolls, scripts;
  app.add_option("DOMAIN", o.domain, "Domain name, UUID or id");
  app.add_option("-c,--connect", o.uri, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then qemu:///system)");
  app.add_option("--vnc", o.vnc, "Use this VNC server instead of the domain's: unix:PATH or HOST:PORT");
  auto* o_type = app.add_option("--type", types, "Type TEXT through the keymap (escapes: \\n \\t \\\\ \\e \\b)");
  auto* o_key = app.add_option("--key", keys, "Press key combinations, e.g. ctrl-alt-delete shift-a f12 ret");
  auto* o_move = app.add_option("--move", moves, "Move the pointer to surface pixel X,Y");
  auto* o_move_rel = app.add_option("--move-rel", move_rels,
                                    "Move the pointer by DX,DY through the VM's relative mouse (for guests without a "
                                    "tablet)");
  auto* o_click = app.add_option("--click", clicks, "Click at X,Y[,BUTTON] (left, middle, right or 1, 2, 3)");
  auto* o_scroll = app.add_option("--scroll", scrolls, "Scroll N wheel notches (negative up, positive down)");
  auto* o_script = app.add_option("--script", scripts, "Run the actions of a script file (see redir-inject(1))");
  for (CLI::Option* o : {o_type, o_move, o_move_rel, o_click, o_scroll, o_script}) o->type_size(1)->allow_extra_args(false);
  o_key->type_size(1)->expected(1, 64)->allow_extra_args(true);
  auto* o_serial = app.add_option("--serial-text", o.serial_texts,
                                  "Write TEXT to the VM's serial console (escapes as --type; repeatable)");
  o_serial->type_size(1)->allow_extra_args(false);
  app.add_flag("--force", o.force, "--serial-text: take the console over from another client (virsh console...)");
  app.add_option("-i,--input", o.input, "Read a vredir stream from FILE ('-' stdin; the default without action flags)");
  app.add_option("--seat", o.seat,
                 "Keys and the pointer of the VM's head N through a virtio keyboard and tablet of this run's own, "
                 "bound to that head (multi-seat: each terminal on its own devices), plugged in for the run and "
                 "unplugged at its end")
      ->check(CLI::Range(0, 63));
  app.add_option("--keyboard", o.keyboard,
                 "Key path: auto (default: virtio when the VM has one, else vnc), virtio (the VM's virtio keyboard "
                 "through QEMU's monitor, faster), or vnc")
      ->check(CLI::IsMember({"auto", "virtio", "vnc"}))
      ->capture_default_str();
  app.add_option("--keymap", o.keymap, "Keyboard layout of the guest: us, de, fr, gb")->capture_default_str();
  app.add_flag("--ack", o.ack, "Write a vredir stream of ACK frames on stdout, one per delivered input event");
  app.add_flag("--no-timing", o.no_timing, "Replay a stream as fast as delivery allows, ignoring its timestamps");
  app.add_option("--key-interval", o.key_interval_ms,
                 "Least milliseconds per key event (default 11 through VNC, where QEMU releases one per 10 ms; "
                 "none through a virtio keyboard, paced by the guest's buffers)")
      ->check(CLI::Range(0.1, 1000.0));
  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;

  // The action flags in command-line order; inject_run resolves them.
  const std::map<const CLI::Option*, ActionFlag> flags = {{o_type, ActionFlag::kType},     {o_key, ActionFlag::kKey},
                                                          {o_move, ActionFlag::kMove},     {o_move_rel, ActionFlag::kMoveRel},
                                                          {o_click, ActionFlag::kClick},
                                                          {o_scroll, ActionFlag::kScroll}, {o_script, ActionFlag::kScript}};
  std::map<const CLI::Option*, size_t> used;
  for (const CLI::Option* opt : app.parse_order()) {
    auto f = flags.find(opt);
    size_t i = used[opt]++;
    if (f != flags.end() && i < opt->results().size()) o.actions.emplace_back(f->second, opt->results()[i]);
  }
  if (Status st = check_inject_options(o); !st) return tool.usage_error(st.message());
  Status st = run_inject(o);
  if (st.is_reader_gone()) return kExitOk;
  return tool.finish(st);
}
