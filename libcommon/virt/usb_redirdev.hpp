// A USB redirection port (QEMU's usb-redir device) hot-plugged into a
// running domain for the length of a session: <redirdev bus='usb'
// type='unix'> whose chardev connects to a unix socket the caller listens
// on. QEMU's usb-redir shows the guest nothing until the device side of
// usbredir sends device_connect through that socket; closing the socket
// unplugs the device from the guest, and detaching removes the port.
#pragma once

#include <chrono>
#include <string>

#include "virt/device_hotplug.hpp"
#include "virt/hypervisor.hpp"
#include "wire/status.hpp"

namespace vredir {

// The device XML of a port with this alias connecting to socket_path.
std::string usb_redirdev_xml(const std::string& alias, const std::string& socket_path);

// True when the domain's XML has a USB controller that can take a device.
bool domain_xml_has_usb_controller(const std::string& domain_xml);

// Checks that the domain runs and has a USB controller, then hot-plugs a
// port through *plugged (which detaches it). *alias: its alias.
Status attach_usb_redirdev(const Domain& domain, const std::string& socket_path, DeviceHotplug* plugged,
                           std::string* alias);

// One usb-redir port for the length of a session, shared by `redir-usb
// attach` and the mux session: a private directory for the socket QEMU
// connects to, the hot-plugged port, and QEMU's connection accepted without
// blocking. The caller listens on socket_path() (net's listen_endpoint)
// and hands the port that fd. The destructor closes what is open, unplugs
// the port and removes the socket and its directory.
class UsbRedirPort {
 public:
  UsbRedirPort() = default;
  ~UsbRedirPort();
  UsbRedirPort(const UsbRedirPort&) = delete;
  UsbRedirPort& operator=(const UsbRedirPort&) = delete;

  // Makes the private directory (under $TMPDIR, else /tmp).
  Status make_socket_dir();
  const std::string& socket_path() const { return socket_; }
  // lfd listens on socket_path() (non-blocking); the port owns it from
  // now. Hot-plugs the port; QEMU must connect within timeout_s.
  Status plug(const Domain& domain, int lfd, double timeout_s);
  // *fd: QEMU's connection once it came (the caller owns it), else -1.
  // Past the deadline: kExitTimeout, one line.
  Status try_accept(int* fd);
  int listen_fd() const { return lfd_; }
  const std::string& alias() const { return alias_; }
  // Closes the listening socket and unplugs the port; with wait, waits (at
  // most 5 s) until the guest let it go. Close QEMU's connection first: that
  // unplugs the device from the guest.
  Status unplug(bool wait = true);

 private:
  std::string dir_, socket_, alias_;
  int lfd_ = -1;
  double timeout_s_ = 10;
  std::chrono::steady_clock::time_point deadline_{};
  DeviceHotplug plugged_;
};

}  // namespace vredir
