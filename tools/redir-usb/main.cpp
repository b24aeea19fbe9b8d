// redir-usb: USB redirection through usbredir. `list` shows the local
// devices, `share` is the terminal side (a device's usbredir inside a vredir
// stream), `attach` the hypervisor side (that stream into a domain's
// hot-plugged usb-redir port). The subcommands live in usb_*.cpp.
#include "sys/cli.hpp"
#include "usb_tool.hpp"

using namespace vredir;

int main(int argc, char** argv) {
  Tool tool("redir-usb",
            "USB redirection through usbredir: list the local USB devices, share one (or a usbredir endpoint) as a\n"
            "vredir stream on stdout with its return path on stdin, and attach such a stream to a running domain.");
  CLI::App& app = tool.app();
  app.require_subcommand(1);

  ListOptions lo;
  CLI::App* list = app.add_subcommand("list", "List the local USB devices (libusb): bus, address, VID:PID, names");
  list->add_flag("--json", lo.json, "One JSON array of devices");

  ShareOptions so;
  CLI::App* share = app.add_subcommand(
      "share", "Share a USB device as usbredir in a vredir stream on stdout, reading the return path on stdin");
  share->add_option("DEVICE", so.device, "VID:PID or BUS-ADDR (a local device), unix:PATH or tcp:HOST:PORT (a usbredir endpoint)")
      ->required();
  share->add_option("--connect-timeout", so.connect_timeout_s, "Seconds to reach a unix: or tcp: endpoint")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();

  AttachOptions ao;
  CLI::App* attach = app.add_subcommand(
      "attach", "Plug the USB device of a stream on stdin into a running domain; the return path goes to stdout");
  attach->add_option("DOMAIN", ao.domain, "Domain name, UUID or id")->required();
  attach->add_option("-c,--connect", ao.uri, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then qemu:///system)");
  auto* o_allow = attach->add_option("--allow", ao.allow,
                                     "Only devices on this list: VID:PID (hex, * for any part) and class:XX, "
                                     "comma-separated (default: any device)");
  attach->add_option("--timeout", ao.timeout_s, "Seconds for QEMU to connect to the hot-plugged port")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();

  if (int rc = tool.parse(argc, argv); rc >= 0) return rc;
  install_interrupt_handlers();
  Status st;
  if (list->parsed()) {
    st = run_list(lo);
  } else if (share->parsed()) {
    if (Status c = check_share_options(so); !c) return tool.usage_error(c.message());
    st = run_share(so);
  } else {
    ao.allow_given = o_allow->count() > 0;
    if (Status c = check_attach_options(ao); !c) return tool.usage_error(c.message());
    st = run_attach(ao);
  }
  if (st.is_reader_gone()) return kExitOk;
  return tool.finish(st);
}
