// The device that `redir-usb share` and `redir-mux connect --usb`
// takes: a local device by VID:PID or by bus and address, claimed through
// libusb, or an existing usbredir endpoint (the device side of usbredir
// already spoken by someone else: `usbredirect --as`, or the tests' software
// device) on a unix socket or a TCP port.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vredir {

struct UsbSelector {
  enum class Kind { kVidPid, kBusAddress, kUnix, kTcp };
  Kind kind = Kind::kVidPid;
  uint16_t vid = 0, pid = 0;        // kVidPid
  unsigned bus = 0, address = 0;    // kBusAddress
  std::string path;                 // kUnix
  std::string host;                 // kTcp (without [] around IPv6)
  uint16_t port = 0;                // kTcp
  bool local() const { return kind == Kind::kVidPid || kind == Kind::kBusAddress; }
};

// VID:PID (1-4 hex digits each, 046d:c52b), BUS-ADDR (decimal, 1-5),
// unix:PATH, tcp:HOST:PORT (tcp:[::1]:4000 for IPv6). false and *err (one
// line naming the form that was meant) otherwise.
bool parse_usb_selector(std::string_view text, UsbSelector* out, std::string* err);

// "046d:c52b", "1-5", "unix:/run/x.sock", "tcp:host:4000".
std::string usb_selector_text(const UsbSelector& s);
// An endpoint selector as net/tls_transport's parse_endpoint reads it
// ("unix:/run/x.sock", "tcp://host:4000", "tcp://[::1]:4000"); "" for a
// local device.
std::string usb_endpoint_url(const UsbSelector& s);
// How long reaching such an endpoint may take, by default.
inline constexpr double kUsbEndpointTimeoutS = 10;

// "046d:c52b" for a VID and PID.
std::string usb_id_text(uint16_t vid, uint16_t pid);

}  // namespace vredir
