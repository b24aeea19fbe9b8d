#include "virt/usb_redirdev.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>

namespace vredir {

std::string usb_redirdev_xml(const std::string& alias, const std::string& socket_path) {
  return "<redirdev bus='usb' type='unix'><source mode='connect' path='" + socket_path + "'/><alias name='" + alias +
         "'/></redirdev>";
}

bool domain_xml_has_usb_controller(const std::string& xml) {
  static const std::regex controller("<controller type='usb'([^>]*)>");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), controller); it != std::sregex_iterator(); ++it)
    if ((*it)[1].str().find("model='none'") == std::string::npos) return true;
  return false;
}

Status attach_usb_redirdev(const Domain& d, const std::string& socket_path, DeviceHotplug* plugged,
                           std::string* alias) {
  DomainState state = DomainState::kUnknown;
  if (Status st = d.state(&state); !st) return st;
  if (state != DomainState::kRunning && state != DomainState::kPaused)
    return fail(kExitFailure, "domain '" + d.name() + "' is " + state_name(state) +
                                  ": a USB device can only be plugged into a running domain (try: vm-power " + d.name() +
                                  " start)");
  std::string xml;
  if (Status st = d.xml(&xml); !st) return st;
  if (!domain_xml_has_usb_controller(xml))
    return fail(kExitFailure, "domain '" + d.name() +
                                  "' has no USB controller (add <controller type='usb' model='qemu-xhci'/> to it)");
  *alias = DeviceHotplug::new_alias("usb");
  if (Status st = plugged->attach(d, *alias, usb_redirdev_xml(*alias, socket_path), "USB redirection port"); !st) {
    std::string why = st.message();
    if (why.find("free") != std::string::npos || why.find("port") != std::string::npos)
      why += " (every port of the domain's USB controllers is taken: add ports, e.g. <controller type='usb' "
             "model='qemu-xhci' ports='8'/>)";
    return fail(kExitFailure, "cannot plug a USB redirection port into '" + d.name() + "': " + why);
  }
  return Status::ok();
}

UsbRedirPort::~UsbRedirPort() {
  (void)unplug();
  if (!socket_.empty()) ::unlink(socket_.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

Status UsbRedirPort::make_socket_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/vredir-usb.XXXXXX";
  if (!::mkdtemp(templ.data())) return fail(kExitFailure, "cannot make a directory in " + templ + ": " + std::strerror(errno));
  dir_ = templ;
  // QEMU (perhaps another user; libvirt hands it the socket) must reach it.
  ::chmod(dir_.c_str(), 0711);
  socket_ = dir_ + "/usbredir.sock";
  return Status::ok();
}

Status UsbRedirPort::plug(const Domain& domain, int lfd, double timeout_s) {
  lfd_ = lfd;
  timeout_s_ = timeout_s;
  ::chmod(socket_.c_str(), 0660);
  if (Status st = attach_usb_redirdev(domain, socket_, &plugged_, &alias_); !st) return st;
  deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(long(timeout_s * 1000));
  return Status::ok();
}

Status UsbRedirPort::try_accept(int* fd) {
  *fd = -1;
  if (lfd_ < 0) return fail(kExitFailure, "the USB redirection port is not listening");
  int s = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (s >= 0) {
    ::close(lfd_);  // one connection per port
    lfd_ = -1;
    *fd = s;
    return Status::ok();
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    return fail(kExitFailure, std::string("accept: ") + std::strerror(errno));
  if (std::chrono::steady_clock::now() >= deadline_)
    return fail(kExitTimeout, "QEMU did not connect to the hot-plugged USB redirection port within " +
                                  std::to_string(int(timeout_s_)) + " s");
  return Status::ok();
}

Status UsbRedirPort::unplug(bool wait) {
  if (lfd_ >= 0) ::close(lfd_);
  lfd_ = -1;
  return plugged_.detach(wait);
}

}  // namespace vredir
