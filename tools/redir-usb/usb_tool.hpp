// redir-usb's three subcommands. main.cpp only parses their options.
//   list    the local USB devices (libusb)
//   share   the terminal side: a device's usbredir in a vredir stream
//   attach  the hypervisor side: that stream into a domain's usb-redir port
#pragma once

#include <string>

#include "usbpolicy/usb_selector.hpp"
#include "wire/status.hpp"

namespace vredir {

struct ListOptions {
  bool json = false;
};
Status run_list(const ListOptions& o);

struct ShareOptions {
  std::string device;  // VID:PID, BUS-ADDR, unix:PATH or tcp:HOST:PORT
  double connect_timeout_s = kUsbEndpointTimeoutS;
};
// Checks DEVICE's form: one usage error, or ok.
Status check_share_options(const ShareOptions& o);
Status run_share(const ShareOptions& o);

struct AttachOptions {
  std::string domain, uri;
  std::string allow;  // an allow-list (usbpolicy/usb_allow.hpp); empty: any device
  bool allow_given = false;
  double timeout_s = 10;  // for QEMU to connect to the hot-plugged port
};
// Checks what the options parser cannot (the allow-list): one usage error.
Status check_attach_options(const AttachOptions& o);
Status run_attach(const AttachOptions& o);

}  // namespace vredir
