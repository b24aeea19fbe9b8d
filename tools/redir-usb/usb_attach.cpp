#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <poll.h>

#include "net/tls_transport.hpp"
#include "sys/signals.hpp"
#include "usbpolicy/usb_allow.hpp"
#include "usb/usbredir_watch.hpp"
#include "virt/device_hotplug.hpp"
#include "virt/hypervisor.hpp"
#include "virt/usb_redirdev.hpp"
#include "usb_relay.hpp"
#include "usb_tool.hpp"

namespace vredir {

namespace {

// A private directory for the socket QEMU connects to, removed at the end.
class SocketDir {
 public:
  ~SocketDir() {
    if (!path_.empty()) ::unlink(socket().c_str());
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  Status make() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/vredir-usb.XXXXXX";
    if (!::mkdtemp(templ.data())) return fail(kExitFailure, "cannot make a directory in " + templ + ": " + std::strerror(errno));
    dir_ = templ;
    // QEMU (perhaps another user; libvirt hands it the socket) must reach it.
    ::chmod(dir_.c_str(), 0711);
    path_ = dir_ + "/usbredir.sock";
    return Status::ok();
  }
  std::string socket() const { return path_; }

 private:
  std::string dir_, path_;
};

Status accept_within(int lfd, double timeout_s, int* fd) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(long(timeout_s * 1000));
  for (;;) {
    if (interrupted()) return fail(kExitInterrupted, "interrupted");
    int s = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (s >= 0) {
      *fd = s;
      return Status::ok();
    }
    if (errno != EAGAIN && errno != EINTR) return fail(kExitFailure, std::string("accept: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(kExitTimeout, "QEMU did not connect to the hot-plugged USB redirection port within " +
                                    std::to_string(int(timeout_s)) + " s");
    pollfd pf{lfd, POLLIN, 0};
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

  SocketDir dir;
  if (Status st = dir.make(); !st) return st;
  Endpoint ep;
  ep.scheme = Endpoint::Scheme::kUnix;
  ep.path = dir.socket();
  int lfd = -1;
  if (Status st = listen_endpoint(ep, &lfd, &ep); !st) return st;
  ::chmod(dir.socket().c_str(), 0660);

  DeviceHotplug plugged;
  std::string alias;
  Status st = attach_usb_redirdev(dom, dir.socket(), &plugged, &alias);
  int qemu = -1;
  if (st) st = accept_within(lfd, o.timeout_s, &qemu);
  ::close(lfd);
  if (!st) return st;
  spdlog::debug("QEMU's usb-redir port {} of '{}' is connected", alias, dom.name());

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
  Status detached = plugged.detach();
  if (announced) spdlog::info("USB device {} unplugged from '{}'", usb_identity_text(watch.identity()), dom.name());
  if (st && how == RelayEnd::kSocketClosed) return fail(kExitPeerLost, "QEMU closed the USB redirection port");
  return st ? detached : st;
}

}  // namespace vredir
