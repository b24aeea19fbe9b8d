#include <spdlog/spdlog.h>

#include <poll.h>

#include "net/tls_transport.hpp"
#include "sys/signals.hpp"
#include "usbpolicy/usb_allow.hpp"
#include "usbpolicy/usbredir_watch.hpp"
#include "virt/hypervisor.hpp"
#include "virt/usb_redirdev.hpp"
#include "usb_relay.hpp"
#include "usb_tool.hpp"

namespace vredir {

namespace {

// Waits (polling, so an interrupt is seen) until QEMU connects to the port.
Status accept_qemu(UsbRedirPort& port, int* fd) {
  for (;;) {
    if (interrupted()) return fail(kExitInterrupted, "interrupted");
    if (Status st = port.try_accept(fd); !st || *fd >= 0) return st;
    pollfd pf{port.listen_fd(), POLLIN, 0};
    ::poll(&pf, 1, 100);
  }
}

}  // namespace

Status check_attach_options(const AttachOptions& o) {
  UsbAllowList list;
  std::string err;
  if (o.allow_given && !UsbAllowList::parse(o.allow, &list, &err)) return fail(kExitUsage, "--allow: " + err);
  return Status::ok();
}

Status run_attach(const AttachOptions& o) {
  UsbAllowList allow;
  std::string err;
  if (o.allow_given && !UsbAllowList::parse(o.allow, &allow, &err)) return fail(kExitUsage, "--allow: " + err);
  silence_libvirt_errors();
  Connection conn;
  if (Status st = conn.open(o.uri); !st) return st;
  Domain dom;
  if (Status st = conn.lookup(o.domain, &dom); !st) return st;

  UsbRedirPort port;
  if (Status st = port.make_socket_dir(); !st) return st;
  Endpoint ep;
  ep.scheme = Endpoint::Scheme::kUnix;
  ep.path = port.socket_path();
  int lfd = -1;
  if (Status st = listen_endpoint(ep, &lfd, &ep); !st) return st;
  int qemu = -1;
  Status st = port.plug(dom, lfd, o.timeout_s);
  if (st) st = accept_qemu(port, &qemu);
  if (!st) return st;
  spdlog::debug("QEMU's usb-redir port {} of '{}' is connected", port.alias(), dom.name());

  UsbredirWatch watch(o.allow_given ? &allow : nullptr);
  uint64_t announced = 0;
  RelayHooks hooks;
  hooks.from_stream = [&](std::span<const uint8_t> bytes, std::string* to_qemu) {
    Status s = watch.feed_device(bytes, to_qemu);
    if (s && watch.connects() > announced) {
      announced = watch.connects();
      spdlog::info("USB device {} plugged into '{}'", usb_identity_text(watch.identity()), dom.name());
    }
    return s;
  };
  hooks.from_socket = [&](std::span<const uint8_t> bytes, std::string* to_qemu) {
    return watch.feed_guest(bytes, to_qemu);
  };
  RelayEnds ends;
  ends.socket = qemu;
  ends.producer = "redir-usb attach";
  ends.device = dom.name();
  ends.socket_name = "QEMU's usb-redir port";
  RelayEnd how = RelayEnd::kStreamEnded;
  st = run_relay(ends, hooks, &how);
  // Closing the chardev unplugs the device from the guest; then the port goes.
  ::close(qemu);
  Status detached = port.unplug();
  if (announced) spdlog::info("USB device {} unplugged from '{}'", usb_identity_text(watch.identity()), dom.name());
  if (st && how == RelayEnd::kSocketClosed) return fail(kExitPeerLost, "QEMU closed the USB redirection port");
  return st ? detached : st;
}

}  // namespace vredir
