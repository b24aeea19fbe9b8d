#include <spdlog/spdlog.h>
#include <unistd.h>

#include "net/tls_transport.hpp"
#include "usb/usb_devices.hpp"
#include "usb/usb_host_share.hpp"
#include "usbpolicy/usb_selector.hpp"
#include "usb_relay.hpp"
#include "usb_tool.hpp"

namespace vredir {

Status check_share_options(const ShareOptions& o) {
  UsbSelector sel;
  std::string err;
  if (!parse_usb_selector(o.device, &sel, &err)) return fail(kExitUsage, err);
  return Status::ok();
}

Status run_share(const ShareOptions& o) {
  UsbSelector sel;
  std::string err;
  if (!parse_usb_selector(o.device, &sel, &err)) return fail(kExitUsage, err);
  UsbHostShare host;
  int fd = -1;
  std::string name;
  if (sel.local()) {
    std::vector<UsbDeviceEntry> devices;
    if (Status st = list_usb_devices(&devices); !st) return st;
    UsbDeviceEntry dev;
    if (Status st = find_usb_device(devices, sel, &dev); !st) return st;
    if (Status st = host.open(dev, &fd); !st) return st;
    name = "USB device " + usb_id_text(dev.vid, dev.pid) + " at " + std::to_string(dev.bus) + "-" +
           std::to_string(dev.address);
  } else {
    Endpoint ep;
    if (!parse_endpoint(usb_endpoint_url(sel), &ep, &err)) return fail(kExitUsage, err);
    if (Status st = connect_endpoint(ep, o.connect_timeout_s, &fd); !st)
      return fail(st.code(), "usbredir endpoint " + usb_selector_text(sel) + ": " + st.message());
    name = "usbredir endpoint " + usb_selector_text(sel);
  }
  spdlog::debug("sharing {}", name);
  RelayEnds ends;
  ends.socket = fd;
  ends.producer = "redir-usb share";
  ends.device = usb_selector_text(sel);
  ends.socket_name = name;
  RelayEnd how = RelayEnd::kStreamEnded;
  Status st = run_relay(ends, {}, &how);
  if (!sel.local()) ::close(fd);
  host.close();
  if (st && how == RelayEnd::kSocketClosed) spdlog::info("{} closed the connection", name);
  return st;
}

}  // namespace vredir
